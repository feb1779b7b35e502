"""The published tiers: the marts, the staged release and its blocking checks, the published
files and the release job."""

import dagster as dg

from dagster_project.defs.tiers import checks
from dagster_project.defs.tiers.assets import (
    boundaries_table,
    marts_assets,
    population_table,
    published_release,
    staged_release,
)
from dagster_project.defs.tiers.jobs import release_job


def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[
            population_table, boundaries_table, marts_assets(), staged_release(), published_release,
            checks.no_identifiers, checks.disclosure_controlled, checks.level2_anonymous,
            checks.level3_needs_key, checks.rights_honoured,
        ],
        jobs=[release_job()],
    )  # fmt: skip
