"""The conform job (dbt, then the person and place spines), as `hub conform` and the UI run it;
after new supplies it also runs by itself (defs/automation.py)."""

import functools

import dagster as dg

from dagster_project.defs.conform.assets import conform_assets
from dagster_project.defs.reports.assets import DATA_QUALITY, LINKAGE
from dagster_project.defs.rights.assets import RETENTION, RIGHTS
from dagster_project.defs.spine.people import IDS
from dagster_project.defs.spine.places import GAZETTEER, PLACE_MATCHES


def conform_selection() -> dg.AssetSelection:
    return dg.AssetSelection.assets(
        RETENTION, RIGHTS, conform_assets(), IDS, GAZETTEER, PLACE_MATCHES, DATA_QUALITY, LINKAGE
    )


@functools.cache
def conform_job():
    return dg.define_asset_job(
        "conform",
        selection=conform_selection(),
        description="Apply retention and the requests register, build the dbt models (staging "
                    "and onwards), run their tests, bring the person and place spines up to "
                    "date, and write the scorecard and the linkage report.")  # fmt: skip
