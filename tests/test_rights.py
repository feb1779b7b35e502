"""Data subjects' rights and retention, end to end on the session's released region: a subject
access pack after a real Level 3 query; then an erasure, a restriction, a rectification and the
retention of a later day reach the archive, the spine and every tier in one release; then a
re-delivered supply that names the erased person again (under their old key and under a new
one) and the restriction's lift reach the next."""

from __future__ import annotations

import csv
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import call_hub
from servers import free_port

pytestmark = pytest.mark.e2e

CASE = {"purpose": "marac", "case": "MARAC-2024-101"}
LATER = "2026-07-01"  # two-year feeds of a region dated 2024 are past retention by then
NEW_REF = "TVP99999999"


def _run(job: str, instance):
    """The job `release` or `conform`, or `rights`: the register applied, as each starts."""
    import dagster as dg

    from dagster_project.definitions import defs
    from dagster_project.defs.resources import resources
    from dagster_project.defs.rights.assets import retention_asset, rights_applied

    if job == "rights":
        result = dg.materialize([retention_asset(), rights_applied], resources=resources(),
                                instance=instance, raise_on_error=False)  # fmt: skip
    else:
        result = defs().resolve_job_def(job).execute_in_process(
            instance=instance, raise_on_error=False)  # fmt: skip
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return result


def _pick(hub) -> dict[str, str]:
    """Three people, each named (forename, surname, date of birth) in two feeds or more: one
    with a crime_victim record in the last month (erased, then named again there), and two
    others (restricted; rectified)."""
    with hub.connect(read_only=True) as con:
        rows = con.execute("""
            select p.person_id,
                   bool_or(r.source_feed = 'crime_victim' and r.period = '2024-06') as victim
            from spine.person_ids p join intermediate.int_person_records r using (person_record_id)
            group by 1
            having count(distinct r.source_feed) >= 2
               and count(*) filter (where r.forename is not null and r.surname is not null
                                    and r.date_of_birth is not null) >= 2
            order by 1
        """).fetchall()
    erased = next(p for p, victim in rows if victim)
    others = [p for p, victim in rows if not victim]
    return {"erased": erased, "restricted": others[0], "rectified": others[1]}


def _details(hub, person: str) -> tuple[str, str, str]:
    with hub.connect(read_only=True) as con:
        return con.execute(
            """
            select r.forename, r.surname, r.date_of_birth::varchar
            from spine.person_ids p join intermediate.int_person_records r using (person_record_id)
            where p.person_id = ? and r.date_of_birth is not null and r.forename is not null
            group by all order by count(*) desc limit 1
        """,
            [person],
        ).fetchone()


def _query_level3(root: Path, person: str) -> None:
    """A practitioner's Level 3 query, through `hub serve` on localhost, that returns `person`."""
    from dagster_project.access import tokens
    from dagster_project.access.client import Client
    from dagster_project.config import Paths

    token = tokens.issue(Paths(root).access / "tokens.json", "practitioner")
    url = f"http://127.0.0.1:{free_port()}"
    env = {**os.environ, "HUB_DATA_DIR": str(root), "HUB_SERVICE_URL": url}
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("hub")), "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = Client("practitioner", token, url)
        for _ in range(120):
            if client.healthy():
                break
            time.sleep(0.5)
        found = client.query(
            f"select person_id, surname from person_single_view where person_id = '{person}'",
            **CASE,
        )
        assert list(found["person_id"]) == [person]
    finally:
        process.terminate()
        process.wait(30)


