"""The place spine: every address and location mention of every feed matched to the gazetteer
(match.py), every event located, and the figures of how well it went, each run.

A run reads `intermediate.int_place_records`, `intermediate.int_events` and
`reference.gazetteer`, honours the reviewers' decisions (`data/review/place_decisions.csv`) and
writes, in one transaction:

- `spine.place_matches`: one row per mention: method, score, UPRN or USRN, point, LSOA, ward,
  district, and the reason when it is not matched;
- `spine.place_review_queue`: the ambiguous and uncertain mentions with their candidates
  (Level 3: it shows addresses);
- `spine.event_locations`: every event with its UPRN or street, point and areas;
- `spine.place_figures`: match rates by feed and method, and reasons; `evaluate` adds the
  accuracy against the synthetic region's truth per feed and error type.

Matching runs in a workspace (an in-memory DuckDB with the warehouse attached as `wh`), so its
scratch tables never land in the warehouse. Every mention is matched again each run: it is
cheap (benchmarks) and a new gazetteer or decision then reaches every mention.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dagster_project.people import review
from dagster_project.places import match
from dagster_project.platform.warehouse import transaction

SCHEMA = "create schema if not exists wh.spine"
CANDIDATES = ("uprn", "usrn")  # a candidate is written "uprn:<UPRN>" or "usrn:<USRN>"


@dataclass
class Run:
    mentions: int = 0
    by_method: dict[str, int] = field(default_factory=dict)
    review_queue: int = 0
    events: int = 0
    events_located: int = 0
    seconds: float = 0.0


def _decisions(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    rows = []
    for d in review.read(path, review.PLACE):
        kind, _, number = d.right.partition(":")
        if kind not in CANDIDATES or not number.isdigit():
            raise review.DecisionsError(
                f"{path}: candidate {d.right!r} for {d.left} is not 'uprn:<UPRN>' or "
                "'usrn:<USRN>' as the review queue shows it"
            )
        value = int(number)
        rows.append((d.left, value if kind == "uprn" else None, value if kind == "usrn" else None,
                     d.match))  # fmt: skip
    con.execute("create or replace table decisions (place_record_id varchar, uprn bigint, "
                "usrn bigint, match boolean)")  # fmt: skip
    if rows:
        con.executemany("insert into decisions values (?, ?, ?, ?)", rows)


# Which mentions count for accuracy: those that name a property in words (a postcode alone
# or bare coordinates cannot name one) or a street.
ACCURACY = """
    create or replace table judged as
    select t.place_record_id, pm.source_feed, t.errors,
           case when t.uprn > 0 then 'property' else 'street' end as truth_kind,
           pm.method,
           case when t.uprn > 0 then pm.uprn = t.uprn
                else pm.usrn = t.usrn and pm.uprn is null end as right_place,
           pm.method <> 'none' and not coalesce(right_place, false) as wrong_place
    from truth t join wh.spine.place_matches pm using (place_record_id)
    where pm.in_words and (t.uprn > 0 or t.usrn > 0)
"""


def _figures(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("""
        create or replace table figures as
        select 'match rate' as figure, source_feed as feed, method as value,
               count(*) as mentions,
               count(*) / sum(count(*)) over (partition by source_feed) as share,
               null::double as wrong_share
        from place_matches join raw_mentions using (place_record_id)
        group by source_feed, method
        union all
        select 'unmatched reason', 'all', reason, count(*),
               count(*) / (select count(*) from place_matches), null
        from place_matches where method = 'none' group by reason
    """)


def _write(con: duckdb.DuckDBPyConnection) -> None:
    """The run's matches, review queue, event locations and figures into the warehouse."""
    con.execute(SCHEMA)
    con.execute("""
        create or replace table wh.spine.place_matches as
        select r.place_record_id, r.record_id, r.source_feed, r.kind, r.period,
               pm.* exclude (place_record_id, to_review), len(m.tokens) > 0 as in_words
        from raw_mentions r join place_matches pm using (place_record_id)
        join mentions m on m.id = r.place_record_id
    """)
    con.execute("""
        create or replace table wh.spine.place_review_queue as
        select r.place_record_id, r.source_feed, r.kind, r.address as mention, r.postcode,
               pm.reason, c.rank,
               coalesce('uprn:' || c.uprn, 'usrn:' || c.usrn)
                   as candidate,
               c.address as candidate_address, c.score
        from place_matches pm join raw_mentions r using (place_record_id)
        join place_candidates c using (place_record_id)
        where pm.to_review
        order by r.place_record_id, c.rank
    """)
    con.execute("""
        create or replace table wh.spine.event_locations as
        select e.event_id, e.source_feed, e.period, pm.method as location_method,
               pm.uprn, pm.usrn, pm.is_property, pm.easting, pm.northing,
               pm.lsoa_code, g.lsoa_name, pm.ward_code, g.ward_name,
               pm.district_code, g.district_name
        from wh.intermediate.int_events e
        left join wh.spine.place_matches pm using (place_record_id)
        left join (select distinct lsoa_code, lsoa_name, ward_code, ward_name,
                          district_code, district_name from gaz) g
          using (lsoa_code, ward_code, district_code)
    """)
    con.execute("create or replace table wh.spine.place_figures as select * from figures")


