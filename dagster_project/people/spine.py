"""The person spine: every person record of every feed given a person ID that stays put.

A run reads `intermediate.int_person_records`, scores only what is new (against itself and
against the records already in the spine), folds the links into the existing clusters under
the rules of `ids.py`, honours the reviewers' decisions, and writes the `spine` schema of the
warehouse in one transaction:

- `spine.person_ids`: person_record_id -> person_id;
- `spine.person_features`: what the linker compares, kept so a refresh prepares only what is
  new;
- `spine.person_links`: the links the clusters are made of (model or reviewer);
- `spine.person_id_history`: every merge, split and re-link change of an ID;
- `spine.review_queue`: pairs waiting for a person (Level 3: it shows names);
- `spine.runs`: what each run did;
- `spine.evaluation`: how good the spine is against the synthetic truth (`evaluate`, a step of
  its own, where the truth is present).

Splink works in a workspace (an in-memory DuckDB with the warehouse attached as `wh`), so its
scratch tables never land in the warehouse; the caller passes it in.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa
from splink import DuckDBAPI, Linker

from dagster_project.people import evaluation, features, ids, model, review

SCHEMA = """
create schema if not exists wh.spine;
create table if not exists wh.spine.person_ids (
    person_record_id varchar primary key, person_id varchar not null, source_feed varchar,
    agency varchar, period varchar, run_id varchar);
create table if not exists wh.spine.person_links (
    person_record_id_l varchar, person_record_id_r varchar, match_probability double,
    match_weight double, basis varchar, run_id varchar);
create table if not exists wh.spine.person_id_history (
    run_id varchar, changed_at timestamp, old_person_id varchar, new_person_id varchar,
    reason varchar, records integer);
create table if not exists wh.spine.review_queue (
    person_record_id_l varchar, person_record_id_r varchar, match_probability double,
    match_weight double, queued_by_run varchar,
    source_l varchar, forename_l varchar, surname_l varchar, date_of_birth_l date,
    sex_l varchar, postcode_l varchar, address_l varchar,
    source_r varchar, forename_r varchar, surname_r varchar, date_of_birth_r date,
    sex_r varchar, postcode_r varchar, address_r varchar);
create table if not exists wh.spine.runs (
    run_id varchar, started_at timestamp, kind varchar, model_version varchar,
    records bigint, new_records bigint, withdrawn_records bigint, pairs_scored bigint,
    links_added bigint, persons bigint, id_changes bigint, review_queue bigint,
    seconds double);
create table if not exists wh.spine.last_person_id (n bigint);
create table if not exists wh.spine.evaluation (
    run_id varchar, scope varchar, feed_a varchar, feed_b varchar, error varchar,
    true_positives double, false_positives double, false_negatives double,
    precision double, recall double, f1 double);
"""

# The spine's view of int_person_records, in the linker's person-record schema. An agency's
# reference is qualified by the agency, because police and health numbers can collide.
# The home's UPRN comes from the place spine (a person record and its home mention share an
# id); it links a little more than address words alone (docs/benchmarks.md).
RECORDS = """
select person_record_id as record_id, source_feed as source, agency, role, period,
    record_id as source_record_id, forename, surname, date_of_birth, age, sex, postcode,
    address, case when agency_ref is not null then agency || ':' || agency_ref end as agency_ref,
    home.uprn
from wh.intermediate.int_person_records
left join home_uprns as home on home.place_record_id = person_record_id
"""


def register_home_uprns(con: duckdb.DuckDBPyConnection) -> None:
    """`home_uprns`: the place spine's matches, or none before its first run."""
    placed = con.execute(
        "select count(*) from duckdb_tables() where database_name = 'wh' "
        "and schema_name = 'spine' and table_name = 'place_matches'"
    ).fetchone()
    source = (
        "select place_record_id, uprn from wh.spine.place_matches"
        if placed[0]
        else "select null::varchar as place_record_id, null::bigint as uprn limit 0"
    )
    con.execute(f"create or replace temp view home_uprns as {source}")


Kind = Literal["first link", "full re-link", "incremental"]


