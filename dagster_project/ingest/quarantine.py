"""Refused supplies: moved whole out of landing to `quarantine/<agency>/<feed>/<YYYY-MM>/
<when>/`, with the validation result (JSON) and a report a person can read offline (HTML with
no scripts or outside resources). The report may show sample values, as the supply itself
does; it stays beside the supply under data/, which never leaves the hub."""

from __future__ import annotations

import datetime as dt
import html
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb

from dagster_project.config import Paths
from dagster_project.contracts.model import Contract
from dagster_project.ingest.supplies import sha256
from dagster_project.platform.warehouse import room

REPORT, RECORD = "report.html", "validation.json"


def destination(root: Path, contract: Contract, period: str, when: dt.datetime) -> Path:
    """A new folder for one refused supply (two refusals in a second do not collide)."""
    stamp = when.strftime("%Y%m%dT%H%M%SZ")
    dest, n = root / contract.agency / contract.name / period / stamp, 1
    while dest.exists():
        dest, n = dest.with_name(f"{stamp}-{n}"), n + 1
    return dest


def quarantine(
    folder: Path,
    dest: Path,
    contract: Contract,
    period: str,
    reason: str,
    advice: str,
    when: dt.datetime,
    result: dict | None = None,
    on_stage: Callable[[str], None] = lambda stage: None,
) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(folder), str(dest))
    on_stage("quarantine moved")
    _write(dest, _record(contract, period, when, reason, advice, result), contract, on_stage)
    return dest


def advice(contract: Contract, period: str, where: Paths) -> str:
    """What to do about a refused supply, in words."""
    who = contract.supplier.get("email") or contract.agency_name
    return where.shown(
        f"ask {contract.agency_name} ({who}) for a corrected supply, put it in "
        f"{contract.landing_dir(where.landing, period)}/ and re-run the {period} "
        f"partition of {contract.name}"
    )


def _record(contract, period, when, reason, advice, result, rebuilt=None) -> dict:
    record = {"feed": contract.name, "agency": contract.agency, "period": period,
              "quarantined_at": when.isoformat() + "Z", "reason": reason, "advice": advice,
              "validation": result}  # fmt: skip
    return record | ({"rebuilt": rebuilt} if rebuilt else {})


def _write(
    dest: Path, record: dict, contract: Contract, on_stage: Callable[[str], None] = lambda s: None
) -> None:
    _write_file(dest / RECORD, json.dumps(record, indent=2, default=str))
    on_stage("validation written")
    _write_file(dest / REPORT, report(record, contract))
    on_stage("report written")


def _write_file(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".tmp")
    with room(path):  # a full disk is told naming the report, not just the data folder
        partial.write_text(text, encoding="utf-8")
    partial.replace(path)  # a killed run leaves no half a report, which would pass for whole


def _still_landed(where: Paths, contract: Contract, period: str, sha: str | None) -> bool:
    """Whether the refused supply is still in landing, so that the month's next run refuses
    it again under the same row and folder (load._refuse) rather than leave the row noted."""
    data = contract.landing_dir(where.landing, period) / contract.file.filename(period)
    return bool(sha) and data.is_file() and not data.is_symlink() and sha256(data) == sha


def repair(con: duckdb.DuckDBPyConnection, where: Paths, contract: Contract) -> list[str]:
    """Mend the refusals of a feed that a killed process left half-done (the register row is
    written first, then the supply moved, then its record and report): a missing report or
    record is written again, from the record if it is whole, else from the register; a row
    whose folder never came to be, and whose supply has left landing, says so. A sentence
    for each repair."""
    rows = con.execute(
        "SELECT supply_id, period, processed_at, reason, quarantine_path, gate, file_sha256 "
        "FROM ops.supply_register WHERE feed = ? AND status = 'quarantined' "
        "AND quarantine_path IS NOT NULL ORDER BY processed_at",
        [contract.name],
    ).fetchall()
    said = []
    for supply_id, period, when, reason, path, gate, sha in rows:
        dest, shown = Path(path), where.shown(path)
        if not dest.is_dir():
            if _still_landed(where, contract, period, sha):
                continue
            note = (
                " (its quarantine folder was never written: the run stopped before it moved "
                f"the supply, which stayed in landing; noted {dt.date.today()})"
            )
            con.execute(
                "UPDATE ops.supply_register SET quarantine_path = NULL, reason = reason || ? "
                "WHERE supply_id = ? AND processed_at = ? AND quarantine_path = ?",
                [note, supply_id, when, path],
            )
            said.append(f"the register's refusal of {supply_id} named {shown}, a quarantine "
                        "that was never written: the row now says so")  # fmt: skip
            continue
        if (dest / REPORT).is_file() and (dest / RECORD).is_file():
            continue
        try:
            record = json.loads((dest / RECORD).read_text(encoding="utf-8"))
        except (OSError, ValueError):  # missing, or cut short by the crash
            lost = ("the checks' details were lost with the report: the register's reason "
                    "above is what the gate found" if gate == "failed" else None)  # fmt: skip
            record = _record(contract, period, when, reason or "not recorded",
                             advice(contract, period, where), None, lost)  # fmt: skip
        _write(dest, record, contract)
        said.append(f"{shown}: the quarantine's report was missing (a run stopped while "
                    "writing it); written again")  # fmt: skip
    return said


def _row(r: dict) -> str:
    config = r["expectation_config"]
    res = r.get("result") or {}
    kw = config.get("kwargs", {})
    what = (config.get("meta") or {}).get("why", config["type"])
    column = kw.get("column") or ", ".join(kw.get("column_list", []))
    observed = res.get("unexpected_count", res.get("observed_value", ""))
    samples = ", ".join(map(str, res.get("partial_unexpected_list", [])[:10]))
    state = "met" if r["success"] else "NOT MET"
    return (
        f"<tr class={'ok' if r['success'] else 'bad'}><td>{state}</td><td>{html.escape(what)}"
        f"</td><td>{html.escape(column)}</td><td>{html.escape(str(observed))}</td>"
        f"<td>{html.escape(samples)}</td></tr>"
    )


def report(record: dict, contract: Contract) -> str:
    results = (record.get("validation") or {}).get("results", [])
    results = sorted(results, key=lambda r: r["success"])
    empty = record.get("rebuilt") or "The gate did not run: the supply could not be read."
    rows = (
        "\n".join(_row(r) for r in results) or f"<tr><td colspan=5>{html.escape(empty)}</td></tr>"
    )
    e = html.escape
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Quarantined: {e(contract.name)} {e(record["period"])}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; max-width: 70em; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border: 1px solid #ccc; padding: .3em .5em; text-align: left; vertical-align: top; }}
tr.bad td:first-child {{ color: #a00; font-weight: bold; }}
tr.ok td:first-child {{ color: #070; }}
.box {{ background: #fff4f4; border-left: 4px solid #a00; padding: .5em 1em; }}
</style></head><body>
<h1>Supply refused: {e(contract.dataset)}, {e(record["period"])}</h1>
<p>{e(contract.agency_name)} &middot; feed <code>{e(contract.name)}</code> &middot;
quarantined {e(record["quarantined_at"])}</p>
<div class="box"><p><strong>What was wrong:</strong> {e(record["reason"])}</p>
<p><strong>What to do:</strong> {e(record["advice"])}</p></div>
<p>Supplier: {e(" ".join(str(v) for v in contract.supplier.values()))}.
Nothing from this supply reached the archive.</p>
<h2>Checks</h2>
<table><tr><th></th><th>expected</th><th>column</th><th>observed</th><th>sample values</th></tr>
{rows}
</table>
</body></html>
"""
