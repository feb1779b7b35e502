"""A run whose process is killed does not hold the queue for ever: the run monitor of
`make dev`'s daemon (and `hub refresh`, before it starts) marks it failed, and the runs behind
it go through (platform/runs.py)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from conftest import run_hub
from servers import Dagster

from dagster_project.platform import runs

FEED = "crime_offence"


def test_a_worker_is_named_by_its_process_and_a_reused_pid_is_not_mistaken():
    me = runs.this_process()
    assert runs.Worker.parse(str(me)) == me and not runs.gone(me)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    worker = runs.Worker(me.host, child.pid, runs._start_time(child.pid))
    assert not runs.gone(worker)
    # The same pid started at another moment is another process: the run's has gone.
    assert runs.gone(runs.Worker(me.host, child.pid, str(int(worker.start) + 1)))
    child.kill()
    child.wait()
    assert runs.gone(worker)
    assert not runs.gone(runs.Worker("another-host", child.pid, worker.start))  # cannot tell
    assert runs.Worker.parse("") is None and runs.Worker.parse("host/pid/x") is None
    assert runs.abandoned_reason({}) is None


def _one_feed(hub) -> dict:
    """The hub's landing cut to one feed's two months, and DAGSTER_HOME a folder of its own,
    its storage made before any process polls it (two processes making it at once would both
    stamp its schema)."""
    for folder in hub.where.landing.glob("*/*/"):
        if folder.name != FEED:
            shutil.rmtree(folder)
    home = hub.root.parent / "dagster_home"
    home.mkdir()
    shutil.copyfile(Path(runs.__file__).parents[1] / "dagster.yaml", home / "dagster.yaml")
    dg.DagsterInstance.from_config(str(home)).dispose()
    return {**os.environ, "DAGSTER_HOME": str(home)}


def _killed_refresh(env: dict) -> str:
    """`hub refresh` killed (SIGKILL) while its run is under way, waiting for the warehouse
    that another process holds: the id of the run it left."""
    exe = Path(sys.executable).with_name("hub")
    home = Path(env["DAGSTER_HOME"])
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from dagster_project.platform import warehouse; "
         "c = warehouse.connect(); print('locked', flush=True); sys.stdin.read()"],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout.readline().strip() == "locked"
    process = subprocess.Popen(
        [str(exe), "refresh", "--month", "2024-01", "--feed", FEED], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and process.poll() is None:
            with dg.DagsterInstance.from_config(str(home)) as instance:
                started = instance.get_runs(
                    filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])
                )
            if started:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                return started[0].run_id
            time.sleep(0.5)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        holder.communicate("")  # the warehouse is free again
    raise AssertionError(f"hub refresh never started a run (exit {process.poll()})")


def _run(home: str, run_id: str) -> dg.DagsterRun:
    with dg.DagsterInstance.from_config(home) as instance:
        return instance.get_run_by_id(run_id)


def test_hub_refresh_marks_a_killed_refresh_failed_and_goes_on(hub):
    env = _one_feed(hub)
    left = _killed_refresh(env)
    assert _run(env["DAGSTER_HOME"], left).status == dg.DagsterRunStatus.STARTED
    again = run_hub("refresh", "--month", "2024-01", "--feed", FEED, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"Marked failed: run {left[:8]}" in again.stdout
    assert "ended without finishing" in again.stdout
    assert "2024-01: 1 passed" in again.stdout
    assert _run(env["DAGSTER_HOME"], left).status == dg.DagsterRunStatus.FAILURE


@pytest.mark.e2e
def test_the_daemon_fails_a_killed_refresh_and_the_sensors_runs_go_through(hub, tmp_path):
    env = _one_feed(hub)
    left = _killed_refresh(env)
    home = env["DAGSTER_HOME"]
    assert _run(home, left).status == dg.DagsterRunStatus.STARTED
    dagster = Dagster(env, tmp_path / "dagster_dev.log")
    try:
        # The landing sensor asks for both months; one run at a time, so they wait for the
        # killed run until the run monitor (every 30 s) has marked it failed.
        deadline = time.monotonic() + 420
        while time.monotonic() < deadline:
            done = [r for r in dagster.runs() if r["status"] == "SUCCESS"
                    and any(t["key"] == "hub/supply" for t in r["tags"])]  # fmt: skip
            if len(done) == 2:
                break
            time.sleep(5)
        log = (tmp_path / "dagster_dev.log").read_text()
        assert len(done) == 2, f"the sensor's runs did not go through: {log[-3000:]}"
    finally:
        dagster.stop()
    assert _run(home, left).status == dg.DagsterRunStatus.FAILURE
    with dg.DagsterInstance.from_config(home) as instance:
        failure = instance.all_logs(left, of_type=dg.DagsterEventType.RUN_FAILURE)
    assert "ended without finishing" in failure[-1].message
