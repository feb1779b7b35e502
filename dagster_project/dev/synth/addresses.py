"""How an address is written. The gazetteer holds its parts; agencies write them in many
ways ("Flat 2, 10 High Street" / "10 High Street, Flat 2" / "2/10 High St")."""

from __future__ import annotations

import re

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
