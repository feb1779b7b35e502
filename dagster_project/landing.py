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
from .quarantine import quarantine
from .supplies import MONTH


@dataclass
class Pending:
    contract: Contract
    period: str
    folder: Path

    @property
    def run_key(self) -> str:
        sig = "|".join(f"{name}:{size}:{mtime}" for name, size, mtime in signature(self.folder))
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
            elif any(folder.iterdir()) and not seen(where, c, name, folder):
                pending.append(Pending(c, name, folder))
    return pending, strays


def _evaluate(context: dg.SensorEvaluationContext):
    where = paths()
    months = {k[:7] for k in monthly().get_partition_keys()}
    pending, strays = scan(where, months)
    for contract, folder, reason in strays:
        dest = quarantine(
            folder,
            where.quarantine,
            contract,
            folder.name,
            reason,
            "deliver it again in a folder named for the month it covers",
            now(),
        )
        context.log.error(f"{reason}; moved to {dest}")
    for p in pending:
        yield dg.RunRequest(
            run_key=p.run_key,
            partition_key=f"{p.period}-01",
            asset_selection=[asset_key(p.contract)],
        )
    if not pending:
        yield dg.SkipReason("no new or replaced supplies in landing")


@functools.cache
def landing_sensor() -> dg.SensorDefinition:
    return dg.SensorDefinition(
        name="landing_sensor", evaluation_fn=_evaluate, job=refresh_job(),
        minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
        description="Requests a run of a feed's month when a new or replaced supply lands; "
                    "quarantines folders that are not months the hub holds.")  # fmt: skip
