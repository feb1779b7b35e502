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

from dagster_project.contracts.model import Contract
from dagster_project.platform.warehouse import room


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
    record = {
        "feed": contract.name,
        "agency": contract.agency,
        "period": period,
        "quarantined_at": when.isoformat() + "Z",
        "reason": reason,
        "advice": advice,
        "validation": result,
    }
    _write(dest / "validation.json", json.dumps(record, indent=2, default=str))
    on_stage("validation written")
    _write(dest / "report.html", report(record, contract))
    on_stage("report written")
    return dest


def complete(
    dest: Path, contract: Contract, period: str, reason: str, advice: str, when: dt.datetime
) -> None:
    """Write what a run killed after moving a supply here left unwritten: its validation.json
    (the gate's details are then lost, the register's reason stands) and its report."""
    if not dest.is_dir() or (dest / "report.html").exists():
        return  # complete, or the supply never left landing (its re-run quarantines it)
    try:
        record = json.loads((dest / "validation.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = {"feed": contract.name, "agency": contract.agency, "period": period,
                  "quarantined_at": when.isoformat() + "Z", "reason": reason,
                  "advice": advice, "validation": None}  # fmt: skip
        _write(dest / "validation.json", json.dumps(record, indent=2, default=str))
    _write(dest / "report.html", report(record, contract))


def _write(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".tmp")
    with room(path):  # a full disk is told naming the report, not just the data folder
        partial.write_text(text, encoding="utf-8")
    partial.replace(path)  # a killed run leaves no half a report, which would pass for whole


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
    rows = (
        "\n".join(_row(r) for r in results)
        or "<tr><td colspan=5>No checks are recorded: the gate did not run (the supply could "
        "not be read), or the run that refused it stopped before recording them.</td></tr>"
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
