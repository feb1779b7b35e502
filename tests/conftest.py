"""Shared fixtures: small synthetic regions generated once per test session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from dagster_project.synth.errors import ErrorRates
from dagster_project.synth.region import Summary, generate, month_range


@dataclass
class Region:
    root: Path
    summary: Summary
    rates: ErrorRates

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def truth(self) -> Path:
        return self.root / "truth"

    @property
    def reference(self) -> Path:
        return self.root / "reference"

    def people(self) -> pd.DataFrame:
        return pd.read_parquet(self.truth / "people.parquet")

    def gazetteer(self) -> pd.DataFrame:
        return pd.read_csv(self.reference / "gazetteer.csv", dtype={"building_number": str})

    def truth_records(self, feed: str | None = None) -> pd.DataFrame:
        pattern = f"{feed}/*.parquet" if feed else "*/*.parquet"
        files = sorted((self.truth / "records").glob(pattern))
        return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def make_region(
    root: Path, population: int, months: str, seed: int, rates: ErrorRates | None = None
) -> Region:
    rates = rates or ErrorRates()
    summary = generate(
        population=population,
        months=month_range(months),
        seed=seed,
        out=root / "landing",
        truth=root / "truth",
        reference=root / "reference",
        rates=rates,
        progress=False,
    )
    return Region(root, summary, rates)


@pytest.fixture(scope="session")
def region(tmp_path_factory) -> Region:
    """The default error rates, on a region big enough for people to recur across agencies."""
    return make_region(tmp_path_factory.mktemp("region"), 20_000, "2024-01:2024-06", seed=7)


@pytest.fixture(scope="session")
def noisy_region(tmp_path_factory) -> Region:
    """Every error at a high rate, so observed rates can be compared with configured ones."""
    rates = ErrorRates(**{name: 0.2 for name in ErrorRates.__dataclass_fields__})
    return make_region(
        tmp_path_factory.mktemp("noisy"), 40_000, "2024-01:2024-06", seed=11, rates=rates
    )
