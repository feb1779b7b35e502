"""The connection a governed request runs in: an in-memory DuckDB holding a copy of what the
grant may see of one tier's published file (the rows of the feeds it allows and, for a Level 2
project, pseudonyms of the project's own), and nothing else: the file is detached once copied,
and the connection reaches no files, no network, no extensions, changes no setting, and has a
memory and a time limit. A copy rather than views over the file: an attacker found that a
function planning SQL of its own (json_serialize_plan) reads beneath any view.

Which rows of a table come from which feed is read from the dbt project: a table whose dbt
`meta.access.feed_columns` names the columns that say a row's feed is filtered row by row
(every such column must name an allowed feed); any other table is shown only when the grant
allows every feed it derives from (its dbt lineage; the spines link every feed), or when its
`meta.access.feeds` is `none` (the release record, which holds no one's data).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from dagster_project.access.policy import Grant, tier_label
from dagster_project.platform import warehouse
from dagster_project.tiers import publish

SOURCE = "published"  # the attached tier file's alias, never named by a request
KEYED = ("person_key", "event_key")  # Level 2's pseudonyms, re-keyed per project


@dataclass(frozen=True)
class TableAccess:
    feed_columns: tuple[str, ...]  # columns naming each row's feed: filtered row by row
    feeds: frozenset[str]  # feeds the table derives from, when it has no feed column


@dataclass(frozen=True)
class Limits:
    seconds: float = 30.0
    memory: str = "1GB"
    rows: int = 100_000


def table_access(manifest: Path, feeds: set[str]) -> dict[tuple[str, str], TableAccess]:
    """(tier, table) -> how its rows are governed, from dbt's manifest."""
    nodes = json.loads(manifest.read_text())
    parents = {k: n.get("depends_on", {}).get("nodes", []) for k, n in nodes["nodes"].items()}

    def upstream(key: str, seen: set[str]) -> set[str]:
        if key in seen:
            return set()
        seen.add(key)
        if key.startswith("source."):
            source = nodes["sources"][key]
            if source["source_name"] == "raw":
                return {source["name"]} & feeds
            return set(feeds) if source["source_name"] == "spine" else set()
        return set().union(*(upstream(p, seen) for p in parents.get(key, [])))

    out = {}
    for key, node in nodes["nodes"].items():
        if node["resource_type"] != "model" or node["schema"] not in publish.TIERS:
            continue
        rules = (node["config"].get("meta") or {}).get("access") or {}
        derived = frozenset() if rules.get("feeds") == "none" else frozenset(upstream(key, set()))
        out[(node["schema"], node["alias"])] = TableAccess(
            tuple(rules.get("feed_columns", ())), derived
        )
    return out


def project_secret(pseudonym_key: bytes, project: str) -> bytes:
    """A project's own pseudonym key, derived from the hub's: one-way, so no project's keys
    tell anything of another's or of the release's."""
    return hmac.new(pseudonym_key, b"project\0" + project.encode(), hashlib.sha256).digest()


def _rekey(secret: bytes):
    def rekey(values: pa.Array) -> pa.Array:
        return pa.array(
            [
                None if v is None else "Q" + hmac.new(secret, v.encode(), "sha256").hexdigest()[:20]
                for v in values.to_pylist()
            ],
            pa.string(),
        )

    return rekey


@dataclass
class Sandbox:
    con: duckdb.DuckDBPyConnection
    tier: str
    schema: dict[str, dict[str, dict[str, str]]]  # {tier: {table: {column: type}}}
    hidden: dict[str, str]  # table -> why the grant does not show it

    @property
    def tables(self) -> set[str]:
        return set(self.schema[self.tier])

    def run(self, sql: str, limits: Limits) -> tuple[pa.Table, bool]:
        """The statement's rows (at most `limits.rows`, and whether there were more),
        interrupted after `limits.seconds`."""
        timer = threading.Timer(limits.seconds, self.con.interrupt)
        timer.start()
        try:
            reader = self.con.execute(sql).fetch_record_batch(10_000)
            batches, rows = [], 0
            for batch in reader:
                batches.append(batch)
                rows += batch.num_rows
                if rows > limits.rows:
                    break
        except duckdb.InterruptException:
            raise TimeoutError(f"the statement ran longer than {limits.seconds:g} s") from None
        finally:
            timer.cancel()
        table = pa.Table.from_batches(batches, reader.schema).slice(0, limits.rows)
        return table, rows > limits.rows

    def close(self) -> None:
        self.con.close()


