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

import contextlib
import hashlib
import hmac
import json
import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from dagster_project.access.policy import Grant, tier_label
from dagster_project.access.statements import PSEUDONYMS  # re-keyed per project
from dagster_project.platform import warehouse
from dagster_project.tiers import publish

SOURCE = "published"  # the attached tier file's alias, never named by a request


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
    """A request's connection: first the tier's file attached and what the grant shows of it
    (`schema`, `hidden`); then `load` copies the tables the statement reads and detaches the
    file, and only then does the statement run."""

    con: duckdb.DuckDBPyConnection
    grant: Grant
    schema: dict[str, dict[str, dict[str, str]]]  # {tier: {table: {column: type}}}
    hidden: dict[str, str]  # table -> why the grant does not show it
    access: dict[tuple[str, str], TableAccess]
    limits: Limits

    @property
    def tier(self) -> str:
        return self.grant.tier

    @property
    def tables(self) -> set[str]:
        return set(self.schema[self.tier])

    def load(self, tables: list[str], pseudonym_key: bytes) -> None:
        """Copy the grant's rows of `tables` (as `level2.events`), re-keyed and shuffled for a
        Level 2 project, then detach the file and seal the connection: no function that plans
        or runs SQL of its own (json_serialize_plan ...) then reaches a row or key the grant
        does not show."""
        con, tier = self.con, self.tier
        rekey = self.grant.project is not None and tier == "level2"
        if rekey:
            secret = project_secret(pseudonym_key, self.grant.project.name)
            con.create_function(
                "project_pseudonym", _rekey(secret), [duckdb.sqltype("VARCHAR")],
                duckdb.sqltype("VARCHAR"), type="arrow", null_handling="special",
            )  # fmt: skip
        allowed = ", ".join(warehouse.quote(f) for f in sorted(self.grant.feeds)) or "null"
        with _interrupted(con, self.limits.seconds):
            for table in (t.split(".")[1] for t in tables):
                columns = self.schema[tier][table]
                select = ", ".join(
                    f"project_pseudonym({_name(c)}) as {_name(c)}" if rekey and c in PSEUDONYMS
                    else _name(c) for c in columns
                )  # fmt: skip
                filtered = self.access[(tier, table)].feed_columns if tier != "level1" else ()
                where = " and ".join(f"{_name(c)} in ({allowed})" for c in filtered)
                # Where rows carry keys, an order of their own per request: stored in the order
                # of the release's pseudonyms, two projects' rows would pair up by position.
                shuffled = rekey and any(c in PSEUDONYMS for c in columns)
                con.execute(
                    f"create table {tier}.{_name(table)} as select {select} "
                    f"from {SOURCE}.main.{_name(table)}"
                    + (f" where {where}" if where else "")
                    + (" order by random()" if shuffled else "")
                )
        con.execute(f"detach {SOURCE}")
        if rekey:
            con.remove_function("project_pseudonym")
        con.execute("set enable_external_access = false")
        con.execute("set lock_configuration = true")

    def run(self, sql: str, limits: Limits) -> tuple[pa.Table, bool]:
        """The statement's rows (at most `limits.rows`, and whether there were more),
        interrupted after `limits.seconds`."""
        with _interrupted(self.con, limits.seconds):
            reader = self.con.execute(sql).fetch_record_batch(10_000)
            batches, rows = [], 0
            for batch in reader:
                batches.append(batch)
                rows += batch.num_rows
                if rows > limits.rows:
                    break
        table = pa.Table.from_batches(batches, reader.schema).slice(0, limits.rows)
        return table, rows > limits.rows

    def close(self) -> None:
        self.con.close()


@contextlib.contextmanager
def _interrupted(con: duckdb.DuckDBPyConnection, seconds: float):
    timer = threading.Timer(seconds, con.interrupt)
    timer.start()
    try:
        yield
    except duckdb.InterruptException:
        raise TimeoutError(f"the statement ran longer than {seconds:g} s") from None
    finally:
        timer.cancel()


def _name(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def open_sandbox(
    grant: Grant, marts: Path, access: dict[tuple[str, str], TableAccess], limits: Limits
) -> Sandbox:
    """The grant's tier, attached, and what the grant shows of it; nothing copied yet. Level 3
    opens with its key, which the connection holds and the request never sees."""
    tier = grant.tier
    # No spill files (temp_directory ''): a statement beyond the memory limit fails rather than
    # write the tier's rows to disk; so the connection needs no encryption of its own, and
    # reading an encrypted file needs no extension.
    con = duckdb.connect(config={**warehouse.CONFIG, "temp_directory": ""})
    try:
        for setting in (
            f"memory_limit = {warehouse.quote(limits.memory)}",
            "threads = 1",
            "enable_progress_bar = false",
        ):
            con.execute(f"set {setting}")
        publish.attach(con, publish.published(marts, tier), tier, SOURCE)
        con.execute(f"create schema {tier}")
        con.execute(f"use memory.{tier}")
        schema, hidden = {}, {}
        for (table,) in con.execute(
            "select table_name from duckdb_tables() where database_name = ? order by 1", [SOURCE]
        ).fetchall():
            columns = con.execute(
                "select column_name, data_type from duckdb_columns() where database_name = ? "
                "and table_name = ? order by column_index", [SOURCE, table]).fetchall()  # fmt: skip
            why = _why_hidden(grant, table, access.get((tier, table)), {c for c, _ in columns})
            if why:
                hidden[table] = why
            else:
                schema[table] = dict(columns)
    except BaseException:
        con.close()
        raise
    return Sandbox(con, grant, {tier: schema}, hidden, access, limits)


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
