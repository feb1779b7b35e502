"""Conform: the dbt models from staging to intermediate, the conform job and what starts it."""

import dagster as dg

from dagster_project.defs.conform.assets import conform_assets
from dagster_project.defs.conform.jobs import conform_job, conform_sensor


def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[conform_assets()], jobs=[conform_job()], sensors=[conform_sensor()]
    )
