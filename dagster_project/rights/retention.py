"""Retention: each record kept no longer than its feed's contract says (the Data Protection
Act 2018's fifth principle), and the files around the archive no longer than the hub needs
them.

A contract's `retention` (contracts/model.py) becomes one SQL date per archive row, the last day
the row may be held; `destroy` deletes the rows past it. What derives from them (staging, the
intermediate models, the spines, the tiers) follows at the same run: the months whose rows
changed are rebuilt, and the person records that went leave the spine (spine.py withdraws
records no longer in int_person_records).

Nothing here reads the clock or the environment: the caller passes the day retention is
measured on."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from dagster_project.contracts.model import Contract
from dagster_project.ingest import archive
from dagster_project.ingest.suites import date_format
from dagster_project.ingest.supplies import sha256

# The files around the archive: a loaded supply's landing folder is kept long enough to re-run
# its month without asking the agency again; a refused one long enough for the agency to see
# why and send another; a subject access pack long enough to send it (docs/rights.md).
LANDING_DAYS = 30
QUARANTINE_DAYS = 90
PACK_DAYS = 30

MONTH_END = "last_day(strptime(_partition || '-01', '%Y-%m-%d'))::date"


def _date(contract: Contract, name: str) -> str:
    field = next(f for f in contract.fields if f.name == name)
    column = '"' + name.replace('"', '""') + '"'
    return f"try_strptime({column}, '{date_format(contract, field)}')::date"


def kept_until_sql(contract: Contract) -> str:
    """SQL, over the feed's raw table, for the last day a row may be held; NULL when the row
    has no date to count from (it is kept, and reported as undated)."""
    rule = contract.retention
    parts = []
    if rule.years is not None:
        if rule.counts_from == "event":
            start = MONTH_END
        elif rule.counts_from == "financial_year_end":  # the 31 March that ends the year
            start = f"make_date(year({MONTH_END}) + (month({MONTH_END}) >= 4)::integer, 3, 31)"
        else:
            start = f"coalesce({_date(contract, rule.counts_from)}, {MONTH_END})"
        parts.append(f"({start} + interval {int(rule.years)} year)::date")
    if rule.until_age is not None:
        dob = next(f.name for f in contract.fields if f.attribute == "dob")
        parts.append(f"({_date(contract, dob)} + interval {int(rule.until_age)} year)::date")
    # greatest() passes over NULLs: the later of the two rules that can be computed
    return parts[0] if len(parts) == 1 else f"greatest({', '.join(parts)})"


@dataclass(frozen=True)
class Destroyed:
    """What one feed lost to retention in a run (counts only: no personal data)."""

    feed: str
    rows: int
    months: tuple[str, ...]  # months of which every row went
    undated: int  # rows kept because nothing in them says when they started
    oldest_month: str | None  # the oldest month still held


def due(con: duckdb.DuckDBPyConnection, contract: Contract, as_of: dt.date) -> tuple[int, int]:
    """Rows past retention on `as_of`, and rows with no date to count from."""
    return con.execute(
        "select count(*) filter (where kept_until < ?), "
        "count(*) filter (where kept_until is null) "
        f"from (select {kept_until_sql(contract)} as kept_until from {archive.table(contract)})",
        [as_of],
    ).fetchone()


def expire(
    con: duckdb.DuckDBPyConnection, contract: Contract, as_of: dt.date, partition: str | None = None
) -> int:
    """Delete the feed's rows past retention on `as_of` (of one month only, given `partition`:
    an ingest); how many went. The caller holds the transaction."""
    where = f"{kept_until_sql(contract)} < ?" + (" and _partition = ?" if partition else "")
    params = [as_of, partition] if partition else [as_of]
    return con.execute(f"delete from {archive.table(contract)} where {where}", params).fetchone()[0]


def destroy(con: duckdb.DuckDBPyConnection, contract: Contract, as_of: dt.date) -> Destroyed:
    """Delete the feed's rows past retention on `as_of`, and mark the supplies of months left
    empty as destroyed in the supply register. The caller holds the transaction."""
    table = archive.table(contract)

    def months() -> set[str]:
        return {r[0] for r in con.execute(f"select distinct _partition from {table}").fetchall()}

    before = months()
    rows = expire(con, contract, as_of)
    emptied = tuple(sorted(before - months())) if rows else ()
    if emptied:
        con.execute(
            "update ops.supply_register set status = 'destroyed', reason = ? where feed = ? "
            f"and status = 'loaded' and period in ({', '.join('?' * len(emptied))})",
            [f"past retention on {as_of.isoformat()}: {contract.retention.text}", contract.name,
             *emptied],
        )  # fmt: skip
    _, undated = due(con, contract, as_of)
    oldest = con.execute(f"select min(_partition) from {table}").fetchone()[0]
    return Destroyed(contract.name, rows, emptied, undated, oldest)


def oldest_months(con: duckdb.DuckDBPyConnection, contracts: dict[str, Contract]) -> dict:
    """The oldest month the archive holds of each feed (None for a feed it holds nothing of)."""
    held = {
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw'"
        ).fetchall()
    }
    return {
        name: con.execute(f"select min(_partition) from {archive.table(c)}").fetchone()[0]
        if name in held
        else None
        for name, c in contracts.items()
    }


def sweep(con: duckdb.DuckDBPyConnection, root: Path, as_of: dt.date) -> dict[str, int]:
    """Remove the landing folders of supplies loaded more than LANDING_DAYS before `as_of` (the
    archive holds them), and quarantined supplies refused more than QUARANTINE_DAYS before it.
    Returns how many folders of each went. `root` is the data folder; the register's paths
    are checked to lie inside it before anything is removed."""
    removed = {"landing": 0, "quarantine": 0}
    # A month's folder, only while it holds the very file the archive has: a supply landed
    # since (a re-delivery not yet ingested) stays.
    loaded = con.execute(
        "select agency, feed, period, source_file, file_sha256 from ops.supply_register "
        "where status in ('loaded', 'destroyed') and processed_at < ?",
        [as_of - dt.timedelta(days=LANDING_DAYS)],
    ).fetchall()
    for agency, feed, period, name, sha in loaded:
        folder = root / "landing" / agency / feed / period
        delivered = folder / (name or "")
        if name and delivered.is_file() and sha256(delivered) == sha:
            removed["landing"] += _remove(folder, root)
    refused = con.execute(
        "select quarantine_path from ops.supply_register where status = 'quarantined' "
        "and quarantine_path is not null and processed_at < ?",
        [as_of - dt.timedelta(days=QUARANTINE_DAYS)],
    ).fetchall()
    for (path,) in refused:
        removed["quarantine"] += _remove(Path(path), root)
    return removed


def _remove(folder: Path, root: Path) -> int:
    folder = folder.resolve()
    if not folder.is_dir() or root.resolve() not in folder.parents:
        return 0
    shutil.rmtree(folder)
    return 1
