"""Publishing a release: each tier's schema of the warehouse (built by the dbt marts) is
written to a new file beside the published one, checked there, and only then renamed into
place. A rename replaces the directory entry, not the file: an analyst's open connection
keeps reading the release it opened, and the next connection sees the new one whole."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from dagster_project.contracts.model import load_contracts
from dagster_project.platform import warehouse
from dagster_project.rights import retention
from dagster_project.tiers import disclosure, privacy

TIERS = ("level1", "level2", "level3")
ENCRYPTED = {"level3": "level3"}  # tier -> the key it is encrypted with (keys.py)
# Release figures that are shares (the others are counts).
SHARES = {"level2_unique_share", "level2_neighbour_attack", "level2_neighbour_attack_two_events"}


@dataclass(frozen=True)
class Tier:
    name: str
    path: Path
    tables: dict[str, int]  # table -> rows


def tier_file(folder: Path, tier: str) -> Path:
    """A tier's file in a folder of releases (the published one, or the staged one)."""
    return folder / f"{tier}.duckdb"


def attach(
    con: duckdb.DuckDBPyConnection, path: Path, tier: str, alias: str, read_only: bool = True
) -> None:
    """A tier's file under `alias`, with its key if the tier is encrypted."""
    if tier in ENCRYPTED:
        warehouse.attach(con, path, alias, ENCRYPTED[tier], read_only=read_only)
    else:
        mode = " (READ_ONLY)" if read_only else ""
        con.execute(f"ATTACH {warehouse.quote(str(path))} AS {alias}{mode}")


def _tables(con: duckdb.DuckDBPyConnection, database: str, schema: str) -> list[str]:
    return [r[0] for r in con.execute(
        "select table_name from duckdb_tables() where database_name = ? and schema_name = ? "
        "order by table_name", [database, schema]).fetchall()]  # fmt: skip


def _copy_comments(con, table: str, source: str, target: str) -> None:
    """The documentation dbt wrote on each table and column travels with it, so an analyst
    finds it in the file (`select comment from duckdb_columns()`)."""
    (comment,) = con.execute(
        "select comment from duckdb_tables() where database_name = ? and schema_name = ? "
        "and table_name = ?", [warehouse.ALIAS, source, table]).fetchone()  # fmt: skip
    if comment:
        con.execute(f"comment on table {target}.main.{table} is {warehouse.quote(comment)}")
    for column, text in con.execute(
        "select column_name, comment from duckdb_columns() where database_name = ? "
        "and schema_name = ? and table_name = ? and comment is not null",
        [warehouse.ALIAS, source, table]).fetchall():  # fmt: skip
        con.execute(
            f'comment on column {target}.main.{table}."{column}" is {warehouse.quote(text)}'
        )


def stage(con: duckdb.DuckDBPyConnection, folder: Path) -> list[Tier]:
    """Write every tier's tables from the warehouse (`con`, as its default catalog) to a new
    file each, in `folder`: Level 1 suppressed until the exact audit passes, and the release's
    disclosure figures in every tier's release record."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for tier in TIERS:
        path = tier_file(folder, tier)
        for leftover in (path, path.with_suffix(".duckdb.wal")):
            leftover.unlink(missing_ok=True)
        attach(con, path, tier, f"next_{tier}", read_only=False)
        tables = {}
        for table in _tables(con, warehouse.ALIAS, tier):
            con.execute(f"create table next_{tier}.main.{table} as "
                        f"select * from {warehouse.ALIAS}.{tier}.{table} "
                        f"order by {_order(con, tier, table)}")  # fmt: skip
            _copy_comments(con, table, tier, f"next_{tier}")
            tables[table] = con.execute(
                f"select count(*) from next_{tier}.main.{table}").fetchone()[0]  # fmt: skip
        out.append(Tier(tier, path, tables))
    level2 = privacy.measure(con, "next_level2", "next_level3",
                             *privacy.warehouse_relations(warehouse.ALIAS))  # fmt: skip
    figures = _protect_level1(con, "next_level1") | level2.record()
    # What retention has left: the oldest month of each feed the archive holds.
    figures["oldest_month_held"] = json.dumps(retention.oldest_months(con, load_contracts()))
    for tier in TIERS:
        _record(con, f"next_{tier}", figures)
        con.execute(f"checkpoint next_{tier}")
        con.execute(f"detach next_{tier}")
    return out


def _order(con: duckdb.DuckDBPyConnection, tier: str, table: str) -> str:
    """Rows stored in an order that carries nothing: by their keyed pseudonyms where they have
    them (never by the agencies' references the hub's IDs hold), else by every column."""
    columns = [
        r[0]
        for r in con.execute(
            "select column_name from duckdb_columns() where database_name = ? and schema_name = ? "
            "and table_name = ? order by column_index",
            [warehouse.ALIAS, tier, table],
        ).fetchall()
    ]
    keys = [c for c in ("person_key", "event_key") if c in columns]
    return ", ".join(keys) if keys else "all"


def _protect_level1(con: duckdb.DuckDBPyConnection, database: str) -> dict[str, int]:
    """Level 1 suppressed further until the exact audit passes; its figures."""
    cells = added = 0
    spans, reaches = [], []
    for t in disclosure.TABLES:
        result, more = disclosure.protect_table(con, f"{database}.main.{t.name}", t)
        cells, added = cells + result.cells, added + more
        spans += [s] if (s := result.smallest_span) is not None else []
        reaches += [r] if (r := result.smallest_reach) is not None else []
    return {
        "level1_cells_audited": cells,
        "level1_suppressions_added": added,
        "level1_smallest_range": min(spans, default=0),
        "level1_smallest_reach": min(reaches, default=0),
    }


def _record(con: duckdb.DuckDBPyConnection, database: str, figures: dict) -> None:
    """The release's disclosure figures, in the release record of every tier."""
    for name, value in figures.items():
        kind = "varchar" if isinstance(value, str) else "double" if name in SHARES else "integer"
        con.execute(f"alter table {database}.main.release add column {name} {kind}")
        con.execute(f"update {database}.main.release set {name} = ?", [value])


def publish(staged: Path, marts: Path) -> list[Path]:
    """Rename every file staged in `staged` into place in `marts` (after the checks have
    passed)."""
    done = []
    for tier in TIERS:
        os.replace(tier_file(staged, tier), tier_file(marts, tier))
        done.append(tier_file(marts, tier))
    return done


def describe(path: Path, tier: str) -> Tier:
    """The tables of a published (or staged) tier file and their row counts."""
    with warehouse.memory() as con:
        attach(con, path, tier, tier)
        tables = {t: con.execute(f"select count(*) from {tier}.main.{t}").fetchone()[0]
                  for t in _tables(con, tier, "main")}  # fmt: skip
    return Tier(tier, path, tables)


def release_id(level1: Path) -> str:
    """The release a Level 1 file holds (its release record's id)."""
    with warehouse.memory() as con:
        attach(con, level1, "level1", "level1")
        return con.execute("select release_id from level1.main.release").fetchone()[0]
