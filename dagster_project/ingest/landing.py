"""Watching `landing/`: which supplies are new or replaced, and which folders are not months
the hub holds (the sensor quarantines those at once, with the reason)."""

from dataclasses import dataclass
from pathlib import Path

from dagster_project.config import MONTH, Paths
from dagster_project.contracts.model import Contract, load_contracts
from dagster_project.ingest.load import arriving, seen, signature


@dataclass
class Pending:
    contract: Contract
    period: str
    signature: list

    @property
    def key(self) -> str:
        sig = "|".join(f"{name}:{size}:{mtime}" for name, size, mtime in self.signature)
        return f"{self.contract.name}|{self.period}|{sig}"


def scan(
    where: Paths, months: set[str], refuse_outside: bool = True
) -> tuple[list[Pending], list[tuple[Contract, Path, str]], list[str]]:
    """Supplies waiting to be processed, folders that cannot be a supply (with why), and
    what is left in landing for now: supplies still arriving, and months outside `months`
    when those were not configured (`refuse_outside` false: a month delivered before the
    first the code location loaded is a real supply, held until the code location is
    reloaded)."""
    pending, strays, waiting = [], [], []
    for c in load_contracts().values():
        feed_dir = where.landing / c.agency / c.name
        if not feed_dir.is_dir():
            continue
        for folder in sorted(p for p in feed_dir.iterdir() if p.is_dir()):
            name, shown = folder.name, where.shown(str(folder))
            if not MONTH.match(name):
                strays.append((c, folder, f"{shown}: {name!r} is not a month (YYYY-MM)"))
            elif name not in months:
                held = f"{min(months)} to {max(months)}" if months else "none yet"
                why = f"{shown}: {name} is outside the months the hub holds ({held}; HUB_MONTHS)"
                if refuse_outside:
                    strays.append((c, folder, why))
                else:
                    waiting.append(f"{why}: left in landing until the code location is reloaded")
            elif (sig := signature(folder)) and not seen(where, c, name, sig):
                if why := arriving(folder):  # asked for again at the next tick
                    waiting.append(f"{shown}: waiting: {why}")
                else:
                    pending.append(Pending(c, name, sig))
    return pending, strays, waiting
