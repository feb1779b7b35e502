"""`hub generate`: build the synthetic region and deliver every feed, month by month."""

from __future__ import annotations

import datetime as dt
import shutil
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from dagster_project.contracts.model import Contract, load_contracts
from dagster_project.dev.synth import boundaries, faults
from dagster_project.dev.synth.errors import ErrorRates
from dagster_project.dev.synth.events import build_events, make_region, month_bounds
from dagster_project.dev.synth.gazetteer import build_gazetteer
from dagster_project.dev.synth.population import OCCUPANCY, advance, build_population
from dagster_project.dev.synth.render import render
from dagster_project.dev.synth.supply import write_supply

MARKER = ".synthetic-region"  # only folders carrying it are ever cleared by --overwrite
PEOPLE_PER_HOUSEHOLD = 2.32
LATE_SHARE = 0.1  # supplies that arrive after the contract's delivery day
MIN_POPULATION = 100


@dataclass
class Summary:
    months: list[str]
    properties: int = 0
    records: Counter = field(default_factory=Counter)
    changes: Counter = field(default_factory=Counter)
    faulty: list[tuple[str, str, str]] = field(default_factory=list)


def month_range(spec: str) -> list[str]:
    """'2024-01:2024-12' -> ['2024-01', ..., '2024-12'] (a single month is allowed)."""
    first, _, last = spec.partition(":")
    start, end = pd.Period(first, "M"), pd.Period(last or first, "M")
    if end < start:
        raise ValueError(f"month range {spec!r} ends before it starts")
    return [str(p) for p in pd.period_range(start, end, freq="M")]


def stream(seed: int, *keys: str | int) -> np.random.Generator:
    """An independent, reproducible random stream for one part of the work."""
    return np.random.default_rng([seed, *(zlib.crc32(str(k).encode()) for k in keys)])


def feed_order(contracts: dict[str, Contract]) -> list[Contract]:
    """Feeds whose rows derive from another feed come after it."""
    done: dict[str, Contract] = {}
    pending = list(contracts.values())
    while pending:
        c = pending.pop(0)
        parent = c.synthetic.get("parent")
        if parent and parent not in done:
            if parent not in contracts:
                raise ValueError(f"{c.name}: parent feed {parent!r} has no contract")
            pending.append(c)
            continue
        done[c.name] = c
    return list(done.values())


def _separate(folders: dict[str, Path]) -> None:
    """Truth must never sit inside landing (a sensor would ingest it), nor any folder in another."""
    resolved = {k: v.resolve() for k, v in folders.items()}
    for a, pa in resolved.items():
        for b, pb in resolved.items():
            if a != b and (pa == pb or pa.is_relative_to(pb)):
                raise ValueError(f"--{a} ({folders[a]}) must not be inside --{b} ({folders[b]})")


def _prepare(folder: Path, overwrite: bool) -> None:
    if folder.exists() and any(folder.iterdir()):
        if not overwrite:
            raise FileExistsError(
                f"{folder} is not empty; pass --overwrite to replace a region generated before"
            )
        if not (folder / MARKER).exists():
            raise FileExistsError(
                f"{folder} holds files not written by `hub generate`; refusing to delete them"
            )
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text("written by `hub generate`; safe to delete\n")


