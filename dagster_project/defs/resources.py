"""The resources every stage is given: the encrypted warehouse and dbt."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from dagster_project.config import paths
from dagster_project.defs.conform.project import dbt_resource
from dagster_project.platform import runs, warehouse


class WarehouseResource(DuckDBResource):
    """dagster-duckdb's resource (so the `duckdb` key and its API stay), opening the encrypted
    warehouse at `database` through warehouse.py and, like dagster-duckdb, waiting while another
    process writes to it. `connection_config` is not used: the connection is warehouse.py's."""

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Every run that writes the warehouse uses this resource: it records the process that
        # runs it, so a run whose process dies is found and failed (platform/runs.py).
        if context.instance and context.dagster_run:
            runs.claim(context.instance, context.dagster_run)

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The warehouse as the connection's default catalog (`raw.asb` resolves in it)."""
        con = warehouse.wait_for_lock(lambda: warehouse.connect(path=Path(self.database)))
        try:
            with warehouse.explained(self.database):
                yield con
        finally:
            con.close()

    @contextmanager
    def get_workspace(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """An in-memory connection with the warehouse attached as `wh` (warehouse.workspace)."""
        con = warehouse.wait_for_lock(lambda: warehouse.workspace(Path(self.database)))
        try:
            with warehouse.explained(self.database):
                yield con
        finally:
            con.close()


def resources() -> dict:
    """The warehouse, at the one path every stage reads (HUB_DATA_DIR), encrypted; and dbt."""
    return {"duckdb": WarehouseResource(database=str(paths().warehouse)), "dbt": dbt_resource()}
