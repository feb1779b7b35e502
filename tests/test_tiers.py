"""The published tiers end to end: a region ingested, conformed and linked, then released
through Dagster (the dbt marts, the staged files, the four blocking checks, the rename), and
every privacy rule of Level 1, 2 and 3 checked on the files an analyst would open."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from conftest import release, release_again

from dagster_project.config import dbt_dir, key_variable, paths
from dagster_project.contracts.model import load_contracts
from dagster_project.defs.tiers.assets import (
    PUBLISHED,
    STAGED,
)
from dagster_project.platform import keys, pseudonyms, warehouse
from dagster_project.tiers import checks, privacy, publish

pytestmark = pytest.mark.e2e  # the seed-7 region taken through to a release

K = 5
SECTOR = r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9]$"


def _mtimes() -> dict[str, int]:
    return {t: publish.published(paths().marts, t).stat().st_mtime_ns for t in publish.TIERS}


@pytest.fixture(scope="module", autouse=True)
def _released_data(released):
    """Every test here reads (and some re-release) the session's released hub."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HUB_DATA_DIR", str(released.hub.root))
        yield


def _tier(name: str) -> duckdb.DuckDBPyConnection:
    """A published tier as an analyst opens it: read-only, Level 3 with its key."""
    con = warehouse.memory()
    publish.attach(con, publish.published(paths().marts, name), name, name)
    con.execute(f"use {name}")
    return con


def _sql(con, query: str, *params) -> list[tuple]:
    return con.execute(query, list(params)).fetchall()


def test_a_release_publishes_three_files_after_five_passing_checks(released):
    result = released.result
    assert result.success
    evaluations = {c.check_name: c for c in result.get_asset_check_evaluations()
                   if c.asset_key == STAGED}  # fmt: skip
    assert set(evaluations) == {
        "no_identifiers", "disclosure_controlled", "level2_anonymous", "level3_needs_key",
        "rights_honoured",
    }  # fmt: skip
    assert all(c.passed for c in evaluations.values())
    tables = {
        "level1": {"release", "strategic_profile", "risk_factor_rates", "area_boundaries"},
        "level2": {"release", "events", "person_factors", "repeat_locations"},
        "level3": {"release", "person_single_view", "person_timeline", "person_review_queue",
                   "place_review_queue"},
    }  # fmt: skip
    ids = set()
    for tier, expected in tables.items():
        assert publish.published(paths().marts, tier).exists()
        with _tier(tier) as con:
            found = {t for (t,) in _sql(con, "select table_name from duckdb_tables() "
                                        "where database_name = ?", tier)}  # fmt: skip
            assert found == expected
            ids |= {r for (r,) in _sql(con, "select release_id from release")}
            # the documentation travels with the tables
            assert _sql(con, "select count(*) from duckdb_columns() where database_name = ? "
                        "and comment is not null", tier)[0][0] > 0  # fmt: skip
    (only,) = ids
    assert only.startswith("R")
    assert not paths().staged_marts.exists() or not any(paths().staged_marts.glob("*.duckdb"))


def test_the_release_record_says_what_the_release_holds(released, region):
    with _tier("level1") as con:
        (row,) = con.execute("select * from release").df().to_dict("records")
    assert (row["first_month"], row["last_month"]) == (region.summary.months[0],
                                                      region.summary.months[-1])  # fmt: skip
    assert row["months"] == len(region.summary.months)
    feeds = {f["feed"]: f for f in row["feeds"]}
    assert set(feeds) == set(load_contracts())
    assert all(f["months_loaded"] == len(region.summary.months) for f in feeds.values())
    assert row["k_anonymity"] >= K
    assert row["persons"] > 0 and row["place_mentions"] > 0
    assert row["cells_suppressed_primary"] > 0
    # the exact audit's figures: every suppressed cell's range reaches 8 and spans 5 values
    assert row["level1_cells_audited"] > 0 and row["level1_suppressions_added"] >= 0
    assert row["level1_smallest_range"] >= 5 and row["level1_smallest_reach"] >= 8
    assert row["pseudonym_key_id"] == keys.fingerprint("pseudonym")


