"""Write one month's supply as the agency sends it: the data file in the contract's format and
encoding, and `supply.yml` with the metadata of the Home Office guidance,
Information sharing for community safety, section 3.4."""

from __future__ import annotations

import datetime as dt
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter
import yaml

from dagster_project.contracts.model import Contract
from dagster_project.ingest.supplies import sha256

# Fixed so that the same seed gives the same bytes (xlsx files carry a creation time).
XLSX_CREATED = dt.datetime(2000, 1, 1)
TRANSLITERATE = str.maketrans({"ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ø": "o", "Ø": "O"})


def to_codepage(text: str, encoding: str) -> str:
    """What a legacy system stores of a name it cannot encode: accents dropped where the code
    page lacks the letter (Łukasz -> Lukasz in cp1252), kept where it has it (José)."""
    try:
        text.encode(encoding)
        return text
    except UnicodeEncodeError:
        out = []
        for ch in text:
            try:
                ch.encode(encoding)
                out.append(ch)
            except UnicodeEncodeError:
                base = unicodedata.normalize("NFKD", ch.translate(TRANSLITERATE))
                out.append("".join(c for c in base if not unicodedata.combining(c)) or "?")
        return "".join(out)


def _text(table: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """Every value as the text the agency's export writes."""
    out = {}
    for f in contract.fields:
        fmt = f.format or (contract.file.date_format if f.type == "date" else None)
        col = table[f.name]
        if f.type == "date":
            out[f.name] = [pd.Timestamp(v).strftime(fmt) if _present(v) else "" for v in col]
        elif f.type == "integer":
            out[f.name] = [str(int(v)) if _present(v) else "" for v in col]
        else:
            out[f.name] = ["" if not _present(v) else str(v) for v in col]
    return pd.DataFrame(out, columns=contract.columns)


def _present(v) -> bool:
    return (
        v is not None
        and not (isinstance(v, float) and np.isnan(v))
        and not (isinstance(v, np.datetime64) and np.isnat(v))
        and v is not pd.NaT
    )


def write_data_file(table: pd.DataFrame, contract: Contract, path: Path) -> None:
    spec = contract.file
    if spec.format == "xlsx":
        _write_xlsx(table, contract, path)
        return
    text = _text(table, contract)
    encoding = spec.encoding
    if encoding.lower() not in ("utf-8", "utf-8-sig"):
        text = text.map(lambda s: to_codepage(s, encoding))
    text.to_csv(
        path,
        sep=spec.delimiter,
        index=False,
        encoding=encoding,
        lineterminator="\r\n" if encoding.lower() == "cp1252" else "\n",
    )


def _write_xlsx(table: pd.DataFrame, contract: Contract, path: Path) -> None:
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    wb.set_properties({"created": XLSX_CREATED, "author": contract.agency_name})
    ws = wb.add_worksheet(contract.file.sheet or "Sheet1")
    date_fmt = wb.add_format({"num_format": "dd/mm/yyyy"})
    ws.write_row(0, 0, contract.columns)
    for j, f in enumerate(contract.fields):
        for i, v in enumerate(table[f.name], start=1):
            if not _present(v):
                continue
            if f.type == "date":
                ws.write_datetime(i, j, pd.Timestamp(v).to_pydatetime(), date_fmt)
            elif f.type == "integer":
                ws.write_number(i, j, int(v))
            else:
                ws.write_string(i, j, str(v))
    wb.close()


def write_supply(
    table: pd.DataFrame, contract: Contract, directory: Path, period: str, supplied: dt.date
) -> Path:
    """The data file and its supply.yml; returns the data file's path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / contract.file.filename(period)
    write_data_file(table, contract, path)
    start = dt.date.fromisoformat(f"{period}-01")
    end = (pd.Timestamp(start) + pd.offsets.MonthEnd(0)).date()
    meta = {
        "agency": contract.agency_name,
        "supplier": contract.supplier,
        "dataset": contract.dataset,
        "feed": contract.name,
        "period": {"start": start, "end": end},
        "file": {
            "name": path.name,
            "format": contract.file.format,
            "encoding": contract.file.encoding if contract.file.format == "csv" else None,
            "delimiter": contract.file.delimiter if contract.file.format == "csv" else None,
            "sha256": sha256(path),
        },
        "records": len(table),
        "date_supplied": supplied,
        "fields": [{"name": f.name, "description": f.meaning} for f in contract.fields],
        "caveats": list(contract.caveats),
    }
    meta["file"] = {k: v for k, v in meta["file"].items() if v is not None}
    with open(directory / "supply.yml", "w", encoding="utf-8") as fh:
        yaml.safe_dump(meta, fh, sort_keys=False, allow_unicode=True)
    return path
