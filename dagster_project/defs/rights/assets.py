"""Retention and the requests register in Dagster: two assets at the head of every conform and
release run (and after every new supply), before dbt reads the archive. Retention deletes
what is past each contract's period; the register's erasures, restrictions and rectifications
become the tables staging honours (docs/rights.md). Both are audited."""

import datetime as dt
import functools

import dagster as dg

from dagster_project.access import settings
from dagster_project.config import paths, retention_as_of
from dagster_project.contracts.model import load_contracts
from dagster_project.defs.automation import after_upstream
from dagster_project.defs.ingest.assets import asset_key
from dagster_project.defs.resources import WarehouseResource
from dagster_project.platform.warehouse import transaction
from dagster_project.rights import honour, retention, subject_access
from dagster_project.rights.register import Register

RETENTION = dg.AssetKey(["ops", "retention"])
RIGHTS = dg.AssetKey(["ops", "rights"])


def _table(rows: list[retention.Destroyed]) -> str:
    return (
        "| feed | rows destroyed | months emptied | undated rows kept | oldest month held |\n"
        "| --- | ---: | --- | ---: | --- |\n"
        + "\n".join(
            f"| {d.feed} | {d.rows:,} | {', '.join(d.months) or '-'} | {d.undated:,} | "
            f"{d.oldest_month or '-'} |"
            for d in rows
        )
    )


@functools.cache
def retention_asset() -> dg.AssetsDefinition:
    """After any feed's new month, and first in every conform and release run."""
    return dg.asset(
        key=RETENTION,
        group_name="ops",
        kinds={"duckdb"},
        deps=[asset_key(c) for c in load_contracts().values()],
        automation_condition=after_upstream(),
        description="Deletes the archive rows each feed's contract no longer lets the hub "
        "hold (retention: a period from the event, the end of its financial year "
        "or a date of the record, and an age), and landing and quarantine folders "
        "past theirs; what derives from them follows in the same run. Audited.",
    )(retention_applied)


def retention_applied(
    context: dg.AssetExecutionContext, duckdb: WarehouseResource
) -> dg.MaterializeResult:
    as_of, contracts = retention_as_of(), load_contracts()
    with duckdb.get_connection() as con, transaction(con):
        held = retention.oldest_months(con, contracts)
        destroyed = [retention.destroy(con, contracts[f], as_of) for f, m in held.items() if m]
        swept = retention.sweep(con, paths().root, as_of)
    swept["subject access packs"] = subject_access.remove_packs(
        paths().rights / "sar", written_before=as_of - dt.timedelta(days=retention.PACK_DAYS)
    )
    rows = {d.feed: d.rows for d in destroyed if d.rows}
    if rows or any(swept.values()):
        settings.trail().append(
            {
                "action": "retention",
                "user": "hub",
                "outcome": "destroyed",
                "as_of": as_of.isoformat(),
                "rows": rows,
                "months": {d.feed: list(d.months) for d in destroyed if d.months},
                "folders": swept,
                "run": context.run.run_id,
            }
        )
    for d in destroyed:
        if d.rows:
            context.log.info(
                f"{d.feed}: {d.rows:,} rows past retention destroyed "
                f"({contracts[d.feed].retention.text}); oldest month held "
                f"{d.oldest_month or 'none'}"
            )
    return dg.MaterializeResult(
        metadata={
            "as of": as_of.isoformat(),
            "rows destroyed": sum(rows.values()),
            "by feed": dg.MetadataValue.md(_table(destroyed)),
            "landing folders removed": swept["landing"],
            "quarantine folders removed": swept["quarantine"],
            "subject access packs removed": swept["subject access packs"],
        }
    )


@dg.asset(
    key=RIGHTS,
    group_name="ops",
    kinds={"duckdb"},
    deps=[RETENTION],
    automation_condition=after_upstream(),
    description="The requests register (data/rights/requests.jsonl: erasure, restriction, "
    "lift, rectification) made into ops.withheld_records and ops.corrections, which "
    "staging honours; erased records leave the archive here. Audited.",
)
def rights_applied(
    context: dg.AssetExecutionContext, duckdb: WarehouseResource
) -> dg.MaterializeResult:
    where = paths()
    requests = Register(where.rights / "requests.jsonl").requests()
    kept = where.rights / "resolved.duckdb"
    with duckdb.get_connection() as con:
        if honour.restore(con, kept):
            context.log.warning(f"The warehouse had not applied the register: restored {kept.name}")
        done = honour.apply(con, requests, load_contracts(), context.run.run_id)
        if requests:
            honour.keep(con, kept)
    erased = {r.person for r in requests if r.action == "erase" and r.person}
    packs = subject_access.remove_packs(where.rights / "sar", erased)
    if done.resolved or done.found_later or done.erased_rows or packs:
        settings.trail().append(
            {
                "action": "rights",
                "user": "hub",
                "outcome": "applied",
                "requests": done.requests,
                "first_applied": done.resolved,
                "later_records": done.found_later,
                "archive_rows_erased": done.erased_rows,
                "subject_access_packs_removed": packs,
                "run": context.run.run_id,
            }
        )
    context.log.info(
        f"Requests register: {done.requests} in force ({done.resolved} applied for the first "
        f"time); {done.withheld:,} records withheld ({done.found_later:,} found in later "
        f"supplies), {done.corrected:,} values rectified, {done.erased_rows:,} archive rows "
        "erased."
    )
    return dg.MaterializeResult(
        metadata={
            "requests in force": done.requests,
            "first applied": done.resolved,
            "records withheld": done.withheld,
            "found in later supplies": done.found_later,
            "values rectified": done.corrected,
            "archive rows erased": done.erased_rows,
            "subject access packs of erased people removed": packs,
        }
    )
