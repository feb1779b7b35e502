"""The blocking checks on the staged release: nothing is published unless all pass."""

import dagster as dg

from dagster_project.config import paths
from dagster_project.defs.tiers.assets import STAGED
from dagster_project.platform import warehouse
from dagster_project.rights import honour
from dagster_project.rights.register import Register
from dagster_project.tiers import checks, privacy, publish


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
                "or a multiple of 5 outside 1-7, and the exact audit (integer programmes over "
                "every cell of the release) narrows no suppressed cell to a small count or to "
                "fewer than 5 values.")  # fmt: skip
def disclosure_controlled() -> dg.AssetCheckResult:
    with checks.attached(paths().staged_marts) as con:
        return _result(checks.disclosure_controlled(con))


@dg.asset_check(asset=STAGED, blocking=True, description="Level 2 as a whole resists the "
                "intruder of docs/disclosure-control.md: k >= 5 and l >= 2 on everything a person "
                "key carries, at most 5 % of victims singled out by a neighbour, every published "
                "place holding 8 or more addresses.")  # fmt: skip
def level2_anonymous() -> dg.AssetCheckResult:
    where = paths()
    with checks.attached(where.staged_marts) as con:
        warehouse.attach(con, where.warehouse, "wh", "warehouse", read_only=True)
        return _result(checks.level2_anonymous(con, *privacy.warehouse_relations("wh")))


@dg.asset_check(asset=STAGED, blocking=True,
                description="The Level 3 file cannot be opened without its key.")  # fmt: skip
def level3_needs_key() -> dg.AssetCheckResult:
    return _result(checks.level3_needs_key(publish.tier_file(paths().staged_marts, "level3")))


@dg.asset_check(asset=STAGED, blocking=True, description="Nothing an erasure or a restriction "
                "in force withholds is in Level 3 (by its records, its person IDs, and the "
                "names, birth dates and references of the people named), and every request of "
                "the register was applied first (docs/rights.md).")  # fmt: skip
def rights_honoured() -> dg.AssetCheckResult:
    where = paths()
    requests = Register(where.rights / "requests.jsonl").requests()
    with checks.attached(where.staged_marts) as con:
        warehouse.attach(con, where.warehouse, "wh", "warehouse", read_only=True)
        passed, description, figures = honour.honoured(con, requests)
    return dg.AssetCheckResult(passed=passed, description=description, metadata=figures)
