"""The hub's Dagster code location: the single `Definitions` that `dagster dev`, the
workspace and the tests load. Feeds, checks, schedules and sensors join it as they are built
(the ingest issue adds one asset per feed contract)."""

import dagster as dg

defs = dg.Definitions()
