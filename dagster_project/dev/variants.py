"""Address mentions written the way other people write them: a test set for the place matcher
whose writing rules are independent of the hub's own generator (dev/synth) and matcher.

`variants(properties, n, seed)` takes a gazetteer's properties (the columns of
docs/gazetteer.md) and writes `n` mentions, each naming one property (or, for the relational
rule, a place beside one) the way a clerk in a UK council or police force might type it, with
the truth of what each mention means. It returns two frames, row for row:

- mentions: `mention_id` (str), `text` (the address as one string), `postcode` (str or None:
  the separate postcode column feeds often have), `convention` (str: the rule that wrote it);
- truth: `mention_id`, `uprn` (Int64: the property meant; missing for a place beside one),
  `usrn` (Int64: its street; missing if the gazetteer has no usrn column).

A gazetteer in capitals (as AddressBase extracts often are) is written in title case.

Rules (the `convention` column), each writing one share in ten of the mentions, drawn only
from the properties to which the rule applies (a rule that applies to none gives its share to
the others; one that cannot write all of its share passes the rest to the next), cycling
through them in random order, so a rule with few properties writes some of them more than
once, with other variations:

- `flat_word`: the gazetteer's "Flat 2" written with another word a landlord, agent or clerk
  uses: Apartment, Apt, Unit, Suite, Room, Studio or Maisonette; before the building, after
  the building name or after the street ("Apt 2, 14 Mill Road"; "14 Mill Road, Studio 2").
- `letter_suffix`: a lettered flat of a converted house written as a number suffix, as the
  Royal Mail often holds it: "28D Oak Road" (or "28d") for Flat D, 28 Oak Road.
- `suffix_flat`: the reverse: a number with a suffix written as a lettered flat: "Flat B,
  11 Oak Road", "11 Oak Road, Flat B" for 11B.
- `suffix_apart`: a number's suffix typed apart: "11 B Oak Road", "11 b Oak Road", "11-B".
- `flat_in_name`: a flat number put before the building name with no "Flat" word, as in
  BS7666 SAON/PAON shorthand: "3 Heron House, Mill Road", "3 Heron House Mill Road".
- `estate_unit`: an industrial unit by its estate with no street number: "Unit 5, Kestrel
  Trading Estate", "Unit 5 Kestrel Ind Est, Kestrel Way", "5 Kestrel Works".
- `short_name`: a pub, shop, school or firm by a short form of its name, with the street,
  with or without the number: "Red Lion PH, High Street" (leading "The" dropped, "PH"
  added), "Tesco, 4 Mill Road" (trailing "Express"/"Local" dropped), "Lock Primary" (trailing
  "School"), "Sainsburys" (apostrophe), "Smith & Co"/"Ltd"/"Limited"/"Plc" dropped.
- `street_word`: the street with a word missing, added or changed: a leading
  Upper/Lower/Old/New/Little/Great/North/South/East/West dropped ("York Road" for "Little
  York Road"), one added ("Old Mill Lane"), or the street type confused ("Road" for
  "Street", "Close" for "Court"). Always with the postcode, and only where that (and what
  else the mention says) still points to one street.
- `misspelt`: the street misspelt by one or (one time in five) two slips: a key's neighbour on
  a QWERTY keyboard, a letter dropped, doubled, or two swapped; never the first letter, and
  in the type word ("Raod") one time in seven.
- `relational`: a place beside a property, as police and planning records write it: "Land
  adjacent to 5 Mill Road", "Rear of 12 High St", "R/O 12 High St", "Opp. 14 Mill Road",
  "O/S 3 Mill Road", or a junction: "Junction of Mill Road and Heath Lane", "Mill Road j/w
  Heath Lane" (a quarter of them). The truth names no UPRN (None), only the street: for a
  junction the first street named. Two streets meet where properties of theirs lie within
  200 m (the synthetic region's streets are scattered, and rarely come closer).

Plain variations are mixed in at random on top of every rule: the locality added (35%), the
town left out (15%), the town in capitals as the Royal Mail writes it or in title case, street
types abbreviated (Rd, St, Ave, Cl, Cres, Gdns, Dr, Ln ...; 35%, sometimes with a full stop),
no commas (20%), all lower case (15%) or all capitals (8%), and the postcode given in the
separate column (55%), only inside the text (20%), in both (15%) or not at all (10%; a quarter
of the other relational ones, 40% of junctions), written without its space (15%) or in lower
case (10%).

Every mention is checked before it is kept, the way a careful clerk with the gazetteer would
read it: the places the written postcode, town and locality allow, the streets whose names the
written one could be (the same name; for `street_word` any with the same core words; for
`misspelt` any no farther in edit distance than the true one) and the properties there that
fit what the mention says of the premises (flat, building name, number, organisation) must be
exactly the one meant (for `relational`, must lie on one street). A mention that fails gets the
postcode back, then the town, then the locality; if it still fails another property is drawn.
So no mention is impossible to resolve, beyond what its convention is about (a relational one
has no UPRN to find).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

RULES = (
    "flat_word",
    "letter_suffix",
    "suffix_flat",
    "suffix_apart",
    "flat_in_name",
    "estate_unit",
    "short_name",
    "street_word",
    "misspelt",
    "relational",
)

# Street types: full word -> the abbreviation clerks use (Royal Mail's list, in part).
ABBREVIATIONS = {
    "Road": "Rd", "Street": "St", "Avenue": "Ave", "Close": "Cl", "Crescent": "Cres",
    "Gardens": "Gdns", "Drive": "Dr", "Lane": "Ln", "Place": "Pl", "Court": "Ct",
    "Grove": "Gr", "Terrace": "Terr", "Square": "Sq", "Parade": "Pde",
}  # fmt: skip
STREET_TYPES = set(ABBREVIATIONS) | {"Way", "Mews", "Walk", "Row", "Hill", "Rise", "View"}
EXPAND = {a.lower(): f.lower() for f, a in ABBREVIATIONS.items()} | {
    "av": "avenue", "gro": "grove", "ter": "terrace", "cresc": "crescent", "gdn": "gardens",
}  # fmt: skip
ESTATE_WORDS = {"est": "estate", "ind": "industrial", "trad": "trading", "bus": "business",
                "pk": "park", "ctr": "centre", "cntr": "centre"}  # fmt: skip
ESTATE_SHORT = [
    ("Trading Estate", ["Trading Est", "Trad Est"]),
    ("Industrial Estate", ["Ind Est", "Industrial Est"]),
    ("Business Park", ["Business Pk", "Bus Pk", "Bus. Park"]),
]
ESTATE_LIKE = re.compile(r"\b(Estate|Park|Works|Centre|Yard|Industrial|Trading)\b", re.I)
PREFIXES = {"Upper", "Lower", "Old", "New", "Little", "Great", "North", "South", "East", "West"}
TYPE_SWAPS = {
    "Street": ["Road"], "Road": ["Street", "Lane", "Avenue"], "Close": ["Court", "Road"],
    "Court": ["Close"], "Avenue": ["Road"], "Lane": ["Road"], "Drive": ["Road", "Close"],
    "Gardens": ["Grove", "Road"], "Grove": ["Gardens", "Road"], "Crescent": ["Close", "Road"],
    "Way": ["Road"], "Place": ["Close", "Road"], "Terrace": ["Road", "Street"],
    "Mews": ["Close"], "Walk": ["Way"],
}  # fmt: skip
# Other words for a flat, with their shares: for a numbered flat of a block, and for a lettered
# flat of a converted house (which is not called a room, suite or studio).
FLAT_WORDS = ["Apartment", "Apt", "Apt.", "Unit", "Suite", "Room", "Studio", "Maisonette"]
FLAT_WORD_P = {
    "number": [0.24, 0.24, 0.06, 0.1, 0.06, 0.12, 0.14, 0.04],
    "letter": [0.3, 0.3, 0.05, 0.1, 0.0, 0.0, 0.0, 0.25],
}
GENERIC_TAIL = ["ltd", "limited", "plc", "and co", "and sons", "local", "express", "extra",
                "metro", "superstore", "stores", "store", "school", "ph", "pub",
                "public house"]  # fmt: skip
SUB_RE = re.compile(
    r"^(flat|unit|apartment|apt\.?|suite|room|studio|maisonette)\s+([0-9]+[a-z]?|[a-z])$", re.I
)
NUMBER_RE = re.compile(r"^([0-9]+)\s*[-/]?\s*([A-Za-z]?)$")
JUNCTION_M = 200.0  # properties of two streets this close: the streets meet (see the docstring)
KEYBOARD = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]
TITLE_TOWN_P = 0.6  # share of towns written in title case rather than in capitals


# -- normalising, as a clerk reads what is written -------------------------------------------


def _s(value) -> str:
    """A gazetteer value as clean text ("" for missing; 14.0 read from a CSV as "14")."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _words(text: str) -> list[str]:
    text = text.lower().replace("'", "").replace("&", " and ")
    return re.sub(r"[^a-z0-9]+", " ", text).split()


