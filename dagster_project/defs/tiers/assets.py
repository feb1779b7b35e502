"""The published tiers in Dagster: the population denominators, the dbt marts (Level 1, 2
and 3 schemas in the warehouse), the release staged as three new files and checked there by
four blocking checks, and only then published as one set (tiers/publish.py)."""

import datetime as dt
import functools
import json

import dagster as dg
import pandas as pd
from dagster_dbt import DbtCliResource, dbt_assets

from dagster_project.access import settings
from dagster_project.config import paths, releases_kept
from dagster_project.defs.automation import after_upstream, once
from dagster_project.defs.conform.project import Translator, manifest, project
from dagster_project.defs.resources import WarehouseResource
from dagster_project.places import boundaries
from dagster_project.platform import keys
from dagster_project.platform.warehouse import room, transaction
from dagster_project.rights.register import Register
from dagster_project.tiers import population, publish

POPULATION = dg.AssetKey(["reference", "population"])
BOUNDARIES = dg.AssetKey(["reference", "boundaries"])
STAGED = dg.AssetKey(["release", "staged"])
PUBLISHED = dg.AssetKey(["release", "published"])
MARTS = "marts"  # the dbt selection of the published layer (dbt/models/marts)


@dg.asset(
    key=POPULATION, group_name="reference", kinds={"duckdb"}, automation_condition=once(),
    description="Residents per LSOA from data/reference/population.csv: the denominators of "
                "Level 1's rates per 1,000.",
)  # fmt: skip
def population_table(duckdb: WarehouseResource) -> dg.MaterializeResult:
    path = paths().reference / "population.csv"
    with duckdb.get_connection() as con, transaction(con):
        n = population.load(con, path)
    file = dg.MetadataValue.path(paths().shown(str(path)))
    return dg.MaterializeResult(metadata={"LSOAs": n, "file": file})


@dg.asset(
    key=BOUNDARIES, group_name="reference", kinds={"duckdb"}, automation_condition=once(),
    description="The areas' boundaries from data/reference/boundaries.geojson (the synthetic "
                "region's, or a partnership's from the ONS: docs/gazetteer.md), published in "
                "Level 1 for the strategic profile's maps; without the file, no maps.",
)  # fmt: skip
def boundaries_table(
    context: dg.AssetExecutionContext, duckdb: WarehouseResource
) -> dg.MaterializeResult:
    where = paths()
    path, areas = where.reference / boundaries.FILENAME, pd.DataFrame(columns=boundaries.COLUMNS)
    note = f"{where.shown(str(path))}: no such file, so no maps"
    try:
        if path.exists():
            areas, note = boundaries.read(path), where.shown(str(path))
    except boundaries.BoundaryError as e:  # only the maps need it: the release goes on
        note = where.shown(str(e))
        context.log.warning(f"{note}; the strategic profile is published without maps")
    with duckdb.get_connection() as con, transaction(con):
        con.execute("create schema if not exists reference")
        con.register("areas", areas)
        con.execute(
            "create or replace table reference.boundaries as select geography::varchar as "
            "geography, code::varchar as code, name::varchar as name, geometry::json as "
            "geometry from areas"
        )
        con.unregister("areas")
    counts = areas.groupby("geography").size().to_dict()
    return dg.MaterializeResult(metadata={
        **{f"{g} areas": int(counts.get(g, 0)) for g in boundaries.GEOGRAPHIES},
        "file": note,
    })  # fmt: skip


def release_id(now: dt.datetime) -> str:
    return now.astimezone(dt.UTC).strftime("R%Y%m%dT%H%M%SZ")


def marts_args(release: str, key_id: str) -> list[str]:
    """`dbt build` of the marts, told which release it builds and which pseudonym key."""
    return ["build", "--vars", json.dumps({"release_id": release, "pseudonym_key_id": key_id})]