@dataclass
class Run:
    """What one run did, for the run log, the asset metadata and the CLI."""

    run_id: str
    kind: Kind
    model_version: str = ""
    model_path: str = ""
    records: int = 0
    new_records: int = 0
    withdrawn_records: int = 0
    pairs_scored: int = 0
    links_added: int = 0
    persons: int = 0
    id_changes: int = 0
    review_queue: int = 0
    homes_rematched: int = 0  # stored records whose home UPRN the place spine changed
    seconds: float = 0.0
    diagnostics: dict = field(default_factory=dict)
    phases: dict = field(default_factory=dict)  # seconds spent in each stage


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return con.execute(f"select count(*) from ({sql})").fetchone()[0]


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Make a workspace (warehouse.workspace: the warehouse attached as `wh`) ready for the
    spine: its tables, and the homes' UPRNs."""
    con.execute(SCHEMA)
    register_home_uprns(con)


def train_model(con: duckdb.DuckDBPyConnection, models: Path) -> Path:
    """Train a model on every person record now in the warehouse and save a new version in
    `models`."""
    prepare(con)
    con.execute(f"create or replace table recs as {RECORDS}")
    features.prepare(con, "recs", "person_features")
    return _train(con, models)


def _train(con: duckdb.DuckDBPyConnection, models: Path) -> Path:
    """Train on the `person_features` of `recs` and save the model."""
    trained = model.train(con, "person_features")
    extent = con.execute(
        "select count(*) as records, count(distinct source) as feeds, "
        "min(period) as first_month, max(period) as last_month from recs"
    ).fetchone()
    keys = ("records", "feeds", "first_month", "last_month")
    return model.save(trained.splink, models, dict(zip(keys, extent, strict=True)),
                      trained.steps)  # fmt: skip


def linker(con: duckdb.DuckDBPyConnection, api: DuckDBAPI, splink_model: dict) -> Linker:
    linker = Linker(api.register("person_features"), splink_model, log_level=None)
    # Term frequencies from the whole spine, so a name's weight does not depend on which
    # records happen to be new this month.
    for column in ("forename", "surname"):
        con.execute(
            f"create or replace table tf_{column} as select {column}, "
            f"count(*) / sum(count(*)) over () as tf_{column} from person_features "
            f"where {column} is not null group by 1"
        )
        linker.table_management.register_term_frequency_lookup(api.register(f"tf_{column}"), column)
    return linker


def _score(con, api, linker, new_only: bool) -> None:
    """`scored`: pairs at or above the review threshold, from everything or only from what is
    new (new against new, and new against the rest)."""
    if not new_only:
        out = linker.inference.predict(threshold_match_probability=model.REVIEW)
    else:
        con.execute("create or replace view old_features as select * from person_features "
                    "where unique_id not in (select record_id from new_records)")  # fmt: skip
        within = linker.inference.predict_within(
            api.register("new_features"), threshold_match_probability=model.REVIEW
        )
        between = linker.inference.predict_between(
            api.register("old_features"), api.register("new_features"),
            threshold_match_probability=model.REVIEW)  # fmt: skip
        con.execute(
            f"create or replace table scored_raw as select * from {within.physical_name} "
            f"union all by name select * from {between.physical_name}"
        )
        out = api.register("scored_raw")
    con.execute(f"""
        create or replace table scored as
        select record_id_l as person_record_id_l, record_id_r as person_record_id_r,
               match_probability, match_weight, conflict
        from ({model.scored_sql(out.physical_name, "person_features")})
    """)


