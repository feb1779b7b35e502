"""The warehouse as a Dagster resource."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster_duckdb import DuckDBResource

from . import warehouse


class WarehouseResource(DuckDBResource):
    """dagster-duckdb's resource (so the `duckdb` key and its API stay), opening the encrypted
    warehouse at `database` through warehouse.py and, like dagster-duckdb, waiting while another
    process writes to it. `connection_config` is not used: the connection is warehouse.py's."""

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        con = warehouse.wait_for_lock(lambda: warehouse.connect(path=Path(self.database)))
        try:
            yield con
        finally:
            con.close()
