"""Where the hub keeps its data: one place, read from the environment, for every stage."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Paths:
    root: Path

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def reference(self) -> Path:
        return self.root / "reference"

    @property
    def truth(self) -> Path:
        return self.root / "truth"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse" / "hub.duckdb"

    @property
    def marts(self) -> Path:
        return self.root / "marts"


def paths() -> Paths:
    """HUB_DATA_DIR, or ./data when unset."""
    return Paths(Path(os.environ.get("HUB_DATA_DIR", "data")))
