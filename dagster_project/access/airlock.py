"""The output airlock: the only way a Level 2 result leaves the service as a file.

An export request is one grouping of the tier's rows into counts, sums, means or medians
(statements.aggregate); the service computes each cell from its contributing rows and checks
it with the hub's disclosure rules (output_checks.py): counts of 1 to 7 suppressed, the rest
rounded to 5, sums and means suppressed under 8 contributors or when one or two dominate. The
checked table waits in `exports/<id>/` until a checker who is not the requester approves it;
only then is it written out (CSV or Parquet, formula characters neutralised) for the requester
to fetch. Level 1 needs no airlock (it is published to every partner), and Level 3 results never
leave as files.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
from pathlib import Path

import pandas as pd

from dagster_project.access import output_checks, outputs
from dagster_project.access.policy import Grant, User
from dagster_project.access.private import write_private
from dagster_project.access.sandbox import Limits, Sandbox
from dagster_project.access.statements import Refused as StatementRefused
from dagster_project.access.statements import Statement, aggregate

# What an export may group: the checks run in Python, beyond DuckDB's time limit.
EXPORT_ROWS, EXPORT_GROUPS = 1_000_000, 5_000
_LOCK = threading.Lock()  # one review at a time, so two checkers cannot both decide


class Refused(PermissionError):
    """An export the airlock will not take, review or hand over: the message says why."""


def _folder(exports: Path, export_id: str) -> Path:
    if not export_id.isalnum() or len(export_id) > 40:
        raise Refused(f"no export {export_id!r}")
    folder = exports / export_id
    if not (folder / "request.json").exists():
        raise Refused(f"no export {export_id!r}")
    return folder


def _save(folder: Path, record: dict) -> None:
    write_private(folder / "request.json", json.dumps(record, indent=1))


def _load(folder: Path) -> dict:
    return json.loads((folder / "request.json").read_text())


def request(
    exports: Path, grant: Grant, statement: Statement, box: Sandbox, limits: Limits, fmt: str
) -> dict:
    """Check the statement's result and hold it for review; the record of the request."""
    if grant.tier != "level2":
        raise Refused(
            "Level 1 needs no airlock: it is published to every partner"
            if grant.tier == "level1"
            else "Level 3 results do not leave the service as files"
        )
    if fmt not in outputs.FORMATS:
        raise Refused(f"format {fmt!r}: one of {', '.join(outputs.FORMATS)}")
    columns = {c.lower() for t in statement.tables for c in box.schema[box.tier][t.split(".")[1]]}
    try:
        plan = aggregate(statement, columns)
    except StatementRefused as e:
        raise Refused(f"the airlock takes aggregates only: {e}") from None
    rows, more = box.run(plan.rows_sql, Limits(limits.seconds, limits.memory, EXPORT_ROWS))
    if more:
        raise Refused(f"an export groups at most {EXPORT_ROWS:,} rows: narrow it with WHERE")
    rows = rows.to_pandas()
    if plan.by and rows.groupby(list(plan.by), dropna=False).ngroups > EXPORT_GROUPS:
        raise Refused(f"an export has at most {EXPORT_GROUPS:,} groups: group more broadly")
    measures = [output_checks.Measure(*m) for m in plan.measures]
    checked = output_checks.check(rows, list(plan.by), measures)
    export_id = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S") + secrets.token_hex(3)
    folder = exports / export_id
    folder.mkdir(parents=True, mode=0o700)
    outputs.write(checked.table, folder / "checked.parquet", "parquet")
    record = {
        "id": export_id,
        "status": "pending",
        "user": grant.user.name,
        "organisation": grant.organisation.name,
        "tier": grant.tier,
        "purpose": grant.purpose,
        "project": grant.project.name if grant.project else None,
        "statement": statement.sql,
        "format": fmt,
        "rows": len(checked.table),
        "checks": checked.summary(),
        "requested": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    _save(folder, record)
    return record | {"preview": _preview(checked.table)}


def preview(exports: Path, export_id: str) -> dict:
    """An export's checked table, its first 50 rows: what its checker reviews."""
    return _preview(pd.read_parquet(_folder(exports, export_id) / "checked.parquet"))


def _preview(table: pd.DataFrame) -> dict:
    return {
        "columns": list(table.columns),
        "rows": json.loads(table.head(50).to_json(orient="values", date_format="iso")),
    }


def review(exports: Path, export_id: str, reviewer: User, decision, comment: str) -> dict:
    """Approve (and write out) or reject a pending export: a checker's decision, never the
    requester's own."""
    with _LOCK:
        folder = _folder(exports, export_id)
        record = _load(folder)
        if reviewer.role != "checker":
            raise Refused(f"{reviewer.name} is not a checker: only checkers review exports")
        if reviewer.name == record["user"]:
            raise Refused("a requester cannot review their own export")
        if record["status"] != "pending":
            raise Refused(f"export {export_id} is already {record['status']}")
        if decision not in ("approve", "reject"):
            raise Refused("a review decides 'approve' or 'reject'")
        record |= {
            "status": "approved" if decision == "approve" else "rejected",
            "reviewer": reviewer.name,
            "reviewed": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "comment": comment,
        }
        if decision == "approve":
            table = pd.read_parquet(folder / "checked.parquet")
            name = f"export-{export_id}.{record['format']}"
            outputs.write(table, folder / name, record["format"])
            record["file"] = name
        _save(folder, record)
        return record


def fetch(exports: Path, export_id: str, user: str) -> tuple[bytes, str]:
    """An approved export's file, for its requester only."""
    folder = _folder(exports, export_id)
    record = _load(folder)
    if record["user"] != user:
        raise Refused(f"export {export_id} was requested by another user")
    if record["status"] != "approved":
        raise Refused(f"export {export_id} is {record['status']}, not approved")
    return (folder / record["file"]).read_bytes(), record["file"]


def listing(exports: Path) -> list[dict]:
    if not exports.exists():
        return []
    return [_load(f) for f in sorted(exports.iterdir()) if (f / "request.json").exists()]
