"""The one partitioning of the hub: a month, as every supply covers one."""

import functools

import dagster as dg

from dagster_project.config import first_month


@functools.cache
def monthly() -> dg.MonthlyPartitionsDefinition:
    """From HUB_FIRST_MONTH to the last complete month."""
    return dg.MonthlyPartitionsDefinition(start_date=f"{first_month()}-01", end_offset=0)
