"""Expectation suites: generated from contracts once, then owned by people."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil

import pytest

from dagster_project import config
from dagster_project.codegen import suites
from dagster_project.contracts.model import Field, load_contracts
from dagster_project.ingest.suites import period_pattern

CONTRACTS = load_contracts()


def test_the_suites_in_the_repository_have_their_contracts_rules():
    assert suites.write_all(CONTRACTS, check=True) == {}


@pytest.mark.parametrize(("fmt", "good", "bad"), [
    ("%d/%m/%Y", ["01/02/2024", "29/02/2024"], ["01/03/2024", "2024-02-01", "1/2/2024"]),
    ("%Y-%m-%d", ["2024-02-10"], ["2024-03-10", "2023-02-10"]),
    ("%d-%b-%Y", ["05-Feb-2024", "05-FEB-2024"], ["05-Mar-2024"]),
    ("%Y%m%d", ["20240205"], ["20240305"]),
])  # fmt: skip
def test_period_pattern_matches_exactly_the_month(fmt, good, bad):
    pattern = re.compile(period_pattern(fmt, "2024-02"))
    assert all(pattern.match(v) for v in good)
    assert not any(pattern.match(v) for v in bad)


def test_regeneration_keeps_what_people_changed_and_adds_what_the_contract_gained(tmp_path):
    contract = CONTRACTS["asb"]
    suites.write_all({"asb": contract}, tmp_path)
    path = tmp_path / "asb.json"
    suite = json.loads(path.read_text())
    suite["expectations"][1]["kwargs"]["mostly"] = 0.9  # a person loosened a rule
    suite["expectations"].append(
        {
            "type": "expect_column_values_to_not_be_null",
            "kwargs": {"column": "Location"},
            "meta": {"why": "ours"},
        }
    )
    removed = suite["expectations"].pop(3)  # and dropped one, disabling its rule
    suite["meta"]["disabled_rules"].append(removed["meta"]["rule"])
    path.write_text(json.dumps(suite))

    gained = dataclasses.replace(
        contract,
        fields=(
            *contract.fields,
            Field("Ward", "code", "attr.ward", "Ward of the incident", value_set="yes_no"),
        ),
    )
    changes = suites.write_all({"asb": gained}, tmp_path)

    assert changes == {"asb": ["codes:Ward"]}
    after = json.loads(path.read_text())
    assert after["expectations"][: len(suite["expectations"])] == suite["expectations"]
    assert after["expectations"][-1]["meta"]["rule"] == "codes:Ward"
    assert removed["meta"]["rule"] not in {e["meta"].get("rule") for e in after["expectations"]}


def test_an_expectation_added_by_hand_is_enforced(hub, tmp_path, monkeypatch):
    shutil.copytree(config.suites_dir(), tmp_path / "expectations")
    monkeypatch.setenv("HUB_EXPECTATIONS_DIR", str(tmp_path / "expectations"))
    path = tmp_path / "expectations" / "crime_offence.json"
    suite = json.loads(path.read_text())
    suite["expectations"].append(
        {
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": "HO_CODE", "value_set": ["008/01"]},
            "meta": {"why": "HO_CODE is an assault with injury (a test of hand-written rules)"},
        }
    )
    path.write_text(json.dumps(suite))
    outcome = hub.ingest("crime_offence", "2024-01")
    assert outcome.status == "quarantined"
    assert "HO_CODE is an assault with injury" in outcome.sentence
