"""The requests register made into what every stage reads, in the warehouse's `ops` schema:

- `ops.rights_records`: the source records each request names, found once when it is first
  applied (a person's records through the spine), and again in every later supply for a person
  erased or restricted (`found_by = 'later supply'`);
- `ops.rights_subjects`: for a person erased or restricted, keyed fingerprints of what
  identifies them (full name with date of birth; an agency's reference), so a later supply that
  names them again is recognised although the spine has forgotten them. Salted with
  `ops.rights_salt`, a random value the encrypted warehouse alone holds, so a fingerprint cannot
  be recomputed from a guess of a name without the warehouse;
- `ops.withheld_records` (feed, record key): what staging leaves out; erased records also leave
  the archive here, at once, and at every later ingest of a supply that brings them back;
- `ops.corrections` (feed, record key, column, value): what staging puts in place of the value
  delivered;
- `ops.rights_log`: what each run did for each request (tables, rows), for the propagation
  report.

Everything downstream follows from staging: a month whose staging rows changed is rebuilt
(int_periods), and records that leave int_person_records leave the spine (spine.py)."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

import duckdb

from dagster_project.codegen.dbt_files import model_name, staged_attributes
from dagster_project.contracts.model import Contract
from dagster_project.ingest.suites import date_format
from dagster_project.rights.register import Request, active

SCHEMA = """
create schema if not exists ops;
create table if not exists ops.withheld_records (
    feed varchar not null, record_key varchar not null, action varchar, request_id varchar);
create table if not exists ops.corrections (
    feed varchar not null, record_key varchar not null, column_name varchar, value varchar,
    request_id varchar);
create table if not exists ops.rights_records (
    request_id varchar, feed varchar, record_key varchar, record_id varchar, role varchar,
    person_id varchar, period varchar, found_by varchar, found_at timestamp);
create table if not exists ops.rights_resolved (request_id varchar, resolved_at timestamp);
create table if not exists ops.rights_subjects (request_id varchar, fingerprint varchar);
create table if not exists ops.rights_salt (salt varchar);
create table if not exists ops.returning_ids (person_record_id varchar, person_id varchar);
create table if not exists ops.rights_log (
    request_id varchar, run_id varchar, logged_at timestamp, table_name varchar, rows bigint,
    what varchar);
