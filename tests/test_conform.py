"""Staging (dbt, through Dagster) handles every agency format the generator emits."""

from __future__ import annotations

import re

import dagster as dg
import pytest
import yaml

from dagster_project.conform import conform_assets, dbt_resource
from dagster_project.contracts import load_contracts
from dagster_project.dbt_files import dbt_dir, model_name, write_all

CONTRACTS = load_contracts()
POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$")


def test_the_dbt_files_match_the_contracts():
    assert write_all(CONTRACTS, check=True) == []


@pytest.fixture(scope="module")
def conformed(tmp_path_factory, pristine):
    """Both pristine months of every feed ingested, then dbt built through Dagster."""
    import os

    from conftest import Hub

    root = tmp_path_factory.mktemp("conformed") / "data"
    previous = os.environ.get("HUB_DATA_DIR")
    os.environ["HUB_DATA_DIR"] = str(root)
    try:
        hub = Hub(root, pristine)
        for feed in CONTRACTS:
            for month in pristine.summary.months:
                assert hub.ingest(feed, month).passed
        result = dg.materialize(
            [conform_assets()], resources={"dbt": dbt_resource()}, raise_on_error=False
        )
        yield hub, result
    finally:
        if previous is None:
            os.environ.pop("HUB_DATA_DIR")
        else:
            os.environ["HUB_DATA_DIR"] = previous


def test_dbt_builds_and_its_tests_are_asset_checks(conformed):
    _, result = conformed
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 2 * len(CONTRACTS) and all(c.passed for c in checks)


def _source_columns() -> dict[str, list[dict]]:
    text = (dbt_dir() / "models" / "staging" / "_sources.yml").read_text(encoding="utf-8")
    tables = yaml.safe_load(text)["sources"][0]["tables"]
    return {t["name"]: t["columns"] for t in tables}


@pytest.mark.parametrize("feed", sorted(CONTRACTS))
def test_staging_types_and_standardises_every_column(conformed, feed):
    hub, _ = conformed
    c = CONTRACTS[feed]
    with hub.connect() as con:
        raw = con.execute(f'SELECT * FROM raw."{feed}"').df()
        staged = con.execute(f"SELECT * FROM staging.{model_name(c)}").df()
    assert len(staged) == len(raw) and staged["record_id"].is_unique
    for col in _source_columns()[feed]:
        meta, name = col["meta"], col["name"]
        out = meta["concept"].replace("attr.", "").replace(".", "_")
        delivered = raw[name].notna()
        if meta["type"] in ("date", "time", "integer"):
            parsed = staged[out].notna()
            assert (parsed == delivered).all(), f"{feed}.{name}: values staging cannot read"
        if meta["concept"].endswith("postcode"):
            good = staged[out].dropna()
            assert good.map(lambda p: bool(POSTCODE.match(p))).all(), f"{feed}.{name}"
            assert (staged[f"{out}_reason"].eq("missing") == ~delivered).all()
        if meta["concept"].split(".")[-1] in ("first_name", "surname", "full_name"):
            names = staged[out].dropna()
            assert names.str.fullmatch(r"[A-Z]+( [A-Z]+)*").all(), f"{feed}.{name}"
        if meta.get("canonical"):
            mapped = staged[out].notna()
            assert mapped.sum() >= 0.9 * delivered.sum(), f"{feed}.{name}: codes not mapped"
