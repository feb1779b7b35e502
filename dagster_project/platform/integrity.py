"""`hub check`: every table of the warehouse and of the published tiers read whole, so damage
to a file (a failing disk, a bad copy) is found before a refresh or an analyst trips on it,
and told apart from a wrong key (warehouse.explain)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from dagster_project.config import Paths
from dagster_project.platform import warehouse
from dagster_project.tiers.publish import ENCRYPTED, TIERS, attach, kept, tier_file


def damaged_tables(con: duckdb.DuckDBPyConnection, catalog: str, path: Path, key: str) -> dict:
    """Each table of `catalog` that cannot be read whole, with why. Hashing the row reads
    every column of every row: a count alone would read none of them."""
    tables = con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = ? "
        "order by 1, 2", [catalog]).fetchall()  # fmt: skip
    problems = {}
    for schema, table in tables:
        try:
            with warehouse.explained(path, key):
                con.execute(f'select sum(hash(t)) from "{catalog}"."{schema}"."{table}" t')
        except warehouse.FileProblem:
            problems[f"{schema}.{table}"] = "fails its integrity check"
        except duckdb.Error as e:
            problems[f"{schema}.{table}"] = str(e).splitlines()[0]
    return problems


def files(where: Paths) -> list[tuple[Path, str, str | None]]:
    """The hub's DuckDB files that exist: path, catalog alias, and the tier (None for the
    warehouse): the warehouse and the tiers of every release kept."""
    found = [(where.warehouse, "wh", None)] if where.warehouse.exists() else []
    return found + [(tier_file(r.folder, t), t, t) for r in kept(where.marts) for t in TIERS
                    if tier_file(r.folder, t).exists()]  # fmt: skip


def check(where: Paths) -> tuple[list[str], bool]:
    """A line for each file (and each damaged table), and whether all of them read whole."""
    lines, whole = [], True
    for path, alias, tier in files(where):
        key = ENCRYPTED.get(tier, "warehouse") if tier else "warehouse"
        with warehouse.memory() as con:
            try:
                if tier:
                    attach(con, path, tier, alias)
                else:
                    warehouse.attach(con, path, alias, key, read_only=True)
            except (warehouse.FileProblem, duckdb.Error) as e:
                lines.append(f"{where.shown(str(e))}")
                whole = False
                continue
            problems = damaged_tables(con, alias, path, key)
            n = con.execute(
                "select count(*) from duckdb_tables() where database_name = ?", [alias]
            ).fetchone()[0]
        shown = where.shown(str(path))
        if problems:
            whole = False
            lines.append(f"{shown}: {len(problems)} of {n} tables damaged; restore the file "
                         "from its backup or rebuild it")  # fmt: skip
            lines += [f"  {table}: {why}" for table, why in problems.items()]
        else:
            lines.append(f"{shown}: all {n} tables read whole")
    return lines or ["no warehouse or tier files yet"], whole