"""
WITHHOLDS = ("erase", "restrict")


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    """The ops tables staging reads (and the rest), present before any model is built."""
    con.execute(SCHEMA)


def _many(con: duckdb.DuckDBPyConnection, sql: str, rows: list) -> None:
    if rows:  # DuckDB refuses an executemany of nothing
        con.executemany(sql, rows)


def _raw(contract: Contract) -> str:
    return f'raw."{contract.name}"'


def _salt(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute("select salt from ops.rights_salt").fetchone()
    if row:
        return row[0]
    salt = secrets.token_hex(32)
    con.execute("insert into ops.rights_salt values (?)", [salt])
    return salt


def _fingerprints(relation: str, agency: str) -> str:
    """SQL: (fingerprint) of each person mention of `relation` (forename, surname,
    date_of_birth, agency_ref; `agency` is SQL too), with the salt as parameter $salt."""
    return f"""
        select sha256($salt || '|name|' || forename || '|' || surname || '|'
                      || date_of_birth::varchar)
            as fingerprint, *
        from {relation} where forename is not null and surname is not null
                          and date_of_birth is not null
        union all
        select sha256($salt || '|ref|' || {agency} || ':' || agency_ref), *
        from {relation} where agency_ref is not null
    """


def _staged_mentions(con: duckdb.DuckDBPyConnection, contracts: dict[str, Contract]) -> str:
    """SQL: every person mention staging holds (feed, record_key, record_id, role, period,
    agency, forename, surname, date_of_birth, agency_ref), as int_person_records holds them."""
    views = {
        r[0]
        for r in con.execute(
            "select view_name from duckdb_views() where schema_name = 'staging'"
        ).fetchall()
    }
    selects = []
    for c in contracts.values():
        if model_name(c) not in views:
            continue
        for role in c.roles:
            attrs = staged_attributes(c, role)

            def col(attr: str, kind: str = "varchar", role: str = role, attrs=attrs) -> str:
                return f"{role}_{attr}::{kind}" if attr in attrs else f"null::{kind}"

            selects.append(
                f"select '{c.name}' as feed, record_key, record_id, '{role}' as role, period, "
                f"'{c.agency}' as agency, {col('first_name')} as forename, "
                f"{col('surname')} as surname, {col('dob', 'date')}::varchar as date_of_birth, "
                f"{col('ref')} as agency_ref from staging.{model_name(c)}"
            )
    return " union all ".join(selects) or (
        "select null::varchar as feed, null as record_key, null as record_id, null as role, "
        "null as period, null as agency, null as forename, null as surname, "
        "null as date_of_birth, null as agency_ref limit 0"
    )


@dataclass
class Applied:
    """What one run did for the register (counts only)."""

    requests: int = 0  # in force
    resolved: int = 0  # first applied in this run
    found_later: int = 0  # records of later supplies recognised as an erased or restricted person
    withheld: int = 0  # records staging leaves out
    corrected: int = 0  # values staging replaces
    erased_rows: int = 0  # rows deleted from the archive in this run


def _resolve(con, request: Request, contracts: dict[str, Contract], salt: str, now) -> None:
    """The records a request names, found once, with the subject's fingerprints for a person
    erased or restricted."""
    if request.person:
        spine = "spine.person_ids" if exists(con, "spine", "person_ids") else (
            "(select null as person_record_id, null as source_feed, null as period, "
            "null as person_id limit 0)"  # the spine has not run here: nobody to find
        )  # fmt: skip
        rows = con.execute(
            "select split_part(person_record_id, ':', 1), split_part(person_record_id, ':', 2), "
            f"source_feed, period from {spine} where person_id = ?",
            [request.person],
        ).fetchall()
        con.execute(
            "create or replace temp table found_records (record_id varchar, "
            "role varchar, feed varchar, period varchar)"
        )
        _many(con, "insert into found_records values (?, ?, ?, ?)", rows)
        for feed in {r[2] for r in rows}:
            c = contracts[feed]
            con.execute(
                f"insert into ops.rights_records select ?, ?, s.record_key, s.record_id, f.role, "
                f"?, s.period, 'spine', ? from staging.{model_name(c)} s "
                f"join found_records f on f.record_id = s.record_id where f.feed = ?",
                [request.id, feed, request.person, now, feed],
            )
        if request.action in WITHHOLDS:
            con.execute(
                "create or replace temp view mentions as select * from "
                "intermediate.int_person_records where person_record_id in (select "
                "record_id || ':' || role from found_records)"
            )
            con.execute(
                "insert into ops.rights_subjects select distinct $id, fingerprint from ("
                + _fingerprints("mentions", "agency")
                + ")",
                {"id": request.id, "salt": salt},
            )
        # A person restricted before is no longer in the spine: their records and prints are
        # those the earlier request found.
        con.execute(
            "insert into ops.rights_records select distinct $id, feed, record_key, record_id, "
            "role, person_id, period, 'an earlier request', $now from ops.rights_records r "
            "where person_id = $person and request_id <> $id and not exists (select 1 from "
            "ops.rights_records x where x.request_id = $id and x.feed = r.feed "
            "and x.record_key = r.record_key)",
            {"id": request.id, "person": request.person, "now": now},
        )
        if request.action in WITHHOLDS:
            con.execute(
                "insert into ops.rights_subjects select distinct $id, fingerprint "
                "from ops.rights_subjects where request_id in (select request_id from "
                "ops.rights_records where person_id = $person and request_id <> $id)",
                {"id": request.id, "person": request.person},
            )
    else:
        c = contracts[request.feed]
        staged = f"staging.{model_name(c)}"
        if not exists(con, "staging", model_name(c)):
            staged = "(select null as record_id, null as record_key, null as period limit 0)"
        found = con.execute(
            f"select s.record_id, p.person_id, s.period, split_part(p.person_record_id, ':', 2) "
            f"from {staged} s left join spine.person_ids p "
            f"on split_part(p.person_record_id, ':', 1) = s.record_id where s.record_key = ?",
            [request.record],
        ).fetchall()
        for record_id, person_id, period, role in found or [(None, None, None, None)]:
            con.execute(
                "insert into ops.rights_records values (?, ?, ?, ?, ?, ?, ?, 'register', ?)",
                [request.id, request.feed, request.record, record_id, role, person_id, period, now],
            )
    con.execute("insert into ops.rights_resolved values (?, ?)", [request.id, now])
    _to_withdraw(con, request, now)


# Where a person's records are held beyond the archive: table -> SQL of its rows holding them,
# given their records as the temp table `named` (record_id) and their person IDs as `persons`
# (person_id); {db} is the warehouse's catalog.
DERIVED = {
    "intermediate.int_person_records": "select 1 from {db}intermediate.int_person_records t "
    "join named using (record_id)",
    "intermediate.int_events": "select 1 from {db}intermediate.int_events t "
    "join named using (record_id)",
    "intermediate.int_place_records": "select 1 from {db}intermediate.int_place_records t "
    "join named using (record_id)",
    "spine.person_ids": "select 1 from {db}spine.person_ids t "
    "join named on split_part(t.person_record_id, ':', 1) = named.record_id",
    "spine.person_features": "select 1 from {db}spine.person_features t "
    "join named on split_part(t.unique_id, ':', 1) = named.record_id",
    "spine.person_links": "select 1 from {db}spine.person_links t join named "
    "on named.record_id in (split_part(t.person_record_id_l, ':', 1), "
    "split_part(t.person_record_id_r, ':', 1))",
    "spine.review_queue": "select 1 from {db}spine.review_queue t join named "
    "on named.record_id in (split_part(t.person_record_id_l, ':', 1), "
    "split_part(t.person_record_id_r, ':', 1))",
    "level3.person_timeline": "select 1 from {db}level3.person_timeline t "
    "join persons using (person_id)",
    "level3.person_single_view": "select 1 from {db}level3.person_single_view t "
    "join persons using (person_id)",
}


def name_person(con: duckdb.DuckDBPyConnection, person_id: str, db: str = "") -> None:
    """`named` and `persons` (the temp tables DERIVED reads) for one person: the records the
    spine gives them, and those a request about them named (a restricted person's are no
    longer in the spine), each with the role the person has in it (`roles`)."""
    con.execute(
        f"""
        create or replace temp table named as
        select record_id, list(distinct role order by role) as roles from (
            select split_part(person_record_id, ':', 1) as record_id,
                   split_part(person_record_id, ':', 2) as role
            from {db}spine.person_ids where person_id = $p
            union
            select record_id, role from {db}ops.rights_records
            where person_id = $p and record_id is not null
        ) group by record_id
    """,
        {"p": person_id},
    )
    con.execute(
        "create or replace temp table persons as select ?::varchar as person_id", [person_id]
    )


def holdings(con: duckdb.DuckDBPyConnection, db: str = "") -> dict[str, int]:
    """Rows of each table of DERIVED that hold the records of `named` or the people of
    `persons` (`db`: the warehouse's catalog and a dot, when it is not the default)."""
    out = {}
    for table, sql in DERIVED.items():
        schema, name = table.split(".")
        if exists(con, schema, name):
            out[table] = con.execute(f"select count(*) from ({sql.format(db=db)})").fetchone()[0]
    return out


def exists(con, schema: str, name: str) -> bool:
    """Whether the warehouse holds a table or view `schema.name`."""
    return (
        con.execute(
            "select count(*) from (select schema_name, table_name from duckdb_tables() union all "
            "select schema_name, view_name from duckdb_views()) where schema_name = ? "
            "and table_name = ?",
            [schema, name],
        ).fetchone()[0]
        > 0
    )


def _to_withdraw(con, request: Request, now) -> None:
    """Log how many rows of each table beyond the archive hold the request's records when it is
    first applied: what the run and its release take out (or, rectified, correct)."""
    for name, column in (("named", "record_id"), ("persons", "person_id")):
        con.execute(
            f"create or replace temp table {name} as select distinct {column} from "
            f"ops.rights_records where request_id = ? and {column} is not null",
            [request.id],
        )
    for table, rows in holdings(con).items():
        con.execute(
            "insert into ops.rights_log values (?, null, ?, ?, ?, 'held before')",
            [request.id, now, table, rows],
        )


def _later_supplies(con, requests: list[Request], contracts, salt: str, now) -> int:
    """Records in staging that name a person erased or restricted, by their fingerprints:
    withheld with the request that names the person."""
    subjects = [r.id for r in requests if r.person and r.action in WITHHOLDS]
    if not subjects:
        return 0
    con.execute(f"create or replace temp view mentions as {_staged_mentions(con, contracts)}")
    before = con.execute("select count(*) from ops.rights_records").fetchone()[0]
    con.execute(
        f"""
        insert into ops.rights_records
        with subject as (  -- the person each request names, for the records found for it
            select request_id, any_value(person_id) as person_id from ops.rights_records
            where person_id is not null group by 1
        )
        select distinct s.request_id, m.feed, m.record_key, m.record_id, m.role,
               subject.person_id, m.period, 'later supply', $now
        from ({_fingerprints("mentions", "agency")}) m
        join ops.rights_subjects s using (fingerprint)
        left join subject using (request_id)
        where s.request_id in (select unnest($subjects))
          and not exists (select 1 from ops.rights_records r where r.request_id = s.request_id
                          and r.feed = m.feed and r.record_key = m.record_key)
        """,
        {"salt": salt, "now": now, "subjects": subjects},
    )
    return con.execute("select count(*) from ops.rights_records").fetchone()[0] - before


def _correction(request: Request, contract: Contract, role: str | None) -> tuple[str, str] | None:
    """(column, value as the feed delivers it) for a rectification of a record of `contract`;
    None when the feed holds nothing of the attribute for that person."""
    if request.feed:
        column = request.field
    else:
        column = next(
            (f.name for f in contract.fields if f.role == role and f.attribute == request.field),
            None,
        )
    if column is None:
        return None
    field = next(f for f in contract.fields if f.name == column)
    value = request.value
    if field.type == "date":
        value = dt.date.fromisoformat(value).strftime(date_format(contract, field))
    return column, value


# What the register's requests were found to name, kept beside the register too (the copy is
# encrypted with the warehouse's key), so that a warehouse rebuilt from the agencies' files
# still knows the records and the people it must leave out.
KEPT = ("rights_salt", "rights_resolved", "rights_records", "rights_subjects", "rights_log")


def keep(con: duckdb.DuckDBPyConnection, path) -> None:
    """Copy what the register was found to name (KEPT) to the encrypted file at `path`."""
    from dagster_project.platform import warehouse

    fresh = path.with_suffix(".new")
    fresh.unlink(missing_ok=True)
    warehouse.attach(con, fresh, "kept", "warehouse")
    try:
        for table in KEPT:
            con.execute(f"create table kept.main.{table} as select * from ops.{table}")
    finally:
        con.execute("detach kept")
    fresh.chmod(0o600)  # whatever the umask of the process: it names people
    fresh.replace(path)


def restore(con: duckdb.DuckDBPyConnection, path) -> bool:
    """Into a warehouse that has never applied the register (a new or rebuilt one), what an
    earlier one found (keep); whether there was anything to restore."""
    from dagster_project.platform import warehouse

    ensure(con)
    if not path.exists() or con.execute("select count(*) from ops.rights_resolved").fetchone()[0]:
        return False
    warehouse.attach(con, path, "kept", "warehouse", read_only=True)
    try:
        for table in KEPT:
            con.execute(f"insert into ops.{table} select * from kept.main.{table}")
    finally:
        con.execute("detach kept")
    return True


def apply(
    con: duckdb.DuckDBPyConnection,
    requests: list[Request],
    contracts: dict[str, Contract],
    run_id: str,
) -> Applied:
    """Bring the ops tables up to the register, and take erased records out of the archive, in
    one transaction (`con`: the warehouse as its default catalog)."""
    ensure(con)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    held = active(requests)
    out = Applied(requests=len(held))
    con.execute("begin")
    try:
        salt = _salt(con)
        done = {r[0] for r in con.execute("select request_id from ops.rights_resolved").fetchall()}
        for request in requests:
            if request.id in done:
                continue
            if request in held:
                _resolve(con, request, contracts, salt, now)
            else:  # a lift, or a restriction lifted before it was applied: nothing to find
                con.execute("insert into ops.rights_resolved values (?, ?)", [request.id, now])
            out.resolved += 1
        out.found_later = _later_supplies(con, held, contracts, salt, now)
        _withheld(con, held)
        _returning(con, requests, held)
        out.corrected = _corrections(con, held, contracts)
        (out.withheld,) = con.execute("select count(*) from ops.withheld_records").fetchone()
        out.erased_rows = erase_from_archive(con, contracts, run_id, now)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return out


def _withheld(con, held: list[Request]) -> None:
    con.execute("delete from ops.withheld_records")
    ids = [r.id for r in held if r.action in WITHHOLDS]
    actions = {r.id: r.action for r in held}
    if not ids:
        return
    rows = con.execute(
        "select distinct feed, record_key, request_id from ops.rights_records "
        "where request_id in (select unnest(?)) and record_key is not null",
        [ids],
    ).fetchall()
    # An erasure outranks a restriction of the same record.
    best: dict[tuple[str, str], tuple[str, str]] = {}
    for feed, key, request_id in rows:
        if best.get((feed, key), ("restrict",))[0] != "erase":
            best[(feed, key)] = (actions[request_id], request_id)
    _many(
        con,
        "insert into ops.withheld_records values (?, ?, ?, ?)",
        [(f, k, a, r) for (f, k), (a, r) in best.items()],
    )


def _returning(con, requests: list[Request], held: list[Request]) -> None:
    """Records of restrictions since lifted, with the person ID they had: the spine gives it
    back to them when they return (ids.keep_returning)."""
    lifted = [r.id for r in requests if r.action == "restrict" and r not in held]
    con.execute("delete from ops.returning_ids")
    if lifted:
        con.execute(
            "insert into ops.returning_ids select distinct record_id || ':' || role, person_id "
            "from ops.rights_records where request_id in (select unnest(?)) "
            "and record_id is not null and person_id is not null",
            [lifted],
        )


def _corrections(con, held: list[Request], contracts) -> int:
    con.execute("delete from ops.corrections")
    rows = []
    for request in (r for r in held if r.action == "rectify"):
        for feed, key, role in con.execute(
            "select feed, record_key, role from ops.rights_records where request_id = ?",
            [request.id],
        ).fetchall():
            fixed = _correction(request, contracts[feed], role)
            if fixed:
                rows.append((feed, key, *fixed, request.id))
    _many(con, "insert into ops.corrections values (?, ?, ?, ?, ?)", rows)
    return len(rows)


def erase_from_archive(
    con, contracts: dict[str, Contract], run_id: str, now, partition: str | None = None
) -> int:
    """Delete from the archive every row an erasure names (of one month, given `partition`: an
    ingest), logged per request and feed. The caller holds the transaction."""
    total = 0
    feeds = [
        r[0]
        for r in con.execute(
            "select distinct feed from ops.withheld_records where action = 'erase'"
        ).fetchall()
    ]
    present = {
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw' "
            "and table_catalog = current_database()"
        ).fetchall()
    }
    for feed in (f for f in feeds if f in present and f in contracts):
        c = contracts[feed]
        key = c.record_key_sql.replace("trim(", "trim(a.")
        match = (
            f"from {_raw(c)} a join ops.withheld_records w on w.feed = ? "
            f"and w.action = 'erase' and w.record_key = {key}"
        )
        month = " where a._partition = ?" if partition else ""
        params = [feed, partition] if partition else [feed]
        counts = con.execute(
            f"select w.request_id, count(*) {match}{month} group by 1", params
        ).fetchall()
        if not counts:
            continue
        con.execute(
            f"delete from {_raw(c)} where {c.record_key_sql} in (select record_key from "
            f"ops.withheld_records where feed = ? and action = 'erase')"
            + (" and _partition = ?" if partition else ""),
            params,
        )
        for request_id, rows in counts:
            con.execute(
                "insert into ops.rights_log values (?, ?, ?, ?, ?, 'erased')",
                [request_id, run_id, now, f"raw.{feed}", rows],
            )
            total += rows
    return total