def norm_street(text: str) -> str:
    """Lower case, no punctuation, the street type's (or an estate's) abbreviation expanded."""
    w = [ESTATE_WORDS.get(x, x) for x in _words(text)]
    if w and w[-1] in EXPAND:
        w[-1] = EXPAND[w[-1]]
    return " ".join(w)


def norm_name(text: str) -> str:
    """A building or estate name: lower case, no "the", estate abbreviations expanded."""
    w = [ESTATE_WORDS.get(x, x) for x in _words(text)]
    if w and w[0] == "the":
        w = w[1:]
    return " ".join(w)


def org_core(text: str) -> str:
    """An organisation's name with what people leave off left off: a leading "The", a trailing
    company word (Ltd, & Co) or generic word (Local, Express, School, PH)."""
    w = _words(text)
    if w[:1] == ["the"]:
        w = w[1:]
    changed = True
    while changed and len(w) > 1:
        changed = False
        for tail in GENERIC_TAIL:
            t = tail.split()
            if len(w) > len(t) and w[-len(t) :] == t:
                w, changed = w[: -len(t)], True
                break
    return " ".join(w)


def street_core(normed: str) -> str:
    """A normalised street's distinctive words: no type word, no leading Upper/Old/..."""
    w = normed.split()
    if len(w) > 1 and w[-1].title() in STREET_TYPES:
        w = w[:-1]
    while len(w) > 1 and w[0].title() in PREFIXES:
        w = w[1:]
    return " ".join(w)


