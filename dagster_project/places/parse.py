"""How an address or location mention is read: the same words on both sides.

Agencies write one property many ways ("Flat 2, 10 High Street", "10 High St, Flat 2",
"2/10 High St"). Both the mention and the gazetteer pass through `words()`, so abbreviations,
case and punctuation never decide a match; `parse()` then finds the parts that must agree
exactly (flat, building number, postcode) and the street names the text could contain.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from dagster_project.contracts.model import address_words

# A postcode anywhere in the text, with or without its space.
POSTCODE = re.compile(r"\b([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})\b")
PUNCTUATION = re.compile(r"[^A-Z0-9/ ]+")
NUMBER = re.compile(r"^[0-9]+[A-Z]?$")
FLAT_ID = r"(?:[0-9]+[A-Z]?|[A-Z])"
SLASH = re.compile(rf"^({FLAT_ID})/([0-9]+[A-Z]?)\b")
# Locations that are not a property, as agencies describe them.
JUNCTION = re.compile(r"^JUNCTION OF (.+?) AND (.+)$")
# ("Route 5 bus, Park Road" reads as "ROUTE 5 BUSINESS PARK ROAD": "Bus Park" is one too)
ROUTE = re.compile(r"^ROUTE [0-9A-Z]+ BUS(?:INESS)?\b(.*)$")


@dataclass(frozen=True)
class Parsed:
    flat: str | None
    number: str | None
    postcode: str | None
    tokens: tuple[str, ...]  # the words left once flat, number and postcode are taken out
    streets: tuple[str, ...]  # street names the text could contain, most likely first
    form: str  # address | junction | outside | route


@functools.cache
def _vocabulary() -> tuple[dict[str, str], frozenset[str], re.Pattern]:
    words = address_words()
    expand: dict[str, str] = {}
    for full, abbreviations in (*words["street_types"].items(), *words["building_words"].items()):
        for a in abbreviations:
            expand[a.upper()] = full.upper()
    types = frozenset(t.upper() for t in words["street_types"])
    subs = "|".join(s.upper() for s in words["sub_buildings"])
    flat = re.compile(rf"\b(?:{subs}) ({FLAT_ID})\b")
    return expand, types, flat


@functools.cache
def _outside() -> re.Pattern:
    """A location placed by a property without being it (addresses.yml: relational)."""
    phrases = sorted((words(p) for p in address_words()["relational"]), key=len, reverse=True)
    return re.compile(rf"^(?:{'|'.join(map(re.escape, phrases))}) (.+)$")


# A number and a letter written apart ("11 B Oak Road", "11/B", "11-B") are one building
# number, 11B.
SPACED_SUFFIX = re.compile(r"^ *([0-9]+)[ /]([A-Z]) (?=[A-Z])")


def words(text: str | None) -> str:
    """Upper case, apostrophes dropped, other punctuation a space, abbreviations expanded."""
    if not text:
        return ""
    expand, _, _ = _vocabulary()
    text = text.upper().replace("&", " AND ").replace("'", "").replace("\u2019", "")
    tokens = PUNCTUATION.sub(" ", text).split()
    phrases, first = _phrases()
    if first.intersection(tokens):
        tokens = phrases.sub(lambda m: expand[m.group(0)], " ".join(tokens)).split()
    get = expand.get
    return " ".join([get(w, w) for w in tokens])


@functools.cache
def _phrases() -> tuple[re.Pattern, frozenset[str]]:
    """The abbreviations of more than one word ("IND EST"), expanded before single words, and
    the words they start with (most texts have none, and skip the pattern)."""
    expand, _, _ = _vocabulary()
    many = sorted((a for a in expand if " " in a), key=len, reverse=True)
    pattern = re.compile(rf"\b(?:{'|'.join(map(re.escape, many))})\b" if many else r"(?!)")
    return pattern, frozenset(a.split()[0] for a in many)


def short_name(name: str | None) -> str | None:
    """A premises name as people shorten it: without a leading "The" or a trailing word that
    says what kind it is (addresses.yml: premises_words), where five letters or more remain
    ("RED LION" for "THE RED LION", "FINCH PRIMARY" for "FINCH PRIMARY SCHOOL")."""
    if not name:
        return name
    rest = name.removeprefix("THE ")
    for kind in _premises_words():
        rest = rest.removesuffix(" " + kind)
    return rest if len(rest.replace(" ", "")) >= 5 else name


@functools.cache
def _premises_words() -> tuple[str, ...]:
    return tuple(sorted((words(k) for k in address_words()["premises_words"]), key=len,
                        reverse=True))  # fmt: skip


def postcode(text: str | None) -> str | None:
    """A postcode in its standard form ("OX1 2AB"), or None."""
    return _postcode_in(words(text))


def _postcode_in(read: str) -> str | None:
    m = POSTCODE.search(read)
    return f"{m.group(1)} {m.group(2)}" if m else None


def flat_id(sub_building: str | None) -> str | None:
    """The identifier of a sub-building ("Flat 2" -> "2", "Unit 18" -> "18", "Flat C" -> "C")."""
    if not sub_building:
        return None
    _, _, flat = _vocabulary()
    w = words(sub_building)
    m = flat.search(w)
    return m.group(1) if m else w


def street_names(tokens: list[str] | tuple[str, ...]) -> list[str]:
    """Every run of two or three words ending in a street type ("HIGH STREET", "UPPER CART
    ROAD"), the first in the text first and the longer first where both end at one word: a
    building name can end in a street type too ("ABBEY COURT"), and "CART ROAD" is also the
    end of "UPPER CART ROAD"."""
    _, types, _ = _vocabulary()
    out: list[str] = []
    for p, w in enumerate(tokens):
        if w in types:
            for start in (p - 2, p - 1):
                if start >= 0:
                    out.append(" ".join(tokens[start : p + 1]))
    return list(dict.fromkeys(out))


def parse(text: str | None, line1: str | None = None, code: str | None = None) -> Parsed:
    """Read a mention: `line1` (flat, building and street) when staging has cut it out, else
    the whole text; `code` is the postcode column where the feed has one."""
    _, _, flat_re = _vocabulary()
    whole = words(text)
    pc = postcode(code) or _postcode_in(whole)
    first = words(line1) if line1 else whole
    # what follows line 1 (locality and town) helps find the street and the town
    tail = POSTCODE.sub(" ", whole.removeprefix(first) if line1 else "")
    rest = POSTCODE.sub(" ", first)

    form = "address"
    for pattern, name in ((JUNCTION, "junction"), (_outside(), "outside"), (ROUTE, "route")):
        m = pattern.match(rest.strip())
        if m:
            form = name
            rest = " ".join(g for g in m.groups() if g)
            break

    flat = number = None
    m = SLASH.match(rest.strip())
    if m:
        flat, number = m.group(1), m.group(2)
        rest = rest.strip()[m.end() :]
    else:
        m = flat_re.search(rest)
        if m:
            flat = m.group(1)
            rest = rest[: m.start()] + " " + rest[m.end() :]
    rest = SPACED_SUFFIX.sub(r"\1\2 ", rest)
    tokens = rest.replace("/", " ").split()
    if number is None and form == "address":
        number = next((t for t in tokens if NUMBER.match(t)), None)
        if number is not None:
            tokens.remove(number)
    all_tokens = tuple(tokens + tail.replace("/", " ").split())
    streets = street_names(tokens) or street_names(all_tokens)
    return Parsed(flat, number, pc, all_tokens, tuple(streets), form)
