"""The checks every release must pass before it is published, run on the staged files
themselves (publish.stage): what an analyst would open is what is checked.

- no_identifiers: no name, birth date, address or agency reference of any person in Level 3
  appears in any column of Level 1 or 2;
- disclosure_controlled: every Level 1 count is suppressed, or a multiple of 5 outside 1-7,
  and the exact audit (audit.py) narrows no suppressed cell to a small count or to fewer than
  5 values;
- level2_anonymous: Level 2 as a whole against the intruder (privacy.py): k and l on
  everything a person key carries, the neighbour attack, the addresses in every place;
- level3_needs_key: the Level 3 file cannot be opened without its key, nor with another.

Each returns a Finding: whether it passed, one sentence saying why, and the figures."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dagster_project.platform import keys, pseudonyms, warehouse
from dagster_project.tiers import disclosure, privacy, publish

NGRAM = 8  # longest run of words compared: a full name, or a house number and street


@dataclass
class Finding:
    passed: bool
    description: str
    figures: dict = field(default_factory=dict)


@contextmanager
def attached(folder: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The tiers in `folder` (the staged release, or the published one), attached read-only as
    level1, level2 and level3."""
    with warehouse.memory() as con:
        for tier in publish.TIERS:
            publish.attach(con, publish.tier_file(folder, tier), tier, tier)
        yield con


def _columns(con, tiers: tuple[str, ...], types: tuple[str, ...]) -> list[tuple[str, str, str]]:
    placeholders = ", ".join("?" for _ in tiers)
    kinds = ", ".join("?" for _ in types)
    return con.execute(
        f"select database_name, table_name, column_name from duckdb_columns() "
        f"where database_name in ({placeholders}) and data_type in ({kinds}) "
        f"order by all", [*tiers, *types]).fetchall()  # fmt: skip


def _normalise(expr: str) -> str:
    return f"trim(regexp_replace(upper({expr}), '[^A-Z0-9]+', ' ', 'g'))"


def _identities(con) -> None:
    """`identities(kind, value, person_key)`: what identifies each Level 3 person, as
    normalised words, plus their birth date."""
    secret = keys.key("pseudonym").encode()
    con.create_function(
        "person_key", lambda pid: pseudonyms.pseudonym(pid, secret),
        ["VARCHAR"], "VARCHAR", side_effects=False,
    )  # fmt: skip
    con.execute(f"""
        create or replace temp table identities as
        with people as (select * from level3.person_single_view),
        names as (
            select 'name' as kind, unnest(names_recorded) as value, person_id from people
        ),
        addresses as (
            select 'address' as kind, a.address as value, person_id
            from people, unnest(addresses) as u(a)
        ),
        refs as (
            select 'agency reference' as kind, r.ref as value, person_id
            from people, unnest(agency_refs) as u(r)
            union all
            select 'agency reference', event_ref, person_id from level3.person_timeline
        ),
        dobs as (
            select 'birth date' as kind, strftime(date_of_birth, '%Y-%m-%d') as value, person_id
            from people
        ),
        every as (
            select kind, {_normalise("value")} as value, person_id from names
            union all
            -- the part of an address that finds a home: the words up to the street's
            -- first word after the house number ("FLAT 2 10 HIGH", "14A MILL")
            select kind, regexp_extract({_normalise("value")},
                   '^(([A-Z]+ ){{0,4}}[0-9][A-Z0-9]*( [0-9][A-Z0-9]*)? [A-Z]+)', 1), person_id
            from addresses
            union all
            select kind, {_normalise("value")}, person_id from refs
            union all
            select kind, {_normalise("value")}, person_id from dobs
        )
        select distinct kind, value, person_key(person_id) as person_key
        from every
        where value is not null and value <> ''
          and (kind <> 'agency reference'
               or (length(value) >= 6 and regexp_matches(value, '[0-9]')))
          and (kind <> 'name' or value like '% %')
    """)


