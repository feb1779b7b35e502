"""Errors as they occur in real extracts, each applied at a documented, configurable rate.

Every rate is a probability per eligible value: a name error per person named in a record, a
date-of-birth swap per date whose day and month can be swapped, a stale address per person
who moved house during the window, and so on. The truth tables record which errors were
applied to which record, so later stages can report accuracy per error type.
"""

from __future__ import annotations

import dataclasses
import string
from dataclasses import dataclass

import numpy as np

from dagster_project.dev.synth.gazetteer import INWARD_LETTERS

KEYBOARD_NEIGHBOURS = {
    "a": "qwsz",
    "b": "vghn",
    "c": "xdfv",
    "d": "serfcx",
    "e": "wsdr",
    "f": "drtgvc",
    "g": "ftyhbv",
    "h": "gyujnb",
    "i": "ujko",
    "j": "huikmn",
    "k": "jiolm",
    "l": "kop",
    "m": "njk",
    "n": "bhjm",
    "o": "iklp",
    "p": "ol",
    "q": "wa",
    "r": "edft",
    "s": "awedxz",
    "t": "rfgy",
    "u": "yhji",
    "v": "cfgb",
    "w": "qase",
    "x": "zsdc",
    "y": "tghu",
    "z": "asx",
}


@dataclass(frozen=True)
class ErrorRates:
    """Default rates are modest versions of what partnership analysts report of real extracts."""

    typo: float = 0.02  # a letter of a name substituted, inserted or dropped
    transposition: float = 0.01  # two adjacent letters of a name swapped
    nickname: float = 0.05  # an informal first name (Bill for William), of names that have one
    name_swap: float = 0.01  # first name and surname swapped
    former_surname: float = 0.30  # a surname from before marriage, of people who changed it
    hyphen_variant: float = 0.30  # Smith-Jones as "Smith Jones", "Smith" or "Jones"
    dob_day_month_swap: float = 0.01  # day and month swapped, of dates where both are <= 12
    dob_missing: float = 0.03  # date of birth (and age) left blank
    age_instead_of_dob: float = 0.03  # age given, date of birth blank (feeds with both columns)
    postcode_no_space: float = 0.05  # "RG12AB"
    postcode_lower: float = 0.03  # "rg1 2ab"
    postcode_typo: float = 0.01  # one character of the postcode wrong
    address_variant: float = 0.25  # the address written another way ("2/10 High St")
    # conventions the gazetteer does not hold, of the addresses they can apply to
    flat_word: float = 0.10  # "Flat 2" written Apt, Apartment, Unit, Suite, Room or Studio 2
    letter_flat: float = 0.20  # Flat D, 28 written 28D; 11B written Flat B, 11
    spaced_suffix: float = 0.10  # 11B written "11 B"
    flat_without_word: float = 0.10  # Flat 3, Heron House written "3 Heron House"
    short_name: float = 0.30  # "The Red Lion" written "Red Lion"
    street_word_dropped: float = 0.10  # "Little York Road" written "York Road"
    street_typo: float = 0.01  # a letter of the street's name wrong
    relational: float = 0.03  # a location by a property: "Rear of 5 Mill Road" (on the street)
    stale_address: float = 0.05  # the previous address, of people who moved in the window
    missing_field: float = 0.02  # an optional field left blank
    duplicate_record: float = 0.005  # a record supplied twice in the same file

    @classmethod
    def parse(cls, overrides: list[str]) -> ErrorRates:
        """ErrorRates from "name=value" strings (the CLI's --error-rate)."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {}
        for item in overrides:
            name, _, value = item.partition("=")
            if name not in known:
                raise ValueError(f"unknown error type {name!r}; known: {', '.join(sorted(known))}")
            try:
                rate = float(value)
            except ValueError:
                raise ValueError(f"--error-rate {item}: {value!r} is not a number") from None
            if not 0 <= rate <= 1:
                raise ValueError(f"error rate {name}={value} is not between 0 and 1")
            values[name] = rate
        return cls(**values)


def typo(rng: np.random.Generator, s: str) -> str:
    """One keyboard slip: a neighbouring key, an extra letter, or a dropped letter."""
    if len(s) < 2:
        return s + "e"
    i = int(rng.integers(len(s)))
    op = rng.integers(3)
    c = s[i].lower()
    if op == 0 and c in KEYBOARD_NEIGHBOURS:
        r = rng.choice(list(KEYBOARD_NEIGHBOURS[c]))
        return s[:i] + (r.upper() if s[i].isupper() else r) + s[i + 1 :]
    if op == 1:
        r = rng.choice(list(string.ascii_lowercase))
        return s[: i + 1] + (r.upper() if s[i].isupper() and s.isupper() else r) + s[i + 1 :]
    return s[:i] + s[i + 1 :] if len(s) > 2 else s + s[-1]


def transpose(rng: np.random.Generator, s: str) -> str:
    """Swap two adjacent, different letters (returns s unchanged if none can be swapped)."""
    spots = [
        i for i in range(len(s) - 1) if s[i] != s[i + 1] and s[i].isalpha() and s[i + 1].isalpha()
    ]
    if not spots:
        return s
    i = spots[int(rng.integers(len(spots)))]
    return s[:i] + s[i + 1] + s[i] + s[i + 2 :]


def hyphen_variant(rng: np.random.Generator, surname: str) -> str:
    """Smith-Jones written as Smith Jones, Jones or Smith."""
    parts = surname.split("-")
    options = [" ".join(parts), parts[-1], parts[0]]
    return options[int(rng.integers(len(options)))]


def swap_day_month(dob: np.datetime64) -> np.datetime64:
    y, m, d = str(dob)[:10].split("-")
    return np.datetime64(f"{y}-{d}-{m}")


def can_swap_day_month(dob: np.datetime64) -> bool:
    _, m, d = str(dob)[:10].split("-")
    return int(d) <= 12 and d != m


def postcode_typo(rng: np.random.Generator, postcode: str) -> str:
    """Change one character of the inward code to another plausible one."""
    outward, inward = postcode.split(" ")
    i = int(rng.integers(3))
    if i == 0:
        choices = [c for c in "0123456789" if c != inward[0]]
    else:
        choices = [c for c in INWARD_LETTERS if c != inward[i]]
    inward = inward[:i] + str(rng.choice(choices)) + inward[i + 1 :]
    return f"{outward} {inward}"
