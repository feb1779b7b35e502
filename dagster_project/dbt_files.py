"""The dbt files a feed contract implies (`hub dbt-files`):

- `dbt/models/staging/_sources.yml`: every raw table, its columns, their meanings, and in each
  column's `meta` the concept, type, date format and value set that staging needs. Written
  from the contracts every time: edit the contract, not this file.
- `dbt/seeds/value_set_codes.csv`: every agency code and the canonical value it stands for
  (the broadest, where a code covers several).
- `dbt/models/staging/stg_<agency>__<feed>.sql`: created once (one macro call), then the
  data engineers' to change.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import yaml

from .contracts import Contract, value_sets
from .suites import date_format

GENERATED = "# Written by `hub dbt-files` from dagster_project/feeds/*.yml; do not edit.\n"


def dbt_dir() -> Path:
    return Path(os.environ.get("HUB_DBT_DIR", "dbt")).absolute()


def model_name(contract: Contract) -> str:
    return f"stg_{contract.agency}__{contract.name}"


def _column(contract: Contract, f) -> dict:
    meta = {"concept": f.concept, "type": f.type}
    if f.type == "date":
        meta["format"] = date_format(contract, f)
    if f.type == "time":
        meta["format"] = contract.file.time_format
    if f.value_set:
        meta["value_set"] = f.value_set
        meta["canonical"] = "maps" in value_sets()[f.value_set]
    if f.identifies:
        meta["identifies"] = f.identifies
    if f.attribute == "full_name":
        meta["name_format"] = f.options.get("name_format", "forename_first")
    return {"name": f.name, "description": f.meaning, "meta": meta}


def sources(contracts: dict[str, Contract]) -> str:
    tables = [{
        "name": c.name,
        "description": f"{c.dataset}, from {c.agency_name} (seeds/003 section {c.section}), "
                       "as delivered, with lineage.",
        "meta": {"agency": c.agency, "classification": c.classification,
                 "legal_basis": c.legal_basis, "retention": c.retention},
        "columns": [_column(c, f) for f in c.fields],
    } for c in contracts.values()]  # fmt: skip
    body = {"version": 2, "sources": [{
        "name": "raw", "schema": "raw",
        "description": "The archive: each feed's monthly supplies, appended after the gate.",
        "tables": tables}]}  # fmt: skip
    return GENERATED + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=100)


def staging_docs(contracts: dict[str, Contract]) -> str:
    models = [{
        "name": model_name(c),
        "description": f"{c.dataset} ({c.agency_name}), one row per delivered record: typed, "
                       "named by concept, names upper-cased without punctuation, postcodes in "
                       "the standard form (or NULL with a reason), codes beside their canonical "
                       "values.",
        "meta": {"classification": c.classification, "contract": f"{c.name}.yml"},
        "columns": [{"name": "record_id", "description": "supply id # row number in its file",
                     "data_tests": ["unique", "not_null"]}],
    } for c in contracts.values()]  # fmt: skip
    return GENERATED + yaml.safe_dump(
        {"version": 2, "models": models}, sort_keys=False, allow_unicode=True, width=100
    )


PERSON_COLUMNS = {  # common schema column: (staging attribute(s), type)
    "agency_ref": (("ref",), "varchar"),
    "forename": (("first_name", "full_name"), "varchar"),
    "surname": (("surname", "full_name"), "varchar"),
    "date_of_birth": (("dob",), "date"),
    "age": (("age",), "integer"),
    "sex": (("sex",), "varchar"),
    "ethnicity": (("ethnicity",), "varchar"),
    "address": (("address",), "varchar"),
    "postcode": (("postcode",), "varchar"),
    "postcode_reason": (("postcode",), "varchar"),
    "easting": (("easting",), "integer"),
    "northing": (("northing",), "integer"),
}


def _person_select(c: Contract, role: str) -> str:
    attrs = {f.attribute for f in c.fields_for(role)}
    # the record names this person when any of their columns holds a value
    staged = [
        f"{role}_{'surname' if f.attribute == 'full_name' else f.attribute}"
        for f in c.fields_for(role)
    ]
    present = " or ".join(f"{col} is not null" for col in staged)
    cols: list[tuple[str, str]] = []
    for out, (sources_, kind) in PERSON_COLUMNS.items():
        if out == "address" and "address" not in attrs and attrs & {"address_line1", "town"}:
            parts = [
                f"{role}_{a}" for a in ("address_line1", "address_line2", "town") if a in attrs
            ]
            expr = "concat_ws(', ', " + ", ".join(parts) + ")"
        elif attrs & set(sources_):
            suffix = "_reason" if out == "postcode_reason" else ""
            attr = "first_name" if out == "forename" else sources_[0]
            attr = "surname" if out == "surname" else attr
            expr = f"{role}_{attr}{suffix}"
        else:
            expr = f"null::{kind}"
        cols.append((out, expr))
    head = [
        ("person_record_id", f"record_id || ':{role}'"),
        ("record_id", "record_id"),
        ("source_feed", "source_feed"),
        ("agency", f"'{c.agency}'"),
        ("role", f"'{role}'"),
    ]
    return _select(c, [*head, *cols, ("period", "period")], present)


def _select(c: Contract, columns: list[tuple[str, str]], where: str) -> str:
    """One feed's part of a generated union: `expression as name` for each column."""
    body = ",\n".join(
        f"    {expr} as {name}" if expr != name else f"    {name}" for name, expr in columns
    )
    return f"select\n{body}\nfrom {{{{ ref('{model_name(c)}') }}}}\nwhere {where}"


