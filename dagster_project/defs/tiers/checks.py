"""The four blocking checks on the staged release: nothing is published unless all pass."""

import dagster as dg

from dagster_project.config import paths
from dagster_project.defs.tiers.assets import STAGED
from dagster_project.tiers import checks, publish


def _result(finding: checks.Finding) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=finding.passed, description=finding.description, metadata=finding.figures
    )


@dg.asset_check(asset=STAGED, blocking=True, description="No name, birth date, address "
                "or agency reference of a Level 3 person in any Level 1 or 2 column.")  # fmt: skip
def no_identifiers() -> dg.AssetCheckResult:
    with checks.attached(paths().staged_marts) as con:
        return _result(checks.no_identifiers(con))


@dg.asset_check(asset=STAGED, blocking=True, description="Every Level 1 count is suppressed "
                "(NULL, with its reason) or a multiple of 5 outside 1-7, and none can be "
                "worked out from a total and the other cells.")  # fmt: skip
def disclosure_controlled() -> dg.AssetCheckResult:
    with checks.attached(paths().staged_marts) as con:
        return _result(checks.disclosure_controlled(con))


@dg.asset_check(asset=STAGED, blocking=True, description="Level 2's person-level tables are "
                "k-anonymous on age band, sex, ethnicity and home area, k >= 5.")  # fmt: skip
def k_anonymous() -> dg.AssetCheckResult:
    with checks.attached(paths().staged_marts) as con:
        return _result(checks.k_anonymous(con))


@dg.asset_check(asset=STAGED, blocking=True,
                description="The Level 3 file cannot be opened without its key.")  # fmt: skip
def level3_needs_key() -> dg.AssetCheckResult:
    return _result(checks.level3_needs_key(publish.tier_file(paths().staged_marts, "level3")))