def test_level3_is_encrypted_and_opens_only_with_its_key(released):
    path = publish.published(paths().marts, "level3")
    with pytest.raises(duckdb.Error):
        duckdb.connect(str(path), read_only=True)
    with duckdb.connect() as con, pytest.raises(duckdb.Error):
        con.execute(f"attach '{path}' as l3 (encryption_key 'not the key', read_only)")
    with _tier("level3") as con:
        assert _sql(con, "select count(*) from person_single_view")[0][0] > 0
    # Levels 1 and 2 are for analysts' own tools: a plain read-only open works.
    for tier in ("level1", "level2"):
        with duckdb.connect(str(publish.published(paths().marts, tier)), read_only=True) as con:
            assert _sql(con, "select count(*) from release")[0][0] == 1


def test_level3_holds_the_single_view_of_each_person(released):
    with _tier("level3") as l3, released.hub.connect(read_only=True) as wh:
        persons = _sql(wh, "select count(distinct person_id) from spine.person_ids")[0][0]
        view = l3.execute("select * from person_single_view").df()
        assert len(view) == persons and view["person_id"].is_unique
        linked = view[view["feeds"].map(len) > 1].iloc[0]
        assert len(linked["agency_refs"]) >= 1 and linked["forename"]
        timeline = _sql(l3, "select count(*), count(distinct person_id) from person_timeline")
        assert timeline[0][0] >= timeline[0][1] > 0
        flagged = _sql(
            l3,
            "select count(*) from person_single_view where ppo_status "
            "is not null or reconviction_risk is not null or school_exclusions > 0",
        )
        assert flagged[0][0] > 0


def test_level2_has_no_direct_identifiers_and_a_keyed_person_pseudonym(released):
    forbidden = ("name", "surname", "forename", "dob", "birth", "ref", "address", "uprn",
                 "person_id", "event_id", "phone", "nhs")  # fmt: skip
    with _tier("level2") as l2, _tier("level3") as l3:
        columns = [c for (c,) in _sql(l2, "select column_name from duckdb_columns() "
                                      "where database_name = 'level2'")]  # fmt: skip
        leaks = [c for c in columns if any(f in c for f in forbidden)
                 and c not in ("lsoa_name", "ward_name", "district_name")]  # fmt: skip
        assert leaks == []
        secret = keys.key("pseudonym").encode()
        ids = [p for (p,) in _sql(l3, "select person_id from person_single_view")]
        expected = {pseudonyms.pseudonym(p, secret) for p in ids}
        published = {k for (k,) in _sql(l2, "select person_key from person_factors")}
        assert published <= expected and len(published) > 0.5 * len(expected)
        assert not any(p in k for p in ids[:50] for k in published)
        # one table carries person keys: no event can be joined to a person
        keyed = {t for (t,) in _sql(l2, "select distinct table_name from duckdb_columns() "
                                    "where column_name = 'person_key'")}  # fmt: skip
        assert keyed == {"person_factors"}
        # rows stored in the order of their pseudonyms, never of the agencies' references
        for table, key in (("person_factors", "person_key"), ("events", "event_key")):
            stored = [k for (k,) in _sql(l2, f"select {key} from {table}")]
            assert stored == sorted(stored), table


def test_pseudonyms_are_stable_across_releases_and_readers_are_never_blocked(released):
    with _tier("level2") as l2:
        before = {k for (k,) in _sql(l2, "select person_key from person_factors")}
    # An analyst keeps the release open while the next one is published.
    reader = duckdb.connect(str(publish.published(paths().marts, "level1")), read_only=True)
    (old_id,) = reader.execute("select release_id from release").fetchone()
    again = release_again()
    assert again.success
    assert reader.execute("select release_id from release").fetchone() == (old_id,)
    assert reader.execute("select count(*) from strategic_profile").fetchone()[0] > 0
    reader.close()
    with duckdb.connect(str(publish.published(paths().marts, "level1")), read_only=True) as fresh:
        assert fresh.execute("select release_id from release").fetchone() != (old_id,)
    with _tier("level2") as l2:
        assert {k for (k,) in _sql(l2, "select person_key from person_factors")} == before


