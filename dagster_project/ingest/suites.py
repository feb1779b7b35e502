"""Expectation suites at run time: one Great Expectations suite per feed, in
`expectations/<feed>.json`, read by the gate with the parameters of each supply.

Values only known per supply are suite parameters: `records` (from supply.yml),
`in_period_<column>` (a pattern matching dates of the supply's month in that column's format)
and `earliest_<column>` and `latest_<column>` (a date column's plausible bounds, as dates).
Expectations whose `meta.frame` is `dates` see each date column as dates, not text (so that
dates can be compared); the others see the supply as delivered.
`hub suites` writes the baseline (dagster_project/codegen/suites.py).
"""

from __future__ import annotations

import calendar
import json
import re
from pathlib import Path

import pandas as pd

from dagster_project.config import suites_dir
from dagster_project.contracts.model import MONTH_END, Contract, plausible

XLSX_DATE_FORMAT = "%Y-%m-%d"  # the reader writes date cells of a workbook as ISO dates


def date_format(contract: Contract, field) -> str:
    if contract.file.format == "xlsx":
        return XLSX_DATE_FORMAT
    return field.format or contract.file.date_format


def period_pattern(fmt: str, period: str) -> str:
    """A regex matching exactly the dates of one month written in a strftime format."""
    year, month = period.split("-")
    tokens = {
        "%d": r"(?:0[1-9]|[12][0-9]|3[01])", "%m": month, "%Y": year, "%y": year[2:],
        "%b": f"(?i:{calendar.month_abbr[int(month)]})",
        "%B": f"(?i:{calendar.month_name[int(month)]})",
    }  # fmt: skip
    out, i = "", 0
    while i < len(fmt):
        token = fmt[i : i + 2]
        if token in tokens:
            out += tokens[token]
            i += 2
        elif fmt[i] == "%":
            raise ValueError(f"date format {fmt!r}: {token} is not supported in an event date")
        else:
            out += re.escape(fmt[i])
            i += 1
    return f"^{out}$"


def parameter(prefix: str, column: str) -> str:
    """Suite parameter names are identifiers: 'Date Reported' -> <prefix>_date_reported."""
    return f"{prefix}_" + re.sub(r"\W+", "_", column).strip("_").lower()


def period_parameter(column: str) -> str:
    return parameter("in_period", column)


def window(contract: Contract, field) -> tuple[str | None, str | None]:
    """A date column's bounds that are dates (not other columns), as the contract says."""
    dates = {f.name for f in contract.fields if f.type == "date"}
    return tuple(b if b not in dates else None for b in plausible(contract, field))


def _day(bound: str | None, period: str):
    if bound is None:
        return None
    return (
        pd.Period(period, "M").end_time.normalize() if bound == MONTH_END else pd.Timestamp(bound)
    )


def parameters(contract: Contract, period: str, records: int) -> dict:
    """The suite parameters of one supply."""
    params: dict = {"records": records}
    for f in contract.fields:
        if f.concept == "event.date":
            params[period_parameter(f.name)] = period_pattern(date_format(contract, f), period)
        earliest, latest = window(contract, f)
        if earliest or latest:
            params[parameter("earliest", f.name)] = _day(earliest, period)
            params[parameter("latest", f.name)] = _day(latest, period)
    return params


def as_dates(frame: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """The supply with each date column read as dates (a value that is not one, blank: the
    `dates` rule refuses it)."""
    parsed = {
        f.name: pd.to_datetime(frame[f.name], format=date_format(contract, f), errors="coerce")
        for f in contract.fields
        if f.type == "date" and f.name in frame.columns
    }
    return frame.assign(**parsed)


def path_for(feed: str, directory: Path | None = None) -> Path:
    return (directory or suites_dir()) / f"{feed}.json"


def load(feed: str, directory: Path | None = None) -> dict:
    path = path_for(feed, directory)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise FileNotFoundError(f"{path}: no expectation suite for {feed}; run `hub suites`") from e
