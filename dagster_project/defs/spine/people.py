"""The person spine in Dagster: the model (retrained only on demand) and the spine itself,
refreshed after every conform, each run's figures kept as asset metadata."""

import dagster as dg

from dagster_project.defs.spine.places import PLACE_MATCHES  # the homes' UPRNs
from dagster_project.people import model, spine

PERSON_RECORDS = dg.AssetKey(["intermediate", "int_person_records"])
MODEL = dg.AssetKey(["spine", "person_model"])
IDS = dg.AssetKey(["spine", "person_ids"])


class SpineConfig(dg.Config):
    full_relink: bool = False
    """Re-link every record afresh and map the clusters back onto the previous IDs (logged in
    spine.person_id_history), instead of scoring only the new records."""


@dg.asset(
    key=MODEL, group_name="spine", deps=[PERSON_RECORDS], kinds={"splink"},
    description="The Splink person model, trained on every person record in the warehouse and "
                "saved as a new version under data/models/person/. Materialize on demand; "
                "monthly refreshes reuse the latest version.")  # fmt: skip
def person_model(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    path = spine.train_model()
    body = model.load(path)
    return dg.MaterializeResult(metadata={
        "version": body["version"], "path": dg.MetadataValue.path(str(path)),
        "trained_at": body["trained_at"], "data_extent": dg.MetadataValue.json(body["data_extent"]),
        "training_steps": dg.MetadataValue.md("\n".join(f"1. {s}" for s in body["training_steps"])),
    })  # fmt: skip


def _metadata(run: spine.Run) -> dict:
    meta = {
        "summary": dg.MetadataValue.text(spine.summary(run)),
        "kind": run.kind, "model_version": run.model_version, "records": run.records,
        "new_records": run.new_records, "withdrawn_records": run.withdrawn_records,
        "pairs_scored": run.pairs_scored, "links_added": run.links_added,
        "persons": run.persons, "id_changes": run.id_changes, "review_queue": run.review_queue,
        "seconds": run.seconds, "seconds by stage": dg.MetadataValue.json(run.phases),
        "diagnostics": dg.MetadataValue.json(run.diagnostics),
    }  # fmt: skip
    if run.evaluation:
        for scope in ("all records", "records with a name or date of birth"):
            figures = run.evaluation[scope]
            for k in ("precision", "recall", "f1"):
                meta[f"{k} ({scope})"] = dg.MetadataValue.float(figures[k] or 0.0)
        meta["by feed pair"] = dg.MetadataValue.md(spine.markdown(run.evaluation["by feed pair"]))
        meta["by error type"] = dg.MetadataValue.md(spine.markdown(run.evaluation["by error"]))
    return meta


@dg.asset(
    key=IDS, group_name="spine", deps=[PERSON_RECORDS, MODEL, PLACE_MATCHES],
    kinds={"splink", "duckdb"},
    description="spine.person_ids: every person record of every feed with a person ID that "
                "stays the same month after month; links, ID history, review queue and "
                "evaluation beside it in the spine schema.")  # fmt: skip
def person_ids(context: dg.AssetExecutionContext, config: SpineConfig) -> dg.MaterializeResult:
    run = spine.refresh(full=config.full_relink, run_id=context.run_id)
    context.log.info(spine.summary(run))
    return dg.MaterializeResult(metadata=_metadata(run))


@dg.asset_check(asset=IDS, description="Every person record in int_person_records has one "
                "person ID, and no ID is held by a record that has gone.")  # fmt: skip
def every_record_has_one_id() -> dg.AssetCheckResult:
    missing, stale = spine.coverage()
    return dg.AssetCheckResult(
        passed=missing == 0 and stale == 0,
        metadata={"records without an ID": missing, "IDs of records that have gone": stale},
    )
