"""Ingest: every feed's monthly asset behind its gate, the monthly refresh and its schedule, and
the sensor on landing."""

import dagster as dg

from dagster_project.defs.ingest.assets import feed_assets
from dagster_project.defs.ingest.jobs import refresh_job, refresh_schedule
from dagster_project.defs.ingest.sensors import landing_sensor


def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=feed_assets(),
        jobs=[refresh_job()],
        schedules=[refresh_schedule()],
        sensors=[landing_sensor()],
    )