def test_a_new_pseudonym_key_gives_a_new_unlinkable_set(released, tmp_path, monkeypatch):
    with _tier("level2") as l2:
        before = {k for (k,) in _sql(l2, "select person_key from person_factors")}
    # Released from a copy, so the session's release never holds the rotated key's pseudonyms
    # and need not be released once more with the module's key to put it back.
    root = tmp_path / "data"
    shutil.copytree(
        released.hub.root, root, symlinks=True, ignore=shutil.ignore_patterns("dagster")
    )
    monkeypatch.setenv("HUB_DATA_DIR", str(root))
    monkeypatch.setenv(key_variable("pseudonym"), "a rotated key")
    assert release_again().success
    with _tier("level2") as l2:
        after = {k for (k,) in _sql(l2, "select person_key from person_factors")}
        (key_id,) = _sql(l2, "select pseudonym_key_id from release")[0]
    assert len(after) == len(before) and not after & before
    assert key_id == keys.fingerprint("pseudonym")


def test_level2_locations_are_depersonalised(released):
    """Everything published about an event's place together holds 8 or more addresses: its
    100 m square within its LSOA where a point is published, else its LSOA; no postcode, no
    date; an event at a home of someone in it no finer than its LSOA."""
    gazetteer = released.hub.root / "reference" / "gazetteer.csv"
    with _tier("level2") as l2, released.hub.connect(read_only=True) as wh:
        columns = {c for (c,) in _sql(l2, "select column_name from duckdb_columns() where "
                                      "table_name in ('events', 'repeat_locations')")}  # fmt: skip
        assert not columns & {"postcode", "postcode_sector", "event_date", "first_date"}
        l2.execute(f"create temp table gaz as select * from read_csv('{gazetteer}')")
        thin = _sql(l2, """
            select ev.event_key, count(g.uprn) as addresses
            from events ev left join gaz g on g.lsoa_code = ev.lsoa_code
             and (ev.easting is null or (g.easting // 100 = ev.easting // 100
                                         and g.northing // 100 = ev.northing // 100))
            where ev.lsoa_code is not null
            group by ev.event_key having count(g.uprn) < 8
        """)  # fmt: skip
        assert thin == []
        grid = _sql(l2, "select easting, northing from events where point_basis = 'grid 100 m'")
        assert grid and all(e % 100 == 50 and n % 100 == 50 for e, n in grid)
        assert _sql(l2, "select count(*) from events where easting is null and "
                    "lsoa_code is not null")[0][0] > 0  # fmt: skip
        # an event at a home of someone in it is published no finer than its LSOA
        secret = keys.key("pseudonym").encode()
        homes = {
            pseudonyms.pseudonym(e, secret)
            for (e,) in wh.execute(
                "select event_id from marts_prep.prep_event_locations where at_home"
            ).fetchall()
        }
        assert homes
        pointed = {k for (k,) in _sql(l2, "select event_key from events where easting is not null")}
        assert not homes & pointed


