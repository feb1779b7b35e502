"""The dbt project as dagster-dbt sees it: the project, its manifest, the resource that runs
it, and how a dbt model is named as an asset."""

import functools
from pathlib import Path

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject

from dagster_project.config import dbt_dir
from dagster_project.defs.automation import after_upstream, once
from dagster_project.platform import dbt


@functools.cache
def project() -> DbtProject:
    return DbtProject(project_dir=dbt_dir(), profiles_dir=dbt_dir())


def manifest() -> Path:
    p = project()
    return dbt.parse_if_stale(Path(p.manifest_path), Path(p.project_dir), Path(p.profiles_dir))


class Translator(DagsterDbtTranslator):
    """Models are keyed by schema and the name they are published under (their alias):
    `level1/strategic_profile`, not the model file's `l1_strategic_profile`."""

    def get_asset_key(self, dbt_resource_props: dict) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source" and (
            dbt_resource_props["source_name"] == "ops"
        ):  # the requests register's tables, written by one asset (defs/rights/assets.py)
            return dg.AssetKey(["ops", "rights"])
        if dbt_resource_props["resource_type"] in ("model", "seed"):
            return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["alias"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: dict) -> str | None:
        """The layer, so the lineage reads staging > intermediate > marts: seeds are reference
        tables, and the marts folder's models (prep and the three levels) are `marts`."""
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        if dbt_resource_props["resource_type"] == "model":
            return dbt_resource_props["fqn"][1]
        return super().get_group_name(dbt_resource_props)

    def get_automation_condition(self, dbt_resource_props: dict) -> dg.AutomationCondition:
        if dbt_resource_props["resource_type"] == "seed":
            return once()
        return after_upstream()


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=project(), dbt_executable=str(dbt.executable()))