def _names_again(hub, person_record: str, details: tuple[str, str, str]) -> str:
    """The month of crime_victim that held the erased person's record delivered again, with
    one row more naming them under a new victim reference; returns that record's key."""
    contract = hub.contract("crime_victim")
    folder, data = hub.folder("crime_victim", "2024-06"), hub.data_file("crime_victim", "2024-06")
    with open(data, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    row_number = int(person_record.split(":")[0].split("#")[1])
    again = dict(rows[row_number - 1], VICTIM_REF=NEW_REF)
    forename, surname, dob = details
    again.update(FORENAMES=forename, SURNAME=surname, DOB=pd.Timestamp(dob).strftime("%d/%m/%Y"))
    with open(data, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows([*rows, again])
    meta = yaml.safe_load((folder / "supply.yml").read_text())
    meta["records"] = len(rows) + 1
    meta["file"]["sha256"] = hashlib.sha256(data.read_bytes()).hexdigest()
    (folder / "supply.yml").write_text(yaml.safe_dump(meta, sort_keys=False))
    assert contract.key == ("CRIME_REF", "VICTIM_REF")
    return f"{again['CRIME_REF']}|{NEW_REF}"


@pytest.fixture(scope="module")
def rights(released, tmp_path_factory):
    """Every step of the story on one copy of the session's released region; each test reads
    what it needs from what the steps left (dicts of what was seen along the way)."""
    import shutil

    import dagster as dg
    from conftest import Hub

    root = tmp_path_factory.mktemp("rights") / "data"
    shutil.copytree(
        released.hub.root, root, symlinks=True, ignore=shutil.ignore_patterns("dagster", ".next")
    )
    hub = Hub(root)
    seen: dict = {"hub": hub}
    with pytest.MonkeyPatch.context() as env, dg.instance_for_test() as instance:
        env.setenv("HUB_DATA_DIR", str(hub.root))
        assert call_hub("access", "demo").returncode == 0
        people = seen["people"] = _pick(hub)
        seen["details"] = {k: _details(hub, p) for k, p in people.items()}
        with hub.connect(read_only=True) as con:
            seen["before"] = con.execute(
                "select person_id, person_record_id, source_feed, period from spine.person_ids "
                "where person_id in (select unnest(?))",
                [list(people.values())],
            ).df()
        _query_level3(hub.root, people["erased"])
        forename, surname, dob = seen["details"]["erased"]
        seen["sar"] = call_hub(
            "sar",
            "--user",
            "dpo",
            "--forename",
            forename.title(),
            "--surname",
            surname.title(),
            "--dob",
            dob,
        )
        written = Path(seen["sar"].stdout.split("Pack: ")[-1].strip()).parent
        seen["pack"] = shutil.copytree(written, tmp_path_factory.mktemp("pack") / "sar")
        seen["pack_written"] = written
        seen["refused"] = call_hub(
            "sar", "--user", "analyst", "--forename", forename, "--surname", surname, "--dob", dob
        )
        asked = [
            ("erase", "--person", people["erased"]),
            ("restrict", "--person", people["restricted"]),
            ("rectify", "--person", people["rectified"], "--field", "dob", "--value", "1999-12-31"),
        ]
        for action, *target in asked:
            done = call_hub("rights", action, "--user", "dpo", *target, "--reason", "test")
            assert done.returncode == 0, done.stderr
        _run("rights", instance)  # the register applied, as a run's first step does
        victim = (
            seen["before"]
            .query(
                "person_id == @people['erased'] and source_feed == 'crime_victim' "
                "and period == '2024-06'"
            )
            .person_record_id.iloc[0]
        )
        seen["new_key"] = _names_again(hub, victim, seen["details"]["erased"])
        seen["ingest"] = hub.ingest("crime_victim", "2024-06")
        env.setenv("HUB_RETENTION_AS_OF", LATER)
        from dagster_project.access import settings
        from dagster_project.tiers import publish

        seen["release_before"] = publish.current(hub.where.marts).name
        _run("release", instance)
        seen["kept"] = [(r.id, r.current) for r in publish.kept(hub.where.marts)]
        seen["removed"] = [e for e in settings.trail().entries(action="release")
                           if e["outcome"] == "removed"]  # fmt: skip
        seen["after"] = _state(hub, people, seen["details"])
        seen["list"] = call_hub("rights", "list", "--user", "dpo")
        seen["corrections"] = call_hub("rights", "corrections", "--user", "dpo")
        lift = call_hub(
            "rights",
            "lift",
            "--user",
            "dpo",
            "--person",
            people["restricted"],
            "--reason",
            "accuracy confirmed",
        )
        assert lift.returncode == 0, lift.stderr
        # The lift reaches the spine and every count at the next run; a conform shows it (the
        # release after it publishes from the same tables).
        _run("conform", instance)
        seen["lifted"] = _state(hub, people, seen["details"])
    return seen


def _state(hub, people: dict[str, str], details: dict) -> dict:
    """What the warehouse and the published tiers hold of the three people (counts, and the
    rectified person's dates of birth)."""
    from dagster_project.platform import keys, pseudonyms
    from dagster_project.tiers import publish
    from dagster_project.tiers.checks import attached

    with hub.connect(read_only=True) as con:
        con.execute(
            "create temp table named as select request_id, feed, record_key, record_id, "
            "person_id from ops.rights_records"
        )
        state = {
            "raw": dict(
                con.execute("""
                select r.request_id, count(*) from named r
                join ops.withheld_records w using (feed, record_key)
                group by 1""").fetchall()
            ),
            "spine_records": con.execute("""
                select count(*) from spine.person_ids p
                join named n on split_part(p.person_record_id, ':', 1) = n.record_id
                where n.request_id in ('RQ00001', 'RQ00002')""").fetchone()[0],
            "features": con.execute("""
                select count(*) from spine.person_features f
                join named n on split_part(f.unique_id, ':', 1) = n.record_id
                where n.request_id in ('RQ00001', 'RQ00002')""").fetchone()[0],
            "events": con.execute("""
                select count(*) from intermediate.int_events e
                join named n on e.record_id = n.record_id
                where n.request_id in ('RQ00001', 'RQ00002')""").fetchone()[0],
            "new_key": con.execute(
                f"select count(*) from raw.crime_victim where VICTIM_REF = '{NEW_REF}'"
            ).fetchone()[0],
            "later": con.execute(
                "select count(*) from ops.rights_records where found_by = 'later supply'"
            ).fetchone()[0],
            "ids": dict(
                con.execute(
                    "select person_id, count(*) from spine.person_ids group by 1"
                ).fetchall()
            ),
            "bus": con.execute("select count(*) from raw.bus_incidents").fetchone()[0],
            "bus_events": con.execute(
                "select count(*) from intermediate.int_events where source_feed = 'bus_incidents'"
            ).fetchone()[0],
            "register": con.execute(
                "select count(*) from ops.supply_register "
                "where feed = 'bus_incidents' and status = 'destroyed'"
            ).fetchone()[0],
        }
    with attached(publish.current(hub.where.marts)) as con:
        state["level3"] = dict(
            con.execute(
                "select person_id, count(*) from level3.main.person_timeline "
                "where person_id in (select unnest(?)) group by 1",
                [list(people.values())],
            ).fetchall()
        )
        state["level3_dob"] = [
            r[0]
            for r in con.execute(
                "select date_of_birth::varchar from level3.main.person_single_view "
                "where person_id = ?",
                [people["rectified"]],
            ).fetchall()
        ]
        secret = keys.key("pseudonym").encode()
        pseudonymous = [pseudonyms.pseudonym(p, secret) for p in people.values()]
        state["level2"] = con.execute(
            "select count(*) from level2.main.person_factors where person_key in "
            "(select unnest(?))",
            [pseudonymous],
        ).fetchone()[0]
        state["oldest"] = con.execute(
            "select oldest_month_held from level1.main.release"
        ).fetchone()[0]
        state["named_in_level3"] = con.execute(
            "select count(*) from level3.main.person_single_view where forename = ? and "
            "surname = ? and date_of_birth::varchar = ?",
            list(details["erased"]),
        ).fetchone()[0]
    return state


def test_a_subject_access_pack_lists_their_records_and_who_received_their_data(rights):
    hub, person = rights["hub"], rights["people"]["erased"]
    sar = rights["sar"]
    assert sar.returncode == 0, sar.stderr
    assert person in sar.stdout
    pack = rights["pack"]
    held = rights["before"].query("person_id == @person")
    for feed, records in held.groupby("source_feed"):
        delivered = pd.read_csv(pack / f"records_{feed}.csv", dtype=str)
        wanted = {r.split(":")[0] for r in records.person_record_id}
        assert wanted <= set(delivered["_supply_id"] + "#" + delivered["_row_number"])
    entries = pd.read_csv(pack / "audit_entries.csv", dtype=str)
    returned = entries[entries["outcome"] == "returned"]
    assert list(returned["user"]) == ["practitioner"]
    assert list(returned["case"]) == [CASE["case"]] and list(returned["organisation"]) == ["police"]
    page = (pack / "index.html").read_text()
    assert "practitioner" in page and "http" not in page  # opens offline: nothing fetched
    tiers = pd.read_csv(pack / "held_in.csv").set_index("where")["rows"]
    assert (
        tiers["Level 3 person_single_view"] == 1
        and tiers["Level 2 person_factors (by pseudonym)"] == 1
    )
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in pack.iterdir())  # as written
    written = rights["pack_written"]
    assert written.parent == hub.root / "rights" / "sar"
    assert not written.exists()  # the erasure took the pack with it
    from dagster_project.access import settings

    with pytest.MonkeyPatch.context() as env:
        env.setenv("HUB_DATA_DIR", str(hub.root))
        audited = settings.trail().entries(action="subject_access", person=person)
    assert audited and audited[-1]["user"] == "dpo"
    refused = rights["refused"]
    assert refused.returncode == 1 and "not an officer" in refused.stderr


def test_an_erased_person_is_gone_from_the_archive_the_spine_and_every_tier(rights):
    after = rights["after"]
    assert after["spine_records"] == 0 and after["features"] == 0 and after["events"] == 0
    erased, restricted = rights["people"]["erased"], rights["people"]["restricted"]
    assert erased not in after["ids"] and restricted not in after["ids"]
    assert erased not in after["level3"] and restricted not in after["level3"]
    assert after["named_in_level3"] == 0
    assert after["level2"] == 1  # only the rectified person keeps their Level 2 row
    hub = rights["hub"]
    with hub.connect(read_only=True) as con:
        archived = con.execute("""
            select count(*) from ops.rights_records n join ops.withheld_records w
            using (feed, record_key) where w.action = 'erase' and exists (
                select 1 from raw.crime_victim v where v.CRIME_REF || '|' || v.VICTIM_REF
                = n.record_key)""").fetchone()[0]
    assert archived == 0
    others = rights["before"].query("person_id not in @rights['people'].values()")
    assert others.empty or set(others.person_id) <= set(after["ids"])
    # The release published before the erasure is no longer kept (tiers/publish.py).
    ((kept, current),) = rights["kept"]
    assert current and kept != rights["release_before"]
    removed = {e["release"]: e["why"] for e in rights["removed"]}
    assert removed[rights["release_before"]] == "built before request RQ00001, RQ00002 was honoured"


def test_a_restricted_person_stays_in_the_archive_but_out_of_every_computation(rights):
    hub, person = rights["hub"], rights["people"]["restricted"]
    with hub.connect(read_only=True) as con:
        kept = con.execute("""
            select count(*) from ops.rights_records n where n.request_id = 'RQ00002'
        """).fetchone()[0]
        held = sum(
            con.execute(
                f'select count(*) from raw."{feed}" r join ops.rights_records n '
                f"on n.record_id = r._supply_id || '#' || r._row_number "
                f"where n.request_id = 'RQ00002'"
            ).fetchone()[0]
            for feed in set(rights["before"].query("person_id == @person").source_feed)
        )
    assert kept >= 2 and held >= kept  # every restricted record is still in the archive
    assert person not in rights["after"]["level3"]


def test_a_rectified_date_of_birth_reaches_level3_and_the_agencies_are_told(rights):
    assert rights["after"]["level3_dob"] == ["1999-12-31"]
    corrections = rights["corrections"].stdout.splitlines()
    assert corrections[0] == "feed,record_key,column_name,value,request_id"
    assert len(corrections) > 1 and all(line.endswith(",RQ00003") for line in corrections[1:])


def test_each_request_reports_where_it_went_and_who_had_the_data_before(rights):
    listed = rights["list"]
    assert listed.returncode == 0, listed.stderr
    erased = listed.stdout.split("RQ00002")[0]
    assert "erased from the archive: raw." in erased and "first release after it: R" in erased
    assert "spine.person_ids" in erased and "level3.person_timeline" in erased
    assert "practitioner (police)" in erased and CASE["case"] in erased


def test_rows_past_retention_are_destroyed_with_what_derives_from_them_and_audited(rights):
    import json

    after = rights["after"]
    assert after["bus"] == 0 and after["bus_events"] == 0 and after["register"] == 6
    oldest = json.loads(after["oldest"])
    assert oldest["bus_incidents"] is None and oldest["crime_victim"] == "2024-01"
    from dagster_project.access import settings

    with pytest.MonkeyPatch.context() as env:
        env.setenv("HUB_DATA_DIR", str(rights["hub"].root))
        destroyed = settings.trail().entries(action="retention")
    assert (
        destroyed and destroyed[0]["rows"]["bus_incidents"] > 0 and destroyed[0]["as_of"] == LATER
    )


def test_an_erased_person_stays_gone_when_a_supply_names_them_again(rights):
    ingest = rights["ingest"]  # their record again, and a new one that names them
    assert ingest.status == "replaced" and "rows of erased records" in ingest.sentence
    after = rights["after"]
    assert after["later"] >= 1  # the new record, recognised by the fingerprints
    assert after["new_key"] == 0  # and erased from the archive
    assert rights["people"]["erased"] not in after["level3"] and after["named_in_level3"] == 0


def test_a_lifted_restriction_brings_the_person_back(rights):
    lifted, before = rights["lifted"], rights["before"]
    person = rights["people"]["restricted"]
    records = len(before.query("person_id == @person"))
    assert lifted["spine_records"] == records  # the restricted records are linked again
    assert lifted["ids"].get(person) == records  # under the person ID they had
    assert lifted["events"] > rights["after"]["events"] == 0  # and counted again
