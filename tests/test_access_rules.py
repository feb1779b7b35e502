"""The rules of governed access, one at a time: the policy file's checks, who is granted what,
which statements are refused before they run, and how an export is taken apart for the
airlock. The service that applies them is tested end to end in test_access_service.py."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import yaml

from dagster_project.access import demo, policy, statements, tokens
from dagster_project.contracts.model import load_contracts

TODAY = dt.date(2026, 12, 1)
FEEDS = set(load_contracts())


def _policy(tmp_path, change=None) -> policy.Policy:
    data = demo.policy("2027-06-30")
    data["organisations"]["council"] = {
        "name": "Reading Borough Council", "signed_isa": "2024-04-01",
        "sees": {"level2": sorted(FEEDS - {"crime_offence"})},
    }  # fmt: skip
    data["users"]["council_analyst"] = {"organisation": "council", "role": "analyst",
                                        "tier": "level2"}  # fmt: skip
    data["projects"]["violence-2024"]["users"].append("council_analyst")
    if change:
        change(data)
    path = tmp_path / "policy.yml"
    path.write_text(yaml.safe_dump(data))
    return policy.load(path, FEEDS)


def _ask(p, user, purpose, case=None, project=None, today=TODAY) -> policy.Grant:
    return policy.authorise(p, policy.Request(user, purpose, case, project), today)


# --- the policy file ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["users"]["analyst"].update(organisation="vr"),
         "users.analyst.organisation: 'vr' is not one of"),
        (lambda d: d["users"]["analyst"].update(tier="level4"), "users.analyst.tier"),
        (lambda d: d["users"]["analyst"].update(role="boss"), "users.analyst.role"),
        (lambda d: d["users"]["analyst"].pop("tier"), "users.analyst: missing tier"),
        (lambda d: d["organisations"]["police"]["sees"].update(level2=["crimes"]),
         "organisations.police.sees.level2: no feed crimes"),
        (lambda d: d["projects"]["violence-2024"].update(ends="soon"), "is not a date"),
        (lambda d: d["projects"]["violence-2024"].update(users=["partner"]),
         "partner's highest tier is below level2"),
        (lambda d: d["projects"]["violence-2024"].update(purpose="marac"),
         "'marac' is not a level2 purpose"),
        (lambda d: d.update(withheld={"level1": ["asb"]}), "withheld.level1"),
        (lambda d: d.update(extra=1), "the file: unknown field extra"),
        (lambda d: d["users"]["partner"].update(tier="level3"), "a partner reaches level1"),
        (lambda d: d["users"].update({"../x": d["users"]["partner"]}), "it names files"),
        (lambda d: d["organisations"]["police"]["sees"].update(level1=["asb"]),
         "sees.level1: Level 1 is published to every partner whole"),
    ],
)  # fmt: skip
def test_a_mistake_in_the_policy_is_refused_naming_the_file_and_field(tmp_path, change, message):
    with pytest.raises(policy.PolicyError, match=message) as refused:
        _policy(tmp_path, change)
    assert str(tmp_path / "policy.yml") in str(refused.value)


def test_a_missing_or_unreadable_policy_says_so(tmp_path):
    with pytest.raises(policy.PolicyError, match="no access policy"):
        policy.load(tmp_path / "absent.yml", FEEDS)
    (tmp_path / "bad.yml").write_text("users: [unclosed")
    with pytest.raises(policy.PolicyError, match="not valid YAML"):
        policy.load(tmp_path / "bad.yml", FEEDS)


# --- who is granted what ---------------------------------------------------------------------


def test_each_role_reaches_its_own_tier_for_its_purposes(tmp_path):
    p = _policy(tmp_path)
    assert _ask(p, "partner", "performance").tier == "level1"
    analyst = _ask(p, "analyst", "problem_profile", project="violence-2024")
    assert (analyst.tier, analyst.project.name, analyst.feeds) == ("level2", "violence-2024", FEEDS)
    assert _ask(p, "practitioner", "marac", case="MARAC-2024-017").tier == "level3"


@pytest.mark.parametrize(
    ("user", "purpose", "case", "project", "reason"),
    [
        ("partner", "problem_profile", None, "violence-2024", "highest tier is Level 1"),
        ("partner", "marac", "M-1", None, "highest tier is Level 1"),
        ("analyst", "marac", "M-1", None, "highest tier is Level 2"),
        ("practitioner", "marac", None, None, "give its case reference"),
        ("practitioner", "performance", "M-1", None, "not a purpose allowed at Level 3"),
        ("practitioner", "marac", "M 1; drop", None, "a case reference is"),
        ("analyst", "problem_profile", None, None, "not a purpose allowed at Level 1"),
        ("analyst", "evaluation", None, "violence-2024", "purpose is 'problem_profile'"),
        ("analyst", "problem_profile", None, "other", "there is no project"),
        ("analyst", "problem_profile", "M-1", "violence-2024", "not both"),
        ("nobody", "performance", None, None, "is not a user"),
    ],
)
def test_a_request_the_policy_does_not_allow_is_refused_saying_why(
    tmp_path, user, purpose, case, project, reason
):
    with pytest.raises(policy.Denied, match=reason):
        _ask(_policy(tmp_path), user, purpose, case, project)


def test_a_project_ends_and_an_organisation_without_the_agreement_sees_level1_only(tmp_path):
    p = _policy(tmp_path)
    with pytest.raises(policy.Denied, match="ended on 2027-06-30"):
        _ask(p, "analyst", "problem_profile", project="violence-2024", today=dt.date(2027, 7, 1))

    def unsigned(d):
        d["organisations"]["vru"]["signed_isa"] = None

    with pytest.raises(policy.Denied, match="has not signed the information sharing"):
        _ask(_policy(tmp_path, unsigned), "analyst", "problem_profile", project="violence-2024")


def test_the_feeds_granted_are_the_organisations_less_the_withheld_and_the_projects(tmp_path):
    def narrow(d):
        d["withheld"]["level2"] = ["ae_assaults"]
        d["projects"]["violence-2024"]["feeds"] = ["crime_offence", "asb", "ae_assaults"]

    p = _policy(tmp_path, narrow)
    assert _ask(p, "analyst", "problem_profile", project="violence-2024").feeds == {
        "crime_offence", "asb"}  # fmt: skip
    assert _ask(p, "council_analyst", "problem_profile", project="violence-2024").feeds == {
        "asb"}  # fmt: skip


# --- statements --------------------------------------------------------------------------------

TABLES = {"events", "person_factors", "release"}


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("ATTACH 'x.duckdb' AS x", "only a SELECT"),
        ("select * from read_csv('/etc/passwd')", "table functions"),
        ("select * from read_parquet('data/marts/level3.duckdb')", "table functions"),
        ("select * from 'data/warehouse/hub.duckdb'", "not a Level 2 table"),
        ("COPY (select * from events) TO 'out.csv'", "only a SELECT"),
        ("INSTALL httpfs", "only a SELECT"),
        ("LOAD httpfs", "only a SELECT"),
        ("SET enable_external_access = true", "only a SELECT"),
        ("PRAGMA database_list", "only a SELECT"),
        ("CALL duckdb_secrets()", "only a SELECT"),
        ("select 1; select * from events", "one statement per request"),
        ("select * from level3.person_single_view", "is in Level 3"),
        ("select * from published.main.events", "not a table of the hub's tiers"),
        ("select * from person_single_view", "not a Level 2 table"),
        ("select * from information_schema.tables", "not a table of the hub's tiers"),
        ("select * from duckdb_tables()", "table functions"),
        ("select * from glob('*')", "table functions"),
        ("select getenv('HOME')", "reads the machine"),
        ("select * from events where event_key in (select 1 from level1.release)", "Level 1"),
        ("select * from (select 1) t, query_table('published.main.events')", "table functions"),
        ("select * from", "does not parse"),
        ("with x as (select * from level3.person_timeline) select * from x", "Level 3"),
        # Found by an attacker: a CTE's name does not cover a table outside the CTE's scope;
        # storage statistics and the hub's keyed function are not the tier's rows.
        (
            "select * from duckdb_tables, (with duckdb_tables as (select 1 as a) "
            "select a from duckdb_tables)",
            "duckdb_tables is not a Level 2 table",
        ),
        ("select stats(offence_group) from events", "reads the machine or the storage"),
        ("select project_pseudonym('X0123') from events", "reads the machine or the storage"),
        ("select pg_get_viewdef('events')", "reads the machine or the storage"),
        ("select " + "(" * 3000 + "1" + ")" * 3000, "nested too deeply"),
        (
            "select json_serialize_plan('select count(*) from published.main.events')",
            "reads the machine or the storage",
        ),
        ("select json_execute_serialized_sql('x')", "reads the machine or the storage"),
        ("select * from events where (select setseed(0.1)) is null", "reads the machine"),
        ("with c0 as not materialized (select 1 as x) select * from c0", "NOT MATERIALIZED"),
        ("select * from " + ", ".join(["events"] * 33), "at most 32 tables"),
    ],
)
def test_a_statement_reaching_outside_its_tier_is_refused_before_it_runs(sql, reason):
    with pytest.raises(statements.Refused, match=reason):
        statements.parse(sql, "level2", TABLES)


def test_a_statement_within_its_tier_is_run_as_sqlglot_writes_it():
    s = statements.parse(
        "with e as (select * from level2.events) select count(*) from e join release on true",
        "level2", TABLES,
    )  # fmt: skip
    assert s.tables == ("level2.events", "level2.release")
    assert s.sql.startswith("WITH e AS (SELECT * FROM level2.events)")


SCHEMA = {"level3": {"person_single_view": {"person_id": "VARCHAR", "forename": "VARCHAR"},
                     "person_timeline": {"person_id": "VARCHAR", "event_date": "DATE"},
                     "release": {"release_id": "VARCHAR"}}}  # fmt: skip


@pytest.mark.parametrize(
    ("sql", "allowed"),
    [
        ("select person_id, forename from person_single_view", True),
        ("select * from person_single_view", True),
        ("select release_id from release", True),
        ("select forename from person_single_view", False),
        ("select forename as person_id from person_single_view", False),
        ("select upper(person_id) as person_id from person_single_view", False),
        ("select count(*) from person_single_view", False),
        ("select s.person_id, t.event_date from person_single_view s "
         "join person_timeline t using (person_id)", True),
        ("select a.person_id, b.forename from person_single_view a, person_single_view b",
         False),
        ("select a.person_id, b.forename from person_single_view a "
         "join person_single_view b on a.person_id <> b.person_id", False),
        ("select a.person_id, b.forename from person_single_view a "
         "join person_single_view b on a.person_id = a.person_id", False),
        ("select a.person_id, (select string_agg(forename) from person_single_view) as names "
         "from person_single_view a", False),
        ("with a as (select * from person_single_view) select person_id from a", False),
        # Found by an attacker: a join whose condition does not name the table it joins.
        ("select p.person_id, r.forename from person_single_view p join person_single_view q "
         "on p.person_id = q.person_id join person_single_view r on q.person_id = p.person_id",
         False),
        ("select p.person_id, r.forename from person_single_view p join person_single_view r "
         "on r.person_id = p.person_id", True),
        ("select p.person_id, r.forename from person_single_view p inner join "
         "person_single_view r on r.person_id = p.person_id", True),
        ("select p.person_id, r.forename from person_single_view p join person_single_view R "
         "on R.person_id = r.person_id", False),
        ("select p.person_id, r.forename from person_single_view p right join "
         "person_single_view r on r.person_id = p.person_id and p.person_id = 'P1'", False),
    ],
)  # fmt: skip
def test_a_level3_result_about_people_carries_their_person_id_unchanged(sql, allowed):
    s = statements.parse(sql, "level3", set(SCHEMA["level3"]))
    if allowed:
        statements.check_person_column(s, SCHEMA)
    else:
        with pytest.raises(statements.Refused, match="returns their person_id unchanged"):
            statements.check_person_column(s, SCHEMA)


COLUMNS = {"district_name", "district", "ward_name", "month", "age", "knife", "event_key",
           "person_key", "age_band"}  # fmt: skip


def test_an_export_is_taken_apart_into_its_rows_and_its_aggregates():
    s = statements.parse(
        "select district_name as district, count(*) as n, count(distinct ward_name) wards, "
        "avg(age) from events where month > '2024-01' group by district_name order by n",
        "level2", TABLES,
    )  # fmt: skip
    plan = statements.aggregate(s, COLUMNS)
    assert plan.by == ("district",)
    assert plan.measures == (("n", "count", None), ("wards", "count_distinct", "_m1"),
                             ("AVG(age)", "mean", "_m2"))  # fmt: skip
    assert "GROUP BY" not in plan.rows_sql and "ORDER" not in plan.rows_sql
    assert "WHERE month > '2024-01'" in plan.rows_sql


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("select * from events", "record-level rows do not leave"),
        ("select district, count(*) from events group by all having count(*) > 1", "HAVING"),
        ("select max(age) from events", "or one count, sum, avg or median"),
        ("select count(*) * 2 from events", "arithmetic on aggregates"),
        ("select count(age) from events", "count\\(\\*\\) or count\\(DISTINCT"),
        ("select district from events group by district", "at least one count"),
        ("select count(*) from events union all select count(*) from release", "no UNION"),
        ("select district, sum(1) from events group by 1", "takes a column as it is"),
        (
            "select district, sum(100 + case when knife then 1 else 0 end) from events group by 1",
            "takes a column as it is",
        ),
        ("select event_key, count(*) from events group by 1", "a key is one record"),
        ("select count(distinct person_key) from person_factors", "a key is one record"),
        ("select a.district, count(*) from events a join events b on true group by 1", "one table"),
        (
            "select (select count(*) from events) as n, count(*) from events group by 1",
            "no subqueries",
        ),
        (
            "with e as (select district, count(*) as n from events group by 1) "
            "select n, count(*) from e group by n",
            "no subqueries or CTEs",
        ),
        # Found by an attacker: counts hidden in an alias, and records copied by unnest.
        ("select district, 0.5 as c, sum(c) as s from events group by all", "'c' is not a column"),
        ("select district, sum(c) as s from events group by all", "'c' is not a column"),
        (
            "select district, unnest([1, 1, 1, 1, 1, 1, 1, 1]) as d, count(*) from events "
            "group by all",
            "set-returning",
        ),
        ("select k, count(*) from person_factors t(k) group by 1", "no t\\(a, b\\) aliases"),
        ("select upper(district) as d, count(*) from events group by 1", "must be a column"),
        ("select district, count(*) from events group by upper(district)", "neither grouped by"),
        (
            "select district, count(*) from events group by district, ward_name",
            "shows every column it groups by",
        ),
    ],
)
def test_an_export_that_is_not_one_aggregate_is_refused(sql, reason):
    with pytest.raises(statements.Refused, match=reason):
        statements.aggregate(statements.parse(sql, "level2", TABLES), COLUMNS)


# --- tokens ------------------------------------------------------------------------------------


def test_a_token_is_kept_only_as_its_argon2_hash(tmp_path):
    store = tmp_path / "tokens.json"
    token = tokens.issue(store, "analyst")
    assert tokens.verify(store, "analyst", token)
    assert not tokens.verify(store, "analyst", token[:-1] + "x")
    assert not tokens.verify(store, "partner", token)
    assert not tokens.verify(store, "analyst", None)
    kept = json.loads(store.read_text())["analyst"]
    assert kept.startswith("$argon2") and token not in store.read_text()
    assert store.stat().st_mode & 0o777 == 0o600
    again = tokens.issue(store, "analyst")
    assert not tokens.verify(store, "analyst", token) and tokens.verify(store, "analyst", again)
