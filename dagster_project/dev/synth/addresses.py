"""How an address is written. The gazetteer holds its parts; agencies write them in many
ways ("Flat 2, 10 High Street" / "10 High Street, Flat 2" / "2/10 High St")."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from dagster_project.dev.synth.errors import typo
from dagster_project.dev.synth.gazetteer import STREET_PREFIXES

STYLES = ("standard", "flat_last", "slash", "abbreviated", "no_comma")


def premises(
    sub_building: str | None,
    building_name: str | None,
    building_number: str | None,
    street: str,
    style: str = "standard",
    street_short: str | None = None,
    organisation: str | None = None,
) -> str:
    """The first line of an address: flat, building and street, in one of STYLES."""
    road = (street_short or street) if style in ("abbreviated", "slash") else street
    number_street = f"{building_number} {road}" if building_number else road
    flat = sub_building
    if style == "slash" and flat and building_number and not building_name:
        flat_id = re.sub(r"^Flat\s+", "", flat)
        return f"{flat_id}/{building_number} {road}"
    if style == "flat_last" and flat:
        parts = [p for p in (building_name, number_street, flat) if p]
    else:
        parts = [p for p in (flat, building_name, number_street) if p]
    if organisation and not flat:
        parts.insert(0, organisation)
    sep = " " if style == "no_comma" else ", "
    return sep.join(parts)


def one_line(
    premises_line: str,
    locality: str | None,
    town: str,
    postcode: str | None,
    style: str = "standard",
) -> str:
    town_text = town.title() if style != "standard" else town
    parts = [premises_line, locality, town_text, postcode]
    sep = " " if style == "no_comma" else ", "
    return sep.join(p for p in parts if p)


def format_postcode(postcode: str, no_space: bool = False, lower: bool = False) -> str:
    out = postcode.replace(" ", "") if no_space else postcode
    return out.lower() if lower else out


# Ways people write a property that the gazetteer does not hold (issue 18), each an error type
# of errors.ErrorRates, applied only where the property has the part it rewrites and the
# rewrite names no other property.
CONVENTIONS = ("flat_word", "letter_flat", "spaced_suffix", "flat_without_word", "short_name",
               "street_word_dropped", "street_typo", "relational")  # fmt: skip
FLAT_WORDS = ("Apt", "Apartment", "Unit", "Suite", "Room", "Studio")
RELATIONAL = ("Rear of", "Land adjacent to", "Opp.", "Outside", "Next to", "R/O")


@dataclass(frozen=True)
class Parts:
    sub_building: str | None
    building_name: str | None
    building_number: str | None
    street: str
    organisation: str | None


def properties_taken(properties) -> frozenset[tuple]:
    """(street, building number, sub-building) of every property of a gazetteer frame."""
    cols = [properties[c].astype(object).where(properties[c].notna(), None)
            for c in ("street", "building_number", "sub_building")]  # fmt: skip
    return frozenset(zip(*cols, strict=True))


def conventions(p: Parts, taken: frozenset[tuple]) -> dict[str, Callable]:
    """The conventions that can rewrite `p`, each a function (rng, parts) -> parts. `taken`
    holds (street, number, sub_building) of every property, so a rewrite that would read as
    another property ("28D" where the gazetteer holds a 28D) is not offered."""
    out: dict[str, Callable] = {}
    flat = re.fullmatch(r"Flat (\w+)", p.sub_building or "")
    number = p.building_number or ""
    if flat:
        out["flat_word"] = lambda rng, q: replace(
            q, sub_building=f"{rng.choice(FLAT_WORDS)} {flat.group(1)}"
        )
        if p.building_name and not number and flat.group(1).isdigit():
            out["flat_without_word"] = lambda rng, q: replace(
                q, sub_building=None, building_name=f"{flat.group(1)} {q.building_name}"
            )
        letter = re.fullmatch(r"[A-Z]", flat.group(1)) and number.isdigit()
        if letter and (p.street, number + flat.group(1), None) not in taken:
            out["letter_flat"] = lambda rng, q: replace(
                q, sub_building=None, building_number=number + flat.group(1)
            )
    suffix = re.fullmatch(r"([0-9]+)([A-Z])", number)
    if suffix and not p.sub_building:
        if (p.street, suffix.group(1), f"Flat {suffix.group(2)}") not in taken:
            out["letter_flat"] = lambda rng, q: replace(
                q, sub_building=f"Flat {suffix.group(2)}", building_number=suffix.group(1)
            )
        out["spaced_suffix"] = lambda rng, q: replace(
            q, building_number=f"{suffix.group(1)} {suffix.group(2)}"
        )
    name = p.organisation if not p.sub_building else None
    if name and name.startswith("The ") and " " in name[4:]:
        out["short_name"] = lambda rng, q: replace(q, organisation=name[4:])
    prefix, _, rest = p.street.partition(" ")
    if prefix in STREET_PREFIXES and (rest, p.building_number, p.sub_building) not in taken:
        out["street_word_dropped"] = lambda rng, q: replace(q, street=rest)
    out["street_typo"] = lambda rng, q: replace(q, street=_street_typo(rng, q.street))
    return out


def convention(rng, rates, p: Parts, taken: frozenset[tuple]) -> tuple[Parts, str | None]:
    """`p` written by at most one of its conventions, each tried at its rate in `rates`
    (errors.ErrorRates); the convention's name, or None."""
    for code, rewrite in conventions(p, taken).items():
        if rng.random() < getattr(rates, code):
            return rewrite(rng, p), code
    return p, None


def _street_typo(rng, street: str) -> str:
    """A slip in the name, not in the street type people read past ("Beechwod Avenue")."""
    name, _, kind = street.rpartition(" ")
    return f"{typo(rng, name)} {kind}" if name else street


def relational(rng, line1: str) -> str:
    """A location placed by the property without being it ("Rear of 5 Mill Road")."""
    return f"{rng.choice(RELATIONAL)} {line1}"