def person_records(contracts: dict[str, Contract]) -> str:
    selects = [_person_select(c, role) for c in contracts.values() for role in c.roles]
    return (
        "-- Written by `hub dbt-files` from the feed contracts; do not edit.\n"
        "-- One row per person named in any record of any feed: the common schema the\n"
        "-- person spine links.\n\n" + "\n\nunion all\n\n".join(selects) + "\n"
    )


PLACE_COLUMNS = ("address", "street", "town", "postcode", "easting", "northing")


def _place_select(c: Contract, role: str) -> str:
    """A place mention: the event's location, or the home address of a person in it."""
    attrs = {f.attribute for f in c.fields_for(role)}
    if role == "location":
        text = next(
            (f"{role}_{a}" for a in ("address", "description", "name") if a in attrs),
            "null::varchar",
        )
        kind = "event location"
    else:
        lines = [f"{role}_{a}" for a in ("address_line1", "address_line2", "town") if a in attrs]
        text = (
            f"{role}_address"
            if "address" in attrs
            else ("concat_ws(', ', " + ", ".join(lines) + ")" if lines else "null::varchar")
        )
        kind = f"home of {role}"
    cols = {"address": text}
    for a in PLACE_COLUMNS[1:]:
        cols[a] = (
            f"{role}_{a}"
            if a in attrs
            else ("null::integer" if a in ("easting", "northing") else "null::varchar")
        )
    cols["postcode_reason"] = f"{role}_postcode_reason" if "postcode" in attrs else "null::varchar"
    present = " or ".join(f"{role}_{a} is not null" for a in sorted(attrs & ADDRESS_LIKE))
    head = [
        ("place_record_id", f"record_id || ':{role}'"),
        ("record_id", "record_id"),
        ("source_feed", "source_feed"),
        ("kind", f"'{kind}'"),
    ]
    return _select(c, [*head, *cols.items(), ("period", "period")], present)


ADDRESS_LIKE = {
    "address",
    "description",
    "name",
    "address_line1",
    "address_line2",
    "street",
    "town",
    "postcode",
    "easting",
    "northing",
}


def place_records(contracts: dict[str, Contract]) -> str:
    selects = [
        _place_select(c, role)
        for c in contracts.values()
        for role in (["location"] if c.fields_for("location") else []) + c.roles
        if {f.attribute for f in c.fields_for(role)} & ADDRESS_LIKE
    ]
    return (
        "-- Written by `hub dbt-files` from the feed contracts; do not edit.\n"
        "-- One row per address or location mention in any feed: the common schema the\n"
        "-- place spine matches to UPRNs.\n\n" + "\n\nunion all\n\n".join(selects) + "\n"
    )


def value_set_codes() -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["value_set", "code", "canonical"])
    for name, vs in value_sets().items():
        for v in vs["values"]:
            # A code standing for several canonical values (police W9: Gypsy or Irish
            # Traveller, Roma, Other White) maps to the broadest, which each list puts last.
            canonical = v.get("from", [""])[-1] if "maps" in vs else v["code"]
            writer.writerow([name, v["code"], canonical])
    return out.getvalue()


def staging_model(contract: Contract) -> str:
    return (
        f"-- {contract.dataset}: typed, named and standardised from its contract.\n"
        f"{{{{ stage_feed('{contract.name}') }}}}\n"
    )


def write_all(
    contracts: dict[str, Contract], directory: Path | None = None, check: bool = False
) -> list[str]:
    """Write what differs; returns the files changed (or that would be, with check)."""
    d = directory or dbt_dir()
    wanted = {
        d / "models" / "staging" / "_sources.yml": (sources(contracts), True),
        d / "models" / "staging" / "_staging.yml": (staging_docs(contracts), True),
        d / "seeds" / "value_set_codes.csv": (value_set_codes(), True),
        d / "models" / "intermediate" / "int_person_records.sql": (person_records(contracts), True),
        d / "models" / "intermediate" / "int_place_records.sql": (place_records(contracts), True),
    }
    for c in contracts.values():
        wanted[d / "models" / "staging" / f"{model_name(c)}.sql"] = (staging_model(c), False)
    changed = []
    for path, (text, owned) in wanted.items():
        exists = path.exists()
        if (exists and not owned) or (exists and path.read_text(encoding="utf-8") == text):
            continue
        changed.append(str(path.relative_to(d)))
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    return changed
