"""The person spine in Dagster: the model (retrained only on demand) and the spine itself,
refreshed after every conform, each run's figures kept as asset metadata; checks that every
record has one ID and, where the synthetic region's truth is present, how well it links."""

import dagster as dg

from dagster_project.config import paths
from dagster_project.defs.automation import after_upstream
from dagster_project.defs.resources import WarehouseResource
from dagster_project.defs.spine.places import PLACE_MATCHES  # the homes' UPRNs
from dagster_project.people import model, spine

PERSON_RECORDS = dg.AssetKey(["intermediate", "int_person_records"])
MODEL = dg.AssetKey(["spine", "person_model"])
IDS = dg.AssetKey(["spine", "person_ids"])
# The linkage targets: a wrong link joins two people's records, a missed one splits a person.
PRECISION_TARGET = RECALL_TARGET = 0.995


class SpineConfig(dg.Config):
    full_relink: bool = False
    """Re-link every record afresh and map the clusters back onto the previous IDs (logged in
    spine.person_id_history), instead of scoring only the new records."""


@dg.asset(
    key=MODEL, group_name="spine", deps=[PERSON_RECORDS], kinds={"splink"},
    description="The Splink person model, trained on every person record in the warehouse and "
                "saved as a new version under data/models/person/. Materialize on demand; "
                "monthly refreshes reuse the latest version.")  # fmt: skip
def person_model(duckdb: WarehouseResource) -> dg.MaterializeResult:
    with duckdb.get_workspace() as con:
        path = spine.train_model(con, paths().person_models)
    body = model.load(path)
    return dg.MaterializeResult(metadata={
        "version": body["version"], "path": dg.MetadataValue.path(paths().shown(str(path))),
        "trained_at": body["trained_at"], "data_extent": dg.MetadataValue.json(body["data_extent"]),
        "training_steps": dg.MetadataValue.md("\n".join(f"1. {s}" for s in body["training_steps"])),
    })  # fmt: skip


def _metadata(run: spine.Run) -> dict:
    return {
        "summary": dg.MetadataValue.text(spine.summary(run)),
        "kind": run.kind, "model_version": run.model_version, "records": run.records,
        "new_records": run.new_records, "withdrawn_records": run.withdrawn_records,
        "pairs_scored": run.pairs_scored, "links_added": run.links_added,
        "persons": run.persons, "id_changes": run.id_changes, "review_queue": run.review_queue,
        "seconds": run.seconds, "seconds by stage": dg.MetadataValue.json(run.phases),
        "diagnostics": dg.MetadataValue.json(run.diagnostics),
    }  # fmt: skip


@dg.asset(
    key=IDS, group_name="spine", deps=[PERSON_RECORDS, MODEL, PLACE_MATCHES],
    kinds={"splink", "duckdb"}, automation_condition=after_upstream(),
    description="spine.person_ids: every person record of every feed with a person ID that "
                "stays the same month after month; links, ID history, review queue and "
                "evaluation beside it in the spine schema.")  # fmt: skip
def person_ids(
    context: dg.AssetExecutionContext, config: SpineConfig, duckdb: WarehouseResource
) -> dg.MaterializeResult:
    where = paths()
    with duckdb.get_workspace() as con:
        run = spine.refresh(
            con, where.person_models, where.person_decisions, config.full_relink, context.run.run_id
        )
    context.log.info(spine.summary(run))
    return dg.MaterializeResult(metadata=_metadata(run))


@dg.asset_check(asset=IDS, description="Every person record in int_person_records has one "
                "person ID, and no ID is held by a record that has gone.")  # fmt: skip
def every_record_has_one_id(duckdb: WarehouseResource) -> dg.AssetCheckResult:
    with duckdb.get_connection() as con:
        missing, stale = spine.coverage(con)
    return dg.AssetCheckResult(
        passed=missing == 0 and stale == 0,
        metadata={"records without an ID": missing, "IDs of records that have gone": stale},
    )


@dg.asset_check(asset=IDS, description="Where the synthetic region's truth is present (never "
                f"with a partnership's own data): precision and recall of the links, targets "
                f"{PRECISION_TARGET} and {RECALL_TARGET}, by feed pair and error type, kept in "
                "spine.evaluation.")  # fmt: skip
def links_agree_with_the_truth(
    context: dg.AssetCheckExecutionContext, duckdb: WarehouseResource
) -> dg.AssetCheckResult:
    truth = paths().truth_records
    if not truth.exists():
        return dg.AssetCheckResult(passed=True, description="No truth here: nothing to compare.")
    with duckdb.get_workspace() as con:
        figures = spine.evaluate(con, truth, context.run.run_id)
    summary = spine.evaluation_summary(figures)
    meta: dict = {"summary": dg.MetadataValue.text(summary)}
    for scope in ("all records", "records with a name or date of birth"):
        for k in ("precision", "recall", "f1"):
            meta[f"{k} ({scope})"] = dg.MetadataValue.float(figures[scope][k] or 0.0)
    meta["by feed pair"] = dg.MetadataValue.md(spine.markdown(figures["by feed pair"]))
    meta["by error type"] = dg.MetadataValue.md(spine.markdown(figures["by error"]))
    named = figures["records with a name or date of birth"]
    return dg.AssetCheckResult(
        passed=(named["precision"] or 0) >= PRECISION_TARGET
        and (named["recall"] or 0) >= RECALL_TARGET,
        severity=dg.AssetCheckSeverity.WARN,
        description=summary,
        metadata=meta,
    )
