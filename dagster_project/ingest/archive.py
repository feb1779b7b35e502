"""The raw archive in the warehouse (DuckDB): `raw.<feed>`, one partition per month, every
value as delivered plus lineage; and `ops.supply_register`, every supply the hub has seen.

A month is replaced in one transaction (delete the month, insert the supply, update the
register), so a process killed at any moment leaves the archive as it was before or after."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd

from dagster_project.contracts.model import Contract
from dagster_project.ingest.supplies import Supply
from dagster_project.platform import warehouse
from dagster_project.rights import honour

LINEAGE = {
    "_supply_id": "VARCHAR",
    "_source_file": "VARCHAR",
    "_file_sha256": "VARCHAR",
    "_row_number": "INTEGER",
    "_loaded_at": "TIMESTAMP",
    "_partition": "VARCHAR",
}
REGISTER = {
    "supply_id": "VARCHAR",
    "feed": "VARCHAR",
    "agency": "VARCHAR",
    "period": "VARCHAR",
    "source_file": "VARCHAR",
    "file_sha256": "VARCHAR",
    "records_declared": "INTEGER",
    "records_read": "INTEGER",
    "exact_duplicates": "INTEGER",
    "date_supplied": "DATE",
    "due_date": "DATE",
    "received_at": "TIMESTAMP",
    "processed_at": "TIMESTAMP",
    "gate": "VARCHAR",  # passed | failed | not run (the supply could not be read)
    "status": "VARCHAR",  # loaded | replaced | quarantined
    "reason": "VARCHAR",
    "replaced_by": "VARCHAR",
    "quarantine_path": "VARCHAR",
    "records_before": "INTEGER",  # what the month held before this supply replaced it
    "metadata_sha256": "VARCHAR",  # of supply.yml: a correction of it alone is checked again
}


def connection(path: Path) -> duckdb.DuckDBPyConnection:
    """The warehouse at `path`, open for writing until the `with` block ends (outside Dagster,
    whose resource also waits on another writer's lock)."""
    return warehouse.connect(path=path)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def table(contract: Contract) -> str:
    return f"raw.{_q(contract.name)}"


def ensure(con: duckdb.DuckDBPyConnection, contract: Contract) -> bool:
    """Create the feed's table and the register if missing; add columns a contract gained.
    Returns True when the register is new (a new warehouse)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute("CREATE SCHEMA IF NOT EXISTS ops")
    new = not con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE "
        "table_schema = 'ops' AND table_name = 'supply_register'"
    ).fetchone()[0]
    honour.ensure(con)  # the requests register's tables, which staging reads beside raw
    cols = ", ".join(f"{_q(k)} {v}" for k, v in REGISTER.items())
    con.execute(f"CREATE TABLE IF NOT EXISTS ops.supply_register ({cols})")
    for name, kind in REGISTER.items():  # a register from before a column was added
        con.execute(f"ALTER TABLE ops.supply_register ADD COLUMN IF NOT EXISTS {_q(name)} {kind}")
    columns = {c: "VARCHAR" for c in contract.columns} | LINEAGE
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {table(contract)} "
        f"({', '.join(f'{_q(k)} {v}' for k, v in columns.items())})"
    )
    have = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'raw' AND table_name = ?",
            [contract.name],
        ).fetchall()
    }
    for name, kind in columns.items():
        if name not in have:
            con.execute(f"ALTER TABLE {table(contract)} ADD COLUMN {_q(name)} {kind}")
    return new


def loaded(con: duckdb.DuckDBPyConnection, feed: str, period: str) -> tuple | None:
    """(supply_id, file_sha256, metadata_sha256) of the supply the archive holds for a month,
    if any."""
    return con.execute(
        "SELECT supply_id, file_sha256, metadata_sha256 FROM ops.supply_register "
        "WHERE feed = ? AND period = ? AND status = 'loaded'",
        [feed, period],
    ).fetchone()


def quarantines(con: duckdb.DuckDBPyConnection, feed: str, period: str, supply_id: str) -> list:
    """The folder of each refusal of a supply the register holds."""
    rows = con.execute(
        "SELECT quarantine_path FROM ops.supply_register WHERE feed = ? AND period = ? "
        "AND status = 'quarantined' AND quarantine_path IS NOT NULL AND supply_id = ?",
        [feed, period, supply_id],
    ).fetchall()
    return [Path(path) for (path,) in rows]


def register(con: duckdb.DuckDBPyConnection, row: dict) -> None:
    values = [row.get(k) for k in REGISTER]
    names = ", ".join(map(_q, REGISTER))
    con.execute(
        f"INSERT INTO ops.supply_register ({names}) VALUES ({', '.join('?' * len(values))})",
        values,
    )


def correct(con: duckdb.DuckDBPyConnection, supply_id: str, row: dict, note: str) -> None:
    """Record a corrected supply.yml for the loaded supply whose data file it describes."""
    con.execute(
        "UPDATE ops.supply_register SET records_declared = ?, date_supplied = ?, "
        "metadata_sha256 = ?, reason = ? WHERE supply_id = ? AND status = 'loaded'",
        [row["records_declared"], row["date_supplied"], row["metadata_sha256"], note, supply_id],
    )


def _month_rows(con: duckdb.DuckDBPyConnection, contract: Contract, period: str) -> int:
    sql = f"SELECT count(*) FROM {table(contract)} WHERE _partition = ?"
    return con.execute(sql, [period]).fetchone()[0]


class Shrinks(Exception):
    """A replacement that would remove more of a loaded month than it may: rolled back."""

    def __init__(self, before: int, after: int):
        super().__init__(f"replaced: {before:,} → {after:,} records")
        self.before, self.after = before, after


def replace_month(
    con: duckdb.DuckDBPyConnection,
    supply: Supply,
    row: dict,
    on_stage: Callable[[str], None] = lambda stage: None,
    honour: Callable[[duckdb.DuckDBPyConnection], None] = lambda con: None,
    may_remove: float = 1.0,
) -> tuple[int, str | None]:
    """Replace the supply's month of its feed with the supply, and register it, atomically;
    `honour` takes out of the month, in the same transaction, what the hub may not hold
    (records erased, rows past retention). Returns the rows written and the supply replaced;
    (0, supply id) when this very supply is already there (another run loaded it first). The
    register row records how many records the month held before (`records_before`); if the
    replacement would remove more than `may_remove` of them, nothing changes: Shrinks."""
    contract = supply.contract
    frame = supply.frame.copy()
    frame["_supply_id"] = supply.supply_id
    frame["_source_file"] = f"{contract.agency}/{contract.name}/{supply.period}/{supply.path.name}"
    frame["_file_sha256"] = supply.sha256
    frame["_row_number"] = range(1, len(frame) + 1)
    frame["_loaded_at"] = pd.Timestamp(row["processed_at"])
    frame["_partition"] = supply.period
    con.register("incoming", frame)
    try:
        con.execute("BEGIN TRANSACTION")
        on_stage("begun")
        current = loaded(con, contract.name, supply.period)
        if current and current[1] == supply.sha256:
            con.execute("ROLLBACK")
            return 0, current[0]
        if current:
            row["records_before"] = _month_rows(con, contract, supply.period)
        con.execute(f"DELETE FROM {table(contract)} WHERE _partition = ?", [supply.period])
        on_stage("deleted")
        con.execute(f"INSERT INTO {table(contract)} BY NAME SELECT * FROM incoming")
        on_stage("inserted")
        honour(con)
        if current:
            after = _month_rows(con, contract, supply.period)
            if row["records_before"] - after > may_remove * row["records_before"]:
                raise Shrinks(row["records_before"], after)  # rolled back below
        on_stage("honoured")
        con.execute(
            "UPDATE ops.supply_register SET status = 'replaced', replaced_by = ? "
            "WHERE feed = ? AND period = ? AND status = 'loaded'",
            [supply.supply_id, contract.name, supply.period],
        )
        on_stage("superseded")
        register(con, row)
        on_stage("registered")
        con.execute("COMMIT")
        on_stage("committed")
    except BaseException:
        with contextlib.suppress(duckdb.Error):  # never hide the error that got us here
            con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("incoming")
    return len(frame), current[0] if current else None


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
