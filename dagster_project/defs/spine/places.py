"""The place spine in Dagster: the gazetteer, loaded from `data/reference/gazetteer.csv` (the
synthetic region's, or a partnership's own extract in the same format) into
`reference.gazetteer` and refused whole when it breaks the format; then every place mention
matched to it and every event located, after every conform, each run's figures kept as asset
metadata."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from dagster_project.config import paths
from dagster_project.people.spine import markdown
from dagster_project.places import gazetteer, spine
from dagster_project.platform.warehouse import transaction

GAZETTEER = dg.AssetKey(["reference", "gazetteer"])
PLACE_MATCHES = dg.AssetKey(["spine", "place_matches"])
PLACE_INPUTS = [dg.AssetKey(["intermediate", m]) for m in ("int_place_records", "int_events")]


@dg.asset(
    key=GAZETTEER, group_name="places", kinds={"duckdb"},
    description="Every property of the gazetteer (AddressBase-style: UPRN, address parts, "
                "coordinates, LSOA, ward, district), checked against docs/gazetteer.md.",
)  # fmt: skip
def gazetteer_table(duckdb: DuckDBResource) -> dg.MaterializeResult:
    path = paths().reference / "gazetteer.csv"
    with duckdb.get_connection() as con:
        con.execute("create schema if not exists reference")
        with transaction(con):
            n = gazetteer.load(con, path, "reference.gazetteer")
        postcodes, districts = con.execute(
            "select count(distinct postcode), count(distinct district_code) "
            "from reference.gazetteer"
        ).fetchone()
    return dg.MaterializeResult(metadata={
        "properties": n, "postcodes": postcodes, "districts": districts,
        "file": dg.MetadataValue.path(str(path)),
    })  # fmt: skip


@dg.asset(
    key=PLACE_MATCHES, group_name="places", deps=[GAZETTEER, *PLACE_INPUTS], kinds={"duckdb"},
    description="spine.place_matches: every address and location mention of every feed matched "
                "to a UPRN (exact, then probabilistic) or, for a place that is not a property, "
                "a street; spine.event_locations, spine.place_review_queue and "
                "spine.place_figures beside it.")  # fmt: skip
def place_matches(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    run = spine.refresh()
    context.log.info(spine.summary(run))
    meta = {
        "summary": dg.MetadataValue.text(spine.summary(run)),
        "mentions": run.mentions, "review_queue": run.review_queue, "events": run.events,
        "events located": run.events_located, "seconds": run.seconds,
        "by method": dg.MetadataValue.json(run.by_method),
        "match rate by feed": dg.MetadataValue.md(markdown(spine.figures("match rate"))),
        "unmatched reasons": dg.MetadataValue.md(markdown(spine.figures("unmatched reason"))),
    }  # fmt: skip
    for figure, f in (run.accuracy or {}).items():
        meta[f"{figure}: share to the true place"] = dg.MetadataValue.float(f["right"])
        meta[f"{figure}: share to a wrong place"] = dg.MetadataValue.float(f["wrong"])
        meta[figure] = dg.MetadataValue.md(markdown(spine.figures(figure)))
    return dg.MaterializeResult(metadata=meta)


@dg.asset_check(asset=PLACE_MATCHES, description="Every place mention in int_place_records "
                "has one row in spine.place_matches: nothing dropped.")  # fmt: skip
def every_mention_has_one_outcome() -> dg.AssetCheckResult:
    missing, extra = spine.coverage()
    return dg.AssetCheckResult(
        passed=missing == 0 and extra == 0,
        metadata={"mentions without an outcome": missing, "outcomes of mentions gone": extra},
    )
