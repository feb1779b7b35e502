"""The gazetteer the place spine matches to: the synthetic region's `gazetteer.csv` and a
partnership's own AddressBase-style extract load through one documented format
(docs/gazetteer.md), and a file that breaks it is refused with the reason.

COLUMNS is the format: name, DuckDB type, whether the column is required, and its meaning.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

COLUMNS = (
    ("uprn", "BIGINT", True, "Unique Property Reference Number, 12 digits"),
    ("class_code", "VARCHAR", False, "AddressBase classification code (RD04 …)"),
    ("class_description", "VARCHAR", False, "What the classification code means"),
    ("organisation", "VARCHAR", False, "Organisation name, for a business or public building"),
    ("sub_building", "VARCHAR", False, "Flat or unit (Flat 2, Unit 4, 14A)"),
    ("building_name", "VARCHAR", False, "Building name (Wellington House)"),
    ("building_number", "VARCHAR", False, "Building number, with any suffix (14, 14A)"),
    ("street", "VARCHAR", True, "Street name as the gazetteer holds it"),
    ("usrn", "BIGINT", False, "Unique Street Reference Number"),
    ("locality", "VARCHAR", False, "Locality or village"),
    ("town", "VARCHAR", True, "Post town"),
    ("postcode", "VARCHAR", True, "Postcode in the standard form AA9A 9AA"),
    ("easting", "INTEGER", True, "British National Grid easting, metres"),
    ("northing", "INTEGER", True, "British National Grid northing, metres"),
    ("lsoa_code", "VARCHAR", True, "Lower layer super output area (2021) code"),
    ("lsoa_name", "VARCHAR", False, "Lower layer super output area name"),
    ("ward_code", "VARCHAR", True, "Electoral ward code"),
    ("ward_name", "VARCHAR", False, "Electoral ward name"),
    ("district_code", "VARCHAR", True, "Local authority district code"),
    ("district_name", "VARCHAR", True, "Local authority district name"),
)

POSTCODE = r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$"
# The extent of the British National Grid over Great Britain, in metres.
GB_EASTING = (0, 700_000)
GB_NORTHING = (0, 1_300_000)

# Each rule: a reason, and the SQL condition a bad row meets (on the columns read as text).
RULES = (
    ("UPRN is not 12 digits", "not regexp_full_match(trim(uprn), '[0-9]{12}')"),
    ("postcode is not a valid UK postcode", f"not regexp_matches(postcode, '{POSTCODE}')"),
    ("easting or northing is not a whole number of metres",
     "not regexp_full_match(trim(easting), '-?[0-9]+') "
     "or not regexp_full_match(trim(northing), '-?[0-9]+')"),
    ("coordinates are outside Great Britain",
     f"try_cast(easting as integer) not between {GB_EASTING[0]} and {GB_EASTING[1]} or "
     f"try_cast(northing as integer) not between {GB_NORTHING[0]} and {GB_NORTHING[1]}"),
)  # fmt: skip


class GazetteerError(ValueError):
    pass


def _required() -> list[str]:
    return [name for name, _, required, _ in COLUMNS if required]


def check(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Refuse the file, naming it and the reason, unless every rule of the format holds.
    The file is read as text into `gazetteer_text`."""
    if not path.exists():
        raise GazetteerError(f"{path}: no such file")
    try:
        con.execute(
            "create or replace temp table gazetteer_text as select * from "
            f"read_csv('{path}', header = true, all_varchar = true)"
        )
    except duckdb.Error as e:
        raise GazetteerError(f"{path}: cannot be read ({str(e).splitlines()[0]})") from None
    present = {r[0] for r in con.execute("describe gazetteer_text").fetchall()}
    missing = [c for c in _required() if c not in present]
    if missing:
        raise GazetteerError(f"{path}: missing required column(s) {', '.join(missing)}")
    if not con.execute("select count(*) from gazetteer_text").fetchone()[0]:
        raise GazetteerError(f"{path}: holds no properties")
    blanks = [c for c in _required()
              if con.execute(f"select count(*) from gazetteer_text where nullif(trim({c}), '') "
                             "is null").fetchone()[0]]  # fmt: skip
    if blanks:
        raise GazetteerError(f"{path}: required column(s) {', '.join(blanks)} have empty values")
    for reason, bad in RULES:
        n, first = con.execute(
            f"select count(*), min(row) from (select row_number() over () + 1 as row, * "
            f"from gazetteer_text) where {bad}"
        ).fetchone()
        if n:
            raise GazetteerError(f"{path}: {reason} on {n:,} row(s), the first at line {first}")
    dupes = con.execute(
        "select count(*), min(uprn) from (select uprn from gazetteer_text group by 1 "
        "having count(*) > 1)"
    ).fetchone()
    if dupes[0]:
        raise GazetteerError(
            f"{path}: UPRN is not unique: {dupes[0]:,} UPRN(s) appear more than once "
            f"(the first {dupes[1]})"
        )


def load(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> int:
    """Check the file and write it, typed, to `table` (replacing it); its row count."""
    check(con, path)
    present = {r[0] for r in con.execute("describe gazetteer_text").fetchall()}
    columns = ", ".join(
        f"nullif(trim({name}), '')::{kind} as {name}" if name in present
        else f"null::{kind} as {name}"
        for name, kind, _, _ in COLUMNS
    )  # fmt: skip
    con.execute(f"create or replace table {table} as select {columns} from gazetteer_text")
    return con.execute(f"select count(*) from {table}").fetchone()[0]