def split_number(number: str) -> tuple[str, str]:
    """ "11B" -> ("11", "B"); "11" -> ("11", ""); anything else kept whole."""
    m = NUMBER_RE.match(number)
    return (m.group(1), m.group(2).upper()) if m else (number, "")


def split_sub(sub: str) -> tuple[str, str]:
    """ "Flat 2" -> ("Flat", "2"); "" -> ("", ""); other wording kept whole as the ident."""
    m = SUB_RE.match(sub)
    if m:
        return m.group(1).title(), m.group(2).upper()
    return ("", sub.upper()) if sub else ("", "")


def osa(a: str, b: str, bound: int = 3) -> int:
    """Optimal string alignment distance (edits, adjacent swaps), capped at `bound` + 1."""
    if abs(len(a) - len(b)) > bound:
        return bound + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > bound:
            return bound + 1
        prev2, prev = prev, cur
    return min(prev[-1], bound + 1)


def _title(text: str) -> str:
    """Title case as addresses are written: "Henley-on-Thames", "St John's Road"."""
    t = re.sub(r"'S\b", "'s", text.title())
    t = re.sub(r"(?<=\s)(Of|And|The|On|Upon|In|Under)(?=\s)", lambda m: m.group(1).lower(), t)
    return re.sub(r"-(On|Upon|In|Under|By|Le|En|The)-", lambda m: f"-{m.group(1).lower()}-", t)


def _display(text: str) -> str:
    """A gazetteer value as a clerk would type it: an extract in capitals (as AddressBase
    often is) in title case; anything else as it is."""
    return _title(text) if text.isupper() and len(text) > 2 else text


@lru_cache(maxsize=1)
def _neighbours() -> dict[str, str]:
    pos = {c: (x + 0.3 * y, y) for y, row in enumerate(KEYBOARD) for x, c in enumerate(row)}
    return {
        c: "".join(
            d for d, (x2, y2) in pos.items() if d != c and (x - x2) ** 2 + (y - y2) ** 2 < 1.6
        )
        for c, (x, y) in pos.items()
    }


# -- the gazetteer, indexed for the clerk's check ---------------------------------------------


def _groups(values: np.ndarray) -> dict[str, np.ndarray]:
    out: dict[str, list[int]] = {}
    for i, v in enumerate(values):
        out.setdefault(v, []).append(i)
    return {k: np.array(v, dtype=int) for k, v in out.items()}


