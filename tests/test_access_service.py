"""The security tests of governed access, each against the real query service (`hub serve`, a
process of its own on localhost) over the session's released tiers: refusals by role, purpose,
token and statement, feeds an organisation may not see, project pseudonyms, the airlock, and
the audit trail, which every request reaches and no edit escapes."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml
from servers import free_port

from dagster_project.access import demo, tokens
from dagster_project.access.audit_log import AuditLog, canonical
from dagster_project.access.client import Client, Refused
from dagster_project.config import Paths
from dagster_project.contracts.model import load_contracts
from dagster_project.platform import keys
from dagster_project.tiers import publish

pytestmark = pytest.mark.e2e  # needs the session's released tiers

PROJECT, OTHER = demo.PROJECT, "youth-2024"
BARRED = "crime_offence"  # the council may not see it at Level 2
USERS = [*demo.USERS, "council_analyst"]


def _policy() -> dict:
    data = demo.policy("2099-12-31")
    feeds = sorted(load_contracts())
    data["organisations"]["council"] = {
        "name": "Reading Borough Council", "signed_isa": "2024-04-01",
        "sees": {"level2": [f for f in feeds if f != BARRED]},
    }  # fmt: skip
    data["users"]["council_analyst"] = {"organisation": "council", "role": "analyst",
                                        "tier": "level2"}  # fmt: skip
    data["projects"][PROJECT]["users"].append("council_analyst")
    data["projects"][OTHER] = {"purpose": "area_profile", "tier": "level2", "users": ["analyst"],
                               "feeds": "all", "ends": "2099-12-31"}  # fmt: skip
    return data


class Served:
    def __init__(self, root, url, process, tokens_):
        self.root, self.url, self.process, self.tokens = root, url, process, tokens_
        self.where = Paths(root)

    def client(self, user: str, token: str | None = None) -> Client:
        return Client(user, token if token is not None else self.tokens[user], self.url)

    def trail(self) -> AuditLog:
        return AuditLog(self.where.audit, keys.key("audit").encode())

    def last(self, **match) -> dict:
        found = [e for e in self.trail().entries() if all(e.get(k) == v for k, v in match.items())]
        assert found, f"no audit entry with {match}"
        return found[-1]


@pytest.fixture(scope="module")
def served(released, tmp_path_factory):
    """The released tiers in a data folder of their own, a policy with one user per role (and
    an analyst of an organisation barred from a feed), and the service started on it."""
    root = tmp_path_factory.mktemp("served") / "data"
    shutil.copytree(released.hub.where.marts, root / "marts", symlinks=True,
                    ignore=shutil.ignore_patterns(".next"))  # fmt: skip
    where = Paths(root)
    where.policy.parent.mkdir(parents=True)
    where.policy.write_text(yaml.safe_dump(_policy()))
    issued = {u: tokens.issue(where.access / "tokens.json", u) for u in USERS}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "HUB_DATA_DIR": str(root), "HUB_SERVICE_URL": url,
           "HUB_QUERY_SECONDS": "5"}  # fmt: skip
    env.pop("HUB_POLICY", None)
    log = open(root / "service.log", "wb")  # noqa: SIM115 (the process writes it until the end)
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("hub")), "serve"], stdout=log, stderr=log, env=env
    )
    served = Served(root, url, process, issued)
    for _ in range(120):
        if served.client("partner").healthy():
            break
        assert process.poll() is None, (root / "service.log").read_text()
        time.sleep(0.5)
    yield served
    process.terminate()
    process.wait(30)
    log.close()


def _refused(call, *reason: str) -> Refused:
    with pytest.raises(Refused) as refused:
        call()
    for part in reason:
        assert part in refused.value.reason
    return refused.value


L2 = {"purpose": "problem_profile", "project": PROJECT}
L3 = {"purpose": "marac", "case": "MARAC-2024-017"}


def test_a_level1_user_asking_for_level2_or_3_is_refused_and_the_refusal_audited(served):
    partner = served.client("partner")
    assert len(partner.query("select * from strategic_profile limit 5", purpose="performance"))
    _refused(lambda: partner.query("select * from events", **L2), "highest tier is Level 1")
    assert served.last(user="partner", project=PROJECT)["outcome"] == "refused"
    _refused(lambda: partner.query("select * from person_single_view", **L3), "Level 1")
    _refused(
        lambda: partner.query("select * from level2.events", purpose="performance"),
        "level2.events is in Level 2; this request is at Level 1",
    )
    entry = served.last(user="partner", statement="select * from level2.events")
    assert entry["outcome"] == "refused" and entry["organisation"] == "fire"


def test_level3_without_a_case_purpose_is_refused(served):
    practitioner = served.client("practitioner")
    _refused(lambda: practitioner.query("select person_id from person_single_view",
                                        purpose="marac"), "give its case reference")  # fmt: skip
    _refused(lambda: practitioner.query("select person_id from person_single_view",
                                        purpose="performance", case="M-1"),
             "not a purpose allowed at Level 3")  # fmt: skip


@pytest.mark.parametrize("token", ["", "not-the-token", "partner"])
def test_a_wrong_or_missing_token_is_refused_and_audited(served, token):
    wrong = served.tokens["partner"] if token == "partner" else token
    user = "analyst" if token == "partner" else "partner"  # another user's token is wrong too
    refused = _refused(lambda: served.client(user, wrong).query("select 1", purpose="performance"),
                       "unknown user or wrong token")  # fmt: skip
    assert refused.status == 401
    assert served.last(action="denial", user=user)["outcome"] == "refused"


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("ATTACH '{tmp}/x.duckdb' AS x", "only a SELECT"),
        ("select * from read_csv('{tmp}/../data/access/policy.yml')", "table functions"),
        ("select * from read_parquet('{tmp}/*.parquet')", "table functions"),
        ("COPY (select * from events) TO '{tmp}/out.csv'", "only a SELECT"),
        ("INSTALL httpfs", "only a SELECT"),
        ("LOAD '{tmp}/x.duckdb_extension'", "only a SELECT"),
        ("SET enable_external_access = true", "only a SELECT"),
        ("PRAGMA database_list", "only a SELECT"),
        ("CALL pragma_database_list()", "only a SELECT"),
        ("select 1; COPY (select 1) TO '{tmp}/second.csv'", "one statement per request"),
        ("select * from level3.person_timeline", "is in Level 3"),
        ("select * from level1.strategic_profile", "is in Level 1"),
        ("select * from published.main.events", "not a table of the hub's tiers"),
        ("select * from person_single_view", "not a Level 2 table"),
        ("select * from duckdb_databases()", "table functions"),
    ],
)
def test_sql_reaching_outside_its_tier_is_refused_before_it_runs(served, tmp_path, sql, reason):
    statement = sql.format(tmp=tmp_path)
    _refused(lambda: served.client("analyst").query(statement, **L2), reason)
    assert not list(tmp_path.iterdir()), "a refused statement wrote a file"
    assert served.last(user="analyst", statement=statement)["outcome"] == "refused"


def test_the_sandbox_holds_even_where_a_statement_passes_the_parser(served):
    """The second line, tried without the parser: the connection a request runs in reaches no
    file, changes no setting and stops at its time limit."""
    from dagster_project.access import policy
    from dagster_project.access.sandbox import Limits, open_sandbox, table_access
    from dagster_project.defs.conform.project import manifest

    loaded = policy.load(served.where.policy, set(load_contracts()))
    grant = policy.authorise(loaded, policy.Request("analyst", **L2), dt.date.today())
    access = table_access(manifest(), set(load_contracts()))
    box = open_sandbox(grant, served.where.marts, access, Limits(seconds=2))
    box.load(["level2.events"], keys.key("pseudonym").encode())
    try:
        # Only what the statement reads was copied, and the file is gone.
        assert box.con.execute("select table_name from duckdb_tables()").fetchall() == [
            ("events",)]  # fmt: skip
        assert box.con.execute(
            "select count(*) from duckdb_databases() where database_name = 'published'"
        ).fetchone() == (0,)
        for sql in (
            f"select * from read_csv('{served.where.policy}')",
            f"attach '{publish.published(served.where.marts, 'level3')}' as l3",
            "set enable_external_access = true",
            "set lock_configuration = false",
            f"copy (select 1) to '{served.root / 'out.csv'}'",
            "install httpfs",
        ):
            with pytest.raises(duckdb.Error):
                box.con.execute(sql)
        assert not (served.root / "out.csv").exists()
        with pytest.raises(TimeoutError, match="longer than 2 s"):
            box.run(
                "select count(*) from events, events e2, events e3, events e4", Limits(seconds=2)
            )
    finally:
        box.close()
    _refused(
        lambda: served.client("analyst").query(
            "select count(*) from events, events e2, events e3, events e4", **L2
        ),
        "ran longer than 5 s",
    )


def test_an_organisation_barred_from_a_feed_sees_none_of_its_rows(served):
    analyst, council = served.client("analyst"), served.client("council_analyst")
    by_feed = "select source_feed, count(*) as n from events group by 1"
    theirs = dict(analyst.query(by_feed, **L2).itertuples(index=False))
    ours = dict(council.query(by_feed, **L2).itertuples(index=False))
    assert theirs[BARRED] > 0 and BARRED not in ours
    assert ours == {f: n for f, n in theirs.items() if f != BARRED}
    for sql in (
        f"select count(*) as n from events where source_feed = '{BARRED}'",
        f"with v as (select * from level2.events) select count(*) as n from v "
        f"where source_feed = '{BARRED}'",
        f"select count(*) as n from events a join level2.events b using (event_key) "
        f"where b.source_feed = '{BARRED}'",
    ):
        assert council.query(sql, **L2)["n"].tolist() == [0], sql
    # A table drawn from every feed (the person factors, the repeat locations) is not shown at
    # all, and the refusal says why.
    for table in ("person_factors", "repeat_locations"):
        _refused(lambda t=table: council.query(f"select count(*) from {t}", **L2),
                 "drawn from feeds this request may not see", BARRED)  # fmt: skip


def test_each_project_sees_person_and_event_keys_of_its_own(served):
    analyst = served.client("analyst")
    first = analyst.query("select person_key from person_factors", **L2)["person_key"]
    second = analyst.query("select person_key from person_factors",
                           purpose="area_profile", project=OTHER)["person_key"]  # fmt: skip
    events = analyst.query("select event_key from events", **L2)["event_key"]
    with duckdb.connect(
        str(publish.published(served.where.marts, "level2")), read_only=True
    ) as con:
        release = {r[0] for r in con.execute("select person_key from person_factors").fetchall()}
        release_events = {r[0] for r in con.execute("select event_key from events").fetchall()}
    assert len(first) == len(second) == len(release) > 0
    assert first.is_unique and second.is_unique
    assert not set(first) & set(second) and not set(first) & release
    assert not set(events) & release_events
    # Stable within a project: the same query gives the same keys.
    again = analyst.query("select person_key from person_factors", **L2)["person_key"]
    assert set(again) == set(first)
    # Found by an attacker: rows in the stored order would pair the two projects' keys up by
    # position. Each answer comes in an order of its own.
    columns = "select person_key, age_band, sex, home_area, victim, offender from person_factors"
    a = analyst.query(columns, **L2).drop(columns="person_key")
    b = analyst.query(columns, purpose="area_profile", project=OTHER).drop(columns="person_key")
    assert not a.reset_index(drop=True).equals(b.reset_index(drop=True))


def test_level3_results_name_whose_data_was_seen_in_the_audit_trail(served, tmp_path):
    from conftest import call_hub

    practitioner = served.client("practitioner")
    found = practitioner.query(
        "select person_id, forename, surname from person_single_view order by person_id limit 3",
        **L3,
    )
    entry = served.last(user="practitioner", outcome="returned")
    assert entry["person_ids"] == sorted(found["person_id"]) and entry["case"] == L3["case"]
    _refused(lambda: practitioner.query("select forename from person_single_view", **L3),
             "returns their person_id unchanged")  # fmt: skip
    person = found["person_id"][0]
    # Found by an attacker: results whose person_id the trail could not read, or misread, and
    # a "case" that was the whole population.
    for sql in (
        f'select person_id as "PERSON_ID", forename from person_single_view '
        f"where person_id = '{person}'",
        f"select *, null as person_id from person_single_view where person_id = '{person}'",
        f"select person_id, forename, 'nobody' as person_id from person_single_view "
        f"where person_id = '{person}'",
    ):
        _refused(lambda q=sql: practitioner.query(q, **L3), "person_id")
    everyone = "select person_id, surname from person_single_view"
    too_many = _refused(lambda: practitioner.query(everyone, **L3), "a case looks up its people")
    # Found by an attacker: the exact number of people in a refusal counts ranges of person
    # IDs, and so finds the IDs an erasure took away.
    assert not any(ch.isdigit() for ch in too_many.reason.replace("50", ""))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HUB_DATA_DIR", str(served.root))
        shown = call_hub("audit", "show", "--person", person)
    assert shown.returncode == 0 and "practitioner" in shown.stdout and L3["case"] in shown.stdout


def test_malformed_requests_are_refused_and_audited(served):
    import httpx

    headers = {"x-hub-user": "analyst", "authorization": f"Bearer {served.tokens['analyst']}"}
    for body, status, reason in (
        ({"sql": "select 1", "purpose": "problem_profile", "project": {"x": 1}}, 400,
         "project must be text"),
        ({"sql": "select 1", "purpose": "p" * 3000}, 400, "longer than 2000"),
        ({"sql": "x" * 1_100_000, "purpose": "performance"}, 413, "at most 1,000,000 bytes"),
    ):  # fmt: skip
        answer = httpx.post(served.url + "/query", json=body, headers=headers, timeout=60)
        assert answer.status_code == status and reason in answer.json()["refused"]
        assert reason in served.last(user="analyst", action="query")["reason"]
    nan = served.client("analyst").query("select 'nan'::double as x", **L2)
    assert nan["x"].isna().all()
    # Found by an attacker: a value Python cannot hold failed unaudited.
    _refused(lambda: served.client("analyst").query("select '10000-01-01'::date as d", **L2),
             "the service failed on this request")  # fmt: skip
    failed = served.last(user="analyst", statement="select '10000-01-01'::date as d")
    assert failed["outcome"] == "failed"
    _refused(lambda: served.client("practitioner").query(
        "select * from person_review_queue", **L3), "for the spines' reviewers")  # fmt: skip


def test_the_airlock_refuses_record_level_rows_and_the_requesters_own_approval(served, tmp_path):
    analyst, checker = served.client("analyst"), served.client("checker")
    _refused(lambda: analyst.export_request("select district_name, lsoa_code from events", **L2),
             "record-level rows do not leave")  # fmt: skip
    assert served.last(action="export_request")["outcome"] == "refused"
    _refused(lambda: analyst.export_request("select max(event_hour) from events", **L2),
             "min, max and arithmetic")  # fmt: skip
    # Found by an attacker: a count hidden in a sum, and records as group keys.
    _refused(lambda: analyst.export_request(
        "select district_name, sum(100 + case when knife_enabled then 1 else 0 end) as s "
        "from events group by 1", **L2), "takes a column as it is")  # fmt: skip
    _refused(
        lambda: analyst.export_request(
            "select event_key, count(*) as n from events group by 1", **L2
        ),
        "a key is one record",
    )
    _refused(lambda: served.client("practitioner").export_request(
        "select person_id, count(*) from person_timeline group by 1", purpose="marac"),
        "case reference")  # fmt: skip
    pending = analyst.export_request(
        "select district_name, offence_group, count(*) as crimes, "
        "count(distinct lsoa_code) as areas from events group by all", **L2,
    )  # fmt: skip
    assert pending["status"] == "pending" and "suppressed" in pending["checks"]
    _refused(lambda: analyst.export_file(pending["id"]), "pending, not approved")
    _refused(lambda: analyst.export_review(pending["id"], "approve"), "not a checker")
    [shown] = checker.exports(pending["id"])  # what the checker reviews: the checked table
    assert shown["preview"]["columns"] == ["district_name", "offence_group", "crimes", "areas"]
    assert shown["statement"].startswith("SELECT district_name")
    approved = checker.export_review(pending["id"], "approve", "district counts, checked")
    assert approved["status"] == "approved" and approved["reviewer"] == "checker"
    _refused(lambda: served.client("partner").export_file(pending["id"]), "another user")
    out = tmp_path / "export.csv"
    out.write_bytes(analyst.export_file(pending["id"]))
    table = pd.read_csv(out)
    for column in ("crimes", "areas"):
        counts = table[column].dropna()
        assert ((counts % 5 == 0) & ~counts.between(1, 7)).all()
    assert "withheld" in pending["checks"]  # groups of fewer than 8 events left out whole
    assert served.last(action="export_write")["requester"] == "analyst"


def test_a_requester_cannot_approve_their_own_export(served, tmp_path):
    """Both roles in one person: the checker asks (as an analyst of a project it belongs to
    in this policy copy would) and may not then approve."""
    policy = yaml.safe_load(served.where.policy.read_text())
    policy["users"]["checker"]["tier"] = "level2"
    policy["projects"][PROJECT]["users"].append("checker")
    served.where.policy.write_text(yaml.safe_dump(policy))
    try:
        checker = served.client("checker")
        pending = checker.export_request("select district_name, count(*) as n from events "
                                         "group by 1", **L2)  # fmt: skip
        _refused(lambda: checker.export_review(pending["id"], "approve"),
                 "cannot review their own export")  # fmt: skip
        assert served.last(action="policy_change")["outcome"] == "loaded"
    finally:
        served.where.policy.write_text(yaml.safe_dump(_policy()))


def test_editing_deleting_reordering_or_truncating_the_audit_trail_is_found(served, tmp_path):
    from conftest import call_hub

    copy = tmp_path / "data"
    shutil.copytree(served.where.audit, copy / "audit")
    log = copy / "audit" / "log.jsonl"
    pristine = log.read_text().splitlines(keepends=True)
    assert len(pristine) > 10

    def verify(lines):
        log.write_text("".join(lines))
        with pytest.MonkeyPatch.context() as env:
            env.setenv("HUB_DATA_DIR", str(copy))
            return call_hub("audit", "verify")

    assert verify(pristine).returncode == 0
    entry = json.loads(pristine[4])
    edited = [*pristine]
    edited[4] = canonical(entry | {"user": "someone else"}) + "\n"
    for broken in (
        edited,
        pristine[:3] + pristine[4:],  # one deleted
        pristine[:3] + [pristine[4], pristine[3]] + pristine[5:],  # two reordered
        pristine[:-1],  # the last one cut off
    ):
        result = verify(broken)
        assert result.returncode == 1 and "BROKEN" in result.stdout, result.stdout
    assert verify(pristine).returncode == 0


def test_no_key_or_token_appears_in_logs_outputs_or_the_audit_trail(served):
    secrets = [keys.key(name) for name in keys.NAMES] + list(served.tokens.values())
    written = [served.root / "service.log", served.where.audit / "log.jsonl",
               *served.where.exports.rglob("*")]  # fmt: skip
    for path in written:
        if path.is_file():
            text = path.read_bytes().decode(errors="replace")
            assert not [s for s in secrets if s in text], path.name
    for path in [served.where.audit, *served.where.audit.iterdir(),
                 *served.where.exports.rglob("*")]:  # fmt: skip
        assert path.stat().st_mode & 0o077 == 0, f"{path.name} is readable by others"


# --- found by a tester with tokens ----------------------------------------------------------
# From addresses of their own (all of 127.0.0.0/8 is this machine): the service throttles by
# address, and the tests above all come from 127.0.0.1.


def _from(served: Served, address: str):
    import httpx

    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=served.url, timeout=60, transport=transport)


def _as(user: str, token: str | None = None) -> dict:
    return {"x-hub-user": user, **({"authorization": f"Bearer {token}"} if token else {})}


def test_answers_are_not_cached_and_a_strangers_headers_are_bounded_in_the_trail(served):
    client = _from(served, "127.0.0.30")
    answer = client.post("/query", json={"sql": "select 1 as x", "purpose": "performance"},
                         headers=_as("partner", served.tokens["partner"]))  # fmt: skip
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    entries = len(served.trail().entries())
    huge = client.post("/query", json={}, headers=_as("u" * 2_000, "x"))
    assert huge.status_code == 400 and "longer than 512 bytes" in huge.json()["refused"]
    assert len(served.trail().entries()) == entries  # refused before anything is audited
    long = client.post("/exports/" + "e" * 4_000 + "/review", json={},
                       headers=_as("u" * 300, "not-the-token"))  # fmt: skip
    assert long.status_code == 401 and long.headers["cache-control"] == "no-store"
    denial = served.last(action="denial", address="127.0.0.30")
    assert len(denial["user"]) == 64 and denial["user"].endswith("…")
    assert len(denial["path"]) == 256 and denial["path"].endswith("…")


def _rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))


def test_failed_token_checks_are_throttled_and_take_bounded_memory(served):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    # Twelve bad tokens at once, each from its own address and user (so none is throttled):
    # each argon2 check takes 64 MiB, and only two run at once.
    peak, done = [_rss(served.process.pid)], threading.Event()

    def watch():
        while not done.is_set():
            peak.append(_rss(served.process.pid))
            time.sleep(0.005)

    def bad(i: int) -> int:
        with _from(served, f"127.0.0.{40 + i}") as client:
            return client.post("/query", json={}, headers=_as(f"stranger{i}", "x" * 43)).status_code

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with ThreadPoolExecutor(12) as pool:
            assert set(pool.map(bad, range(12))) == {401}
    finally:
        done.set()
        watcher.join()
    assert (max(peak) - peak[0]) / 1024 < 200, "MiB more while bad tokens were checked"
    # Ten failures from one address hold it for a minute, unaudited past the tenth; a token
    # too long to be one is refused unchecked, with the same message.
    client = _from(served, "127.0.0.31")
    for token in [None] * 9 + ["t" * 129]:
        refused = client.post("/query", json={}, headers=_as("nobody", token))
        assert refused.status_code == 401
        assert refused.json()["refused"] == "unknown user or wrong token"
    held = client.post("/query", json={"sql": "select 1", "purpose": "performance"},
                       headers=_as("admin", served.tokens["admin"]))  # fmt: skip
    assert held.status_code == 429 and 0 < int(held.headers["retry-after"]) <= 60
    assert len([e for e in served.trail().entries() if e.get("address") == "127.0.0.31"]) == 10
    assert client.get("/health").status_code == 200
