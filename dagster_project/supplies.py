"""Read a supply as delivered: the data file in the format and encoding its contract declares
(CSV with any delimiter, a BOM, a legacy code page, or .xlsx), and its supply.yml. Values stay
text, as delivered; typing belongs to staging."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import yaml

from .contracts import Contract


class SupplyError(ValueError):
    """A supply that cannot be read; the message names the file and the reason."""


def read_metadata(directory: Path) -> dict:
    path = directory / "supply.yml"
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except FileNotFoundError as e:
        raise SupplyError(f"{path}: no supply.yml delivered with the data") from e
    except yaml.YAMLError as e:
        raise SupplyError(f"{path}: not valid YAML ({e})") from e


def read_data(contract: Contract, path: Path) -> pd.DataFrame:
    """Every column as text (missing values as <NA>), in file order."""
    spec = contract.file
    try:
        if spec.format == "xlsx":
            return _read_xlsx(path, spec.sheet)
        return pd.read_csv(
            path,
            sep=spec.delimiter,
            encoding=spec.encoding,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            engine="c",
        )
    except UnicodeDecodeError as e:
        raise SupplyError(
            f"{path}: not readable as {spec.encoding} ({e.reason} at byte {e.start})"
        ) from e
    except (pd.errors.ParserError, ValueError, KeyError, OSError) as e:
        raise SupplyError(f"{path}: cannot be read as {spec.format} ({e})") from e


def _cell(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time() else v.isoformat(sep=" ")
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _read_xlsx(path: Path, sheet: str | None) -> pd.DataFrame:
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        ws = wb[sheet] if sheet else wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = [str(h) for h in next(rows)]
        data = [[_cell(v) for v in row] for row in rows]
    finally:
        wb.close()
    return pd.DataFrame(data, columns=header, dtype=object).astype("string")