class _Gazetteer:
    def __init__(self, properties: pd.DataFrame):
        p = properties.reset_index(drop=True)
        n = len(p)

        def col(name: str) -> list[str]:
            return [_s(v) for v in p[name]] if name in p.columns else [""] * n

        self.records = []
        self.uprn = np.array([int(v) for v in p["uprn"]], dtype=np.int64)
        org, sub, name, number = (
            col("organisation"),
            col("sub_building"),
            col("building_name"),
            (col("building_number")),
        )
        street, locality, town, postcode = (
            col("street"),
            col("locality"),
            col("town"),
            col("postcode"),
        )
        usrn = col("usrn")
        self.has_usrn = "usrn" in p.columns
        self.east = p["easting"].to_numpy(float) if "easting" in p.columns else np.zeros(n)
        self.north = p["northing"].to_numpy(float) if "northing" in p.columns else np.zeros(n)
        unit, num = [], []
        for s, b in zip(sub, number, strict=True):
            digits, letter = split_number(b)
            unit.append(split_sub(s)[1] or letter)
            num.append(digits)
        street_id = [u or f"{s}|{lo}|{t}" for u, s, lo, t in zip(usrn, street, locality, town,
                                                                  strict=True)]  # fmt: skip
        self.street_id = np.array(street_id, dtype=object)
        self.street_norm = np.array([norm_street(s) for s in street], dtype=object)
        self.town = np.array([t.upper() for t in town], dtype=object)
        self.locality = np.array([lo.lower() for lo in locality], dtype=object)
        self.postcode = np.array([pc.replace(" ", "").upper() for pc in postcode], dtype=object)
        self.key = {
            "unit": np.array(unit, dtype=object),
            "number": np.array(num, dtype=object),
            "name": np.array([norm_name(x) for x in name], dtype=object),
            "org": np.array([org_core(x) if x else "" for x in org], dtype=object),
        }
        for i in range(n):
            self.records.append({
                "organisation": _display(org[i]), "sub_building": _display(sub[i]),
                "building_name": _display(name[i]), "building_number": number[i],
                "street": _display(street[i]), "usrn": usrn[i],
                "locality": _display(locality[i]), "town": town[i], "postcode": postcode[i],
                "class_code": _s(p["class_code"][i]) if "class_code" in p.columns else "",
            })  # fmt: skip
        self.by_street = _groups(self.street_norm)
        self.by_town = _groups(self.town)
        self.by_postcode = _groups(self.postcode)
        self.by_street_id = _groups(self.street_id)
        self.names = np.array(sorted(self.by_street), dtype=object)
        self.cores = np.array([street_core(x) for x in self.names], dtype=object)
        self._like: dict[tuple[str, str, str], list[str]] = {}
        self._crossings: dict[str, list[str]] | None = None

    def streets_like(self, written: str, relation: str, true: str) -> list[str]:
        """The gazetteer's street names (normalised) a clerk could take `written` for."""
        w = norm_street(written)
        key = (w, relation, true)
        if key not in self._like:
            if relation == "exact":
                found = [w] if w in self.by_street else []
            elif relation == "word":
                found = list(self.names[self.cores == street_core(w)])
                found += [w] if w in self.by_street and w not in found else []
            else:
                d = osa(w, true)
                found = [x for x in self.names if osa(w, x, d) <= d]
            self._like[key] = found
        return self._like[key]

    def scope(self, idx: np.ndarray | None, postcode: str, town: str, locality: str) -> np.ndarray:
        if idx is None:
            if postcode:
                idx = self.by_postcode.get(postcode, np.array([], dtype=int))
            elif town:
                idx = self.by_town.get(town, np.array([], dtype=int))
            else:
                idx = np.arange(len(self.uprn))
        if postcode:
            idx = idx[self.postcode[idx] == postcode]
        if town:
            idx = idx[self.town[idx] == town]
        if locality:
            idx = idx[self.locality[idx] == locality]
        return idx

    def crossings(self) -> dict[str, list[str]]:
        """For each street that meets another of its town, the names of those others."""
        if self._crossings is None:
            self._crossings = {}
            for idx in self.by_town.values():
                ids = sorted(set(self.street_id[idx]))
                for a in ids:
                    names = sorted({
                        self.records[int(self.by_street_id[b][0])]["street"]
                        for b in ids if b != a and self.near(a, b)
                    } - {self.records[int(self.by_street_id[a][0])]["street"]})  # fmt: skip
                    if names:
                        self._crossings[a] = names
        return self._crossings

    def near(self, a: str, b: str, metres: float = JUNCTION_M) -> bool:
        ia, ib = self.by_street_id[a], self.by_street_id[b]
        de = self.east[ia][:, None] - self.east[ib][None, :]
        dn = self.north[ia][:, None] - self.north[ib][None, :]
        return bool((de**2 + dn**2).min() <= metres**2)


# -- drafts: what a rule writes, before the plain variations ------------------------------------


@dataclass
class Draft:
    parts: list[str]  # premises and street as written, joined by the renderer
    streets: list[tuple[int, str]]  # (part, street as written) for abbreviating
    relation: str  # how the written street reads the gazetteer's: exact, word, spelling
    shown: dict[str, str]  # what the mention says of the premises: unit, name, number, org
    row: int  # the property meant, or referred to
    uprn: int | None
    keep_postcode: bool = False
    keep_town: bool = False
    no_postcode_p: float = 0.10
    junction_with: str | None = None  # the second street of a junction (as written)
    relational: bool = False  # a place beside the property, not the property


def _premises(r: dict, rng, with_org: bool = True) -> tuple[list[str], dict[str, str], int]:
    """The property as the gazetteer gives it: parts, what they show, the street's part."""
    parts: list[str] = []
    shown: dict[str, str] = {}
    if r["organisation"] and with_org and rng.random() < 0.5:
        parts.append(r["organisation"])
    if r["sub_building"]:
        parts.append(r["sub_building"])
    if r["building_name"]:
        parts.append(r["building_name"])
        shown["name"] = norm_name(r["building_name"])
    digits, letter = split_number(r["building_number"])
    shown["unit"] = split_sub(r["sub_building"])[1] or letter
    if r["building_number"]:
        shown["number"] = digits
        parts.append(f"{r['building_number']} {r['street']}")
    else:
        parts.append(r["street"])
    if not (r["building_number"] or r["building_name"] or r["sub_building"]):
        shown["org"] = org_core(r["organisation"])
        if not parts[:-1]:
            parts.insert(0, r["organisation"])
    return parts, shown, len(parts) - 1


