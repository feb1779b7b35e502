"""Conforming the feeds with dbt (`dbt/`), wired into Dagster through dagster-dbt: each dbt
model an asset downstream of the raw feeds it reads, each dbt test an asset check."""

import functools

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from dagster_project.defs.conform.project import Translator, manifest, project


@functools.cache
def conform_assets() -> dg.AssetsDefinition:
    # The marts read the spines, which read these models: they are a second dbt asset,
    # built by the release job (defs/tiers/assets.py).
    @dbt_assets(
        manifest=manifest(),
        project=project(),
        name="dbt_build",
        exclude="marts",
        dagster_dbt_translator=Translator(),
    )
    def _conform(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        yield from dbt.cli(["build"], context=context).stream()

    return _conform
