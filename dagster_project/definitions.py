"""The hub's Dagster code location: the single `Definitions` that `dagster dev`, the
workspace, the CLI and the tests load. Built when Dagster asks for it, not at import."""

import dagster as dg

from .config import paths
from .conform import conform_assets, conform_job, conform_sensor, dbt_resource
from .feeds_assets import feed_assets, refresh_job, refresh_schedule
from .landing import landing_sensor
from .places_assets import place_assets
from .resources import WarehouseResource
from .spine_assets import relink_job, retrain_job, spine_assets
from .tiers_assets import release_job, release_sensor, tier_assets


def resources() -> dict:
    """The warehouse, at the one path every stage reads (HUB_DATA_DIR), encrypted."""
    return {"duckdb": WarehouseResource(database=str(paths().warehouse)), "dbt": dbt_resource()}


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[*feed_assets(), conform_assets(), *spine_assets(), *place_assets(), *tier_assets()],
        jobs=[refresh_job(), conform_job(), relink_job(), retrain_job(), release_job()],
        schedules=[refresh_schedule()],
        sensors=[landing_sensor(), conform_sensor(), release_sensor()],
        resources=resources(),
    )
