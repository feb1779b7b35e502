"""The reports: the strategic profile, the data-quality scorecard and the linkage report, and
the job that writes them again from what the hub holds (`hub report`)."""

import dagster as dg

from dagster_project.defs.reports.assets import (
    data_quality_page,
    linkage_page,
    strategic_profile_page,
)

REPORTS = dg.AssetSelection.groups("reports")


def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[strategic_profile_page, data_quality_page, linkage_page],
        jobs=[
            dg.define_asset_job(
                "reports", selection=REPORTS, description="Write the reports again from the "
                "warehouse and the published release (each release writes them too).")
        ],
    )  # fmt: skip