def no_identifiers(con) -> Finding:
    _identities(con)
    found = []
    for tier, table, column in _columns(con, ("level1", "level2"), ("VARCHAR",)):
        rows = con.execute(f"""
            with values_ as (
                select distinct "{column}" as value from {tier}.main.{table}
                where "{column}" is not null
            ),
            words as (
                select value, string_split({_normalise('value')}, ' ') as w from values_
            ),
            grams as (
                select value, array_to_string(w[i:i + n - 1], ' ') as gram
                from words, range(1, len(w) + 1) as a(i), range(1, {NGRAM + 1}) as b(n)
                where i + n - 1 <= len(w)
            )
            select distinct i.kind from grams as g join identities as i on g.gram = i.value
            -- a date on its own is a birth date only when it is the whole value
            where i.kind <> 'birth date' or {_normalise('g.value')} = i.value
        """).fetchall()  # fmt: skip
        found += [f"{tier}.{table}.{column} holds a {kind}" for (kind,) in rows]
    for tier, table, column in _columns(con, ("level1", "level2"), ("DATE", "TIMESTAMP")):
        has_key = con.execute(
            "select count(*) from duckdb_columns() where database_name = ? and table_name = ? "
            "and column_name = 'person_key'", [tier, table]).fetchone()[0]  # fmt: skip
        if has_key and con.execute(f"""
            select count(*) from {tier}.main.{table} as t join identities as i
              on i.kind = 'birth date' and t.person_key = i.person_key
             and strftime(t."{column}", '%Y %m %d') = i.value
        """).fetchone()[0]:  # fmt: skip
            found.append(f"{tier}.{table}.{column} holds a person's birth date")
    identities = con.execute("select count(*) from identities").fetchone()[0]
    if found:
        return Finding(
            False,
            "Level 1 or 2 holds identifiers of Level 3 people: " + "; ".join(found),
            {"columns": len(found), "identities": identities},
        )
    return Finding(True, f"no Level 3 identifier ({identities:,} checked) in Level 1 or 2",
                   {"columns": 0, "identities": identities})  # fmt: skip


def disclosure_controlled(con) -> Finding:
    """Every count suppressed or rounded to 5 outside 1 to 7, and the exact audit of every
    table (tiers/audit.py) finds every suppressed cell protected: its feasible range reaches
    at least 8 and spans at least 5 values."""
    problems, cells, figures = [], 0, {}
    for t in disclosure.TABLES:
        relation = f"level1.main.{t.name}"
        cells += con.execute(f"select count(*) from {relation}").fetchone()[0]
        unsafe = con.execute(f"""
            select count(*) from {relation}
            where ({t.value} is null) <> (suppression is not null)
               or {t.value} between 1 and 7 or {t.value} % 5 <> 0
               or suppression <> '{disclosure.SUPPRESSED}'
        """).fetchone()[0]  # fmt: skip
        if unsafe:
            problems.append(f"{t.name}: {unsafe} count(s) neither suppressed nor safely rounded")
        result = disclosure.audit_table(con, relation, t)
        if exposed := len(result.exposed):
            problems.append(f"{t.name}.{t.value}: {exposed} suppressed cell(s) an intruder can "
                            "narrow to a small count or to fewer than 5 values")  # fmt: skip
        figures[f"{t.name}: smallest range"] = result.smallest_span or 0
        figures[f"{t.name}: suppressed cells audited"] = len(result.ranges)
    figures["cells"] = cells
    if problems:
        return Finding(False, "; ".join(problems), figures)
    return Finding(True, f"all {cells:,} Level 1 cells suppressed or rounded to 5; the exact "
                   "audit narrows no suppressed cell to a small count or to fewer than 5 values",
                   figures)  # fmt: skip


def level2_anonymous(con, gazetteer: str, homes: str) -> Finding:
    """Level 2 as a whole against the intruder of docs/disclosure-control.md (privacy.py)."""
    f = privacy.measure(con, "level2", "level3", gazetteer, homes)
    figures = {k: v for k, v in f.record().items() if v is not None}
    if problems := f.problems():
        return Finding(False, "; ".join(problems), figures)
    return Finding(True, f"Level 2 as a whole: k = {f.k}, l >= 2, no key alone, a neighbour "
                   f"singles out {f.neighbour or 0:.1%}, every place holds "
                   f"{f.smallest_place or 0}+ addresses", figures)  # fmt: skip


def level3_needs_key(path: Path) -> Finding:
    """The Level 3 file at `path` opens with neither no key nor a wrong one."""
    for attempt, option in (("no key", ""), ("a wrong key", " (ENCRYPTION_KEY 'not the key')")):
        with duckdb.connect(config=warehouse.CONFIG) as con:
            try:
                con.execute(f"ATTACH {warehouse.quote(str(path))} AS l3{option}")
                con.execute("select count(*) from duckdb_tables() where database_name = 'l3'")
            except duckdb.Error:
                continue
        return Finding(False, f"{path.name} opened with {attempt}")
    return Finding(True, f"{path.name} opens only with the Level 3 key")
