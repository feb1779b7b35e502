"""Which process is working a Dagster run, and whether it still is. A run whose process was
killed (kill -9, a reboot, the out-of-memory killer) stays STARTED in Dagster's storage for
ever, and with one run at a time (dagster.yaml) nothing queued behind it would start again.
Dagster's own launcher cannot tell that its run worker died, so every hub run records its
process in a tag; the run monitor (`HubRunLauncher`, and `hub refresh` before it starts) marks
a run failed once that process is gone.

A process is named by its host, its pid and when it started: a pid reused by a later process
is not mistaken for the run's."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

from dagster import DefaultRunLauncher
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus  # not exported by dagster

WORKER_TAG = "hub/worker"  # host/pid/start: the process running the run


@dataclass(frozen=True)
class Worker:
    host: str
    pid: int
    start: str  # the kernel's start time of the process, empty where there is no /proc

    def __str__(self) -> str:
        return f"{self.host}/{self.pid}/{self.start}"

    @classmethod
    def parse(cls, tag: str) -> Worker | None:
        try:
            host, pid, start = tag.rsplit("/", 2)
            return cls(host, int(pid), start)
        except ValueError:
            return None


def _start_time(pid: int) -> str | None:
    """Field 22 of /proc/<pid>/stat (clock ticks after boot); "" without /proc; None when the
    process does not exist or has finished (a zombie)."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass  # another account's process: it exists
        return ""
    try:
        stat = (proc / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in brackets and may hold spaces: count from after it.
    fields = stat[stat.rindex(")") + 2 :].split()
    return None if fields[0] == "Z" else fields[19]


def this_process() -> Worker:
    return Worker(socket.gethostname(), os.getpid(), _start_time(os.getpid()) or "")


def gone(worker: Worker) -> bool:
    """Whether the process has certainly ended. On another host it cannot be told: not gone."""
    if worker.host != socket.gethostname():
        return False
    start = _start_time(worker.pid)
    return start is None or (bool(worker.start) and start != worker.start)


def abandoned_reason(tags: dict[str, str]) -> str | None:
    """Why a run with these tags, still marked in progress, can never finish; None if it may."""
    worker = Worker.parse(tags.get(WORKER_TAG, ""))
    if worker is None or not gone(worker):
        return None
    return (
        f"the process running it (pid {worker.pid} on {worker.host}) ended without finishing "
        "(killed, or the machine stopped); marked failed so the runs queued behind it can "
        "start. What it wrote is whole or not there at all: re-run it"
    )


def heal(instance) -> list[str]:
    """Mark failed every in-progress run whose process is gone; one line for each."""
    import dagster as dg

    in_progress = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
    lines = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=in_progress)):
        reason = abandoned_reason(run.tags)
        if reason:
            instance.report_run_failed(run, f"Run {run.run_id[:8]}: {reason}.")
            lines.append(f"run {run.run_id[:8]} ({run.job_name}): {reason}")
    return lines


def claim(instance, run) -> None:
    """Record this process as the run's (a run launched by the daemon learns its worker here;
    `hub` runs are tagged before they start)."""
    if WORKER_TAG not in run.tags:
        instance.add_run_tags(run.run_id, {WORKER_TAG: str(this_process())})


class HubRunLauncher(DefaultRunLauncher):
    """Dagster's default launcher, able to say when a run's process has died: with
    `run_monitoring` on (dagster.yaml), the daemon's run monitor then marks the run failed."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run) -> CheckRunHealthResult:
        reason = abandoned_reason(run.tags)
        if reason:
            return CheckRunHealthResult(WorkerStatus.FAILED, reason)
        return CheckRunHealthResult(WorkerStatus.RUNNING)
