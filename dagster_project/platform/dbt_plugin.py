"""dbt-duckdb plugin: dbt's connection opens the encrypted warehouse through warehouse.py and
gets the SQL function `pseudonym` (pseudonyms.py), so no key is ever written in profiles.yml.

dbt-duckdb runs `configure_connection` before the profile's `attach` list: the plugin attaches
the warehouse (the profile's attach entry whose alias is the profile's `database`) with its
key, and the profile's own `ATTACH IF NOT EXISTS` of it is then a no-op. dbt's connection is
in memory, so its `retries` (which retry only that connect) cannot wait for an ingest holding
the file: the plugin's attach waits instead, as the Dagster resource does."""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection

from dagster_project.platform import pseudonyms, warehouse


class Plugin(BasePlugin):
    def update_connection_config(self, creds, config: dict) -> None:
        config.update(warehouse.CONFIG)  # nothing downloaded at run time

    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        [path] = [a.path for a in self.creds.attach or [] if a.alias == self.creds.database]
        warehouse.load_encryption(conn)
        warehouse.wait_for_lock(
            lambda: warehouse.attach(conn, path, self.creds.database, "warehouse")
        )
        pseudonyms.register(conn)

    def configure_cursor(self, cursor: DuckDBPyConnection) -> None:
        # dbt works on cursors of the connection, each starting in the in-memory catalog: make
        # the warehouse every cursor's default, as it was when dbt opened the file itself.
        cursor.execute(f"USE {self.creds.database}")
