"""The one partitioning of the hub: a month, as every supply covers one, keyed `YYYY-MM` as the
supplies, the CLI and the README write it."""

import functools

import dagster as dg

from dagster_project.config import months, paths


@functools.cache
def monthly() -> dg.MonthlyPartitionsDefinition:
    """The months the hub holds (config.months), read once when the code location loads: the
    assets, the gate and the landing sensor see the same months."""
    first, last = months(paths())
    end = None
    if last:  # exclusive: the first day of the month after the last
        year, month = map(int, last.split("-"))
        end = f"{year + month // 12}-{month % 12 + 1:02d}"
    return dg.MonthlyPartitionsDefinition(start_date=first, end_date=end, fmt="%Y-%m")