def generate(
    population: int,
    months: list[str],
    seed: int,
    out: Path,
    truth: Path,
    reference: Path,
    rates: ErrorRates | None = None,
    overwrite: bool = False,
    progress: bool = True,
    faulty: int = 0,
) -> Summary:
    rates = rates or ErrorRates()
    if population < MIN_POPULATION:
        raise ValueError(f"--population must be at least {MIN_POPULATION:,}, not {population:,}")
    _separate({"out": out, "truth": truth, "reference": reference})
    for folder in (out, truth, reference):
        _prepare(folder, overwrite)
    contracts = feed_order(load_contracts())
    summary = Summary(months)

    residential = int(population / PEOPLE_PER_HOUSEHOLD / OCCUPANCY * 1.08)
    gazetteer = build_gazetteer(residential, stream(seed, "gazetteer"))
    region = make_region(gazetteer, stream(seed, "region"))
    start, _ = month_bounds(months[0])
    pop = build_population(
        stream(seed, "population"),
        gazetteer.properties,
        population,
        start,
        region.deprivation,
        seed,
    )
    summary.properties = len(gazetteer.properties)
    gazetteer.properties.drop(columns="building_key").to_csv(
        reference / "gazetteer.csv", index=False
    )
    boundaries.write(gazetteer.properties, reference)  # the maps' areas: docs/gazetteer.md
    gazetteer.streets.to_csv(reference / "streets.csv", index=False)
    _population(pop, gazetteer.properties).to_csv(reference / "population.csv", index=False)

    bar = tqdm(
        total=len(months) * len(contracts), desc="hub generate", unit="supply", disable=not progress
    )
    next_seq: dict[tuple[str, str], int] = {}
    per_supply: dict[tuple[str, str], int] = {}
    for m, period in enumerate(months):
        month_start, days = month_bounds(period)
        if m:
            summary.changes.update(
                advance(stream(seed, "advance", period), pop, gazetteer.properties, m, month_start)
            )
        parents: dict[str, pd.DataFrame] = {}
        for c in contracts:
            rng = stream(seed, c.name, period)
            year = (c.name, period[:4])  # reference numbers run on through a year
            frame = build_events(rng, c, region, pop, period, parents, next_seq.get(year, 1))
            if len(frame) and "parent" not in c.synthetic:
                next_seq[year] = int(frame["seq"].max()) + 1
            parents[c.name] = frame
            rendered = render(rng, c, frame, pop, region, rates, period)
            supplied = _date_supplied(rng, c, month_start, days)
            write_supply(rendered.table, c, c.landing_dir(out, period), period, supplied)
            folder = truth / "records" / c.name
            folder.mkdir(parents=True, exist_ok=True)
            rendered.truth.to_parquet(folder / f"{period}.parquet", index=False)
            summary.records[c.name] += len(rendered.table)
            per_supply[(c.name, period)] = len(rendered.table)
            bar.update()
    bar.close()
    _write_people(pop, gazetteer.properties, truth)
    spoilt = faults.choose(stream(seed, "faults"), contracts, months, faulty, per_supply)
    for c, period, fault in spoilt:
        faults.spoil(c, c.landing_dir(out, period), period, fault)
    pd.DataFrame(
        [(c.name, p, f) for c, p, f in spoilt], columns=["feed", "period", "fault"]
    ).to_csv(truth / "faulty_supplies.csv", index=False)
    summary.faulty = [(c.name, p, f) for c, p, f in spoilt]
    return summary


def _date_supplied(rng, c: Contract, month_start, days) -> dt.date:
    """Most supplies arrive by the contract's delivery day; some arrive days or weeks late."""
    month_end = pd.Timestamp(month_start + days - 1)
    due = month_end + pd.Timedelta(days=c.delivery_day)
    if rng.random() < LATE_SHARE:
        return (due + pd.Timedelta(days=int(rng.integers(3, 30)))).date()
    return max(
        month_end + pd.Timedelta(days=1), due - pd.Timedelta(days=int(rng.integers(0, 4)))
    ).date()


def _population(pop, properties: pd.DataFrame) -> pd.DataFrame:
    """Residents of each LSOA in the first month: the stand-in for the ONS mid-year estimates
    a partnership divides by for rates per 1,000 population."""
    people = pop.person[pop.person["entered"] <= 0]
    first = pd.DataFrame(pop.residence, columns=["household", "property", "from_month"])
    first = first[first["from_month"] <= 0].drop_duplicates("household", keep="last")
    homes = people.merge(first, on="household")
    areas = properties.iloc[homes["property"].to_numpy()][["lsoa_code", "lsoa_name"]]
    counts = areas.value_counts().rename("population").reset_index()
    every = properties[["lsoa_code", "lsoa_name"]].drop_duplicates()
    out = every.merge(counts, how="left").fillna({"population": 0})
    return out.astype({"population": int}).sort_values("lsoa_code")


def _write_people(pop, properties: pd.DataFrame, truth: Path) -> None:
    people = pop.person.drop(columns=["z"]).copy()
    people["dob"] = people["dob"].astype("datetime64[s]")
    people.to_parquet(truth / "people.parquet", index=False)
    residence = pd.DataFrame(pop.residence, columns=["household", "property", "from_month"])
    residence.insert(1, "uprn", properties["uprn"].to_numpy()[residence.pop("property")])
    residence.sort_values(["household", "from_month"], kind="stable").to_parquet(
        truth / "residence.parquet", index=False
    )
