"""The landing sensor: a run for each new or replaced supply (retried when a run fails), and
every folder that cannot be a supply quarantined at once with the reason."""

import functools

import dagster as dg

from dagster_project.config import months_given, paths
from dagster_project.defs.ingest.assets import asset_key
from dagster_project.defs.ingest.jobs import refresh_job
from dagster_project.defs.partitions import monthly
from dagster_project.ingest.archive import now
from dagster_project.ingest.landing import scan
from dagster_project.ingest.quarantine import destination, quarantine

SUPPLY_TAG = "hub/supply"
MAX_TRIES = 3  # runs that fail (not refusals: those move the supply away) are retried this often


def _attempts(instance: dg.DagsterInstance, key: str) -> tuple[int, bool]:
    """Runs already requested for a supply, and whether one is still queued or running or
    has succeeded (then there is nothing to ask for)."""
    runs = instance.get_runs(filters=dg.RunsFilter(tags={SUPPLY_TAG: key}))
    live = {
        dg.DagsterRunStatus.QUEUED,
        dg.DagsterRunStatus.NOT_STARTED,
        dg.DagsterRunStatus.STARTING,
        dg.DagsterRunStatus.STARTED,
        dg.DagsterRunStatus.SUCCESS,
    }
    return len(runs), any(r.status in live for r in runs)


def _evaluate(context: dg.SensorEvaluationContext):
    where = paths()
    months = set(monthly().get_partition_keys())
    pending, strays, waiting = scan(where, months, refuse_outside=months_given())
    for why in waiting:
        context.log.warning(why)
    for contract, folder, reason in strays:
        dest = destination(where.quarantine, contract, folder.name, now())
        quarantine(
            folder,
            dest,
            contract,
            folder.name,
            reason,
            "deliver it again in a folder named for the month it covers",
            now(),
        )
        context.log.error(where.shown(f"{reason}; moved to {dest}"))
    requested = 0
    for p in pending:
        tries, live = _attempts(context.instance, p.key)
        if live or tries >= MAX_TRIES:  # in hand, or failing: a person must look at the run
            continue
        requested += 1
        yield dg.RunRequest(
            run_key=f"{p.key}#{tries + 1}",
            partition_key=p.period,
            asset_selection=[asset_key(p.contract)],
            tags={SUPPLY_TAG: p.key},
        )
    if not requested:
        yield dg.SkipReason("no new or replaced supplies in landing")


@functools.cache
def landing_sensor() -> dg.SensorDefinition:
    return dg.SensorDefinition(
        name="landing_sensor", evaluation_fn=_evaluate, job=refresh_job(),
        minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
        description="Requests a run of a feed's month when a new or replaced supply lands; "
                    "quarantines folders that are not months the hub holds.")  # fmt: skip
