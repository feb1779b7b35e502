"""The hub's Dagster code location: the single `Definitions` that `dagster dev`, `dg`, the
workspace, the CLI and the tests load, one part per stage (each in `defs/<stage>/`). Built when
Dagster asks for it, not at import."""

import os

import dagster as dg

from dagster_project.config import PRIVATE
from dagster_project.defs.automation import automation_sensor
from dagster_project.defs.conform.definitions import defs as conform
from dagster_project.defs.ingest.definitions import defs as ingest
from dagster_project.defs.reports.definitions import defs as reports
from dagster_project.defs.resources import resources
from dagster_project.defs.rights.definitions import defs as rights
from dagster_project.defs.spine.definitions import defs as spine
from dagster_project.defs.tiers.definitions import defs as tiers


@dg.definitions
def defs() -> dg.Definitions:
    os.umask(PRIVATE)  # what its runs write is the hub account's alone (docs/access.md)
    # In-process: one step at a time, so one DuckDB writer at a time within any run, the UI's
    # and automation's included; the run queue (dagster.yaml) runs one run at a time.
    shared = dg.Definitions(
        resources=resources(), sensors=[automation_sensor()], executor=dg.in_process_executor
    )
    return dg.Definitions.merge(ingest(), rights(), conform(), spine(), tiers(), reports(), shared)
