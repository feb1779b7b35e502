"""Each privacy rule of the tiers on small hand-made inputs: the pseudonym, the population file,
and the release checks shown to catch what they exist to catch. The rules written as dbt
macros (disclosure control, the age at a date, the postcode sector) are dbt unit tests, run by
tests/test_dbt_unit.py."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pandas as pd
import pytest

from dagster_project.defs.tiers.assets import marts_args, release_id
from dagster_project.platform import keys, pseudonyms, warehouse
from dagster_project.tiers import checks, population, privacy, publish


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
        # a suppression that says it is a small count itself
        ([("all", None, 20, None), ("D1", "all", None, "primary"), ("D2", "all", 15, None)],
         "neither suppressed nor"),
        # 10 less 10: the suppressed district is at most 4
        ([("all", None, 10, None), ("D1", "all", None, "suppressed"), ("D2", "all", 10, None)],
         "narrow to a small count"),
        # 20 less 15: could be 1 to 9, so not shown to be small
        ([("all", None, 20, None), ("D1", "all", None, "suppressed"), ("D2", "all", 15, None)],
         None),
        ([("all", None, 20, None), ("D1", "all", None, "suppressed"),
          ("D2", "all", None, "suppressed"), ("D3", "all", 15, None)], None),
    ],
)  # fmt: skip
def test_the_disclosure_check_audits_every_suppressed_cell(tiers, rows, problem):
    _profile(tiers, rows)
    finding = checks.disclosure_controlled(tiers)
    assert finding.passed is (problem is None), finding.description
    if problem:
        assert problem in finding.description


def _people(con, rows: list[tuple]) -> None:
    """Level 2's person table (age band, sex, ethnicity, home sector, victim, ppo_status), the
    Level 3 people behind it, and one event at an LSOA of 10 addresses."""
    secret = keys.key("pseudonym").encode()
    df = [(pseudonyms.pseudonym(pid, secret), pid, *rest) for pid, *rest in rows]
    con.register("people", pd.DataFrame(df, columns=[
        "person_key", "person_id", "age_band", "sex", "ethnicity", "home_area", "victim",
        "flag", "age", "current_postcode"]))  # fmt: skip
    con.execute("create or replace table level2.person_factors as select "
                "person_key, age_band, sex, ethnicity, home_area, 'postcode sector' as "
                "home_area_type, victim, '0' as offender, 0 as generalisation, 5 as class_size, "
                + ", ".join(f"null::varchar as {c}" for c in privacy.SENSITIVE_COLUMNS[:3])
                + ", false as yos_persistent, false as released_from_custody, "
                + ", ".join(f"0 as {c}" for c in privacy.SENSITIVE_COLUMNS[5:])
                + " from people")  # fmt: skip
    con.execute("update level2.person_factors set ppo_status = flag from people "
                "where people.person_key = person_factors.person_key")  # fmt: skip
    con.execute("create or replace table level3.person_single_view as select person_id, "
                "age, sex, current_postcode, case when victim = '0' then 0 else 1 end "
                "as victimisations from people")  # fmt: skip
    con.execute(
        "create or replace table level2.events as select 'X1' as event_key, "
        "'E01' as lsoa_code, null::integer as easting, null::integer as northing"
    )
    con.execute(
        "create or replace table gaz as select 'E01' as lsoa_code, "
        "450000 + i as easting, 200000 as northing from range(10) as t(i)"
    )


def _level2(con) -> checks.Finding:
    return checks.level2_anonymous(con, "gaz", "(select 'none' as event_key)")


def test_the_level2_check_measures_the_joined_view_as_an_intruder_would(tiers):
    alike = ("18-24", "F", "W_BRI", "OX1 1", "1", None, 20, "OX1 1AA")
    rows = [(f"P{i}", *alike) for i in range(5)]
    _people(tiers, [*rows, ("P9", "65+", "M", "A_BAN", "OX1 1", "1", None, 70, "OX1 1AB")])
    finding = _level2(tiers)
    assert not finding.passed and finding.figures["level2_k"] == 1
    assert "person_factors (age_band, sex, ethnicity, home_area" in finding.description
    assert "singles out" in finding.description  # the odd one out, as a neighbour finds them
    _people(tiers, rows)
    finding = _level2(tiers)
    assert finding.passed, finding.description
    assert finding.figures["level2_neighbour_attack"] == 0
    assert finding.figures["level2_unique_share"] == 0
    # a class whose members are all prolific offenders tells it of each of them
    _people(tiers, [(pid, *alike[:5], "PPO", *alike[6:]) for pid, *_ in rows])
    finding = _level2(tiers)
    assert not finding.passed and "share a sensitive flag" in finding.description


def _staged(marts, release: str, applied=()):
    """A staged release as publish finds it after the checks: its three files and its record
    (the files' content is not publish's business; test_tiers.py publishes real ones)."""
    folder = marts / ".next"
    folder.mkdir(parents=True)
    for tier in publish.TIERS:
        publish.tier_file(folder, tier).write_bytes(b"")
    record = {"release_id": release, "requests_applied": list(applied)}
    (folder / publish.RECORD).write_text(json.dumps(record))
    return folder


def _kept(marts) -> list[tuple[str, bool]]:
    return [(r.id, r.current) for r in publish.kept(marts)]


def test_a_release_is_published_as_one_folder_and_the_last_ones_are_kept(tmp_path):
    marts = tmp_path / "marts"
    assert not publish.published(marts, "level1").exists() and publish.kept(marts) == []
    for release in ("R1", "R2", "R3"):
        publish.publish(_staged(marts, release), marts)
    assert publish.current(marts) == (marts / "releases" / "R3").resolve()
    assert _kept(marts) == [("R3", True), ("R2", False), ("R1", False)]
    assert "published_at" in publish.kept(marts)[0].record
    assert publish.prune(marts, 2, set()) == {"R1": "older than the last 2 releases"}
    assert _kept(marts) == [("R3", True), ("R2", False)]
    assert sorted(p.name for p in marts.iterdir()) == ["current", "releases"]
    assert sorted(p.name for p in (marts / "releases").iterdir()) == ["R2", "R3"]


def test_a_release_built_before_an_erasure_is_removed_once_one_after_it_is_published(tmp_path):
    marts = tmp_path / "marts"
    publish.publish(_staged(marts, "R1"), marts)
    publish.publish(_staged(marts, "R2", ["Q1"]), marts)  # Q1: a rectification
    assert publish.prune(marts, 5, {"Q2"}) == {}  # the current release has not honoured Q2
    publish.publish(_staged(marts, "R3", ["Q1", "Q2"]), marts)  # Q2: an erasure
    removed = publish.prune(marts, 5, {"Q2"})
    assert removed == {r: "built before request Q2 was honoured" for r in ("R2", "R1")}
    assert _kept(marts) == [("R3", True)]


def test_a_release_published_again_after_a_kill_is_kept_once(tmp_path):
    """Killed after its folder was renamed (or its link switched), the same marts staged and
    published again: one folder, current."""
    marts = tmp_path / "marts"
    publish.publish(_staged(marts, "R1"), marts)
    publish.publish(_staged(marts, "R2"), marts)
    (marts / "current").unlink()  # as if killed before the link was switched
    (marts / ".current.next").symlink_to("releases/R1")  # ... and after the new one was made
    publish.publish(_staged(marts, "R2"), marts)
    assert _kept(marts) == [("R2", True), ("R1", False)]
    assert not (marts / ".next").exists() and not (marts / ".current.next").exists()


def test_a_release_published_before_release_folders_is_kept_in_one(tmp_path):
    marts = tmp_path / "marts"
    marts.mkdir()
    for tier in publish.TIERS:
        with duckdb.connect(str(publish.tier_file(marts, tier))) as con:
            con.execute("create table release as select 'R0' as release_id")
    publish.publish(_staged(marts, "R1"), marts)
    assert _kept(marts) == [("R1", True), ("R0", False)]
    assert not list(marts.glob("*.duckdb"))
    assert publish.release_id(publish.tier_file(marts / "releases" / "R0", "level1")) == "R0"


def test_publishing_again_what_a_killed_run_renamed_finishes_it(tmp_path):
    marts = tmp_path / "marts"
    publish.publish(_staged(marts, "R1"), marts)
    staged = _staged(marts, "R2")
    staged.rename(marts / "releases" / "R2")  # killed after the rename, before the link
    assert _kept(marts) == [("R2", False), ("R1", True)]
    publish.publish(staged, marts)  # the step run again: nothing staged
    assert _kept(marts) == [("R2", True), ("R1", False)]
    with pytest.raises(FileNotFoundError, match="no release staged"):
        publish.publish(staged, tmp_path / "empty")