def _decisions(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    rows = [(d.left, d.right, d.match) for d in review.read(path)]
    _table(con, "decisions", "l varchar, r varchar, is_match boolean", rows)
    # Decisions about records no longer held (a withdrawn supply) have nothing to act on.
    con.execute("delete from decisions where l not in (select unique_id from person_features) "
                "or r not in (select unique_id from person_features)")  # fmt: skip


def _links_this_run(con: duckdb.DuckDBPyConnection) -> None:
    """`links`: model links at or above the link threshold that no reviewer ruled out, and
    every reviewer's 'match'."""
    con.execute(f"""
        create or replace table links as
        select s.person_record_id_l, s.person_record_id_r, s.match_probability,
               s.match_weight, 'model' as basis, (select run_id from this_run) as run_id
        from scored s
        where {model.LINKED}
          and not exists (select 1 from decisions d where d.l = s.person_record_id_l
                          and d.r = s.person_record_id_r and not d.is_match)
        union all
        select l, r, 1.0, null, 'reviewer', (select run_id from this_run)
        from decisions where is_match
    """)


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple]) -> None:
    """Rows into a table, through Arrow (row-by-row inserts take minutes at a million)."""
    if rows:
        columns = {f"c{i}": pa.array(values) for i, values in enumerate(zip(*rows, strict=True))}
        con.register("hub_rows", pa.table(columns))
        con.execute(f"insert into {table} select * from hub_rows")
        con.unregister("hub_rows")


def _table(con: duckdb.DuckDBPyConnection, name: str, columns: str, rows: list[tuple]) -> None:
    con.execute(f"create or replace table {name} ({columns})")
    _insert(con, name, rows)


def _history(con, run_id: str, changes: list[ids.Change]) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    _insert(con, "id_changes",
            [(run_id, now, c.old_id, c.new_id, c.reason, c.records) for c in changes])  # fmt: skip


def _minter(con) -> ids.Minter:
    """New IDs after the last the spine ever gave (kept in spine.last_person_id, because an
    ID merged away or withdrawn is no longer held by any record), so none is reused."""
    last = con.execute("select max(n) from wh.spine.last_person_id").fetchone()[0]
    used = con.execute("select distinct person_id from wh.spine.person_ids").fetchall()
    return ids.Minter([r[0] for r in used] + ([ids.format_id(last)] if last else []))


def _full(con, mint: ids.Minter) -> list[ids.Change]:
    """Cluster everything afresh, then give each cluster the previous ID it overlaps most."""
    records = [r[0] for r in con.execute("select unique_id from person_features").fetchall()]
    edges = con.execute("select person_record_id_l, person_record_id_r from links").fetchall()
    clusters = ids.components(records, edges)
    previous = dict(con.execute("select person_record_id, person_id from wh.spine.person_ids "
                                "where person_record_id in (select record_id from recs)"
                                ).fetchall())  # fmt: skip
    assigned, changes = ids.map_to_previous(clusters, previous, mint)
    _table(con, "assigned", "record_id varchar, person_id varchar", list(assigned.items()))
    return changes


def _incremental(con, mint: ids.Minter) -> list[ids.Change]:
    """New records take the IDs of the clusters they link to; bridges merge under the older
    ID; reviewers' decisions about records already in the spine merge or split clusters."""
    new = [r[0] for r in con.execute("select record_id from new_records").fetchall()]
    links = con.execute("""
        select person_record_id_l, person_record_id_r from links
        where person_record_id_l in (select record_id from new_records)
           or person_record_id_r in (select record_id from new_records)
    """).fetchall()  # fmt: skip
    touched = {r for pair in links for r in pair} - set(new)
    _table(con, "touched", "record_id varchar", [(r,) for r in touched])
    existing = dict(
        con.execute(
            "select person_record_id, person_id from wh.spine.person_ids "
            "join touched on record_id = person_record_id"
        ).fetchall()
    )
    assigned, changes = ids.assign_incremental(new, links, existing, mint)
    assigned = ids.keep_returning(assigned, _returning(con), set(existing.values()) | _held(con))
    _table(con, "assigned", "record_id varchar, person_id varchar", list(assigned.items()))
    changes += _apply_decisions_to_existing(con, mint)
    old = [(c.old_id,) for c in changes if c.old_id]
    _table(con, "changed_ids", "person_id varchar", old)
    held = dict(
        con.execute(
            "select person_id, count(*) from wh.spine.person_ids "
            "join changed_ids using (person_id) group by 1"
        ).fetchall()
    )
    return [ids.Change(c.old_id, c.new_id, c.reason, c.records or held.get(c.old_id, 0))
            for c in changes]  # fmt: skip


