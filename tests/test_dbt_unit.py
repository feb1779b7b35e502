"""The dbt unit tests of the rules the models carry (`unit_tests:` in dbt/models/**/*.yml):
Level 1 disclosure control, the age at a date, the postcode sector and the address split,
each on hand-made rows. `dbt build` runs them before each model it builds; here they run
once through dbt itself, on a warehouse holding only what their inputs need: the raw tables
(empty, for their columns) and the seeds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dagster_project.config import dbt_dir
from dagster_project.contracts.model import load_contracts
from dagster_project.ingest import archive
from dagster_project.platform import warehouse

pytestmark = pytest.mark.e2e  # the real dbt, on a warehouse of its own

# Each rule, and a unit test that must be among those run.
RULES = {
    "disclosure control": "small_counts_are_suppressed_and_so_is_what_would_reveal_them",
    "disclosure control of a total": "a_suppressed_total_is_not_left_recoverable_from_its_parts",
    "age at a date": "the_age_on_the_release_day_is_in_whole_years",
    "postcode sector": "a_postcode_widens_to_its_sector_district_and_area",
    "address split": "a_one_line_address_with_its_postcode_is_cut_into_its_parts",
    "address split without commas": (
        "a_one_line_address_without_commas_is_cut_at_the_street_and_the_post_town"
    ),
}


def dbt(root: Path, *args: str) -> subprocess.CompletedProcess:
    work = root.parent / "dbt"
    command = [
        str(Path(sys.executable).with_name("dbt")), *args, "--project-dir", str(dbt_dir()),
        "--profiles-dir", str(dbt_dir()), "--target-path", str(work / "target"),
        "--log-path", str(work / "logs"),
    ]  # fmt: skip
    env = {**os.environ, "HUB_DATA_DIR": str(root)}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)


def test_the_dbt_unit_tests_pass(tmp_path):
    root = tmp_path / "data"
    path = root / "warehouse" / "hub.duckdb"
    path.parent.mkdir(parents=True)
    with warehouse.connect(path=path) as con:
        for contract in load_contracts().values():
            archive.ensure(con, contract)
    seeded = dbt(root, "seed")
    assert seeded.returncode == 0, seeded.stdout[-3000:]
    done = dbt(root, "test", "--select", "test_type:unit")
    assert done.returncode == 0, done.stdout[-3000:]
    run = json.loads((root.parent / "dbt" / "target" / "run_results.json").read_text())
    results = {r["unique_id"].rsplit(".", 1)[-1]: r["status"] for r in run["results"]}
    assert set(RULES.values()) <= set(results), sorted(results)
    assert all(status == "pass" for status in results.values()), results