def _pick(rng, options, p=None):
    return options[int(rng.choice(len(options), p=p))]


def _flat_word(r, i, rng) -> Draft | None:
    word, ident = split_sub(r["sub_building"])
    if word != "Flat":
        return None
    new = _pick(rng, FLAT_WORDS, FLAT_WORD_P["letter" if ident.isalpha() else "number"])
    flat = f"{new} {ident}"
    number, name, street = r["building_number"], r["building_name"], r["street"]
    building = [name] if name else []
    line = f"{number} {street}" if number else street
    where = rng.random()
    if where < 0.6:  # before the building: "Apt 2, Heron House, Mill Road"
        parts = [flat, *building, line]
    elif where < 0.75 and name:  # after the building name: "Heron House Apt 2, Mill Road"
        parts = [f"{name} {flat}", line]
    else:  # after the street: "14 Mill Road, Apt 2"
        parts = [*building, line, flat]
    shown = {"unit": ident, "number": split_number(number)[0] if number else ""}
    if name:
        shown["name"] = norm_name(name)
    k = next(j for j, x in enumerate(parts) if x.endswith(street))
    return Draft(parts, [(k, street)], "exact", shown, i, None)


def _letter_suffix(r, i, rng) -> Draft | None:
    word, ident = split_sub(r["sub_building"])
    digits, letter = split_number(r["building_number"])
    if word != "Flat" or len(ident) != 1 or not ident.isalpha() or not digits.isdigit() or letter:
        return None
    written = ident.lower() if rng.random() < 0.2 else ident
    parts = ([r["building_name"]] if r["building_name"] else []) + [
        f"{digits}{written} {r['street']}"
    ]
    shown = {"unit": ident, "number": digits}
    return Draft(parts, [(len(parts) - 1, r["street"])], "exact", shown, i, None)


def _suffix(r) -> tuple[str, str] | None:
    digits, letter = split_number(r["building_number"])
    if r["sub_building"] or not letter or not digits.isdigit():
        return None
    return digits, letter


def _suffix_flat(r, i, rng) -> Draft | None:
    if not (s := _suffix(r)):
        return None
    digits, letter = s
    line = f"{digits} {r['street']}"
    form = rng.random()
    if form < 0.55:
        parts = [f"Flat {letter}", line]
    elif form < 0.8:
        parts = [f"Flat {letter} {line}"]
    else:
        parts = [line, f"Flat {letter}"]
    k = next(j for j, x in enumerate(parts) if x.endswith(r["street"]))
    return Draft(parts, [(k, r["street"])], "exact", {"unit": letter, "number": digits}, i, None)


def _suffix_apart(r, i, rng) -> Draft | None:
    if not (s := _suffix(r)):
        return None
    digits, letter = s
    form = _pick(rng, [f"{digits} {letter}", f"{digits} {letter.lower()}", f"{digits}-{letter}",
                       f"{digits}/{letter}"], [0.6, 0.2, 0.12, 0.08])  # fmt: skip
    parts = [f"{form} {r['street']}"]
    return Draft(parts, [(0, r["street"])], "exact", {"unit": letter, "number": digits}, i, None)


def _flat_in_name(r, i, rng) -> Draft | None:
    word, ident = split_sub(r["sub_building"])
    name = r["building_name"]
    if word != "Flat" or not ident[:1].isdigit() or not name:
        return None
    line = f"{r['building_number']} {r['street']}" if r["building_number"] else r["street"]
    head = f"{ident} {name}"
    parts = [head, line] if rng.random() < 0.6 else [f"{head} {line}"]
    shown = {"unit": ident, "name": norm_name(name)}
    if r["building_number"]:
        shown["number"] = split_number(r["building_number"])[0]
    return Draft(parts, [(len(parts) - 1, r["street"])], "exact", shown, i, None)


def _estate_unit(r, i, rng) -> Draft | None:
    word, ident = split_sub(r["sub_building"])
    if word != "Unit":
        return None
    name, street = r["building_name"], r["street"]
    on_street = not (name and ESTATE_LIKE.search(name))
    if on_street and not ESTATE_LIKE.search(street):
        return None
    estate = street if on_street else name
    written = estate
    for full, shorts in ESTATE_SHORT:
        if full in estate and rng.random() < 0.5:
            written = estate.replace(full, _pick(rng, shorts))
    if rng.random() < 0.8:
        head = [f"Unit {ident} {written}"] if rng.random() < 0.4 else [f"Unit {ident}", written]
    else:  # the bare number: "5 Kestrel Works"
        head = [f"{ident} {written}"]
    shown = {"unit": ident}
    if on_street:
        return Draft(head, [(len(head) - 1, written)], "exact", shown, i, None)
    shown["name"] = norm_name(name)
    if rng.random() < 0.3:  # the street too, but no number
        return Draft([*head, street], [(len(head), street)], "exact", shown, i, None)
    return Draft(head, [], "exact", shown, i, None)


