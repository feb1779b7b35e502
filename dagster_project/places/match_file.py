"""`hub match-places`: the place matcher on any file of mentions against any gazetteer in the
hub's format (docs/gazetteer.md); the place spine's matcher, without the warehouse."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from dagster_project.config import memory_limit
from dagster_project.places import gazetteer, match
from dagster_project.platform import input_file

# The input: name, whether required, and meaning (as the README's table gives them).
COLUMNS = (
    ("mention_id", True, "the mention's own identifier, unique in the file"),
    ("text", True, 'the address or location as written ("Flat 2, 10 High St, Oxford")'),
    ("postcode", False, "the postcode, where it is given apart from the text"),
    ("town", False, "the town, where it is given apart from the text"),
    ("easting", False, "British National Grid easting, metres"),
    ("northing", False, "British National Grid northing, metres"),
)

# What `--output` holds, one row per mention.
OUTPUT = ("mention_id", "method", "score", "uprn", "usrn", "is_property", "easting", "northing",
          "lsoa_code", "ward_code", "district_code", "reason", "to_review")  # fmt: skip


@dataclass(frozen=True)
class Matched:
    properties: int
    mentions: int
    by_method: dict[str, int]
    to_review: int


def _read(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    input_file.read(con, path, "input_mentions")
    present = {r[0] for r in con.execute("describe input_mentions").fetchall()}
    missing = [name for name, required, _ in COLUMNS if required and name not in present]
    if missing:
        raise ValueError(f"{path}: no column {', '.join(missing)} (docs: hub match-places)")
    repeated = con.execute(
        "select count(*) - count(distinct mention_id), count(*) - count(mention_id) "
        "from input_mentions"
    ).fetchone()
    if any(repeated):
        raise ValueError(f"{path}: mention_id must be present and unique ({repeated[0]} "
                         f"repeated, {repeated[1]} missing)")  # fmt: skip

    def col(name: str, cast: str = "varchar") -> str:
        return f"try_cast({name} as {cast})" if name in present else f"null::{cast}"

    # The matcher reads the town from the text, so a town given apart is written after it.
    con.execute(f"""
        create table raw_mentions as
        select mention_id::varchar as place_record_id,
               concat_ws(', ', nullif(trim(text::varchar), ''),
                         nullif(trim({col("town")}), '')) as address,
               null::varchar as address_line1,
               nullif(trim({col("postcode")}), '') as postcode,
               {col("easting", "integer")} as easting, {col("northing", "integer")} as northing
        from input_mentions""")  # fmt: skip


def match_file(gazetteer_path: Path, input_path: Path, output: Path) -> Matched:
    """Match each mention of `input_path` to a property or street of `gazetteer_path`; write
    OUTPUT to `output` (parquet)."""
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    con.execute(f"set memory_limit = '{memory_limit()}'")
    try:
        if not gazetteer_path.exists():
            raise FileNotFoundError(f"{gazetteer_path}: no such file")
        properties = gazetteer.load(con, gazetteer_path, "gaz")
        _read(con, input_path)
        con.execute("create table decisions (place_record_id varchar, uprn bigint, "
                    "usrn bigint, match boolean)")  # fmt: skip
        match.match(con)
        output.parent.mkdir(parents=True, exist_ok=True)
        columns = ", ".join(["place_record_id as mention_id", *OUTPUT[1:]])
        con.execute(f"copy (select {columns} from place_matches order by 1) to '{output}' "
                    "(format parquet)")  # fmt: skip
        by_method = dict(con.execute("select method, count(*) from place_matches "
                                     "group by 1 order by 2 desc").fetchall())  # fmt: skip
        (review,) = con.execute("select count(*) from place_matches where to_review").fetchone()
        return Matched(properties, sum(by_method.values()), by_method, review)
    finally:
        con.close()
