"""Expectation suites at run time: one Great Expectations suite per feed, in
`expectations/<feed>.json`, read by the gate with the parameters of each supply.

Values only known per supply are suite parameters: `records` (from supply.yml) and
`in_period_<column>` (a pattern matching dates of the supply's month in that column's format).
`hub suites` writes the baseline (dagster_project/codegen/suites.py).
"""

from __future__ import annotations

import calendar
import json
import re
from pathlib import Path

from dagster_project.config import suites_dir
from dagster_project.contracts.model import Contract

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


def period_parameter(column: str) -> str:
    """Suite parameter names are identifiers: 'Date Reported' -> in_period_date_reported."""
    return "in_period_" + re.sub(r"\W+", "_", column).strip("_").lower()


def parameters(contract: Contract, period: str, records: int) -> dict:
    """The suite parameters of one supply."""
    params: dict = {"records": records}
    for f in contract.fields:
        if f.concept == "event.date":
            params[period_parameter(f.name)] = period_pattern(date_format(contract, f), period)
    return params


def path_for(feed: str, directory: Path | None = None) -> Path:
    return (directory or suites_dir()) / f"{feed}.json"


def load(feed: str, directory: Path | None = None) -> dict:
    path = path_for(feed, directory)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise FileNotFoundError(f"{path}: no expectation suite for {feed}; run `hub suites`") from e