@functools.cache
def marts_assets() -> dg.AssetsDefinition:
    @dbt_assets(
        manifest=manifest(),
        project=project(),
        name="dbt_marts",
        select=MARTS,
        dagster_dbt_translator=Translator(),
    )
    def _marts(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        args = marts_args(release_id(dt.datetime.now(dt.UTC)), keys.fingerprint("pseudonym"))
        yield from dbt.cli(args, context=context).stream()

    return _marts


def _tier_metadata(tiers: list[publish.Tier]) -> dict:
    return {
        t.name: dg.MetadataValue.md(
            "| table | rows |\n| --- | --- |\n"
            + "\n".join(f"| {name} | {rows:,} |" for name, rows in t.tables.items())
        )
        for t in tiers
    }


@functools.cache
def staged_release() -> dg.AssetsDefinition:
    @dg.asset(
        key=STAGED, group_name="tiers", deps=[marts_assets()], kinds={"duckdb"},
        automation_condition=after_upstream(),
        description="The release written to data/marts/.next/level{1,2,3}.duckdb (Level 3 "
                    "encrypted) with release.json, what it is built from, where the blocking "
                    "checks read it before it is published.",
    )  # fmt: skip
    def _staged(duckdb: WarehouseResource) -> dg.MaterializeResult:
        with duckdb.get_connection() as con, room(paths().staged_marts):
            tiers = publish.stage(con, paths().staged_marts)
        return dg.MaterializeResult(metadata=_tier_metadata(tiers))

    return _staged


@dg.asset(
    key=PUBLISHED, group_name="tiers", deps=[STAGED], kinds={"duckdb"},
    automation_condition=after_upstream(),
    description="data/marts/releases/<release>/level{1,2,3}.duckdb: the checked release, "
                "published as one set by pointing data/marts/current at its folder (readers "
                "of the previous release are never blocked); the last HUB_RELEASES_KEPT kept.",
)  # fmt: skip
def published_release(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    where = paths()
    with room(where.marts):  # a full disk is named, not a traceback
        folder = publish.publish(where.staged_marts, where.marts)
    tiers = [publish.describe(publish.tier_file(folder, t), t) for t in publish.TIERS]
    trail = settings.trail()
    trail.append(
        {"action": "release", "user": "hub", "outcome": "published", "release": folder.name,
         "tables": [f"{t.name}.{n}" for t in tiers for n in t.tables]}
    )  # fmt: skip
    requests = Register(where.rights / "requests.jsonl").requests()
    withdrawing = {r.id for r in requests if r.action in publish.WITHDRAWING}
    removed = publish.prune(where.marts, releases_kept(), withdrawing)
    for release, why in removed.items():
        trail.append({"action": "release", "user": "hub", "outcome": "removed",
                      "release": release, "why": why})  # fmt: skip
        context.log.info(f"Release {release} removed: {why}")
    kept = [r.id for r in publish.kept(where.marts)]
    return dg.MaterializeResult(
        metadata={
            **_tier_metadata(tiers),
            "release": folder.name,
            "releases kept": ", ".join(kept),
            "summary": dg.MetadataValue.text(how_to_open(tiers)),
        }
    )


def how_to_open(tiers: list[publish.Tier]) -> str:
    """Each published file, its tables and rows, and how to open it."""
    lines = []
    for t in tiers:
        path = t.path
        lines.append(f"{path}: " + ", ".join(f"{n} {r:,}" for n, r in t.tables.items()))
        if t.name == "level3":
            lines.append("  reached through the query service only, for a named case: "
                         "hub query --user U --purpose marac --case REF \"SQL\"")  # fmt: skip
        elif t.name == "level1":
            lines.append(f"  open: duckdb -readonly {path} (or through the query service)")
        else:
            lines.append("  reached through the query service only: hub query --user U "
                         "--purpose P --project X \"SQL\" (docs/access.md)")  # fmt: skip
    lines.append("data/marts/current links to this release; the releases kept: hub release --list")
    return "\n".join(lines)