# Level 3's people as fingerprints see them: each name and date of birth, each agency reference.
LEVEL3_PEOPLE = """(
    select forename, surname, date_of_birth, null as agency, null as agency_ref
    from level3.main.person_single_view
    union all
    select null, null, null, r.agency, r.ref
    from level3.main.person_single_view, unnest(agency_refs) as u(r)
)"""


def honoured(con: duckdb.DuckDBPyConnection, requests: list[Request]) -> tuple[bool, str, dict]:
    """Whether a release (attached as level3, with the warehouse as `wh`) holds nothing that a
    request in force withholds, tried as a reader of Level 3 would find it: by the records the
    request named, by the person IDs they had, and by the fingerprints of the people erased or
    restricted (their names and dates of birth, their agencies' references). Also that every
    request of the register was applied before the release was built."""
    held = [r for r in active(requests) if r.action in WITHHOLDS]
    applied = {
        r[0] for r in con.execute("select request_id from wh.ops.rights_resolved").fetchall()
    }
    waiting = sorted(r.id for r in requests if r.id not in applied)
    ids = [r.id for r in held]
    salt = (con.execute("select salt from wh.ops.rights_salt").fetchone() or [""])[0]
    records, persons, people = con.execute(
        f"""
        with named as (
            select * from wh.ops.rights_records where request_id in (select unnest($ids))
        )
        select
            (select count(*) from level3.main.person_review_queue q
             where split_part(q.person_record_id_l, ':', 1) in (select record_id from named)
                or split_part(q.person_record_id_r, ':', 1) in (select record_id from named)),
            (select count(*) from level3.main.person_timeline
             where person_id in (select person_id from named
                                 where request_id in (select unnest($people)))),
            (select count(*) from ({_fingerprints(LEVEL3_PEOPLE, "agency")}) m
             join wh.ops.rights_subjects s using (fingerprint)
             where s.request_id in (select unnest($ids)))
        """,
        # a person's other records stay when one record of theirs is named: their ID is
        # checked for the requests that name the person
        {"ids": ids, "people": [r.id for r in held if r.person], "salt": salt},
    ).fetchone()
    figures = {
        "requests in force that withhold": len(ids),
        "requests not yet applied": len(waiting),
        "Level 3 rows of named records": records + persons,
        "Level 3 people matching a subject": people,
    }
    problems = [
        *(
            [
                f"{len(waiting)} request(s) of the register not yet applied "
                f"({', '.join(waiting)}): "
                "release again (the release applies the register first)"
            ]
            if waiting
            else []
        ),
        *(
            [f"{records + persons} Level 3 rows hold records a request withholds"]
            if records + persons
            else []
        ),
        *([f"{people} Level 3 people match a person erased or restricted"] if people else []),
    ]
    if problems:
        return False, "; ".join(problems) + ".", figures
    return True, f"No request's records in the release ({len(ids)} in force).", figures
