"""Faulty supplies, as agencies sometimes send them: the gate must refuse each. `hub generate
--faulty N` spoils N supplies after they are written, one fault each, and lists them in
`truth/faulty_supplies.csv`."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from dagster_project.contracts.model import Contract
from dagster_project.ingest.supplies import sha256

FAULTS = ("record_count", "renamed_column", "date_format", "duplicate_reference")


def _read(path: Path, contract: Contract) -> tuple[list[list[str]], str]:
    raw = path.read_bytes().decode(contract.file.encoding)
    newline = "\r\n" if "\r\n" in raw else "\n"
    return list(
        csv.reader(io.StringIO(raw, newline=""), delimiter=contract.file.delimiter)
    ), newline


def _write(path: Path, contract: Contract, rows: list[list[str]], newline: str) -> None:
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=contract.file.delimiter, lineterminator=newline).writerows(rows)
    path.write_bytes(out.getvalue().encode(contract.file.encoding))


def spoil(contract: Contract, folder: Path, period: str, fault: str) -> None:
    meta_path = folder / "supply.yml"
    meta = yaml.safe_load(meta_path.read_text(encoding="utf-8"))
    path = folder / meta["file"]["name"]
    rows, newline = _read(path, contract)
    header = rows[0]
    if fault == "record_count":  # the count typed into the metadata by hand, wrongly
        meta["records"] += 2
    elif fault == "renamed_column":  # a new export tool names a column its own way
        i = header.index(next(f.name for f in contract.fields if f.name not in contract.key))
        renamed = header[i].replace("_", "").replace(" ", "").lower()
        header[i] = renamed if renamed != header[i] else f"{header[i]}_NEW"
    elif fault == "date_format":  # some rows written by another system, dates in ISO
        field = next(f for f in contract.fields if f.concept == "event.date")
        i, fmt = header.index(field.name), field.format or contract.file.date_format
        other = "%d/%m/%Y" if fmt == "%Y-%m-%d" else "%Y-%m-%d"
        for row in rows[1::5]:
            if row[i]:
                row[i] = pd.to_datetime(row[i], format=fmt).strftime(other)
    elif fault == "duplicate_reference":  # two different records under one reference
        for name in contract.key:
            i = header.index(name)
            rows[2][i] = rows[1][i]
    else:
        raise ValueError(f"unknown fault {fault!r}")
    _write(path, contract, rows, newline)
    meta["file"]["sha256"] = sha256(path)
    meta_path.write_text(
        yaml.safe_dump(meta, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )


def choose(
    rng: np.random.Generator,
    contracts: list[Contract],
    months: list[str],
    n: int,
    records: dict[tuple[str, str], int],
) -> list[tuple[Contract, str, str]]:
    """N distinct CSV supplies with at least three records, one fault each in turn."""
    candidates = [
        (c, m)
        for c in contracts
        for m in months
        if c.file.format == "csv"
        and records.get((c.name, m), 0) >= 3
        and any(f.concept == "event.date" for f in c.fields)
    ]
    picks = rng.choice(len(candidates), size=min(n, len(candidates)), replace=False)
    return [(*candidates[i], FAULTS[k % len(FAULTS)]) for k, i in enumerate(sorted(picks))]
