"""One month of one feed, from landing to the archive: open the supply, run the gate, then
either append it (replacing that month) or quarantine it. Dagster's feed assets, the CLI and
the tests all come through `ingest`."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import duckdb
import pandas as pd

from dagster_project.config import MONTH, Paths, quiet_seconds, retention_as_of, shrink_share
from dagster_project.contracts.model import Contract
from dagster_project.ingest import archive, gate
from dagster_project.ingest.quarantine import advice, destination, quarantine, repair
from dagster_project.ingest.supplies import Supply, SupplyChanging, SupplyError, open_supply
from dagster_project.platform import warehouse
from dagster_project.rights import retention
from dagster_project.rights.honour import erase_from_archive

Connect = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]


class Status(StrEnum):
    """What became of a month's supply."""

    LOADED = "loaded"
    REPLACED = "replaced"  # a new supply for a month already loaded
    UNCHANGED = "unchanged"  # already in the archive: nothing to do
    QUARANTINED = "quarantined"  # refused: moved to quarantine with the reason
    MISSING = "missing"  # nothing has landed yet
    CHANGING = "changing"  # still being written (waiting): read again later
    HELD = "held"  # would shrink a loaded month: waits for an engineer's --accept-shrink


@dataclass
class Outcome:
    feed: str
    period: str
    status: Status
    sentence: str  # what happened, in one sentence; no personal data
    rows: int = 0
    supply_id: str | None = None
    quarantine_path: Path | None = None
    gate_result: gate.GateResult | None = None
    warnings: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # read, gate, write
    records_before: int | None = None  # what a replaced month held

    @property
    def passed(self) -> bool:
        return self.status in (Status.LOADED, Status.REPLACED, Status.UNCHANGED)


