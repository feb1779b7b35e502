"""A file a user hands a command (`hub link`, `hub match-places`), read into a table."""

from __future__ import annotations

from pathlib import Path

import duckdb


def read(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> None:
    """`table` from the CSV or Parquet file at `path`; a clear error naming the file if it
    is missing, of another kind, or cannot be read."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        # Everything as text: what reads it parses what it can and leaves the rest NULL.
        source = f"read_csv('{path}', header = true, all_varchar = true)"
    elif suffix == ".parquet":
        source = f"read_parquet('{path}')"
    else:
        raise ValueError(f"{path}: expected a .csv or .parquet file")
    try:
        con.execute(f"create table {table} as select * from {source}")
    except duckdb.Error as e:
        raise ValueError(f"{path}: cannot be read ({str(e).splitlines()[0]})") from None
