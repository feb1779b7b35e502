"""The conform job (dbt, then the person and place spines) and the sensor that runs it once
new supplies are in the archive."""

import functools

import dagster as dg

from dagster_project.defs.conform.assets import conform_assets
from dagster_project.defs.spine.people import IDS
from dagster_project.defs.spine.places import GAZETTEER, PLACE_MATCHES


@functools.cache
def conform_job():
    return dg.define_asset_job(
        "conform",
        selection=dg.AssetSelection.assets(conform_assets(), IDS, GAZETTEER, PLACE_MATCHES),
        executor_def=dg.in_process_executor,
        description="Build the dbt models (staging and onwards), run their tests, and bring "
                    "the person and place spines up to date.")  # fmt: skip


REFRESH_UNDERWAY = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def conform_sensor() -> dg.MultiAssetSensorDefinition:
    """Conform (dbt, then the person spine) once new supplies are in the archive and no
    monthly refresh is still running, so the unattended refresh ends with linked data and a
    backfill of many months conforms once, at the end."""

    @dg.multi_asset_sensor(
        monitored_assets=dg.AssetSelection.key_prefixes("raw"), job=conform_job(),
        name="conform_after_ingest", minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Runs the conform job after supplies are appended to the archive, once "
                    "every monthly refresh run has finished.")  # fmt: skip
    def _sensor(context: dg.MultiAssetSensorEvaluationContext):
        new = {k: r for k, r in context.latest_materialization_records_by_key().items() if r}
        if not new:
            return dg.SkipReason("no supply appended since the last conform")
        underway = context.instance.get_runs_count(
            dg.RunsFilter(job_name="monthly_refresh", statuses=REFRESH_UNDERWAY)
        )
        if underway:
            return dg.SkipReason(f"{underway} monthly refresh run(s) still underway")
        context.advance_all_cursors()
        return dg.RunRequest()

    return _sensor
