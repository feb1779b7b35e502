"""Residents per LSOA, the denominators of Level 1's rates per 1,000: `data/reference/
population.csv` (lsoa_code, lsoa_name, population), the ONS mid-year estimates in a
partnership or the synthetic region's own count. Refused whole, naming the file and the
reason, when it breaks that format; without the file, rates are left NULL."""

from __future__ import annotations

from pathlib import Path

import duckdb

TABLE = "reference.population"


class PopulationError(ValueError):
    """A population file that cannot be used."""


def load(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Replace `reference.population` with the file's rows (none if there is no file)."""
    con.execute("create schema if not exists reference")
    if not path.exists():
        con.execute(f"create or replace table {TABLE} "
                    "(lsoa_code varchar, lsoa_name varchar, population integer)")  # fmt: skip
        return 0
    try:
        con.execute(
            "create or replace temp table population_text as select * from "
            "read_csv(?, header = true, all_varchar = true)", [str(path)]
        )  # fmt: skip
    except duckdb.Error as e:
        raise PopulationError(f"{path}: cannot be read ({str(e).splitlines()[0]})") from None
    present = {r[0] for r in con.execute("describe population_text").fetchall()}
    missing = sorted({"lsoa_code", "population"} - present)
    if missing:
        raise PopulationError(f"{path}: missing column(s) {', '.join(missing)}")
    bad, first = con.execute(
        "select count(*), min(lsoa_code) from population_text "
        "where try_cast(population as integer) is null or population::integer < 0"
    ).fetchone()  # fmt: skip
    if bad:
        raise PopulationError(f"{path}: {bad} population(s) not a whole number >= 0 "
                              f"(first: LSOA {first})")  # fmt: skip
    (repeated,) = con.execute(
        "select count(*) - count(distinct lsoa_code) from population_text"
    ).fetchone()
    if repeated:
        raise PopulationError(f"{path}: {repeated} LSOA(s) listed more than once")
    name = "lsoa_name" if "lsoa_name" in present else "null::varchar"
    con.execute(f"create or replace table {TABLE} as select lsoa_code, {name} as lsoa_name, "
                "population::integer as population from population_text")  # fmt: skip
    return con.execute(f"select count(*) from {TABLE}").fetchone()[0]
