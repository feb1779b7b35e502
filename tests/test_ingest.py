"""Ingest through Dagster: real partitions of real feeds, exactly once, a blocking gate, the
sensor and schedule, and one writer at a time (test_faults: an append that survives `kill -9`)."""

from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
import subprocess
import sys
import time

import dagster as dg
import pytest
import yaml
from conftest import run_hub

from dagster_project.contracts.model import load_contracts
from dagster_project.defs.ingest.assets import asset_key, feed_asset
from dagster_project.defs.ingest.sensors import landing_sensor
from dagster_project.defs.partitions import monthly
from dagster_project.defs.resources import WarehouseResource
from dagster_project.ingest.supplies import sha256

FEED, MONTH = "crime_offence", "2024-02"


def materialize(hub, feed, month, *extra):
    resources = {"duckdb": WarehouseResource(database=str(hub.where.warehouse))}
    return dg.materialize(
        [feed_asset(hub.contract(feed)), *extra],
        partition_key=month,
        resources=resources,
        raise_on_error=False,
    )


@pytest.mark.e2e
def test_every_feed_materializes_a_real_partition(hub):
    for feed in load_contracts():
        result = materialize(hub, feed, MONTH)
        assert result.success, feed
        [check] = result.get_asset_check_evaluations()
        assert check.passed, check.description
        rows, _ = hub.archive(feed)
        meta = yaml.safe_load((hub.folder(feed, MONTH) / "supply.yml").read_text())
        assert rows == meta["records"], feed


def test_a_refused_supply_fails_the_blocking_check_and_stops_downstream(hub):
    ran = []

    @dg.asset(deps=[asset_key(hub.contract(FEED))], partitions_def=monthly())
    def downstream():
        ran.append(True)

    meta_path = hub.folder(FEED, MONTH) / "supply.yml"
    meta = yaml.safe_load(meta_path.read_text())
    meta["records"] += 1
    meta_path.write_text(yaml.safe_dump(meta))
    result = materialize(hub, FEED, MONTH, downstream)
    [check] = result.get_asset_check_evaluations()
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert "supply.yml says" in check.description and "re-run" in check.description
    assert not ran, "an asset downstream of a refused month ran"
    assert hub.archive(FEED) == (0, 0)
    # A failed partition, not a materialized one; the run's failure is the sentence, with the
    # paths relative to the data folder.
    assert not result.success and not result.get_asset_materialization_events()
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failure.step_failure_data.user_failure_data.description == check.description
    assert str(hub.where.root) not in check.description
    assert f"landing/police/{FEED}/{MONTH}/" in check.description


def test_a_missing_supply_fails_with_what_to_expect(hub):
    shutil.rmtree(hub.folder(FEED, MONTH))
    result = materialize(hub, FEED, MONTH)
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "no supply has landed" in str(failure.step_failure_data.user_failure_data.description)


def test_the_same_supply_twice_is_a_no_op(hub):
    first = hub.ingest(FEED, MONTH)
    before = hub.archive(FEED)
    again = hub.ingest(FEED, MONTH)
    assert (first.status, again.status) == ("loaded", "unchanged")
    assert hub.archive(FEED) == before
    assert hub.register(FEED)["status"].tolist() == ["loaded"]


def test_a_new_supply_for_a_loaded_month_replaces_it_and_says_so(hub):
    hub.ingest(FEED, "2024-01")
    first = hub.ingest(FEED, MONTH)
    path = hub.data_file(FEED, MONTH)
    with open(path, encoding="utf-8", newline="") as fh:
        data = list(csv.reader(fh))
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(data[:-1])  # one record withdrawn
    meta_path = hub.folder(FEED, MONTH) / "supply.yml"
    meta = yaml.safe_load(meta_path.read_text())
    meta["records"] -= 1
    meta["file"]["sha256"] = sha256(path)
    meta_path.write_text(yaml.safe_dump(meta))
    second = hub.ingest(FEED, MONTH)
    assert second.status == "replaced" and first.supply_id in second.sentence
    register = hub.register(FEED).set_index("supply_id")
    assert register.loc[first.supply_id, "status"] == "replaced"
    assert register.loc[first.supply_id, "replaced_by"] == second.supply_id
    assert register.loc[second.supply_id, "status"] == "loaded"
    with hub.connect() as con:
        per_month = dict(
            con.execute("SELECT _partition, count(*) FROM raw.crime_offence GROUP BY 1").fetchall()
        )
    assert per_month[MONTH] == second.rows == first.rows - 1
    assert per_month["2024-01"] > 0, "replacing a month touched another month"


