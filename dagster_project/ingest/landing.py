"""Watching `landing/`: which supplies are new or replaced, and which folders are not months
the hub holds (the sensor quarantines those at once, with the reason)."""

from dataclasses import dataclass
from pathlib import Path

from dagster_project.config import Paths
from dagster_project.contracts.model import Contract, load_contracts
from dagster_project.ingest.load import seen, signature
from dagster_project.ingest.supplies import MONTH


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