def open_sandbox(
    grant: Grant,
    marts: Path,
    access: dict[tuple[str, str], TableAccess],
    limits: Limits,
    pseudonym_key: bytes | None = None,
) -> Sandbox:
    """The grant's tier, as the grant may see it. Level 3 opens with its key, which the
    connection holds and the request never sees."""
    tier = grant.tier
    # No spill files (temp_directory ''): a statement beyond the memory limit fails rather than
    # write the tier's rows to disk; so the connection needs no encryption of its own, and
    # reading an encrypted file needs no extension.
    con = duckdb.connect(config={**warehouse.CONFIG, "temp_directory": ""})
    try:
        publish.attach(con, publish.tier_file(marts, tier), tier, SOURCE)
        con.execute(f"create schema {tier}")
        rekey = grant.project is not None and tier == "level2"
        if rekey:
            secret = project_secret(pseudonym_key, grant.project.name)
            con.create_function(
                "project_pseudonym", _rekey(secret), [duckdb.sqltype("VARCHAR")],
                duckdb.sqltype("VARCHAR"), type="arrow", null_handling="special",
            )  # fmt: skip
        schema, hidden = {}, {}
        for (table,) in con.execute(
            "select table_name from duckdb_tables() where database_name = ? order by 1", [SOURCE]
        ).fetchall():
            columns = con.execute(
                "select column_name, data_type from duckdb_columns() where database_name = ? "
                "and table_name = ? order by column_index", [SOURCE, table]).fetchall()  # fmt: skip
            rules = access.get((tier, table))
            why = _why_hidden(grant, table, rules, {c for c, _ in columns})
            if why:
                hidden[table] = why
                continue
            select = ", ".join(
                f'project_pseudonym("{c}") as "{c}"' if rekey and c in KEYED else f'"{c}"'
                for c, _ in columns
            )
            filtered = tier != "level1" and rules.feed_columns
            allowed = ", ".join(warehouse.quote(f) for f in sorted(grant.feeds)) or "null"
            where = " and ".join(f'"{c}" in ({allowed})' for c in filtered or ())
            # Rows in an order of their own per request where they carry keys: stored in the
            # order of the release's pseudonyms, two projects' rows would pair up by position.
            shuffled = rekey and any(c in KEYED for c, _ in columns)
            con.execute(
                f'create table {tier}."{table}" as select {select} '
                f'from {SOURCE}.main."{table}"'
                + (f" where {where}" if where else "")
                + (" order by random()" if shuffled else "")
            )
            schema[table] = dict(columns)
        # The request's rows are copied: the file and the keyed function leave the connection,
        # so no function that plans or runs SQL of its own (json_serialize_plan ...) reaches
        # rows or keys the grant does not show.
        con.execute(f"detach {SOURCE}")
        if rekey:
            con.remove_function("project_pseudonym")
        con.execute(f"use memory.{tier}")
        for setting in (
            "enable_external_access = false",
            f"memory_limit = {warehouse.quote(limits.memory)}",
            "threads = 1",
            "enable_progress_bar = false",
            "lock_configuration = true",
        ):
            con.execute(f"set {setting}")
    except BaseException:
        con.close()
        raise
    return Sandbox(con, tier, {tier: schema}, hidden)


def _why_hidden(
    grant: Grant, table: str, rules: TableAccess | None, columns: set[str]
) -> str | None:
    if grant.tier == "level1":
        return None  # published to every partner whole
    if rules is None:
        return f"{table} is not described by the dbt project, so it is shown to no one"
    if grant.tier == "level3" and "person_id" not in columns and rules.feeds:
        # The review queues: their readers are the spines' reviewers, in the warehouse; a case
        # looks people up by person_id, which the audit trail records.
        return f"{table} is for the spines' reviewers, not for a case"
    if rules.feed_columns:
        return None
    missing = rules.feeds - grant.feeds
    if missing:
        return (
            f"{table} is drawn from feeds this request may not see at "
            f"{tier_label(grant.tier)} ({', '.join(sorted(missing))})"
        )
    return None