def _returning(con) -> dict[str, str]:
    """Records coming back from a lifted restriction, with the person ID they had
    (ops.returning_ids, written from the requests register; none before its first run)."""
    here = con.execute(
        "select count(*) from duckdb_tables() where database_name = 'wh' and "
        "schema_name = 'ops' and table_name = 'returning_ids'"
    ).fetchone()[0]
    if not here:
        return {}
    found = con.execute(
        "select person_record_id, person_id from wh.ops.returning_ids "
        "join new_records on record_id = person_record_id"
    ).fetchall()
    return dict(found)


def _held(con) -> set[str]:
    return {r[0] for r in con.execute("select distinct person_id from wh.spine.person_ids "
                                      "where person_record_id not in (select record_id from "
                                      "withdrawn)").fetchall()}  # fmt: skip


def _apply_decisions_to_existing(con, mint: ids.Minter) -> list[ids.Change]:
    """A 'match' between two existing clusters merges them (older ID kept); a 'not a match'
    inside one cluster removes that link and re-forms the cluster from the links left."""
    changes: list[ids.Change] = []
    forced = con.execute("""
        select a.person_id, b.person_id from decisions d
        join wh.spine.person_ids a on a.person_record_id = d.l
        join wh.spine.person_ids b on b.person_record_id = d.r
        where d.is_match and a.person_id <> b.person_id
    """).fetchall()  # fmt: skip
    for root, members in _groups(forced).items():
        for old in members - {root}:
            changes.append(ids.Change(old, root, "merged: a reviewer matched the two"))
    split_ids = [r[0] for r in con.execute("""
        select distinct a.person_id from decisions d
        join wh.spine.person_ids a on a.person_record_id = d.l
        join wh.spine.person_ids b on b.person_record_id = d.r
        where not d.is_match and a.person_id = b.person_id
    """).fetchall()]  # fmt: skip
    for pid in split_ids:
        members = [r[0] for r in con.execute(
            "select person_record_id from wh.spine.person_ids where person_id = ?", [pid]
        ).fetchall()]  # fmt: skip
        kept = con.execute("""
            select person_record_id_l, person_record_id_r from wh.spine.person_links k
            where person_record_id_l in (select person_record_id from wh.spine.person_ids
                                         where person_id = ?)
              and not exists (select 1 from decisions d where d.l = k.person_record_id_l
                              and d.r = k.person_record_id_r and not d.is_match)
        """, [pid]).fetchall()  # fmt: skip
        assigned, split_changes = ids.split(members, kept, pid, mint)
        _insert(con, "assigned", [(r, p) for r, p in assigned.items() if p != pid])
        changes += split_changes
    return changes


def _groups(pairs: list[tuple[str, str]]) -> dict[str, set[str]]:
    """IDs joined by pairs, keyed by the oldest ID of each group."""
    groups: dict[str, set[str]] = {}
    for pid, root in ids.components([], pairs).items():
        groups.setdefault(root, set()).add(pid)
    return {min(g, key=ids.id_number): g for g in groups.values()}


