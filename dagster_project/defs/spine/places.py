"""The place spine in Dagster: the gazetteer, loaded from `data/reference/gazetteer.csv` (the
synthetic region's, or a partnership's own extract in the same format) into
`reference.gazetteer` and refused whole when it breaks the format; then every place mention
matched to it and every event located, after every conform, each run's figures kept as asset
metadata; checks that no mention is dropped and, with the synthetic truth, how many are right."""

import dagster as dg

from dagster_project.config import paths
from dagster_project.defs.automation import after_upstream, once
from dagster_project.defs.resources import WarehouseResource
from dagster_project.people.spine import markdown
from dagster_project.places import gazetteer, spine
from dagster_project.platform.warehouse import transaction

GAZETTEER = dg.AssetKey(["reference", "gazetteer"])
PLACE_MATCHES = dg.AssetKey(["spine", "place_matches"])
PLACE_INPUTS = [dg.AssetKey(["intermediate", m]) for m in ("int_place_records", "int_events")]
# A wrong place sends an event to another street, so a wrong match costs more than none.
RIGHT_TARGET, WRONG_LIMIT = 0.99, 0.001


@dg.asset(
    key=GAZETTEER, group_name="reference", kinds={"duckdb"}, automation_condition=once(),
    description="Every property of the gazetteer (AddressBase-style: UPRN, address parts, "
                "coordinates, LSOA, ward, district), checked against docs/gazetteer.md.",
)  # fmt: skip
def gazetteer_table(duckdb: WarehouseResource) -> dg.MaterializeResult:
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
        "file": dg.MetadataValue.path(paths().shown(str(path))),
    })  # fmt: skip


@dg.asset(
    key=PLACE_MATCHES, group_name="places", deps=[GAZETTEER, *PLACE_INPUTS], kinds={"duckdb"},
    automation_condition=after_upstream(),
    description="spine.place_matches: every address and location mention of every feed matched "
                "to a UPRN (exact, then probabilistic) or, for a place that is not a property, "
                "a street; spine.event_locations, spine.place_review_queue and "
                "spine.place_figures beside it.")  # fmt: skip
def place_matches(
    context: dg.AssetExecutionContext, duckdb: WarehouseResource
) -> dg.MaterializeResult:
    with duckdb.get_workspace() as con:
        run = spine.refresh(con, paths().place_decisions)
    context.log.info(spine.summary(run))
    with duckdb.get_connection() as con:
        rates, reasons = (spine.figures(con, f) for f in ("match rate", "unmatched reason"))
    return dg.MaterializeResult(metadata={
        "summary": dg.MetadataValue.text(spine.summary(run)),
        "mentions": run.mentions, "review_queue": run.review_queue, "events": run.events,
        "events located": run.events_located, "seconds": run.seconds,
        "by method": dg.MetadataValue.json(run.by_method),
        "match rate by feed": dg.MetadataValue.md(markdown(rates)),
        "unmatched reasons": dg.MetadataValue.md(markdown(reasons)),
    })  # fmt: skip


@dg.asset_check(asset=PLACE_MATCHES, description="Every place mention in int_place_records "
                "has one row in spine.place_matches: nothing dropped.")  # fmt: skip
def every_mention_has_one_outcome(duckdb: WarehouseResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        missing, extra = spine.coverage(con)
    return dg.AssetCheckResult(
        passed=missing == 0 and extra == 0,
        metadata={"mentions without an outcome": missing, "outcomes of mentions gone": extra},
    )


@dg.asset_check(asset=PLACE_MATCHES, description="Where the synthetic region's truth is "
                f"present: the share of mentions matched to the true place (target {RIGHT_TARGET})"
                f" and to a wrong one (at most {WRONG_LIMIT}), per feed and error type, kept in "
                "spine.place_figures.")  # fmt: skip
def places_agree_with_the_truth(duckdb: WarehouseResource) -> dg.AssetCheckResult:
    truth = paths().truth_records
    if not any(truth.glob("*/*.parquet")):
        return dg.AssetCheckResult(passed=True, description="No truth here: nothing to compare.")
    with duckdb.get_workspace() as con:
        accuracy = spine.evaluate(con, truth)
    with duckdb.get_connection() as con:
        meta = {figure: dg.MetadataValue.md(markdown(spine.figures(con, figure)))
                for figure in accuracy}  # fmt: skip
    for figure, f in accuracy.items():
        meta[f"{figure}: share to the true place"] = dg.MetadataValue.float(f["right"])
        meta[f"{figure}: share to a wrong place"] = dg.MetadataValue.float(f["wrong"])
    summary = spine.accuracy_summary(accuracy)
    return dg.AssetCheckResult(
        passed=all(f["right"] >= RIGHT_TARGET and f["wrong"] <= WRONG_LIMIT
                   for f in accuracy.values()),
        severity=dg.AssetCheckSeverity.WARN,
        description=summary,
        metadata={"summary": dg.MetadataValue.text(summary), **meta},
    )  # fmt: skip
