"""People files unlike the synthetic region, made by rules of their own, for `hub link`: names
from other countries, four-digit postcodes, no agency references, and the shapes other systems
write (one name column, other date formats, initials, all capitals).

Each person gives two to three records, each with at most one slip: a typo, a first name cut to
its initial, a missing date of birth, a move of house. The truth (which records are one person)
is kept beside the file, never in it.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pandas as pd

FORENAMES = (
    "Agnieszka", "Bartosz", "Chiara", "Dmitri", "Elif", "Fatima", "Giorgos", "Hanne", "Ioana",
    "Jurgen", "Katarzyna", "Lukas", "Magdalena", "Nikolai", "Oksana", "Pieter", "Quentin",
    "Radek", "Sanna", "Tomasz", "Ugne", "Vesna", "Wojciech", "Ximena", "Yusuf", "Zofia", "Ana",
    "Bo", "Eun", "Li", "Mei", "Omar", "Raj", "Sven", "Tao", "Ugo",
)  # fmt: skip
SURNAMES = (
    "Kowalski", "Nowak", "Wisniewska", "Rossi", "Esposito", "Papadopoulos", "Yilmaz", "Demir",
    "Popescu", "Ionescu", "Jansen", "de Vries", "van den Berg", "Bakker", "Muller", "Schmidt",
    "Fischer", "Novak", "Horvat", "Kovac", "Petrov", "Ivanova", "Garcia", "Fernandez",
    "Lopez", "Martinez", "Nguyen", "Tran", "Kim", "Park", "Haddad", "Nasser", "Okafor", "Mensah",
    "Lindqvist", "Johansson", "Virtanen", "Korhonen", "Dubois", "Lefebvre", "Moreau", "Silva",
    "Santos", "Ferreira", "Oliveira", "Costa",
)  # fmt: skip
STREETS = ("Hauptstrasse", "Kerkstraat", "Rue de la Paix", "Via Roma", "Calle Mayor",
           "Ulica Dluga", "Storgatan", "Lindenweg")  # fmt: skip


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 3:
        return word
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # two letters transposed


def people(n: int, seed: int) -> pd.DataFrame:
    """Records of `n` people in the person-record schema, with `person` (the truth)."""
    rng = random.Random(seed)
    rows = []
    for p in range(n):
        forename, surname = rng.choice(FORENAMES), rng.choice(SURNAMES)
        born = pd.Timestamp("1940-01-01") + pd.Timedelta(days=rng.randrange(0, 24000))
        sex = rng.choice("MF")
        home = (f"{rng.randrange(1000, 10000)}", f"{rng.randrange(1, 200)} {rng.choice(STREETS)}")
        for k in range(rng.choice((2, 2, 3))):
            row = {"person": p, "forename": forename, "surname": surname,
                   "date_of_birth": born.date().isoformat(), "sex": sex,
                   "postcode": home[0], "address": home[1]}  # fmt: skip
            slip = rng.random() if k else 1.0  # the first record is as the person is
            if slip < 0.12:
                row["surname"] = _typo(surname, rng)
            elif slip < 0.2:
                row["forename"] = _typo(forename, rng)
            elif slip < 0.3:
                row["date_of_birth"] = None
            elif slip < 0.38:
                row["postcode"] = f"{rng.randrange(1000, 10000)}"
                row["address"] = f"{rng.randrange(1, 200)} {rng.choice(STREETS)}"
            rows.append(row)
    frame = pd.DataFrame(rows)
    frame.insert(0, "record_id", [f"r{i:06d}" for i in range(len(frame))])
    frame.insert(1, "source", [rng.choice(("clinic", "council", "charity")) for _ in rows])
    return frame


def _one_name(frame: pd.DataFrame) -> pd.DataFrame:
    name = frame.forename + " " + frame.surname
    return frame.drop(columns=["forename", "surname"]).assign(name=name)


def _one_name_surname_first(frame: pd.DataFrame) -> pd.DataFrame:
    name = frame.surname.str.upper() + ", " + frame.forename
    return frame.drop(columns=["forename", "surname"]).assign(name=name)


def _dotted_dates(frame: pd.DataFrame) -> pd.DataFrame:
    dates = pd.to_datetime(frame.date_of_birth).dt.strftime("%d.%m.%Y")
    return frame.assign(date_of_birth=dates.where(frame.date_of_birth.notna()))


def _initials(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(forename=frame.forename.str[0])


# Each shape: how one system's export differs from the records above.
SHAPES: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {
    "foreign postcodes": lambda f: f,
    "no sex": lambda f: f.drop(columns=["sex"]),
    "no address": lambda f: f.drop(columns=["postcode", "address"]),
    "one name column": _one_name,
    "one name column, surname first": _one_name_surname_first,
    "dates as day.month.year": _dotted_dates,
    "one-letter first names": _initials,
    "all upper case": lambda f: f.assign(
        forename=f.forename.str.upper(), surname=f.surname.str.upper()
    ),  # fmt: skip
    "all lower case": lambda f: f.assign(
        forename=f.forename.str.lower(), surname=f.surname.str.lower()
    ),  # fmt: skip
}


def shaped(shape: str, n: int = 600, seed: int = 7) -> tuple[pd.DataFrame, pd.Series]:
    """A file's records in `shape`, and the truth (each record's person) beside it."""
    frame = SHAPES[shape](people(n, seed))
    return frame.drop(columns=["person"]), frame.set_index("record_id").person


def pairwise(truth: pd.Series, clusters: pd.Series) -> tuple[float, float]:
    """Pairwise precision and recall of `clusters` (record -> cluster) against `truth`."""

    def pairs(groups: pd.Series) -> set[tuple[str, str]]:
        out = set()
        for members in groups.groupby(groups).groups.values():
            ids = sorted(members)
            out |= {(a, b) for i, a in enumerate(ids) for b in ids[i + 1 :]}
        return out

    true, found = pairs(truth), pairs(clusters.reindex(truth.index))
    hits = len(true & found)
    return hits / max(len(found), 1), hits / max(len(true), 1)