def test_lineage_and_register(hub):
    outcome = hub.ingest(FEED, MONTH)
    with hub.connect() as con:
        lineage = con.execute(
            "SELECT DISTINCT _supply_id, _source_file, _file_sha256, _partition FROM "
            "raw.crime_offence"
        ).fetchall()
        numbers = [
            r[0]
            for r in con.execute("SELECT _row_number FROM raw.crime_offence ORDER BY 1").fetchall()
        ]
    assert lineage == [
        (
            outcome.supply_id,
            f"police/{FEED}/{MONTH}/TVP_CRIME_OFFENCES_202402.csv",
            outcome.supply_id.split("/")[-1] + lineage[0][2][12:],
            MONTH,
        )
    ]
    assert numbers == list(range(1, outcome.rows + 1))
    row = hub.register(FEED).iloc[0]
    assert row["gate"] == "passed" and row["records_read"] == outcome.rows
    assert row["due_date"].date() == dt.date(2024, 3, 7) and row["date_supplied"] is not None


@pytest.mark.e2e
def test_one_writer_at_a_time_waits_instead_of_failing(hub):
    """A second process holding the warehouse's write lock delays ingest; it never fails it."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; from dagster_project.platform import warehouse; c = warehouse.connect(); "
            "print('locked', flush=True); time.sleep(4); c.close()",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    started = time.monotonic()
    result = materialize(hub, FEED, MONTH)
    holder.wait(timeout=30)
    assert result.success and result.get_asset_check_evaluations()[0].passed
    assert time.monotonic() - started > 1, "ingest did not wait for the lock"


def test_sensor_requests_new_supplies_and_quarantines_strays(hub):
    from dagster_project.definitions import defs

    stray = hub.where.landing / "police" / FEED / "2099-01"
    shutil.copytree(hub.folder(FEED, MONTH), stray)
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, definitions=defs())
        requests = list(landing_sensor()(context))
    runs = [r for r in requests if isinstance(r, dg.RunRequest)]
    months = {(r.asset_selection[0].path[-1], r.partition_key) for r in runs}
    assert (FEED, MONTH) in months and len(runs) == 25 * 2
    assert not stray.exists()
    [quarantined] = (hub.where.quarantine / "police" / FEED / "2099-01").iterdir()
    assert "outside the months the hub holds" in (quarantined / "validation.json").read_text()

    hub.ingest(FEED, MONTH)  # processed: the sensor leaves it alone until it changes
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, definitions=defs())
        again = {
            r.asset_selection[0].path[-1] + r.partition_key
            for r in landing_sensor()(context)
            if isinstance(r, dg.RunRequest)
        }
    assert f"{FEED}{MONTH}" not in again


def test_schedule_refreshes_the_month_just_ended():
    from dagster_project.definitions import defs

    schedule = defs().resolve_schedule_def("monthly_refresh_schedule")
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(
            instance=instance, scheduled_execution_time=dt.datetime(2024, 3, 21, 6, 0)
        )
        [request] = schedule.evaluate_tick(context).run_requests
    assert request.partition_key == "2024-02"


@pytest.mark.e2e
def test_refresh_refuses_a_month_outside_the_partitions(hub):
    result = run_hub("refresh", "--month", "2099-01")
    assert result.returncode == 2 and "outside the months the hub holds" in result.stderr


@pytest.mark.e2e
def test_refresh_runs_months_through_dagster_and_records_the_runs(hub, tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "dagster_home")}
    feeds = ["--feed", FEED, "--feed", "asb"]
    result = run_hub("refresh", "--month", "2024-01:2024-02", *feeds, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2024-01: 2 passed, 0 refused, 0 failed" in result.stdout
    with dg.DagsterInstance.from_config(str(tmp_path / "dagster_home")) as instance:
        runs = instance.get_runs()
    assert len(runs) == 2 and {r.job_name for r in runs} == {"monthly_refresh"}
    # What a hub process writes is its own account's alone (docs/access.md).
    warehouse = hub.where.warehouse
    assert warehouse.stat().st_mode & 0o777 == 0o600
    assert warehouse.parent.stat().st_mode & 0o777 == 0o700


@pytest.mark.e2e
def test_the_generators_faulty_supplies_are_refused_and_the_rest_load(tmp_path):
    from functools import partial

    from conftest import make_region

    from dagster_project.config import Paths
    from dagster_project.ingest.archive import connection
    from dagster_project.ingest.load import ingest

    region = make_region(tmp_path, 2_000, "2024-01:2024-02", seed=9, faulty=4)
    where = Paths(tmp_path)
    connect = partial(connection, where.warehouse)

    outcomes = {
        (c.name, m): ingest(c, m, connect, where)
        for c in load_contracts().values()
        for m in region.summary.months
    }
    faulty = {(feed, period): fault for feed, period, fault in region.summary.faulty}
    assert sorted(faulty.values()) == sorted(
        ["record_count", "renamed_column", "date_format", "duplicate_reference"]
    )
    refused = {k for k, o in outcomes.items() if o.status == "quarantined"}
    assert refused == set(faulty)
    expected = {
        "record_count": "supply.yml says",
        "renamed_column": "the columns differ",
        "date_format": "holds dates written",
        "duplicate_reference": "identif",
    }
    for key, fault in faulty.items():
        assert expected[fault] in outcomes[key].sentence, outcomes[key].sentence


def _miscount(hub, feed, month):
    meta_path = hub.folder(feed, month) / "supply.yml"
    meta = yaml.safe_load(meta_path.read_text())
    meta["records"] += 2
    meta_path.write_text(yaml.safe_dump(meta))


@pytest.mark.e2e
def test_refresh_reports_refusals_and_fails_only_when_strict(hub, tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "dagster_home")}
    _miscount(hub, "asb", MONTH)
    strict = run_hub("refresh", "--month", MONTH, "--feed", "asb", "--strict", env=env)
    assert strict.returncode == 1
    assert "0 passed, 1 refused, 0 failed" in strict.stdout
    assert "asb 2024-02 refused: the file holds" in strict.stdout
    assert "Traceback" not in strict.stdout + strict.stderr

    _miscount(hub, FEED, MONTH)
    lenient = run_hub("refresh", "--month", MONTH, "--feed", FEED, "--feed", "incidents", env=env)
    assert lenient.returncode == 0, lenient.stdout + lenient.stderr
    assert "1 passed, 1 refused, 0 failed" in lenient.stdout


def test_a_supply_replaced_while_it_is_read_is_read_again(hub, monkeypatch):
    """The sensor must not record a supply as seen if it changed during ingest."""
    from dagster_project.ingest import supplies
    from dagster_project.ingest.load import seen, signature

    real = supplies.read_data

    def slow_then_replaced(contract, path, warnings=None):
        frame = real(contract, path, warnings)
        path.write_bytes(path.read_bytes() + b"")  # touched: a re-delivery lands meanwhile
        return frame

    monkeypatch.setattr(supplies, "read_data", slow_then_replaced)
    outcome = hub.ingest(FEED, MONTH)
    assert outcome.status == "changing" and not outcome.passed
    contract = hub.contract(FEED)
    assert not seen(hub.where, contract, MONTH, signature(hub.folder(FEED, MONTH)))
    assert hub.archive(FEED) == (0, 0)


def test_a_run_that_finds_its_supply_already_loaded_does_nothing(hub):
    """Two runs of one supply (a CLI refresh beside a sensor run): the second sees the first's
    commit inside its own transaction and changes nothing."""
    from dagster_project.ingest import archive
    from dagster_project.ingest.supplies import open_supply

    first = hub.ingest(FEED, MONTH)
    before = hub.archive(FEED), hub.register(FEED)["status"].tolist()
    supply = open_supply(hub.contract(FEED), hub.folder(FEED, MONTH), MONTH)
    with hub.connect() as con:
        rows, replaced = archive.replace_month(con, supply, {"processed_at": archive.now()})
    assert (rows, replaced) == (0, first.supply_id)
    assert (hub.archive(FEED), hub.register(FEED)["status"].tolist()) == before


def test_a_new_warehouse_forgets_what_the_sensor_saw(hub):
    from dagster_project.ingest.load import seen, signature

    hub.ingest(FEED, MONTH)
    sig = signature(hub.folder(FEED, MONTH))
    assert seen(hub.where, hub.contract(FEED), MONTH, sig)
    hub.where.warehouse.unlink()
    hub.ingest("asb", MONTH)  # the first ingest into the new warehouse
    assert not seen(hub.where, hub.contract(FEED), MONTH, sig)


def test_the_sensor_retries_a_failed_run_a_few_times_then_leaves_it_to_a_person(hub):
    from dagster_project.definitions import defs
    from dagster_project.defs.ingest.sensors import MAX_TRIES, SUPPLY_TAG

    with dg.instance_for_test() as instance:
        for attempt in range(1, MAX_TRIES + 2):
            context = dg.build_sensor_context(instance=instance, definitions=defs())
            runs = [
                r
                for r in landing_sensor()(context)
                if isinstance(r, dg.RunRequest)
                and r.asset_selection[0].path[-1] == FEED
                and r.partition_key[:7] == MONTH
            ]
            if attempt > MAX_TRIES:
                assert not runs, "a supply whose runs keep failing is requested for ever"
                break
            [run] = runs
            assert run.run_key.endswith(f"#{attempt}")
            failed = instance.create_run_for_job(
                defs().resolve_job_def("monthly_refresh"),
                run_config={},
                tags={SUPPLY_TAG: run.tags[SUPPLY_TAG]},
                status=dg.DagsterRunStatus.FAILURE,
            )
            assert failed.status == dg.DagsterRunStatus.FAILURE


@pytest.mark.e2e
def test_every_supply_of_the_generated_region_passes_its_gate(region):
    """Clean synthetic supplies (default error rates, no faults) meet every expectation."""
    from dagster_project.ingest import gate
    from dagster_project.ingest.supplies import open_supply

    refused = []
    for c in load_contracts().values():
        for month in region.summary.months:
            result = gate.validate(open_supply(c, c.landing_dir(region.landing, month), month))
            if not result.success:
                refused.append(f"{c.name} {month}: {result.summary()}")
    assert not refused


def test_conform_and_release_follow_new_supplies_once_refreshes_have_finished(hub):
    """Declarative automation: nothing runs before a supply is appended; then the feed's staging
    model, the spines and the release are requested together, once. (That nothing starts while
    a refresh is still writing is Dagster's own `any_deps_in_progress`.)"""
    from dagster_project.codegen.dbt_files import model_name
    from dagster_project.definitions import defs
    from dagster_project.defs.spine.people import IDS
    from dagster_project.defs.tiers.assets import PUBLISHED

    staging = dg.AssetKey(["staging", model_name(hub.contract(FEED))])
    follows = (staging, IDS, PUBLISHED)
    definitions = defs()
    with dg.instance_for_test() as instance:

        def tick(cursor=None):
            result = dg.evaluate_automation_conditions(
                defs=definitions, instance=instance, cursor=cursor
            )
            return {k: result.get_num_requested(k) for k in follows}, result.cursor

        requested, cursor = tick()
        assert requested == dict.fromkeys(follows, 0)  # nothing in the archive yet
        resources = {"duckdb": WarehouseResource(database=str(hub.where.warehouse))}
        feed = feed_asset(hub.contract(FEED))
        dg.materialize([feed], partition_key=MONTH, resources=resources, instance=instance)
        requested, cursor = tick(cursor)
        assert requested == dict.fromkeys(follows, 1)
        requested, cursor = tick(cursor)
        assert requested == dict.fromkeys(follows, 0)  # conformed already
        # The same supply again: a no-op, which neither sets off conform nor replaces the
        # month's metadata with that of a run that loaded nothing.
        dg.materialize([feed], partition_key=MONTH, resources=resources, instance=instance)
        requested, cursor = tick(cursor)
        assert requested == dict.fromkeys(follows, 0)
        [latest] = instance.get_latest_materialization_events([feed.key]).values()
        assert latest.asset_materialization.metadata["status"].value == "loaded"


def test_a_month_outside_partitions_found_not_configured_waits_in_landing(hub):
    from dagster_project.ingest.landing import scan

    early = hub.where.landing / "police" / FEED / "2019-01"  # a backlog, before the first month
    shutil.copytree(hub.folder(FEED, MONTH), early)
    pending, strays, waiting = scan(hub.where, {"2024-01", MONTH}, refuse_outside=False)
    assert not strays and early.is_dir()
    assert [w for w in waiting if f"police/{FEED}/2019-01" in w and "reloaded" in w]
    assert (FEED, MONTH) in {(p.contract.name, p.period) for p in pending}


def test_a_supply_still_being_copied_waits_and_is_never_quarantined(hub, monkeypatch):
    """A data file half copied into landing: its checksum cannot agree yet, but it is not a
    bad supply; it is read once every file of the month has been still for the quiet period."""
    from dagster_project.ingest.landing import scan

    path = hub.data_file(FEED, MONTH)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    monkeypatch.setenv("HUB_QUIET_SECONDS", "3600")

    outcome = hub.ingest(FEED, MONTH)
    assert outcome.status == "changing" and not outcome.passed, outcome.sentence
    assert "waiting" in outcome.sentence and path.name in outcome.sentence
    assert "HUB_QUIET_SECONDS" in outcome.sentence
    assert path.exists() and not hub.where.quarantine.exists()
    assert hub.register(FEED).empty
    pending, _, waiting = scan(hub.where, {MONTH})
    assert (FEED, MONTH) not in {(p.contract.name, p.period) for p in pending}
    assert [w for w in waiting if f"police/{FEED}/{MONTH}" in w and "waiting" in w], waiting

    path.write_bytes(whole)  # the copy ends; a quiet period later the supply is read
    monkeypatch.setenv("HUB_QUIET_SECONDS", "1")
    time.sleep(1.1)
    assert hub.ingest(FEED, MONTH).status == "loaded"
