"""Person spine jobs run on demand: a full re-link, and retraining the model."""

import functools

import dagster as dg

from dagster_project.defs.spine.people import IDS, MODEL


@functools.cache
def relink_job():
    return dg.define_asset_job(
        "person_relink",
        selection=dg.AssetSelection.assets(IDS),
        config={"ops": {"spine__person_ids": {"config": {"full_relink": True}}}},
        description="Re-link every person record afresh, keeping IDs by largest overlap.",
    )


@functools.cache
def retrain_job():
    return dg.define_asset_job(
        "person_model_retrain",
        selection=dg.AssetSelection.assets(MODEL),
        description="Train a new version of the person model on the warehouse as it is.",
    )
