"""Level 2's pseudonymous person key: a keyed HMAC-SHA256 of the person ID. The same person
has the same pseudonym in every release while the key stays; without the key it cannot be
reversed or recomputed; a new key gives a new set that cannot be linked to the old one.
DuckDB has no HMAC function, so dbt reaches this one as the SQL function `pseudonym`,
registered on every dbt connection by `dagster_project.platform.dbt_plugin`."""

from __future__ import annotations

import hashlib
import hmac

import duckdb

from dagster_project.platform import keys

PREFIX = "X"
LENGTH = 20  # hex digits: 80 bits, so no two of even millions of people share one


def pseudonym(person_id: str | None, key: bytes) -> str | None:
    if person_id is None:
        return None
    digest = hmac.new(key, person_id.encode(), hashlib.sha256).hexdigest()
    return PREFIX + digest[:LENGTH]


def register(con: duckdb.DuckDBPyConnection) -> None:
    """Make `pseudonym(varchar)` a SQL function of the connection, keyed with the hub's
    pseudonym key (read now, so a missing key fails the connection, not a model halfway)."""
    secret = keys.key("pseudonym").encode()
    con.create_function(
        "pseudonym",
        lambda person_id: pseudonym(person_id, secret),
        [duckdb.sqltype("VARCHAR")],
        duckdb.sqltype("VARCHAR"),
        null_handling="special",
        side_effects=False,
    )