def refresh(con: duckdb.DuckDBPyConnection, decisions: Path) -> Run:
    """Match every mention now in the warehouse, locate every event, and write the figures, in
    a workspace (the warehouse attached as `wh`), honouring the reviewers' `decisions`."""
    started = time.perf_counter()
    con.execute("create or replace table gaz as select * from wh.reference.gazetteer")
    con.execute("create or replace table raw_mentions as "
                "select * from wh.intermediate.int_place_records")  # fmt: skip
    review.ensure_file(decisions, review.PLACE)
    _decisions(con, decisions)
    match.match(con)
    _figures(con)
    with transaction(con):
        _write(con)
    run = Run()
    run.mentions = con.execute("select count(*) from place_matches").fetchone()[0]
    run.by_method = dict(
        con.execute(
            "select method, count(*) from place_matches group by 1 order by 2 desc"
        ).fetchall()
    )
    [run.review_queue] = con.execute(
        "select count(*) from place_matches where to_review"
    ).fetchone()
    run.events, run.events_located = con.execute(
        "select count(*), count(lsoa_code) from wh.spine.event_locations"
    ).fetchone()
    run.seconds = round(time.perf_counter() - started, 2)
    return run


def evaluate(con: duckdb.DuckDBPyConnection, truth: Path) -> dict:
    """The place matches as they stand against the synthetic region's truth (`truth`, one
    parquet file per feed and month), in a workspace: the accuracy rows of
    spine.place_figures replaced, and the overall share to the true and to a wrong place."""
    con.execute(f"""
        create or replace table truth as
        select r.place_record_id, t.uprn, t.usrn, coalesce(t.errors, '') as errors
        from wh.spine.place_matches r
        join read_parquet('{truth}/*/*.parquet', union_by_name = true) t
          on t.feed = r.source_feed and t.period = r.period
         and t.role = split_part(r.place_record_id, ':', -1)
         and t.row_number = split_part(r.record_id, '#', 2)::integer
    """)
    con.execute(ACCURACY)
    with transaction(con):
        con.execute("delete from wh.spine.place_figures where figure like 'accuracy%'")
        con.execute("""
            insert into wh.spine.place_figures
            with scoped as (
                select truth_kind, 'all' as feed, 'all' as value, right_place, wrong_place
                from judged
                union all
                select truth_kind, source_feed, 'all', right_place, wrong_place from judged
                union all
                select truth_kind, 'all', e, right_place, wrong_place
                from judged, unnest(string_split(errors, ';')) as u(e) where e <> ''
            )
            select 'accuracy, ' || truth_kind, feed, value, count(*),
                   avg(coalesce(right_place, false)::integer), avg(wrong_place::integer)
            from scoped group by truth_kind, feed, value
        """)
    return {
        f: {"mentions": n, "right": right, "wrong": wrong}
        for f, n, right, wrong in con.execute(
            "select figure, mentions, share, wrong_share from wh.spine.place_figures "
            "where figure like 'accuracy%' and feed = 'all' and value = 'all'"
        ).fetchall()
    }  # fmt: skip


def coverage(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """Mentions without an outcome, and outcomes (rows) beyond one per mention (`con`: the
    warehouse as its default catalog)."""
    return con.execute("""
        select
            (select count(*) from intermediate.int_place_records r
             where not exists (select 1 from spine.place_matches m
                               where m.place_record_id = r.place_record_id)),
            (select count(*) - count(distinct place_record_id) from spine.place_matches)
            + (select count(*) from spine.place_matches m
               where not exists (select 1 from intermediate.int_place_records r
                                 where m.place_record_id = r.place_record_id))
    """).fetchone()  # fmt: skip


def figures(con: duckdb.DuckDBPyConnection, rows_of: str) -> list[dict]:
    """Rows of spine.place_figures for one figure, for the asset's metadata."""
    cur = con.execute("select * exclude (figure) from spine.place_figures where figure = ? "
                      "order by feed, value", [rows_of])  # fmt: skip
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def summary(run: Run) -> str:
    """The run in a few lines, for the CLI and the run log (figures only, no addresses)."""
    methods = ", ".join(f"{m} {n:,} ({n / max(run.mentions, 1):.1%})"
                        for m, n in run.by_method.items())  # fmt: skip
    return (
        f"Place spine: {run.mentions:,} place mentions: {methods}; "
        f"{run.review_queue:,} awaiting review; {run.events_located:,} of {run.events:,} "
        f"events located to an LSOA ({run.seconds:.1f} s)."
    )


def accuracy_summary(accuracy: dict) -> str:
    """The figures against the truth in a few lines (figures only, no addresses)."""
    lines = []
    for figure, f in accuracy.items():
        lines.append(
            f"  {figure} mentions against the truth: {f['mentions']:,}, "
            f"{f['right']:.2%} to the true place, {f['wrong']:.2%} to a wrong one."
        )
    return "\n".join(lines)
