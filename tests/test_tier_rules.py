"""Each privacy rule of the tiers on small hand-made inputs: the pseudonym, the disclosure
control macro (through dbt itself), the population file, and the release checks shown to
catch what they exist to catch."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from dagster_project.config import dbt_dir
from dagster_project.defs.tiers.assets import marts_args, release_id
from dagster_project.platform import keys, pseudonyms, warehouse
from dagster_project.tiers import checks, population


def test_pseudonym_is_a_keyed_hash_that_a_new_key_changes():
    a, b = pseudonyms.pseudonym("P000000001", b"k1"), pseudonyms.pseudonym("P000000001", b"k2")
    assert a == pseudonyms.pseudonym("P000000001", b"k1")
    assert a != b and a != pseudonyms.pseudonym("P000000002", b"k1")
    assert a.startswith(pseudonyms.PREFIX) and len(a) == 1 + pseudonyms.LENGTH
    assert "000000001" not in a and pseudonyms.pseudonym(None, b"k1") is None


def test_the_pseudonym_sql_function_uses_the_hubs_key():
    with duckdb.connect() as con:
        pseudonyms.register(con)
        (value,) = con.execute("select pseudonym('P000000007')").fetchone()
    assert value == pseudonyms.pseudonym("P000000007", keys.key("pseudonym").encode())


def test_marts_are_built_for_a_named_release_and_key():
    assert release_id(dt.datetime(2026, 11, 21, 9, 5, 3, tzinfo=dt.UTC)) == "R20261121T090503Z"
    args = marts_args("R1", "abc")
    assert args[:2] == ["build", "--vars"]
    assert json.loads(args[2]) == {"release_id": "R1", "pseudonym_key_id": "abc"}


# --- disclosure control, through dbt -------------------------------------------------------


def _controlled(cells: list[tuple[int, str, str | None, int]], tmp_path, monkeypatch) -> dict:
    """Run the disclosure_control macro over cells (level, area, parent, n) of one measure."""
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path / "data"))
    rows = " union all ".join(
        f"select 'm' as measure, {lv} as level, '{a}' as area_code, "
        f"{'null' if p is None else repr(p)} as parent_code, {n} as n"
        for lv, a, p, n in cells
    )  # fmt: skip
    sql = (f"with cells as ({rows}), {{{{ disclosure_control('cells', ['measure']) }}}} "
           "select area_code, suppression, value from controlled")  # fmt: skip
    dbt = Path(sys.executable).with_name("dbt")
    out = subprocess.run(
        [str(dbt), "show", "--inline", sql, "--output", "json", "--limit", "100", "--quiet",
         "--project-dir", str(dbt_dir()), "--profiles-dir", str(dbt_dir())],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return {r["area_code"]: (r["suppression"], r["value"]) for r in json.loads(out.stdout)["show"]}


def test_disclosure_control_suppresses_small_counts_and_what_would_reveal_them(
    tmp_path, monkeypatch
):
    cells = [
        (0, "all", None, 73),
        (1, "D1", "all", 53), (1, "D2", "all", 20),
        (2, "W1", "D1", 3), (2, "W2", "D1", 20), (2, "W3", "D1", 30),  # one small ward
        (2, "W4", "D2", 12), (2, "W5", "D2", 8),
        (3, "L2a", "W2", 12), (3, "L2b", "W2", 8),
        (3, "L4a", "W4", 12), (3, "L4b", "W4", 0),
        (3, "L5a", "W5", 8),
    ]  # fmt: skip
    got = _controlled(cells, tmp_path, monkeypatch)
    assert got["W1"] == ("primary", None)
    # D1 = W1 + W2 + W3 would give W1 away: the smallest other ward goes too
    assert got["W2"] == ("secondary", None) and got["W3"] == (None, 30)
    # rounded to the nearest 5, totals from the unrounded parts (53 -> 55, not 30 + 20 + 5)
    assert got["all"] == (None, 75) and got["D1"] == (None, 55) and got["W4"] == (None, 10)
    assert got["W5"] == (None, 10) and got["L4b"] == (None, 0)
    # W2 hidden, its LSOAs would add up to it: the smaller goes too
    assert got["L2b"] == ("secondary", None) and got["L2a"] == (None, 10)
    assert all(got[a][0] is None for a in ("L4a", "L5a"))


def test_a_suppressed_total_is_not_left_recoverable_from_its_parts(tmp_path, monkeypatch):
    cells = [
        (0, "all", None, 40),
        (1, "D1", "all", 5), (1, "D2", "all", 15), (1, "D3", "all", 20),
        (2, "W1", "D2", 9), (2, "W2", "D2", 6),
        (2, "W3", "D3", 10), (2, "W4", "D3", 10),
    ]  # fmt: skip
    got = _controlled(cells, tmp_path, monkeypatch)
    assert got["D1"][0] == "primary" and got["D2"][0] == "secondary"
    # D2 = W1 + W2 already has two unknowns (D2 and the small W2): W1 can be shown
    assert got["W2"][0] == "primary" and got["W1"] == (None, 10)
    assert got["D3"] == (None, 20) and got["W3"] == (None, 10)


# --- the population file ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("lsoa_code,people\nE01,10\n", "missing column(s) population"),
        ("lsoa_code,population\nE01,ten\n", "not a whole number"),
        ("lsoa_code,population\nE01,-3\n", "not a whole number"),
        ("lsoa_code,population\nE01,3\nE01,4\n", "more than once"),
    ],
)
def test_a_bad_population_file_is_refused_with_its_name_and_reason(tmp_path, text, reason):
    path = tmp_path / "population.csv"
    path.write_text(text)
    with duckdb.connect() as con, pytest.raises(population.PopulationError) as e:
        population.load(con, path)
    assert str(path) in str(e.value) and reason in str(e.value)


def test_without_a_population_file_rates_have_no_denominator(tmp_path):
    with duckdb.connect() as con:
        assert population.load(con, tmp_path / "population.csv") == 0
        assert con.execute("select count(*) from reference.population").fetchone() == (0,)


# --- the release checks on hand-made tiers --------------------------------------------------


@pytest.fixture
def tiers():
    """Empty Level 1, 2 and 3 databases with one Level 3 person, attached as the checks
    expect them."""
    con = warehouse.memory()
    for tier in ("level1", "level2", "level3"):
        con.execute(f"attach ':memory:' as {tier}")
    con.execute("""
        create table level3.person_single_view as select
            'P000000001' as person_id, ['JOHN SMITH'] as names_recorded,
            date '1990-05-04' as date_of_birth,
            [{'address': '14A Mill Lane, Didcot', 'postcode': 'OX11 1AA', 'uprn': 1}]
                as addresses,
            [{'agency': 'police', 'feed': 'crime_victim', 'ref': 'TVP01970548'}] as agency_refs
    """)
    con.execute("create table level3.person_timeline as "
                "select 'P000000001' as person_id, '43/000510/24' as event_ref")  # fmt: skip
    con.execute("create table level2.events as select 'Smith' as ward_name, "
                "'Noise nuisance' as category, date '2024-05-04' as event_date")  # fmt: skip
    yield con
    con.close()


def test_the_identifier_scan_passes_a_clean_release(tiers):
    # a ward that shares a surname, and a date that is no one's birthday, are not identifiers
    assert checks.no_identifiers(tiers).passed


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("Noise nuisance - John Smith again", "name"),
        ("Outside 14a Mill Lane", "address"),
        ("ref TVP01970548", "agency reference"),
        ("crime 43/000510/24", "agency reference"),
        ("1990-05-04", "birth date"),
    ],
)
def test_the_identifier_scan_finds_a_planted_identifier(tiers, value, kind):
    tiers.execute("insert into level2.events values ('Smith', ?, date '2024-05-04')", [value])
    finding = checks.no_identifiers(tiers)
    assert not finding.passed
    assert f"level2.events.category holds a {kind}" in finding.description
    assert "SMITH" not in finding.description and "TVP" not in finding.description


def test_the_identifier_scan_finds_a_birth_date_beside_its_person(tiers):
    key = pseudonyms.pseudonym("P000000001", keys.key("pseudonym").encode())
    tiers.execute("create table level2.person_dates as "
                  "select ? as person_key, date '1990-05-04' as seen_on", [key])  # fmt: skip
    finding = checks.no_identifiers(tiers)
    assert not finding.passed and "person_dates.seen_on" in finding.description


def _profile(con, rows: list[tuple]) -> None:
    con.execute("create or replace table level1.strategic_profile (month varchar, "
                "measure varchar, area_code varchar, parent_code varchar, count integer, "
                "suppression varchar)")  # fmt: skip
    con.executemany("insert into level1.strategic_profile values ('2024-01', 'm', ?, ?, ?, ?)",
                    rows)  # fmt: skip
    con.execute(
        "create or replace table level1.risk_factor_rates (risk_factor varchar, "
        "area_code varchar, parent_code varchar, people integer, suppression varchar)"
    )


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        ([("all", None, 20, None), ("D1", "all", 20, None)], None),
        ([("all", None, 20, None), ("D1", "all", 3, None)], "neither suppressed nor"),
        ([("all", None, 20, None), ("D1", "all", 12, None)], "neither suppressed nor"),
        ([("all", None, 20, None), ("D1", "all", None, None)], "neither suppressed nor"),
        ([("all", None, 20, None), ("D1", "all", None, "primary"), ("D2", "all", 15, None)],
         "exactly one suppressed"),
        ([("all", None, 20, None), ("D1", "all", None, "primary"),
          ("D2", "all", None, "secondary"), ("D3", "all", 15, None)], None),
    ],
)  # fmt: skip
def test_the_disclosure_check_finds_unsafe_or_derivable_cells(tiers, rows, problem):
    _profile(tiers, rows)
    finding = checks.disclosure_controlled(tiers)
    assert finding.passed is (problem is None)
    if problem:
        assert problem in finding.description


def test_the_k_check_finds_a_class_smaller_than_k(tiers):
    tiers.execute("create table level2.person_factors as select * from (values "
                  + ", ".join(["('18-24', 'F', 'W_BRI', 'OX1 1')"] * 5)
                  + ", ('65+', 'M', 'A_BAN', 'OX1 1')) "
                  "as t(age_band, sex, ethnicity, home_area)")  # fmt: skip
    finding = checks.k_anonymous(tiers)
    assert not finding.passed and finding.figures["k"] == 1
    tiers.execute("delete from level2.person_factors where sex = 'M'")
    assert checks.k_anonymous(tiers).passed
