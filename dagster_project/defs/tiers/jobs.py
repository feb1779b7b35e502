"""The release job, and the sensor that starts it after every successful conform."""

import functools

import dagster as dg

from dagster_project.defs.conform.jobs import conform_job
from dagster_project.defs.tiers.assets import POPULATION, PUBLISHED, STAGED, marts_assets


@functools.cache
def release_job():
    return dg.define_asset_job(
        "release",
        selection=dg.AssetSelection.assets(POPULATION, marts_assets(), STAGED, PUBLISHED),
        executor_def=dg.in_process_executor,
        description="Build the marts, stage the three tier files, check them, and publish.",
    )


def release_sensor() -> dg.RunStatusSensorDefinition:
    """A release follows every successful conform, so the unattended monthly refresh ends
    with the tiers published."""

    @dg.run_status_sensor(
        run_status=dg.DagsterRunStatus.SUCCESS, monitored_jobs=[conform_job()],
        request_job=release_job(), name="release_after_conform",
        default_status=dg.DefaultSensorStatus.RUNNING,
    )  # fmt: skip
    def _sensor(context: dg.RunStatusSensorContext):
        return dg.RunRequest(run_key=context.dagster_run.run_id)

    return _sensor