def short_forms(org: str, class_code: str = "") -> list[str]:
    """Shorter ways to write an organisation's name that a clerk would still recognise."""
    out: list[str] = []
    name = org
    if re.match(r"(?i)the\s", name):
        name = name[4:]
        out.append(name)
    tail = re.compile(
        r"(?i)\s*(,?\s*(ltd\.?|limited|plc|& co\.?|and co\.?|& sons)|\s(local|express|extra|metro"
        r"|superstore|stores?|school))$"
    )
    while (cut := tail.sub("", name)) != name and cut:
        name = cut
        out.append(name)
    if "'" in name:
        out.append(name.replace("'", ""))
    if class_code == "CR06" or re.search(r"(?i)\b(arms|head|inn|tavern)\b", org) and out:
        base = out[0] if out else name
        out += [f"{base} PH", f"{base} Public House", f"{base} pub"]
    return [x for x in dict.fromkeys(out) if x and x != org]


def _short_name(r, i, rng) -> Draft | None:
    org = r["organisation"]
    forms = short_forms(org, r["class_code"]) if org else []
    if not forms:
        return None
    written = _pick(rng, forms)
    shown = {"org": org_core(written)}
    digits, letter = split_number(r["building_number"])
    if r["building_number"] and rng.random() < 0.45:
        shown["number"] = digits
        parts = [written, f"{r['building_number']} {r['street']}"]
    else:
        parts = [written, r["street"]]
    return Draft(parts, [(1, r["street"])], "exact", shown, i, None)


def street_words(street: str) -> list[tuple[str, float]]:
    """The street with a word dropped, added or its type changed, each with its weight: a
    leading Upper/Old/Little... dropped is the likeliest slip, a word added the least."""
    w = street.split()
    out: list[tuple[str, float]] = []
    if len(w) > 2 and w[0] in PREFIXES:
        out.append((" ".join(w[1:]), 4.0))
    if len(w) > 1 and w[-1] in TYPE_SWAPS:
        swaps = TYPE_SWAPS[w[-1]]
        out += [(" ".join([*w[:-1], t]), 2.0 / len(swaps)) for t in swaps]
    if len(w) >= 2 and w[0] not in PREFIXES and w[-1] in {"Lane", "Road", "Street"}:
        out.append((f"Old {street}" if w[-1] == "Lane" else f"Upper {street}", 0.5))
    return [(x, p) for x, p in out if x != street]


def _street_word(r, i, rng) -> Draft | None:
    options = street_words(r["street"])
    if not options:
        return None
    weights = np.array([p for _, p in options])
    new = _pick(rng, [x for x, _ in options], weights / weights.sum())
    parts, shown, k = _premises(r, rng)
    parts[k] = parts[k][: len(parts[k]) - len(r["street"])] + new
    return Draft(parts, [(k, new)], "word", shown, i, None, keep_postcode=True)


def misspell(word: str, rng) -> str:
    """One slip at a letter other than the first: a keyboard neighbour, dropped, doubled or
    swapped with the next."""
    if len(word) < 3:
        return word
    j = int(rng.integers(1, len(word)))
    c = word[j]
    kind = _pick(rng, ["neighbour", "drop", "double", "swap"], [0.35, 0.25, 0.2, 0.2])
    if kind == "swap" and j < len(word) - 1 and word[j + 1] != c:
        return word[:j] + word[j + 1] + c + word[j + 2 :]
    if kind == "double" and c.isalpha() and j < len(word) - 1:
        return word[: j + 1] + c + word[j + 1 :]
    if kind == "neighbour" and c.lower() in _neighbours():
        d = _pick(rng, list(_neighbours()[c.lower()]))
        return word[:j] + (d.upper() if c.isupper() else d) + word[j + 1 :]
    if len(word) > 4:
        return word[:j] + word[j + 1 :]
    return word


def _misspelt(r, i, rng) -> Draft | None:
    street = r["street"]
    w = street.split()
    core = [j for j, x in enumerate(w) if len(x) >= 4 and x not in STREET_TYPES | PREFIXES]
    if not core:
        return None
    new = list(w)
    for _ in range(2 if rng.random() < 0.2 else 1):
        j = _pick(rng, core) if rng.random() < 0.85 or len(w) == 1 else len(w) - 1
        new[j] = misspell(new[j], rng)
    written = " ".join(new)
    if osa(norm_street(written), norm_street(street)) not in (1, 2):
        return None
    parts, shown, k = _premises(r, rng)
    parts[k] = parts[k][: len(parts[k]) - len(street)] + written
    return Draft(parts, [(k, written)], "spelling", shown, i, None)


