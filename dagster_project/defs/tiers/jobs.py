"""The release job, as `hub release` and the UI run it; after a conform it also runs by itself
(defs/automation.py)."""

import functools

import dagster as dg

from dagster_project.defs.conform.jobs import conform_selection
from dagster_project.defs.reports.definitions import REPORTS
from dagster_project.defs.tiers.assets import (
    BOUNDARIES,
    POPULATION,
    PUBLISHED,
    STAGED,
    marts_assets,
)


@functools.cache
def release_job():
    return dg.define_asset_job(
        "release",
        # A release starts with a conform, so that what retention and the requests register
        # took out of the archive is out of every tier it publishes.
        selection=conform_selection()
        | dg.AssetSelection.assets(POPULATION, BOUNDARIES, marts_assets(), STAGED, PUBLISHED)
        | REPORTS,
        description="Apply retention and the requests register, conform, build the marts, "
        "stage the three tier files, check them, publish, and write the reports.",
    )
