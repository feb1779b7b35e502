"""The conform job (dbt, then the person and place spines), as `hub conform` and the UI run it;
after new supplies it also runs by itself (defs/automation.py)."""

import functools

import dagster as dg

from dagster_project.defs.conform.assets import conform_assets
from dagster_project.defs.spine.people import IDS
from dagster_project.defs.spine.places import GAZETTEER, PLACE_MATCHES


@functools.cache
def conform_job():
    return dg.define_asset_job(
        "conform",
        selection=dg.AssetSelection.assets(conform_assets(), IDS, GAZETTEER, PLACE_MATCHES),
        description="Build the dbt models (staging and onwards), run their tests, and bring "
                    "the person and place spines up to date.")  # fmt: skip
