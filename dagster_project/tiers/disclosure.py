"""Level 1's tables through the exact audit (audit.py): read as the intruder sees them, made
safe by further suppression before they are published, and audited again by the release's
check. A suppressed cell says only that it is suppressed, never whether it is small itself or
hides another (that alone would tell a cell is 1 to 7)."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from dagster_project.tiers.audit import Audit, Cell, audit, protect

SUPPRESSED = "suppressed"


@dataclass(frozen=True)
class Table:
    name: str
    value: str  # the count column
    keys: tuple[str, ...]  # what a cell counts, besides its area (its system of equations)
    row: str | None = None  # a column telling rows of one area apart, for `at_most`
    at_most: tuple[tuple[str, str], ...] = ()  # (row, row it is part of)
    derived: tuple[str, ...] = ()  # columns worked out from the count: NULL where suppressed


FACTORS = "any risk factor"
TABLES = (
    Table("strategic_profile", "count", ("month", "measure")),
    Table(
        "risk_factor_rates", "people", (), row="risk_factor",
        at_most=(("repeat victim of crime", "victim of crime"),),
        derived=("rate_per_1000",),
    ),
)  # fmt: skip


def _frame(con: duckdb.DuckDBPyConnection, relation: str, t: Table) -> pd.DataFrame:
    columns = [*t.keys, *([t.row] if t.row else []), "area_code", "parent_code", t.value]
    return con.execute(f"select {', '.join(columns)} from {relation}").df()


def _cells(df: pd.DataFrame, t: Table) -> list[Cell]:
    return [
        Cell(
            tuple(r[k] for k in t.keys), r["area_code"],
            None if pd.isna(r["parent_code"]) else r["parent_code"],
            None if pd.isna(r[t.value]) else int(r[t.value]),
            r[t.row] if t.row else "",
        )
        for r in df.to_dict("records")
    ]  # fmt: skip


def _at_most(df: pd.DataFrame, t: Table) -> list[tuple[str, str]]:
    """The table's own pairs, and every risk factor among people with any."""
    pairs = list(t.at_most)
    if t.row and FACTORS in set(df[t.row]):
        pairs += [(r, FACTORS) for r in sorted(set(df[t.row]) - {FACTORS})]
    return pairs


def audit_table(con: duckdb.DuckDBPyConnection, relation: str, t: Table) -> Audit:
    df = _frame(con, relation, t)
    return audit(_cells(df, t), _at_most(df, t))


def protect_table(con: duckdb.DuckDBPyConnection, relation: str, t: Table) -> tuple[Audit, int]:
    """Suppress what the audit says must be, in place; every suppression labelled alike."""
    df = _frame(con, relation, t)
    cells, result, added = protect(_cells(df, t), _at_most(df, t))
    hidden = pd.DataFrame(
        [(*c.group, *([c.row] if t.row else []), c.area) for c in cells if c.suppressed],
        columns=[*t.keys, *([t.row] if t.row else []), "area_code"],
    )
    con.register("hidden_cells", hidden)
    try:
        on = " and ".join(f"t.{k} = h.{k}" for k in hidden.columns)
        blank = ", ".join(f"{c} = null" for c in (t.value, *t.derived))
        con.execute(f"update {relation} as t set {blank}, suppression = '{SUPPRESSED}' "
                    f"from hidden_cells as h where {on}")  # fmt: skip
    finally:
        con.unregister("hidden_cells")
    if t.name == "strategic_profile":
        _previous_year(con, relation)
    return result, added


def _previous_year(con: duckdb.DuckDBPyConnection, relation: str) -> None:
    """The year-before columns and the change follow the protected cells."""
    con.execute(f"""
        update {relation} as c set
            count_previous_year = p.count,
            suppression_previous_year = p.suppression,
            change_percent = case when c.count is not null and p.count > 0
                then round(100 * (c.count - p.count) / p.count)::integer end
        from {relation} as p
        where p.month = strftime(strptime(c.month, '%Y-%m') - interval 1 year, '%Y-%m')
          and p.measure = c.measure and p.area_code = c.area_code
    """)  # fmt: skip