def signature(folder: Path) -> list:
    """What the sensor compares to notice a new or replaced supply without reading it."""
    return sorted(
        [p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in folder.iterdir() if p.is_file()
    )


def still_arriving(changed: dict[str, float], now: float, quiet: float) -> str | None:
    """Why a supply is not read yet, or None: one of its files (name -> when it last changed,
    in seconds since the epoch) changed less than `quiet` seconds ago, so it may still be
    being written."""
    if not changed:
        return None
    name, when = max(changed.items(), key=lambda item: item[1])
    age = max(0.0, now - when)
    if age >= quiet:
        return None
    return (
        f"{name} changed {age:.0f} s ago: a supply is read once its files have been still for "
        f"{quiet:.0f} s (HUB_QUIET_SECONDS), in about {quiet - age:.0f} s"
    )


def arriving(folder: Path) -> str | None:
    """still_arriving for a month's folder. The status change time counts too: a copy that
    keeps the sender's modification time (rsync -t, cp -p) still changes it when the file
    is written or renamed into place."""
    entries = [folder, *folder.iterdir()]
    changed = {(p.name if p != folder else f"{p.name}/"): max(s.st_mtime, s.st_ctime)
               for p in entries for s in [p.lstat()]}  # fmt: skip
    return still_arriving(changed, time.time(), quiet_seconds())


def _state_file(where: Paths, contract: Contract, period: str) -> Path:
    return where.landing_state / contract.name / f"{period}.json"


def seen(where: Paths, contract: Contract, period: str, sig: list) -> bool:
    """Whether this exact supply was already processed (the sensor's test). A state file that
    cannot be read counts as unseen: at worst the supply is read again, a no-op."""
    try:
        return json.loads(_state_file(where, contract, period).read_text())["signature"] == sig
    except (OSError, ValueError, KeyError):
        return False


def _remember(where: Paths, contract: Contract, period: str, sig: list, sha: str) -> None:
    state = _state_file(where, contract, period)
    state.parent.mkdir(parents=True, exist_ok=True)
    partial = state.with_suffix(".tmp")
    partial.write_text(json.dumps({"signature": sig, "sha256": sha}))
    os.replace(partial, state)  # a sensor never sees half a file


def ingest(
    contract: Contract,
    period: str,
    connect: Connect,
    where: Paths,
    on_stage: Callable[[str], None] = lambda stage: None,
    as_of: dt.date | None = None,
    accept_shrink: bool = False,
) -> Outcome:
    """The month's supply loaded, refused, held or found unchanged (Outcome says which); a
    full disk, wherever the hub meets it, is told as such (warehouse.room)."""
    with warehouse.room(where.root):
        return _ingest(contract, period, connect, where, on_stage, as_of, accept_shrink)


def _ingest(contract, period, connect, where, on_stage, as_of, accept_shrink) -> Outcome:
    if not MONTH.match(period):
        raise ValueError(f"{period!r} is not a month (YYYY-MM)")
    with connect() as con:
        if archive.ensure(con, contract):  # a new warehouse has seen nothing yet
            shutil.rmtree(where.landing_state, ignore_errors=True)
        repaired = repair(con, where, contract)
        current = archive.loaded(con, contract.name, period)
    outcome = _supply(contract, period, connect, where, on_stage, as_of, accept_shrink, current)
    outcome.warnings[:0] = repaired
    return outcome


def _supply(contract, period, connect, where, on_stage, as_of, accept_shrink, current) -> Outcome:
    folder = contract.landing_dir(where.landing, period)
    if not folder.is_dir():
        return _nothing_landed(contract, period, where.shown(str(folder)), current)

    if why := arriving(folder):
        sentence = f"{contract.name} {period}: waiting: {why}; it has not been read"
        return Outcome(contract.name, period, Status.CHANGING, sentence)
    processed = archive.now()
    sig = signature(folder)  # before reading: a supply replaced meanwhile is read again
    clock = time.perf_counter()
    try:
        supply = open_supply(contract, folder, period)
    except SupplyChanging as e:
        sentence = where.shown(f"{e}; it will be read again")
        return Outcome(contract.name, period, Status.CHANGING, sentence)
    except SupplyError as e:
        return _refuse(
            contract,
            period,
            connect,
            where,
            folder,
            str(e),
            _unreadable_row(contract, period, processed, sig),
        )
    seconds = {"read": time.perf_counter() - clock}
    on_stage("read")
    if current and current[1] == supply.sha256 and current[2] != supply.metadata_sha256:
        return _recheck(contract, period, connect, where, folder, supply, processed, sig, current)
    if current and current[1] == supply.sha256:
        _remember(where, contract, period, sig, supply.sha256)
        return Outcome(
            contract.name,
            period,
            Status.UNCHANGED,
            f"{contract.name} {period}: this supply ({supply.supply_id}) is already "
            "in the archive; nothing to do",
            supply_id=supply.supply_id,
        )

    clock = time.perf_counter()
    result = gate.validate(supply)
    seconds["gate"] = time.perf_counter() - clock
    on_stage("validated")
    row = _register_row(supply, processed, result)
    if not result.success:
        return _refuse(
            contract, period, connect, where, folder, result.summary(), row, result, on_stage
        )

    clock = time.perf_counter()
    left_out: list[str] = []

    def honour(con: duckdb.DuckDBPyConnection) -> None:
        # What an earlier erasure or the contract's retention says the hub may not hold never
        # enters the archive, whoever re-delivers it.
        erased = erase_from_archive(con, {contract.name: contract}, "ingest", archive.now(), period)
        day = as_of or retention_as_of()
        expired = retention.expire(con, contract, day, period)
        if expired == len(supply.frame):  # all of it: the month is registered as destroyed
            row.update(status="destroyed", reason=f"past retention on {day}: "
                       f"{contract.retention.text}")  # fmt: skip
        left_out.extend([f"{erased:,} rows of erased records"] * bool(erased)
                        + [f"{expired:,} rows past retention ({contract.retention.text})"]
                        * bool(expired))  # fmt: skip

    may_remove = 1.0 if accept_shrink else shrink_share()
    try:
        with connect() as con:
            rows, replaced = archive.replace_month(con, supply, row, on_stage, honour, may_remove)
    except archive.Shrinks as e:
        return _hold(contract, period, connect, where, row, e, sig, supply.sha256)
    on_stage("closed")  # the warehouse closed, so the month is checkpointed into its file
    seconds["write"] = time.perf_counter() - clock
    _remember(where, contract, period, sig, supply.sha256)
    on_stage("remembered")
    if rows == 0 and replaced == supply.supply_id:
        return Outcome(
            contract.name,
            period,
            Status.UNCHANGED,
            f"{contract.name} {period}: another run loaded this supply first; nothing to do",
            supply_id=supply.supply_id,
            seconds=seconds,
        )
    dups = (
        f" ({result.exact_duplicates} exact duplicate rows kept as delivered)"
        if result.exact_duplicates
        else ""
    )
    extra = (
        f"; replaced: {row['records_before']:,} → {rows:,} records ({replaced})" if replaced else ""
    )
    extra += f"; not archived: {' and '.join(left_out)}" if left_out else ""
    return Outcome(
        contract.name,
        period,
        Status.REPLACED if replaced else Status.LOADED,
        f"{contract.name} {period}: loaded {rows:,} rows{dups}{extra}; {result.summary()}",
        rows,
        supply.supply_id,
        gate_result=result,
        warnings=supply.warnings,
        seconds=seconds,
        records_before=row.get("records_before"),
    )


def _recheck(contract, period, connect, where, folder, supply, processed, sig, current):
    """The loaded data file delivered again with another supply.yml: a correction of its
    metadata, checked at the gate as a new supply would be. If it passes, the register
    records the corrected metadata; the archive's rows, the same file's, stay as they are."""
    result = gate.validate(supply)
    row = _register_row(supply, processed, result)
    if not result.success:
        return _refuse(contract, period, connect, where, folder, result.summary(), row, result)
    note = f"supply.yml was corrected and checked again on {processed:%Y-%m-%d}"
    with connect() as con:
        archive.correct(con, current[0], row, note)
    _remember(where, contract, period, sig, supply.sha256)
    return Outcome(
        contract.name,
        period,
        Status.UNCHANGED,
        f"{contract.name} {period}: {note} (the data file, {supply.supply_id}, is the one "
        f"loaded, so the archive keeps its rows); {result.summary()}",
        supply_id=supply.supply_id,
        gate_result=result,
        warnings=supply.warnings,
    )


def _hold(contract, period, connect, where, row, shrinks, sig, sha) -> Outcome:
    """Register a replacement held back because it shrinks the month, and remember the supply
    so the sensor does not offer it again; it stays in landing until an engineer decides."""
    sentence = (
        f"{contract.name} {period} held: {shrinks} would remove more than "
        f"{shrink_share():.0%} of the month, so the month keeps what it holds. If "
        f"{contract.agency_name} confirms the supply, run `hub refresh --month {period} "
        f"--feed {contract.name} --accept-shrink` (or launch the {period} partition with "
        "accept_shrink: true); if not, ask for a corrected supply"
    )
    with connect() as con:
        archive.register(con, {**row, "status": Status.HELD.value, "reason": sentence})
    _remember(where, contract, period, sig, sha)
    return Outcome(contract.name, period, Status.HELD, sentence, supply_id=row["supply_id"],
                   records_before=shrinks.before)  # fmt: skip


def _register_row(supply: Supply, processed, result: gate.GateResult) -> dict:
    c, meta = supply.contract, supply.metadata
    month_end = pd.Period(supply.period, "M").end_time.date()
    received = min(p.stat().st_mtime for p in supply.folder.iterdir())
    return {
        "supply_id": supply.supply_id, "feed": c.name, "agency": c.agency,
        "period": supply.period, "source_file": supply.path.name,
        "file_sha256": supply.sha256, "records_declared": meta.get("records"),
        "metadata_sha256": supply.metadata_sha256,
        "records_read": len(supply.frame), "exact_duplicates": result.exact_duplicates,
        "date_supplied": meta.get("date_supplied"),
        "due_date": month_end + pd.Timedelta(days=c.delivery_day),
        "received_at": pd.Timestamp(received, unit="s").floor("s").to_pydatetime(),
        "processed_at": processed, "gate": "passed" if result.success else "failed",
        "status": Status.LOADED.value,
    }  # fmt: skip


def _unreadable_row(contract: Contract, period: str, processed, sig: list) -> dict:
    # The file could not be read to hash: the delivery's listing (names, sizes, times) stands
    # in, so two refusals of one month are two supplies in the register, not one.
    listing = hashlib.sha256(json.dumps(sig).encode()).hexdigest()[:12]
    return {"supply_id": f"{contract.name}/{period}/unreadable-{listing}", "feed": contract.name,
            "agency": contract.agency, "period": period, "processed_at": processed,
            "gate": "not run"}  # fmt: skip


def _refuse(
    contract: Contract,
    period: str,
    connect: Connect,
    where: Paths,
    folder: Path,
    reason: str,
    row: dict,
    result: gate.GateResult | None = None,
    on_stage: Callable[[str], None] = lambda stage: None,
) -> Outcome:
    """Register the refusal, then move the supply out of landing, holding the warehouse
    meanwhile so that no other run's repair (quarantine.repair) sees the refusal half-done.
    If the move fails, the register says where it was going and the sensor offers the supply
    again."""
    todo, reason = advice(contract, period, where), where.shown(reason)
    with connect() as con:
        # A refusal of this supply registered by a run killed before the supply left landing:
        # this run completes it, rather than leave a register row that points to nothing.
        folders = archive.quarantines(con, contract.name, period, row["supply_id"])
        interrupted = [f for f in folders if not f.exists()]
        dest = interrupted[0] if interrupted else destination(
            where.quarantine, contract, period, row["processed_at"])  # fmt: skip
        if not interrupted:
            refused = {"status": Status.QUARANTINED.value, "reason": reason,
                       "quarantine_path": str(dest)}  # fmt: skip
            archive.register(con, {**row, **refused})
        on_stage("refusal registered")
        quarantine(folder, dest, contract, period, reason, todo, row["processed_at"],
                   result.result if result else None, on_stage)  # fmt: skip
    return Outcome(
        contract.name,
        period,
        Status.QUARANTINED,
        f"{contract.name} {period} refused: {reason}. The supply is in "
        f"{where.shown(str(dest))}; {todo}.",
        supply_id=row["supply_id"],
        quarantine_path=dest,
        gate_result=result,
    )


def _nothing_landed(contract: Contract, period: str, folder: str, current) -> Outcome:
    if current:
        return Outcome(
            contract.name,
            period,
            Status.UNCHANGED,
            f"{contract.name} {period}: no new supply in {folder}; the archive keeps {current[0]}",
            supply_id=current[0],
        )
    due = pd.Period(period, "M").end_time.date() + pd.Timedelta(days=contract.delivery_day)
    return Outcome(
        contract.name,
        period,
        Status.MISSING,
        f"{contract.name} {period}: no supply has landed in {folder} (due on "
        f"{due:%d %B %Y} from {contract.agency_name}); the sensor will load it when "
        "it arrives",
    )