def _write(con, changes: list[ids.Change], full: bool, mint: ids.Minter) -> None:
    """Everything the run decided, into the warehouse in one transaction."""
    merged = [(c.old_id, c.new_id) for c in changes if c.reason.startswith("merged")]
    # Merges can chain (a new record joins A to B, a reviewer B to C): all go to the oldest.
    root = ids.components([], merged)
    con.execute("begin")
    try:
        if full:
            for table in ("person_ids", "person_links", "review_queue"):
                con.execute(f"delete from wh.spine.{table}")
            con.execute("create or replace table wh.spine.person_features as "
                        "select * from new_features")  # fmt: skip
        else:
            _withdraw(con)
            con.execute("update wh.spine.person_features f set uprn = r.uprn from rehomed r "
                        "where r.unique_id = f.unique_id")  # fmt: skip
            con.execute("insert into wh.spine.person_features select * from new_features")
        con.execute("""
            update wh.spine.person_ids p set person_id = a.person_id
            from assigned a where a.record_id = p.person_record_id
        """)
        con.execute("""
            insert into wh.spine.person_ids
            select a.record_id, a.person_id, r.source, r.agency, r.period,
                   (select run_id from this_run)
            from assigned a join recs r using (record_id)
            where a.record_id not in (select person_record_id from wh.spine.person_ids)
        """)
        for old, new in root.items():
            if old != new:
                con.execute("update wh.spine.person_ids set person_id = ? where person_id = ?",
                            [new, old])  # fmt: skip
        con.execute("""
            delete from wh.spine.person_links k where exists (
                select 1 from decisions d where d.l = k.person_record_id_l
                and d.r = k.person_record_id_r and not d.is_match)
        """)
        con.execute("""
            insert into wh.spine.person_links select * from links k where not exists (
                select 1 from wh.spine.person_links e
                where e.person_record_id_l = k.person_record_id_l
                  and e.person_record_id_r = k.person_record_id_r)
        """)
        con.execute("insert into wh.spine.person_id_history select * from id_changes")
        con.execute("delete from wh.spine.last_person_id")
        con.execute("insert into wh.spine.last_person_id values (?)", [mint.last])
        _queue(con)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def _withdraw(con) -> None:
    """Records no longer in int_person_records (a supply replaced or withdrawn) leave the
    spine; their links and queued pairs go with them."""
    for table, column in (("person_ids", "person_record_id"), ("person_features", "unique_id")):
        con.execute(f"delete from wh.spine.{table} where {column} in "
                    "(select record_id from withdrawn)")  # fmt: skip
    for table in ("person_links", "review_queue"):
        con.execute(f"""
            delete from wh.spine.{table}
            where person_record_id_l in (select record_id from withdrawn)
               or person_record_id_r in (select record_id from withdrawn)
        """)


def _queue(con) -> None:
    """Pairs the model is unsure of, unless a reviewer has decided them or they are already
    queued; decided pairs leave the queue."""
    con.execute("""
        delete from wh.spine.review_queue q where exists (
            select 1 from decisions d where d.l = q.person_record_id_l
            and d.r = q.person_record_id_r)
    """)
    shown = ("source", "forename", "surname", "date_of_birth", "sex", "postcode", "address")
    cols = ", ".join(f"{side}.{c}" for side in ("l", "r") for c in shown)
    # Once the run's new features are stored, the person_features view holds them twice (stored
    # and new): one row a record.
    con.execute(f"""
        insert into wh.spine.review_queue
        with features as (select distinct on (unique_id) * from person_features)
        select s.person_record_id_l, s.person_record_id_r, s.match_probability, s.match_weight,
               (select run_id from this_run), {cols}
        from scored s
        join features l on l.unique_id = s.person_record_id_l
        join features r on r.unique_id = s.person_record_id_r
        where not ({model.LINKED})
          and not exists (select 1 from decisions d where d.l = s.person_record_id_l
                          and d.r = s.person_record_id_r)
          and not exists (select 1 from wh.spine.review_queue q
                          where q.person_record_id_l = s.person_record_id_l
                            and q.person_record_id_r = s.person_record_id_r)
    """)


def _rehome(con) -> int:
    """`rehomed`: stored records whose home the place spine has matched to another UPRN (or
    to none) since they were linked, with the UPRN it gives now; how many. Records compared
    from this run on use it; pairs already scored are scored again only in a full re-link."""
    con.execute("""
        create or replace table rehomed as
        select f.unique_id, h.uprn from wh.spine.person_features f
        left join home_uprns h on h.place_record_id = f.unique_id
        where f.uprn is distinct from h.uprn
    """)
    return _count(con, "select * from rehomed")


