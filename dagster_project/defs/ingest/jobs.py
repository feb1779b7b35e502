"""The monthly refresh: a job over every feed's asset, and the schedule that runs it unattended."""

import functools

import dagster as dg

from dagster_project.contracts.model import load_contracts


@functools.cache
def refresh_job():
    return dg.define_asset_job(
        "monthly_refresh", selection=dg.AssetSelection.key_prefixes("raw"),
        description="Ingest every feed's supply for a month through its gate.")  # fmt: skip


def refresh_schedule() -> dg.ScheduleDefinition:
    """The unattended refresh of the month just ended, once the latest delivery day has passed."""
    latest_delivery = max(c.delivery_day for c in load_contracts().values())
    return dg.build_schedule_from_partitioned_job(
        refresh_job(), name="monthly_refresh_schedule", day_of_month=min(28, latest_delivery + 1),
        hour_of_day=6, default_status=dg.DefaultScheduleStatus.RUNNING)  # fmt: skip
