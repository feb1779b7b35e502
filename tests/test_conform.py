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
    assert len(checks) == 2 * len(CONTRACTS) + 4 and all(c.passed for c in checks)


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
        attribute = meta["concept"].split(".")[-1]
        if attribute in ("first_name", "surname", "full_name"):
            role = meta["concept"].split(".")[0]
            split = [f"{role}_surname", f"{role}_first_name"] if attribute == "full_name" else [out]
            for column in split:
                names = staged[column].dropna()
                assert names.str.fullmatch(r"[A-Z]+( [A-Z]+)*").all(), f"{feed}.{column}"
        if meta.get("canonical"):
            mapped = staged[out].notna()
            assert mapped.sum() >= 0.9 * delivered.sum(), f"{feed}.{name}: codes not mapped"


def _counts(hub, model: str, by: str) -> dict[tuple[str, str], int]:
    """Rows of an intermediate model by source feed and one other column."""
    with hub.connect() as con:
        rows = con.execute(
            f"SELECT source_feed, {by}, count(*) FROM intermediate.{model} GROUP BY ALL"
        ).fetchall()
    return {(feed, key): n for feed, key, n in rows}


def test_person_records_hold_every_person_mention_of_every_feed(conformed, pristine):
    """One row per person named in a record, whatever the feed and role (the truth says who)."""
    hub, _ = conformed
    truth = pristine.truth_records()
    named = truth[~truth["role"].isin(["record", "location"]) & truth["person_id"].notna()]
    expected = named.groupby(["feed", "role"]).size().to_dict()
    assert _counts(hub, "int_person_records", "role") == expected
    with hub.connect() as con:
        columns = [c[0] for c in con.execute("DESCRIBE intermediate.int_person_records").fetchall()]
    assert columns[:5] == ["person_record_id", "record_id", "source_feed", "agency", "role"]
    assert {"forename", "surname", "date_of_birth", "sex", "postcode", "address"} <= set(columns)


def test_place_records_hold_every_location_and_home_address(conformed, pristine):
    """Every event location, and every home address a record holds (the truth says which)."""
    hub, _ = conformed
    truth = pristine.truth_records()
    locations = truth[truth["role"] == "location"].groupby("feed").size()
    homes = truth[~truth["role"].isin(["record", "location"]) & truth["uprn"].notna()]
    expected = {(f, "event location"): n for f, n in locations.items()}
    expected |= {
        (f, f"home of {r}"): n for (f, r), n in homes.groupby(["feed", "role"]).size().items()
    }
    assert _counts(hub, "int_place_records", "kind") == expected