def _changes(con, full: bool) -> bool:
    """`new_records` and `withdrawn` (records that arrived and left since the last run), and
    whether this run must link everything: when asked, on the first run, and when the stored
    features were made by other code."""
    con.execute("""
        create or replace table new_records as
        select person_record_id as record_id from wh.intermediate.int_person_records
        except select person_record_id from wh.spine.person_ids
    """)
    con.execute("""
        create or replace table withdrawn as
        select person_record_id as record_id from wh.spine.person_ids
        except select person_record_id from wh.intermediate.int_person_records
    """)
    features.register_lookups(con)
    columns = {r[0] for r in con.execute(f"describe {RECORDS}").fetchall()}
    sql = features.features_sql(f"({RECORDS})", columns)
    expected = [r[0] for r in con.execute(f"describe {sql}").fetchall()]
    stored = [r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_catalog = 'wh' "
        "and table_schema = 'spine' and table_name = 'person_features' order by ordinal_position"
    ).fetchall()]  # fmt: skip
    return full or stored != expected or _count(con, "select 1 from wh.spine.person_ids") == 0


def refresh(
    con: duckdb.DuckDBPyConnection,
    models: Path,
    decisions: Path,
    full: bool = False,
    run_id: str | None = None,
) -> Run:
    """Bring the spine up to date with int_person_records, in a workspace (the warehouse
    attached as `wh`), with the latest model in `models` (one is trained if there is none) and
    the reviewers' `decisions`. `full` re-links everything and maps the new clusters back onto
    the previous IDs."""
    started = time.perf_counter()
    run = Run(run_id=run_id or uuid.uuid4().hex, kind="full re-link" if full else "incremental")

    @contextlib.contextmanager
    def phase(name: str):
        clock = time.perf_counter()
        yield
        run.phases[name] = round(time.perf_counter() - clock, 2)

    prepare(con)
    with phase("read and prepare"):
        con.execute("create or replace table this_run as select ? as run_id", [run.run_id])
        full = _changes(con, full)
        new_only = "" if full else "where person_record_id in (select record_id from new_records)"
        con.execute(f"create or replace table recs as {RECORDS} {new_only}")
        features.prepare(con, "recs", "new_features")
        run.homes_rematched = 0 if full else _rehome(con)
        kept = (
            ""
            if full
            else "select f.* replace (if(r.unique_id is null, f.uprn, r.uprn) as uprn) "
            "from wh.spine.person_features f left join rehomed r on r.unique_id = f.unique_id "
            "where f.unique_id not in (select record_id from withdrawn) union all by name "
        )
        con.execute(f"create or replace view person_features as {kept}"
                    "select * from new_features")  # fmt: skip
    run.records = _count(con, "select * from person_features")
    run.new_records = _count(con, "select * from new_records")
    run.withdrawn_records = _count(con, "select * from withdrawn")
    if full:
        run.kind = "first link" if run.records == run.new_records else "full re-link"

    with phase("train model"):
        path = model.latest(models) or _train(con, models)
    body = model.load(path)
    run.model_version, run.model_path = body["version"], str(path)

    api = DuckDBAPI(con)
    review.ensure_file(decisions)
    _decisions(con, decisions)
    with phase("score pairs"):
        if run.new_records or full:
            _score(con, api, linker(con, api, body["splink"]), new_only=not full)
        else:
            con.execute("create or replace table scored (person_record_id_l varchar, "
                        "person_record_id_r varchar, match_probability double, "
                        "match_weight double, conflict boolean)")  # fmt: skip
    run.pairs_scored = _count(con, "select * from scored")
    with phase("cluster and assign IDs"):
        _links_this_run(con)
        run.links_added = _count(con, "select * from links where basis = 'model'")
        con.execute("create or replace table id_changes as select * from "
                    "wh.spine.person_id_history limit 0")  # fmt: skip
        mint = _minter(con)
        changes = _full(con, mint) if full else _incremental(con, mint)
        _history(con, run.run_id, changes)
    with phase("write"):
        _write(con, changes, full, mint)
    run.id_changes = len(changes)
    run.persons = _count(con, "select distinct person_id from wh.spine.person_ids")
    run.review_queue = _count(con, "select * from wh.spine.review_queue")
    with phase("diagnose"):
        _clusters(con)
        run.diagnostics = evaluation.diagnostics(con) | {"review_queue": run.review_queue}
    run.seconds = round(time.perf_counter() - started, 2)
    con.execute(
        "insert into wh.spine.runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [run.run_id, datetime.now(UTC).replace(tzinfo=None), run.kind, run.model_version,
         run.records, run.new_records, run.withdrawn_records, run.pairs_scored,
         run.links_added, run.persons, run.id_changes, run.review_queue, run.seconds],
    )  # fmt: skip
    return run


