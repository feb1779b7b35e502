"""Writing an approved export out of the airlock: CSV or Parquet, readable by its owner only, and
safe to open in a spreadsheet.

A spreadsheet takes a text cell starting with =, +, -, @, a tab or a carriage return as a formula
(OWASP's "CSV injection"), and a formula can run commands or send the sheet's contents away. The
text of an export comes from the analyst's query and from partners' records (a street name, a
free-text reason), so every text cell, and every column name, is neutralised with a leading
single quote, the mark spreadsheets read as "this is text". Numbers are left alone: -3 in a
numeric column is a number, not a formula. Parquet is neutralised the same way, because it is
opened in spreadsheets too, through Power Query or a conversion.
"""

from __future__ import annotations

import os
import pathlib
from typing import Any

import pandas as pd

FORMATS = ("csv", "parquet")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """`value` with a leading ' if it is text a spreadsheet would take as a formula; anything
    else (other text, numbers, NULLs) unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def write(table: pd.DataFrame, path: pathlib.Path, format: str) -> pathlib.Path:
    """Write `table` to `path` as "csv" or "parquet", created with mode 0600, and return `path`.

    The file must not exist yet: it is created exclusively, so an existing file (or a link
    planted where the export is to go) is never overwritten or followed. A failed write leaves
    no file behind. The table is written without its index unless the index carries something
    (is not a plain 0..n-1 range), in which case it becomes leading columns.
    """
    if format not in FORMATS:
        raise ValueError(
            f"cannot write format {format!r}: the airlock writes {' or '.join(FORMATS)}"
        )
    path = pathlib.Path(path)
    safe = _neutralised(table)
    # O_EXCL: created here, by this call; 0600 set on the descriptor too, whatever the umask.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            if format == "csv":
                handle.write(safe.to_csv(index=False, lineterminator="\n").encode("utf-8"))
            else:
                safe.to_parquet(handle, index=False)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _neutralised(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of `table` with its text cells and column names neutralised."""
    if not table.index.equals(pd.RangeIndex(len(table))):
        table = table.reset_index()
    out = table.copy()
    for i in range(table.shape[1]):
        series = table.iloc[:, i]
        if isinstance(series.dtype, pd.CategoricalDtype):
            series = series.astype(object)  # its categories, once neutralised, could collide
        if pd.api.types.is_string_dtype(series.dtype):  # object columns included
            out.isetitem(i, series.map(neutralise, na_action="ignore").astype(series.dtype))
    out.columns = [neutralise(str(c)) for c in table.columns]
    return out