def test_every_level1_cell_is_suppressed_or_rounded_and_none_is_derivable(released):
    with _tier("level1") as l1, released.hub.connect(read_only=True) as wh:
        cells = l1.execute("select * from strategic_profile").df()
        published = cells[cells["suppression"].isna()]
        assert (published["count"] % 5 == 0).all() and published["count"].notna().all()
        assert not published["count"].between(1, 7).any()
        assert cells.loc[cells["suppression"].notna(), "count"].isna().all()
        # against the unrounded counts the warehouse keeps
        raw = wh.execute("""
            select m.month, m.measure, a.lsoa_code, count(*) as n
            from marts_prep.prep_event_measures m join marts_prep.prep_areas a using (lsoa_code)
            group by all
        """).df()  # fmt: skip
        lsoa = cells[cells["geography"] == "lsoa"].merge(
            raw, left_on=["month", "measure", "area_code"],
            right_on=["month", "measure", "lsoa_code"], how="left")  # fmt: skip
        lsoa["n"] = lsoa["n"].fillna(0)
        small = lsoa["n"].between(1, 7)
        assert (lsoa.loc[small, "suppression"] == "suppressed").all()
        # one label for every suppression: none says it hides a small count itself
        assert set(cells["suppression"].dropna()) == {"suppressed"}
        shown = lsoa[lsoa["suppression"].isna()]
        assert ((shown["n"] / 5).round() * 5 == shown["count"]).all()
        # a partnership total is the rounded sum of unrounded parts, not a sum of rounded ones
        totals = wh.execute("select month, measure, count(*) as n from "
                            "marts_prep.prep_event_measures group by all").df()  # fmt: skip
        top = cells[cells["geography"] == "partnership"].merge(totals, on=["month", "measure"])
        top = top[top["suppression"].isna()]
        assert ((top["n"] / 5).round() * 5 == top["count"]).all()
        rates = l1.execute("select * from risk_factor_rates").df()
        assert rates.loc[rates["suppression"].notna(), "rate_per_1000"].isna().all()
    with checks.attached(publish.current(paths().marts)) as con:
        assert checks.disclosure_controlled(con).passed


def test_level2_person_table_is_k_anonymous_and_says_so(released):
    with _tier("level2") as l2:
        smallest = _sql(l2, "select min(n) from (select count(*) as n from person_factors "
                        "group by age_band, sex, ethnicity, home_area, victim, offender)"
                        )[0][0]  # fmt: skip
        assert smallest >= K
        levels = dict(_sql(l2, "select generalisation, count(*) from person_factors group by 1"))
        assert levels.get(0, 0) > 0 and sum(v for g, v in levels.items() if g > 0) > 0
        assert _sql(l2, "select k_anonymity from release")[0][0] == smallest
        # the release record measures Level 2 as a whole (docs/disclosure-control.md)
        (row,) = l2.execute("select * from release").df().to_dict("records")
    assert row["level2_k"] >= K and row["level2_l"] >= 2 and row["level2_unique_share"] == 0
    assert 0 <= row["level2_neighbour_attack"] <= 0.05
    assert row["level2_smallest_place"] >= 8


def _planted_level2(released, tmp_path, *changes: str, **tables) -> checks.Finding:
    """The published release copied, its Level 2 changed by `changes` (SQL, which may read the
    data frames `tables`), and checked as a whole."""
    folder = tmp_path / "planted"
    shutil.copytree(publish.current(paths().marts), folder)
    with duckdb.connect(str(folder / "level2.duckdb")) as con:
        for name, df in tables.items():
            con.register(name, df)
        for change in changes:
            con.execute(change)
    with checks.attached(folder) as con:
        warehouse.attach(con, released.hub.where.warehouse, "wh", "warehouse", read_only=True)
        return checks.level2_anonymous(con, *privacy.warehouse_relations("wh"))


def test_exact_ages_under_the_person_key_block_the_release(released, tmp_path):
    """A person's exact age published beside their key (as event ages once were): the joined
    view's classes fall below k, and the check names the table and its columns."""
    with _tier("level3") as l3:
        ages = l3.execute("select person_id, age from person_single_view").df()
    secret = keys.key("pseudonym").encode()
    ages["person_key"] = [pseudonyms.pseudonym(p, secret) for p in ages["person_id"]]
    finding = _planted_level2(
        released, tmp_path,
        "alter table person_factors add column age_exact integer",
        "update person_factors as f set age_exact = a.age from ages as a "
        "where a.person_key = f.person_key",
        ages=ages[["person_key", "age"]],
    )  # fmt: skip
    assert not finding.passed
    assert "person_factors" in finding.description and "age_exact" in finding.description