def _clusters(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("""
        create or replace table clusters as
        select person_record_id as unique_id, person_id as cluster_id, source_feed as source,
               agency
        from wh.spine.person_ids
    """)


def evaluate(con: duckdb.DuckDBPyConnection, truth: Path, run_id: str) -> dict:
    """The spine as it stands against the synthetic region's truth (`truth`, one parquet file
    per feed and month), recorded in spine.evaluation under `run_id`: precision, recall and
    F1 over all records and over those with a name or birth date, by feed pair and by error."""
    prepare(con)
    _clusters(con)
    evaluation.load_truth(con, truth, f"({RECORDS})")
    overall = evaluation.overall(con)
    identified = evaluation.overall(con, identifiable_only=True)
    pairs, errors = evaluation.by_feed_pair(con), evaluation.by_error(con)
    figures = {"all records": overall, "records with a name or date of birth": identified,
               "by feed pair": pairs, "by error": errors}  # fmt: skip
    rows = [("all records", None, None, None, overall),
            ("records with a name or date of birth", None, None, None, identified),
            *(("feed pair", p["feed_a"], p["feed_b"], None, p) for p in pairs),
            *(("error", None, None, e["error"], e) for e in errors)]  # fmt: skip
    keys = ("true_positives", "false_positives", "false_negatives", "precision", "recall", "f1")
    rows = [(run_id, scope, a, b, e, *(f[k] for k in keys)) for scope, a, b, e, f in rows]
    _insert(con, "wh.spine.evaluation", rows)
    return figures


def coverage(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """Person records without an ID, and IDs held by records that have gone (`con`: the
    warehouse as its default catalog)."""
    return con.execute("""
        select
            (select count(*) from intermediate.int_person_records r
             where not exists (select 1 from spine.person_ids p
                               where p.person_record_id = r.person_record_id)),
            (select count(*) from spine.person_ids p
             where not exists (select 1 from intermediate.int_person_records r
                               where p.person_record_id = r.person_record_id))
    """).fetchone()  # fmt: skip


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4f}" if v <= 1 else f"{v:,.0f}"
    return "" if v is None else str(v)


def markdown(rows: list[dict]) -> str:
    if not rows:
        return "(none)"
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_fmt(r[k]) for k in head) + " |" for r in rows]
    return "\n".join(lines)


def summary(run: Run) -> str:
    """The run in a few lines, for the CLI and the run log (figures only, no personal data)."""
    lines = [
        f"Person spine ({run.kind}, model {run.model_version}): {run.records:,} person records, "
        f"{run.new_records:,} new, {run.withdrawn_records:,} withdrawn; {run.persons:,} persons; "
        f"{run.pairs_scored:,} pairs scored {model.REVIEW} or more, "
        f"{run.links_added:,} links added, {run.id_changes:,} ID changes, "
        f"{run.review_queue:,} pairs awaiting review, "
        f"{run.homes_rematched:,} homes re-matched by the place spine "
        f"({run.seconds:.1f} s: "
        + ", ".join(f"{k} {v:.1f}" for k, v in run.phases.items() if v >= 0.05)
        + ").",
        f"  share of records linked across agencies: "
        f"{run.diagnostics.get('share_linked_across_agencies') or 0:.1%}",
    ]
    return "\n".join(lines)


def evaluation_summary(figures: dict) -> str:
    """The figures against the truth in a few lines (figures only, no personal data)."""
    lines = []
    for scope, f in figures.items():
        if isinstance(f, dict):
            lines.append(
                f"  against the truth, {scope}: precision {f['precision']:.4f}, "
                f"recall {f['recall']:.4f}, F1 {f['f1']:.4f}; {f['split_persons']:,} of "
                f"{f['true_persons']:,} true persons split, {f['merged_clusters']:,} of "
                f"{f['clusters']:,} clusters merge two or more."
            )
    return "\n".join(lines)
