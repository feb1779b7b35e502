"""Conform: the dbt models from staging to intermediate, and the conform job."""

import dagster as dg

from dagster_project.defs.conform.assets import conform_assets
from dagster_project.defs.conform.jobs import conform_job


def defs() -> dg.Definitions:
    return dg.Definitions(assets=[conform_assets()], jobs=[conform_job()])
