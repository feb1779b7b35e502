"""Watching `landing/`: which supplies are new or replaced, and which folders are not months
the hub holds (those are quarantined at once, with the reason)."""

import functools
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from .archive import now
from .config import Paths, paths
from .contracts import Contract, load_contracts
from .feeds_assets import asset_key, monthly, refresh_job
from .ingest import seen, signature
from .quarantine import destination, quarantine
from .supplies import MONTH

SUPPLY_TAG = "hub/supply"
MAX_TRIES = 3  # runs that fail (not refusals: those move the supply away) are retried this often


@dataclass
class Pending:
    contract: Contract
    period: str
    signature: list

    @property
    def key(self) -> str:
        sig = "|".join(f"{name}:{size}:{mtime}" for name, size, mtime in self.signature)
        return f"{self.contract.name}|{self.period}|{sig}"


def scan(where: Paths, months: set[str]) -> tuple[list[Pending], list[tuple[Contract, Path, str]]]:
    """Supplies waiting to be processed, and folders that cannot be a supply (with why)."""
    pending, strays = [], []
    for c in load_contracts().values():
        feed_dir = where.landing / c.agency / c.name
        if not feed_dir.is_dir():
            continue
        for folder in sorted(p for p in feed_dir.iterdir() if p.is_dir()):
            name = folder.name
            if not MONTH.match(name):
                strays.append((c, folder, f"{folder}: {name!r} is not a month (YYYY-MM)"))
            elif name not in months:
                first, last = min(months), max(months)
                strays.append(
                    (
                        c,
                        folder,
                        f"{folder}: {name} is outside the months the hub holds ({first} to {last})",
                    )
                )
            elif (sig := signature(folder)) and not seen(where, c, name, sig):
                pending.append(Pending(c, name, sig))
    return pending, strays


def _attempts(instance: dg.DagsterInstance, key: str) -> tuple[int, bool]:
    """Runs already requested for a supply, and whether one is still queued or running or
    has succeeded (then there is nothing to ask for)."""
    runs = instance.get_runs(filters=dg.RunsFilter(tags={SUPPLY_TAG: key}))
    live = {
        dg.DagsterRunStatus.QUEUED,
        dg.DagsterRunStatus.NOT_STARTED,
        dg.DagsterRunStatus.STARTING,
        dg.DagsterRunStatus.STARTED,
        dg.DagsterRunStatus.SUCCESS,
    }
    return len(runs), any(r.status in live for r in runs)


def _evaluate(context: dg.SensorEvaluationContext):
    where = paths()
    months = {k[:7] for k in monthly().get_partition_keys()}
    pending, strays = scan(where, months)
    for contract, folder, reason in strays:
        dest = destination(where.quarantine, contract, folder.name, now())
        quarantine(
            folder,
            dest,
            contract,
            folder.name,
            reason,
            "deliver it again in a folder named for the month it covers",
            now(),
        )
        context.log.error(f"{reason}; moved to {dest}")
    requested = 0
    for p in pending:
        tries, live = _attempts(context.instance, p.key)
        if live or tries >= MAX_TRIES:  # in hand, or failing: a person must look at the run
            continue
        requested += 1
        yield dg.RunRequest(
            run_key=f"{p.key}#{tries + 1}",
            partition_key=f"{p.period}-01",
            asset_selection=[asset_key(p.contract)],
            tags={SUPPLY_TAG: p.key},
        )
    if not requested:
        yield dg.SkipReason("no new or replaced supplies in landing")


@functools.cache
def landing_sensor() -> dg.SensorDefinition:
    return dg.SensorDefinition(
        name="landing_sensor", evaluation_fn=_evaluate, job=refresh_job(),
        minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
        description="Requests a run of a feed's month when a new or replaced supply lands; "
                    "quarantines folders that are not months the hub holds.")  # fmt: skip