def _relational(r, i, rng, gaz: _Gazetteer | None = None) -> Draft | None:
    if r["sub_building"] or not (r["building_number"] or r["building_name"]):
        return None
    street = r["street"]
    if gaz is not None and rng.random() < 0.25 and (crossings := gaz.crossings()):
        x = _pick(rng, sorted(crossings))  # a street that meets another, not necessarily r's
        j = int(gaz.by_street_id[x][int(rng.integers(len(gaz.by_street_id[x])))])
        return _junction(gaz.records[j], j, rng, gaz)
    ref = f"{r['building_number']} {street}" if r["building_number"] else street
    head = r["building_name"] if not r["building_number"] else ""
    phrase = _pick(rng, ["Land adjacent to", "Land adj", "Land adj.", "Rear of", "R/O",
                         "Land at rear of", "Opp.", "Opposite", "Opp", "O/S", "Outside"],
                   [0.16, 0.08, 0.04, 0.16, 0.1, 0.06, 0.1, 0.08, 0.06, 0.08, 0.08])  # fmt: skip
    parts = [f"{phrase} {head}", ref] if head else [f"{phrase} {ref}"]
    shown = {"unit": split_number(r["building_number"])[1]}
    if r["building_number"]:
        shown["number"] = split_number(r["building_number"])[0]
    if r["building_name"]:
        shown["name"] = norm_name(r["building_name"])
    return Draft(parts, [(len(parts) - 1, street)], "exact", shown, i, None, no_postcode_p=0.3)


def _junction(r, i, rng, gaz: _Gazetteer) -> Draft | None:
    near = gaz.crossings().get(gaz.street_id[i], [])
    if not near:
        return None
    other = near[int(rng.integers(len(near)))]
    x = r["street"]
    form = _pick(rng, [f"Junction of {x} and {other}", f"Junction of {x} & {other}",
                       f"{x} j/w {other}", f"{x}/{other} junction", f"Jct {x} / {other}"],
                 [0.35, 0.15, 0.25, 0.15, 0.1])  # fmt: skip
    return Draft([form], [(0, x), (0, other)], "exact", {}, i, None, keep_town=True,
                 no_postcode_p=0.6, junction_with=other)  # fmt: skip


WRITERS = {
    "flat_word": _flat_word,
    "letter_suffix": _letter_suffix,
    "suffix_flat": _suffix_flat,
    "suffix_apart": _suffix_apart,
    "flat_in_name": _flat_in_name,
    "estate_unit": _estate_unit,
    "short_name": _short_name,
    "street_word": _street_word,
    "misspelt": _misspelt,
    "relational": _relational,
}


def applies(rule: str, r: dict) -> bool:
    """Whether the rule can write this property (before the clerk's check)."""
    rng = np.random.default_rng(0)
    if rule == "relational":
        return bool(not r["sub_building"] and (r["building_number"] or r["building_name"]))
    if rule == "street_word":
        return bool(street_words(r["street"]))
    if rule == "misspelt":
        return any(len(x) >= 4 and x not in STREET_TYPES | PREFIXES for x in r["street"].split())
    if rule == "short_name":
        return bool(r["organisation"] and short_forms(r["organisation"], r["class_code"]))
    return WRITERS[rule](r, 0, rng) is not None


# -- the clerk's check, and the plain variations ----------------------------------------------


def resolves(gaz: _Gazetteer, d: Draft, postcode: bool, town: bool, locality: bool) -> bool:
    """Whether a careful clerk with the gazetteer, given what the mention shows, would find
    exactly the property meant (or, for a place beside one, exactly its street)."""
    r = gaz.records[d.row]
    pc = gaz.postcode[d.row] if postcode else ""
    tw = gaz.town[d.row] if town else ""
    lo = gaz.locality[d.row] if locality else ""
    if d.junction_with is not None:
        xs = gaz.scope(gaz.by_street.get(norm_street(r["street"])), pc, tw, lo)
        ys = gaz.scope(gaz.by_street.get(norm_street(d.junction_with)), "", tw, "")
        x_ids, y_ids = set(gaz.street_id[xs]), set(gaz.street_id[ys])
        hits = {a for a in x_ids if any(gaz.near(a, b) for b in y_ids)}
        return hits == {gaz.street_id[d.row]}
    if d.streets:
        names = gaz.streets_like(d.streets[0][1], d.relation, gaz.street_norm[d.row])
        idx = np.concatenate([gaz.by_street[x] for x in names]) if names else np.array([], int)
    else:
        idx = None
    idx = gaz.scope(idx, pc, tw, lo)
    for k, v in d.shown.items():
        idx = idx[gaz.key[k][idx] == v]
    if d.relational:  # the place is beside the property: its street is what must be found
        return set(gaz.street_id[idx]) == {gaz.street_id[d.row]}
    return len(idx) == 1 and idx[0] == d.row


