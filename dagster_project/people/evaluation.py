"""How good the person spine is. Against ground truth (the synthetic region): pairwise precision,
recall and F1, overall, per pair of feeds and per error type, and clusters that split or merge
true persons. Without truth: the diagnostics a data engineer can still read.

Every function reads tables in a DuckDB connection:
- `clusters(unique_id, cluster_id, source, agency)`: the spine's answer, one row per record;
- `truth(unique_id, true_id)` and `truth_errors(unique_id, error)`: the true person of each
  record and the errors the generator put in it;
- `scored(match_weight)`: the pairs scored in this run.
Pair counts come from cell sizes (n records of one true person in one cluster give n(n-1)/2
true positive pairs), so no pair table is ever built.
"""

from __future__ import annotations

from pathlib import Path

import duckdb


def _pairs(n: str) -> str:
    return f"({n}) * (({n}) - 1) // 2"


def _figures() -> str:
    """Precision, recall and F1 from the pair counts `tp.v`, `pred.v` and `act.v`."""
    tp, predicted, actual = (f"coalesce({t}.v, 0)::double" for t in ("tp", "pred", "act"))
    return f"""
        {tp} as true_positives,
        {predicted} - {tp} as false_positives,
        {actual} - {tp} as false_negatives,
        case when {predicted} > 0 then {tp} / {predicted} end as precision,
        case when {actual} > 0 then {tp} / {actual} end as recall,
        case when {predicted} + {actual} > 0 then 2 * {tp} / ({predicted} + {actual}) end as f1"""


def _by(keys: str) -> str:
    """The figures for each value of `keys`, from the pair counts tp, pred and act."""
    return f"""
    select {keys}, {_figures()}
    from act full join pred using ({keys}) left join tp using ({keys})
    order by {keys}"""


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def load_truth(con: duckdb.DuckDBPyConnection, directory: Path, records: str) -> None:
    """`truth` and `truth_errors` for the records in `records` (the spine's person records),
    from the generator's truth files (one row per person named in each delivered row)."""
    files = f"{directory}/*/*.parquet"
    con.execute(f"""
        create or replace table truth as
        select r.record_id as unique_id, t.person_id as true_id, t.errors,
               r.forename is not null or r.surname is not null
               or r.date_of_birth is not null as identifiable
        from {records} r
        join read_parquet('{files}', union_by_name = true) t
          on t.feed = r.source and t.period = r.period and t.role = r.role
         and t.row_number = split_part(r.source_record_id, '#', 2)::integer
        where t.person_id is not null
    """)
    con.execute("""
        create or replace table truth_errors as
        select distinct unique_id, split_part(e, ':', 1) as error
        from (select unique_id, unnest(string_split(errors, ';')) as e from truth)
        where e <> ''
    """)


def overall(con: duckdb.DuckDBPyConnection, identifiable_only: bool = False) -> dict:
    """Figures over every record, or only over records carrying a name or a date of birth
    (a record with neither cannot be linked by anyone)."""
    where = "where t.identifiable" if identifiable_only else ""
    sql = f"""
    with j as (select c.cluster_id, t.true_id from clusters c join truth t using (unique_id)
               {where}),
    tp as (select sum({_pairs("n")}) as v
           from (select count(*) n from j group by cluster_id, true_id)),
    pred as (select sum({_pairs("n")}) as v from (select count(*) n from j group by cluster_id)),
    act as (select sum({_pairs("n")}) as v from (select count(*) n from j group by true_id))
    select {_figures()},
        (select count(*) from j) as records,
        (select count(*) from (select true_id from j group by 1
                               having count(distinct cluster_id) > 1)) as split_persons,
        (select count(distinct true_id) from j) as true_persons,
        (select count(*) from (select cluster_id from j group by 1
                               having count(distinct true_id) > 1)) as merged_clusters,
        (select count(distinct cluster_id) from j) as clusters
    from tp, pred, act
    """
    return _rows(con, sql)[0]


def by_feed_pair(con: duckdb.DuckDBPyConnection) -> list[dict]:
    def pair_counts(keys: str) -> str:
        on = " and ".join(f"a.{k} = b.{k}" for k in keys.split(", "))
        return f"""(
            select a.source as feed_a, b.source as feed_b,
                sum(case when a.source = b.source then {_pairs("a.n")} else a.n * b.n end) as v
            from (select {keys}, source, count(*) n from j group by all) a
            join (select {keys}, source, count(*) n from j group by all) b
                on {on} and a.source <= b.source
            group by all)"""

    sql = f"""
    with j as (select c.cluster_id, t.true_id, c.source
               from clusters c join truth t using (unique_id)),
    tp as {pair_counts("cluster_id, true_id")},
    pred as {pair_counts("cluster_id")},
    act as {pair_counts("true_id")}
    {_by("feed_a, feed_b")}
    """
    return _rows(con, sql)


def by_error(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Pairs with at least one record carrying the error: in a group of n records of which
    e carry it, n(n-1)/2 - (n-e)(n-e-1)/2 pairs."""

    def counts(keys: str) -> str:
        return f"""(
            select ce.error, sum({_pairs("n.n")} - {_pairs("n.n - ce.e")}) as v
            from (select error, {keys}, count(*) e
                  from truth_errors join j using (unique_id) group by all) ce
            join (select {keys}, count(*) n from j group by all) n using ({keys})
            group by 1)"""

    sql = f"""
    with j as (select c.unique_id, c.cluster_id, t.true_id
               from clusters c join truth t using (unique_id)),
    tp as {counts("cluster_id, true_id")},
    pred as {counts("cluster_id")},
    act as {counts("true_id")}
    {_by("error")}
    """
    return _rows(con, sql)


def diagnostics(con: duckdb.DuckDBPyConnection) -> dict:
    """What can be said without truth."""
    sizes = _rows(con, """
        select case when n = 1 then '1' when n = 2 then '2' when n <= 5 then '3-5'
                    when n <= 10 then '6-10' when n <= 50 then '11-50' else '>50' end as size,
               count(*) as clusters
        from (select count(*) n from clusters group by cluster_id) group by 1 order by min(n)
    """)  # fmt: skip
    weights = _rows(con, """
        select floor(match_weight / 5) * 5 as weight_from, count(*) as pairs
        from scored group by 1 order by 1
    """)  # fmt: skip
    across = con.execute("""
        select count(*) filter (agencies > 1) / count(*)
        from clusters join (select cluster_id, count(distinct agency) agencies
                            from clusters group by 1) using (cluster_id)
    """).fetchone()[0]  # fmt: skip
    return {
        "cluster_sizes": {r["size"]: r["clusters"] for r in sizes},
        "match_weights": {f"{r['weight_from']:g}": r["pairs"] for r in weights},
        "share_linked_across_agencies": across,
    }