def test_an_event_placed_where_few_addresses_are_blocks_the_release(released, tmp_path):
    """An event published at a 100 m square with fewer than 8 addresses in its LSOA."""
    gazetteer = released.hub.root / "reference" / "gazetteer.csv"
    (lsoa, e, n) = duckdb.sql(f"""
        select lsoa_code, easting // 100, northing // 100 from read_csv('{gazetteer}')
        group by all having count(*) < 8 order by 1, 2, 3 limit 1
    """).fetchone()  # fmt: skip
    finding = _planted_level2(
        released, tmp_path,
        f"update events set lsoa_code = '{lsoa}', easting = {e * 100 + 50}, "
        f"northing = {n * 100 + 50}, point_basis = 'grid 100 m' "
        "where event_key = (select min(event_key) from events)",
    )  # fmt: skip
    assert not finding.passed
    assert "events (easting, northing, lsoa_code)" in finding.description


def test_a_name_planted_in_a_free_text_field_blocks_the_release(released, tmp_path, monkeypatch):
    """A council types a person's name into the ASB incident type, free text in its legacy
    system: it reaches Level 2's event category, and the identifier scan stops the release."""
    root = tmp_path / "data"
    shutil.copytree(
        released.hub.root, root, symlinks=True, ignore=shutil.ignore_patterns("dagster")
    )
    monkeypatch.setenv("HUB_DATA_DIR", str(root))
    before = _mtimes()
    with _tier("level3") as l3:
        (name,) = _sql(l3, "select forename || ' ' || surname from person_single_view "
                       "where forename is not null and surname is not null limit 1")[0]  # fmt: skip
    with warehouse.connect() as con:
        con.execute('update raw.asb set "Incident Type" = ? where _row_number = 1',
                    [f"Noise nuisance - {name.title()} again"])  # fmt: skip
    dbt = Path(sys.executable).with_name("dbt")
    # Its files in a target of its own: dbt/target's manifest is what Dagster reads, in this
    # process and in the other shard's running beside it (make test).
    subprocess.run([str(dbt), "build", "--select", "int_events", "--full-refresh", "--quiet",
                    "--project-dir", str(dbt_dir()), "--profiles-dir", str(dbt_dir()),
                    "--target-path", str(tmp_path / "dbt" / "target"),
                    "--log-path", str(tmp_path / "dbt" / "logs")],
                   check=True)  # fmt: skip
    with dg.instance_for_test() as instance:
        result = release(instance)
    evaluations = {c.check_name: c for c in result.get_asset_check_evaluations()
                   if c.asset_key == STAGED}  # fmt: skip
    blocked = evaluations["no_identifiers"]
    assert not blocked.passed
    assert "level2.events.category holds a name" in blocked.description
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert PUBLISHED not in materialized
    assert {
        t: publish.published(paths().marts, t).stat().st_mtime_ns for t in publish.TIERS
    } == before
    assert name not in str(blocked.description)  # the finding names the column, not the name


def test_a_suppressed_cell_an_intruder_can_solve_for_blocks_the_release(released, tmp_path):
    """An area whose suppressed count its parent and the other parts give away (the planted
    weakness), in a copy of the release: the exact audit finds it and the check refuses it."""
    folder = tmp_path / "planted"
    shutil.copytree(publish.current(paths().marts), folder)
    with duckdb.connect(str(folder / "level1.duckdb")) as con:
        # a suppressed area with a sibling: publish its parent as 10, one sibling as 10 and the
        # others as 0, which leaves the suppressed area at most 4
        month, measure, ward, district, sibling = con.execute("""
            select c.month, c.measure, c.area_code, c.parent_code, min(s.area_code)
            from strategic_profile c join strategic_profile s
              on s.month = c.month and s.measure = c.measure and s.parent_code = c.parent_code
             and s.area_code <> c.area_code
            where c.count is null
            group by all order by 1, 2, 3 limit 1
        """).fetchone()  # fmt: skip
        con.execute("""
            update strategic_profile
            set count = case when area_code in (?, ?) then 10 else 0 end, suppression = null
            where month = ? and measure = ?
              and (area_code = ? or (parent_code = ? and area_code <> ?))
        """, [district, sibling, month, measure, district, district, ward])  # fmt: skip
    with checks.attached(folder) as con:
        finding = checks.disclosure_controlled(con)
    assert not finding.passed
    assert "strategic_profile.count" in finding.description
    assert ward not in finding.description  # the finding names the table, never a cell