def abbreviate(street: str, rng) -> str:
    w = street.split()
    if w and w[-1] in ABBREVIATIONS:
        w[-1] = ABBREVIATIONS[w[-1]] + ("." if rng.random() < 0.1 else "")
    return " ".join(w)


def format_postcode(pc: str, style: str) -> str:
    if style == "nospace":
        return pc.replace(" ", "")
    if style == "lower":
        return pc.lower()
    return pc


def render(gaz: _Gazetteer, d: Draft, rng) -> tuple[str, str | None] | None:
    """The mention's text and postcode column, with plain variations; None if no choice of
    them lets a clerk resolve it."""
    r = gaz.records[d.row]
    town = d.keep_town or rng.random() >= 0.15
    locality = bool(r["locality"]) and rng.random() < 0.35
    p_none = d.no_postcode_p
    mode = _pick(rng, ["column", "text", "both", "none"],
                 np.array([0.55, 0.2, 0.15, p_none]) / (0.9 + p_none))  # fmt: skip
    if d.keep_postcode and mode == "none":
        mode = "column"
    if not r["postcode"]:
        mode = "none"
    while not resolves(gaz, d, mode != "none", town, locality):
        if mode == "none" and r["postcode"]:
            mode = "column"
        elif not town:
            town = True
        elif not locality and r["locality"]:
            locality = True
        else:
            return None
    parts = list(d.parts)
    if rng.random() < 0.35:
        for k, street in d.streets:
            at = parts[k].rfind(street)
            if at >= 0:
                parts[k] = parts[k][:at] + abbreviate(street, rng) + parts[k][at + len(street) :]
    if locality:
        parts.append(r["locality"])
    if town:
        parts.append(_title(r["town"]) if rng.random() < TITLE_TOWN_P else r["town"])
    style = _pick(rng, ["standard", "nospace", "lower"], [0.75, 0.15, 0.10])
    pc = format_postcode(r["postcode"], style)
    if mode in ("text", "both"):
        parts.append(pc)
    text = (", " if rng.random() < 0.8 else " ").join(parts)
    case = rng.random()
    if case < 0.15:
        text = text.lower()
    elif case < 0.23:
        text = text.upper()
    return text, (pc if mode in ("column", "both") else None)


# -- the public function ----------------------------------------------------------------------


def variants(properties: pd.DataFrame, n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`n` address mentions of the gazetteer's properties, written by the rules above, and
    their truth. Pure: the same properties, n and seed give the same frames."""
    rng = np.random.default_rng(seed)
    gaz = _Gazetteer(properties)
    eligible = {
        rule: np.array([i for i, r in enumerate(gaz.records) if applies(rule, r)], dtype=int)
        for rule in RULES
    }
    rules = [rule for rule in RULES if len(eligible[rule])]
    shares = np.full(len(rules), n // max(1, len(rules)))
    shares[: n - shares.sum()] += 1
    rows: list[tuple] = []
    short = 0  # what a rule could not write passes to the next
    for rule, share in zip(rules, shares, strict=True):
        share += short
        order = rng.permutation(eligible[rule])
        written, tries, k = 0, 0, 0
        while written < share and tries < 50 * share + 100:
            i = int(order[k % len(order)])
            k, tries = k + 1, tries + 1
            r = gaz.records[i]
            d = _relational(r, i, rng, gaz) if rule == "relational" else WRITERS[rule](r, i, rng)
            if d is None:
                continue
            d.relational = rule == "relational"
            d.uprn = None if d.relational else int(gaz.uprn[i])
            out = render(gaz, d, rng)
            if out is None:
                continue
            r = gaz.records[d.row]  # a junction names a street of its own choosing
            usrn = int(r["usrn"]) if gaz.has_usrn and r["usrn"] else None
            rows.append((out[0], out[1], rule, d.uprn, usrn))
            written += 1
        short = share - written
    order = rng.permutation(len(rows))
    rows = [rows[j] for j in order]
    ids = [f"V{j + 1:06d}" for j in range(len(rows))]
    mentions = pd.DataFrame({
        "mention_id": ids,
        "text": [x[0] for x in rows],
        "postcode": pd.Series([x[1] for x in rows], dtype=object),
        "convention": [x[2] for x in rows],
    })  # fmt: skip
    truth = pd.DataFrame({
        "mention_id": ids,
        "uprn": pd.array([x[3] for x in rows], dtype="Int64"),
        "usrn": pd.array([x[4] for x in rows], dtype="Int64"),
    })  # fmt: skip
    return mentions, truth
