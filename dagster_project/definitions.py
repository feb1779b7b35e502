"""The hub's Dagster code location: the single `Definitions` that `dagster dev`, the
workspace, the CLI and the tests load. Built when Dagster asks for it, not at import."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from .config import paths
from .conform import conform_assets, conform_job, conform_sensor, dbt_resource
from .feeds_assets import feed_assets, refresh_job, refresh_schedule
from .landing import landing_sensor
from .places_assets import place_assets
from .spine_assets import relink_job, retrain_job, spine_assets


def resources() -> dict:
    """The warehouse, at the one path every stage reads (HUB_DATA_DIR)."""
    warehouse = paths().warehouse
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    return {"duckdb": DuckDBResource(database=str(warehouse)), "dbt": dbt_resource()}


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[*feed_assets(), conform_assets(), *spine_assets(), *place_assets()],
        jobs=[refresh_job(), conform_job(), relink_job(), retrain_job()],
        schedules=[refresh_schedule()],
        sensors=[landing_sensor(), conform_sensor()],
        resources=resources(),
    )
