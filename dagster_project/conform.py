"""Conforming the feeds with dbt (`dbt/`), wired into Dagster through dagster-dbt: each dbt
model an asset downstream of the raw feeds it reads, each dbt test an asset check."""

import functools
import subprocess
import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from .dbt_files import dbt_dir


@functools.cache
def project() -> DbtProject:
    return DbtProject(project_dir=dbt_dir(), profiles_dir=dbt_dir())


def _sources(directory: Path) -> list[Path]:
    return [
        directory / "dbt_project.yml",
        *directory.glob("models/**/*"),
        *directory.glob("macros/**/*"),
        *directory.glob("seeds/**/*"),
    ]


def prepare() -> Path:
    """The manifest dagster-dbt reads, parsed again whenever the dbt project has changed
    (so definitions load on a fresh clone, not only under `dagster dev`)."""
    p = project()
    manifest = Path(p.manifest_path)
    newest = max(f.stat().st_mtime for f in _sources(Path(p.project_dir)) if f.is_file())
    if not manifest.exists() or manifest.stat().st_mtime < newest:
        dbt = Path(sys.executable).with_name("dbt")
        subprocess.run(
            [
                str(dbt),
                "parse",
                "--quiet",
                "--project-dir",
                str(p.project_dir),
                "--profiles-dir",
                str(p.profiles_dir),
            ],
            check=True,
        )
    return manifest


class Translator(DagsterDbtTranslator):
    """Models are keyed by schema and the name they are published under (their alias):
    `level1/strategic_profile`, not the model file's `l1_strategic_profile`."""

    def get_asset_key(self, dbt_resource_props: dict) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] in ("model", "seed"):
            return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["alias"]])
        return super().get_asset_key(dbt_resource_props)


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(
        project_dir=project(), dbt_executable=str(Path(sys.executable).with_name("dbt"))
    )


@functools.cache
def conform_assets() -> dg.AssetsDefinition:
    # The marts read the spines, which read these models: they are a second dbt asset,
    # built by the release job (tiers_assets.py).
    @dbt_assets(
        manifest=prepare(),
        project=project(),
        name="dbt_build",
        exclude="marts",
        dagster_dbt_translator=Translator(),
    )
    def _conform(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        yield from dbt.cli(["build"], context=context).stream()

    return _conform


@functools.cache
def conform_job():
    from .places_assets import GAZETTEER, PLACE_MATCHES
    from .spine_assets import IDS

    return dg.define_asset_job(
        "conform",
        selection=dg.AssetSelection.assets(conform_assets(), IDS, GAZETTEER, PLACE_MATCHES),
        executor_def=dg.in_process_executor,
        description="Build the dbt models (staging and onwards), run their tests, and bring "
                    "the person and place spines up to date.")  # fmt: skip


REFRESH_UNDERWAY = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def conform_sensor() -> dg.MultiAssetSensorDefinition:
    """Conform (dbt, then the person spine) once new supplies are in the archive and no
    monthly refresh is still running, so the unattended refresh ends with linked data and a
    backfill of many months conforms once, at the end."""

    @dg.multi_asset_sensor(
        monitored_assets=dg.AssetSelection.key_prefixes("raw"), job=conform_job(),
        name="conform_after_ingest", minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Runs the conform job after supplies are appended to the archive, once "
                    "every monthly refresh run has finished.")  # fmt: skip
    def _sensor(context: dg.MultiAssetSensorEvaluationContext):
        new = {k: r for k, r in context.latest_materialization_records_by_key().items() if r}
        if not new:
            return dg.SkipReason("no supply appended since the last conform")
        underway = context.instance.get_runs_count(
            dg.RunsFilter(job_name="monthly_refresh", statuses=REFRESH_UNDERWAY)
        )
        if underway:
            return dg.SkipReason(f"{underway} monthly refresh run(s) still underway")
        context.advance_all_cursors()
        return dg.RunRequest()

    return _sensor
