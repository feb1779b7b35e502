"""Benchmarks, run by hand (`make bench` or `python -m dagster_project.dev.bench generate`), never
as timed tests: the machines are shared and noisy. Each prints a Markdown table row to paste
into docs/benchmarks.md with the command that produced it."""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pandas import DataFrame


def _hub_generate(population: int, months: str, out: Path) -> tuple[float, float, str]:
    """Wall time, peak resident memory (MiB) and the summary line of one `hub generate`."""
    cmd = [
        sys.executable,
        "-m",
        "dagster_project.cli",
        "generate",
        "--population",
        str(population),
        "--months",
        months,
        "--seed",
        "42",
        "--out",
        str(out / "landing"),
        "--truth",
        str(out / "truth"),
        "--reference",
        str(out / "reference"),
        "--quiet",
    ]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    stdout = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak, in KiB on Linux
    seconds = time.perf_counter() - start
    if status:
        raise SystemExit(f"hub generate failed for population {population}")
    delivered = next(line for line in stdout.splitlines() if line.startswith("Delivered"))
    return seconds, usage.ru_maxrss / 1024, delivered.split(" to ")[0]


def generate(populations: list[int], months: str) -> None:
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("| population | months | wall time (s) | peak memory (MiB) | delivered | on disk (MiB) |")
    print("| ---: | --- | ---: | ---: | --- | ---: |")
    for n in populations:
        with tempfile.TemporaryDirectory() as tmp:
            seconds, peak, delivered = _hub_generate(n, months, Path(tmp))
            size = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file()) / 2**20
        print(
            f"| {n:,} | {months} | {seconds:.1f} | {peak:,.0f} | {delivered} | {size:,.0f} |",
            flush=True,
        )


def _ingest_child(root: Path, months: list[str]) -> None:
    """Ingest every feed for each month in this process; print the stage times as JSON."""
    import functools
    import json

    from dagster_project.config import Paths
    from dagster_project.contracts.model import load_contracts
    from dagster_project.ingest.archive import connection
    from dagster_project.ingest.load import ingest

    where = Paths(root)

    connect = functools.partial(connection, where.warehouse)

    from dagster_project.ingest.gate import _batch_definition

    clock = time.perf_counter()
    _batch_definition()  # Great Expectations loads once per process
    totals = {
        "startup": time.perf_counter() - clock,
        "read": 0.0,
        "gate": 0.0,
        "write": 0.0,
        "records": 0,
        "refused": 0,
    }
    for month in months:
        for contract in load_contracts().values():
            outcome = ingest(contract, month, connect, where)
            for stage, seconds in outcome.seconds.items():
                totals[stage] += seconds
            totals["records"] += outcome.rows
            totals["refused"] += not outcome.passed
    print(json.dumps(totals))


def _timed(cmd: list[str], env: dict | None = None) -> tuple[float, float, str]:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    stdout = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status:
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024, stdout


def ingest(population: int, months: str) -> None:
    """Ingest plus gate of every feed for the months, in-process and through Dagster."""
    import json
    import shutil

    from dagster_project.dev.synth.region import month_range

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _hub_generate(population, months, root)
        shutil.move(str(root / "reference"), str(root / "ref"))
        print(
            f"{population:,} people, months {months}, {platform.machine()}, "
            f"{os.cpu_count()} cores, Python {platform.python_version()}"
        )
        wall, peak, out = _timed(
            [sys.executable, "-m", "dagster_project.dev.bench", "_ingest", str(root), months]
        )
        t = json.loads(out.strip().splitlines()[-1])
        n = len(month_range(months))
        work = t["read"] + t["gate"] + t["write"]
        print(
            f"in-process ingest: {t['records']:,} records, {t['refused']} refused; wall "
            f"{wall:.1f} s ({wall / n:.1f} s a month), peak {peak:,.0f} MiB"
        )
        print(
            f"  read {t['read']:.1f} s, gate {t['gate']:.1f} s, write {t['write']:.1f} s, and "
            f"{t['startup']:.1f} s once to load Great Expectations"
        )
        print(
            f"  the gate adds {t['gate'] / (work - t['gate']):.0%} to reading and writing, "
            f"{(t['gate'] + t['startup']) / (work - t['gate']):.0%} with its start-up"
        )
        shutil.rmtree(root / "warehouse")
        env = {**os.environ, "HUB_DATA_DIR": str(root), "DAGSTER_HOME": str(root / "dagster")}
        wall, peak, out = _timed(
            [sys.executable, "-m", "dagster_project.cli", "refresh", "--month", months], env
        )
        print(
            f"through Dagster (hub refresh): wall {wall:.1f} s ({wall / n:.1f} s a month), "
            f"peak {peak:,.0f} MiB; {out.strip().splitlines()[-2]}"
        )


def _base_region(population: int, months: str, root: Path) -> dict:
    """Generate a region, ingest it in-process and conform it through Dagster (dbt, then the
    spine's first link); the timings."""
    env = {**os.environ, "HUB_DATA_DIR": str(root), "DAGSTER_HOME": str(root / "dagster")}
    seconds, _, delivered = _hub_generate(population, months, root)
    ingest_s, _, _ = _timed(
        [sys.executable, "-m", "dagster_project.dev.bench", "_ingest", str(root), months], env
    )
    conform_s, peak, out = _timed([sys.executable, "-m", "dagster_project.cli", "conform"], env)
    return {"generate": seconds, "ingest": ingest_s, "conform": conform_s, "peak": peak,
            "delivered": delivered, "out": out}  # fmt: skip


def _print_evaluation(path: Path) -> None:
    from dagster_project.platform.warehouse import connect

    with connect(read_only=True, path=path) as con:
        run = con.execute(
            "select run_id from spine.runs order by started_at desc limit 1"
        ).fetchone()[0]

        def table(scope: str, label: str, order: str) -> None:
            rows = con.execute(
                f"select {label}, true_positives + false_negatives as true_pairs, precision, "
                f"recall, f1 from spine.evaluation where run_id = ? and scope {scope} "
                f"order by {order}",
                [run],
            ).fetchall()
            print(f"| {label.split(' as ')[-1]} | true pairs | precision | recall | F1 |")
            print("| --- | ---: | ---: | ---: | ---: |")
            for name, pairs, p, r, f in rows:
                cells = " | ".join("" if v is None else f"{v:.4f}" for v in (p, r, f))
                print(f"| {name} | {pairs:,.0f} | {cells} |")
            print()

        table("in ('all records', 'records with a name or date of birth')", "scope", "scope")
        table("= 'error'", "error", "error")
        table("= 'feed pair'", "feed_a || ' - ' || feed_b as feed_pair", "true_pairs desc")


# The link thresholds the miss analysis re-clusters at, besides the model's own.
THRESHOLDS = (0.99, 0.995, 0.998)


def _print_misses(root: Path) -> None:
    """Why true pairs of named or dated records were not linked: each pair's fate (waiting for
    review, compared but scored low, or found by no blocking rule) by the errors its records
    carry; then the figures had the spine linked at lower thresholds (its links and queued
    pairs re-clustered). Bench only: nothing here is stored."""
    from dagster_project.people import evaluation, ids, model
    from dagster_project.platform.warehouse import attach, memory

    con = memory()
    attach(con, root / "warehouse" / "hub.duckdb", "wh", "warehouse", read_only=True)
    records = """(select person_record_id as record_id, source_feed as source, role, period,
                  record_id as source_record_id, forename, surname, date_of_birth
                  from wh.intermediate.int_person_records)"""
    evaluation.load_truth(con, root / "truth" / "records", records)
    settings = model.load(model.latest(root / "models" / "person"))["splink"]
    blocked = " or ".join(
        f"({r['blocking_rule']})" for r in settings["blocking_rules_to_generate_predictions"]
    )
    con.execute("""
        create table missed as
        select a.unique_id as l, b.unique_id as r
        from truth a join truth b on a.true_id = b.true_id and a.unique_id < b.unique_id
        join wh.spine.person_ids pa on pa.person_record_id = a.unique_id
        join wh.spine.person_ids pb on pb.person_record_id = b.unique_id
        where a.identifiable and b.identifiable and pa.person_id <> pb.person_id""")
    con.execute(f"""
        create table fate as
        select m.l, m.r, case
            when q.person_record_id_l is not null then 'waiting for review (scored '
                || {model.REVIEW} || ' up, or conflicting)'
            when {blocked} then 'compared, scored below {model.REVIEW}'
            else 'found by no blocking rule' end as fate,
            coalesce((select string_agg(distinct e.error, ' + ' order by e.error)
                      from truth_errors e where e.unique_id in (m.l, m.r)), 'none') as errors,
            -- what one side does not give at all (a feed that records only an age, say)
            coalesce(nullif(concat_ws(', ',
                case when l.forename is null or r.forename is null then 'first name' end,
                case when l.date_of_birth is null or r.date_of_birth is null then
                    case when coalesce(l.birth_year, r.birth_year) is null then 'date or age'
                         else 'date (age only)' end end,
                case when (l.postcode is null and l.address_tokens is null)
                       or (r.postcode is null and r.address_tokens is null) then 'home' end
            ), ''), 'nothing') as lacking
        from missed m
        join wh.spine.person_features l on l.unique_id = m.l
        join wh.spine.person_features r on r.unique_id = m.r
        left join wh.spine.review_queue q
          on q.person_record_id_l = m.l and q.person_record_id_r = m.r""")
    print(
        "| missed true pairs (named or dated records) | pairs | one side lacks a date of birth "
        "| lacks a home |"
    )
    print("| --- | ---: | ---: | ---: |")
    for fate, n, no_date, no_home in con.execute("""
        select coalesce(fate, 'all'), count(*), count(*) filter (lacking like '%date%'),
               count(*) filter (lacking like '%home%')
        from fate group by rollup (fate) order by 2 desc""").fetchall():  # fmt: skip
        print(f"| {fate} | {n:,} | {no_date:,} | {no_home:,} |")
    print()
    print("| fate | errors on the two records | one side lacks | pairs |")
    print("| --- | --- | --- | ---: |")
    for fate, errors, lacking, n in con.execute(
        "select fate, errors, lacking, count(*) from fate group by all order by 4 desc limit 25"
    ).fetchall():
        print(f"| {fate} | {errors} | {lacking} | {n:,} |")
    print()
    print("| error | missed pairs | of which one side lacks a date of birth | lacks a home |")
    print("| --- | ---: | ---: | ---: |")
    for error, n, no_date, no_home in con.execute("""
        select e.error, count(*), count(*) filter (f.lacking like '%date%'),
               count(*) filter (f.lacking like '%home%')
        from fate f join (select distinct unique_id, error from truth_errors) e
          on e.unique_id in (f.l, f.r)
        group by 1 order by 2 desc""").fetchall():  # fmt: skip
        print(f"| {error} | {n:,} | {no_date:,} | {no_home:,} |")
    print()
    # Re-cluster at lower thresholds: the spine's links plus the queued pairs that clear one.
    links = con.execute("select person_record_id_l, person_record_id_r "
                        "from wh.spine.person_links").fetchall()  # fmt: skip
    queued = con.execute(f"""
        select q.person_record_id_l, q.person_record_id_r, q.match_probability,
               coalesce({model.CONFLICT}, false)
        from wh.spine.review_queue q
        join wh.spine.person_features l on l.unique_id = q.person_record_id_l
        join wh.spine.person_features r on r.unique_id = q.person_record_id_r""").fetchall()
    everyone = [r[0] for r in con.execute("select unique_id from wh.spine.person_features"
                                          ).fetchall()]  # fmt: skip
    print("| link threshold | scope | precision | recall | merged clusters |")
    print("| ---: | --- | ---: | ---: | ---: |")
    for threshold in (model.LINK, *sorted(THRESHOLDS, reverse=True)):
        extra = [(a, b) for a, b, p, conflict in queued if p >= threshold and not conflict]
        roots = ids.components(everyone, links + extra)
        con.execute("create or replace table clusters (unique_id varchar, cluster_id varchar, "
                    "source varchar, agency varchar)")  # fmt: skip
        con.executemany("insert into clusters values (?, ?, null, null)", list(roots.items()))
        for label, named in (("all records", False), ("named or dated", True)):
            f = evaluation.overall(con, identifiable_only=named)
            print(
                f"| {threshold} | {label} | {f['precision']:.4f} | {f['recall']:.4f} | "
                f"{f['merged_clusters']:,} |"
            )
    print()


def spine_accuracy(population: int, months: str, keep: Path | None = None) -> None:
    """The person spine on a generated region through the whole pipeline, against the truth,
    and why the pairs it misses are missed."""
    with tempfile.TemporaryDirectory() as tmp:
        root = keep or Path(tmp)
        t = _base_region(population, months, root)
        print(
            f"{population:,} people, months {months} ({t['delivered']}); {platform.machine()}, "
            f"{os.cpu_count()} cores. Ingest {t['ingest']:.0f} s; `hub conform` (dbt and the "
            f"spine's first link) {t['conform']:.0f} s, peak {t['peak']:,.0f} MiB."
        )
        print("\n".join(line for line in t["out"].splitlines() if line.strip()))
        print()
        _print_evaluation(root / "warehouse" / "hub.duckdb")
        _print_misses(root)


RELEASE_FIGURES = (
    "persons", "k_anonymity", "people_generalised", "people_withheld", "level1_cells",
    "cells_suppressed_primary", "level1_cells_audited", "level1_suppressions_added",
    "level1_smallest_range", "level1_smallest_reach", "level2_k", "level2_l",
    "level2_unique_share", "level2_neighbour_attack", "level2_neighbour_attack_two_events",
    "level2_smallest_place",
)  # fmt: skip


def release(population: int, months: str) -> None:
    """A generated region through ingest, conform and `hub release`; the release record's
    disclosure figures (docs/disclosure-control.md) and what the minimisation cost."""
    import duckdb

    from dagster_project.tiers import publish

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t = _base_region(population, months, root)
        env = {**os.environ, "HUB_DATA_DIR": str(root), "DAGSTER_HOME": str(root / "dagster")}
        release_s, peak, _ = _timed([sys.executable, "-m", "dagster_project.cli", "release"], env)
        print(f"{population:,} people, months {months} ({t['delivered']}); {platform.machine()}, "
              f"{os.cpu_count()} cores. Ingest {t['ingest']:.0f} s, conform {t['conform']:.0f} s, "
              f"`hub release` {release_s:.0f} s (peak {peak:,.0f} MiB).")  # fmt: skip
        with duckdb.connect(
            str(publish.published(root / "marts", "level2")), read_only=True
        ) as con:
            row = con.execute(f"select {', '.join(RELEASE_FIGURES)} from release").fetchone()
            events, squared, lsoa = con.execute(
                "select count(*), count(easting), count(lsoa_code) from events"
            ).fetchone()
            people = con.execute("select count(*) from person_factors").fetchone()[0]
        print("| figure | value |\n| --- | ---: |")
        for name, value in zip(RELEASE_FIGURES, row, strict=True):
            print(f"| {name} | {value:,.4g} |" if isinstance(value, float) else
                  f"| {name} | {value:,} |")  # fmt: skip
        print(f"| events with a 100 m square | {squared / events:.1%} |")
        print(f"| events placed to an LSOA or finer | {lsoa / events:.1%} |")
        print(f"| people published | {people:,} |")


def service(population: int, months: str, data: Path | None, repeats: int) -> None:
    """The query service's time per request, on `data` (a hub's data folder after a release,
    e.g. the demo's) or on a region generated, conformed and released here: the median of
    `repeats` requests of each kind, through HTTP on localhost, as a client sees it."""
    import socket
    import statistics

    import yaml

    from dagster_project.access import demo, tokens
    from dagster_project.access.audit_log import AuditLog
    from dagster_project.access.client import Client
    from dagster_project.config import Paths
    from dagster_project.platform import keys

    with tempfile.TemporaryDirectory() as tmp:
        root = data or Path(tmp) / "data"
        env = {**os.environ, "HUB_DATA_DIR": str(root), "DAGSTER_HOME": str(root / "dagster")}
        if data is None:
            _base_region(population, months, root)
            _timed([sys.executable, "-m", "dagster_project.cli", "release"], env)
        # Users of the benchmark's own (a policy beside the hub's, tokens beside its users'),
        # so the hub's users keep theirs; the requests are real, and audited as any other.
        policy = demo.policy("2099-12-31")
        policy["users"] = {f"bench_{u}": e for u, e in policy["users"].items()}
        policy["projects"][demo.PROJECT]["users"] = ["bench_analyst"]
        (Path(tmp) / "policy.yml").write_text(yaml.safe_dump(policy))
        issued = {u: tokens.issue(Paths(root).access / "tokens.json", f"bench_{u}")
                  for u in demo.USERS}  # fmt: skip
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        env |= {"HUB_POLICY": str(Path(tmp) / "policy.yml"), "HUB_SERVICE_URL": url}
        server = subprocess.Popen(
            [sys.executable, "-m", "dagster_project.cli", "serve"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            clients = {u: Client(f"bench_{u}", t, url) for u, t in issued.items()}
            while not clients["partner"].healthy():
                assert server.poll() is None, "the service did not start"
                time.sleep(0.2)
            project = {"purpose": "problem_profile", "project": demo.PROJECT}
            person = clients["practitioner"].query(
                "select person_id from person_single_view limit 1", purpose="marac", case="B-1"
            )["person_id"][0]
            kinds = {
                "Level 1, `select 1` (the cost of a request)": lambda: clients["partner"].query(
                    "select 1 as one", purpose="performance"),
                "Level 2, events by district and offence group": lambda: clients["analyst"].query(
                    "select district_name, offence_group, count(*) as n from events "
                    "group by all", **project),
                "Level 2, every person key, re-keyed for the project": lambda: clients[
                    "analyst"].query("select person_key from person_factors", **project),
                "Level 3, one person's timeline": lambda: clients["practitioner"].query(
                    f"select person_id, event_date, event_type from person_timeline "
                    f"where person_id = '{person}'", purpose="marac", case="B-1"),
                "airlock, district by offence group checked": lambda: clients[
                    "analyst"].export_request(
                    "select district_name, offence_group, count(*) as n from events "
                    "group by all", **project),
            }  # fmt: skip
            print(f"{root}: {platform.machine()}, {os.cpu_count()} cores, {repeats} requests each")
            print("| request | rows | median ms | slowest ms |\n| --- | ---: | ---: | ---: |")
            for label, call in kinds.items():
                times = []
                for _ in range(repeats):
                    start = time.perf_counter()
                    answer = call()
                    times.append((time.perf_counter() - start) * 1000)
                rows = answer["rows"] if isinstance(answer, dict) else len(answer)
                print(
                    f"| {label} | {rows:,} | {statistics.median(times):,.0f} | {max(times):,.0f} |"
                )
            trail = AuditLog(Paths(root).audit, keys.key("audit").encode())
            start = time.perf_counter()
            verified = trail.verify()
            print(
                f"`hub audit verify`: {verified.entries:,} entries in "
                f"{time.perf_counter() - start:.2f} s ({verified.reason})"
            )
        finally:
            server.terminate()
            server.wait(30)


# A copy of the region's person records as other people with the same statistics: surnames
# and postcodes moved along their sorted vocabularies, birth dates moved by weeks.
DISGUISE = """
with s as (select surname, row_number() over (order by surname) - 1 as i,
                  count(*) over () as n
           from (select distinct surname from base where surname is not null)),
     p as (select postcode, row_number() over (order by postcode) - 1 as i,
                  count(*) over () as n
           from (select distinct postcode from base where postcode is not null))
select b.* replace (
    'c{k}-' || b.person_record_id as person_record_id,
    'c{k}-' || b.record_id as record_id,
    'c{k}-' || b.agency_ref as agency_ref,
    s2.surname as surname,
    b.date_of_birth + {days} as date_of_birth,
    p2.postcode as postcode)
from base b
left join s s1 on s1.surname = b.surname
left join s s2 on s2.i = (s1.i + {k} * 7919) % s1.n
left join p p1 on p1.postcode = b.postcode
left join p p2 on p2.i = (p1.i + {k} * 104729) % p1.n
"""


def _scaled(copies: int, limit: int, first: int = 1) -> str:
    parts = [DISGUISE.format(k=k, days=7 * k) for k in range(first, first + copies)]
    return " union all ".join(f"({q})" for q in parts) + f" limit {limit}"


def _spine_child() -> None:
    """One spine refresh in this process; its figures as JSON."""
    import json

    from dagster_project.config import paths
    from dagster_project.people import spine
    from dagster_project.platform.warehouse import workspace

    where = paths()
    with workspace(where.warehouse) as con:
        run = spine.refresh(con, where.person_models, where.person_decisions)
    print(json.dumps({"kind": run.kind, "records": run.records, "new": run.new_records,
                      "pairs": run.pairs_scored, "persons": run.persons,
                      "seconds": run.seconds, "phases": run.phases}))  # fmt: skip


def _timed_spine(root: Path) -> tuple[float, float, dict]:
    import json

    env = {**os.environ, "HUB_DATA_DIR": str(root)}
    wall, peak, out = _timed([sys.executable, "-m", "dagster_project.dev.bench", "_spine"], env)
    return wall, peak, json.loads(out.strip().splitlines()[-1])


def spine_speed(population: int, months: str, full: int, existing: int, new: int) -> None:
    """Full linkage of `full` records, and an incremental refresh of `new` records against
    `existing`, on disguised copies of a generated region's person records."""
    import shutil

    from dagster_project.people import evaluation, features, ids, spine
    from dagster_project.platform.warehouse import attach, connect, memory

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        t = _base_region(population, months, base)
        with connect(read_only=True, path=base / "warehouse" / "hub.duckdb") as con:
            n = con.execute("select count(*) from intermediate.int_person_records").fetchone()[0]
        print(f"base: {population:,} people, months {months}: {n:,} person records "
              f"(generate {t['generate']:.0f} s, ingest {t['ingest']:.0f} s, conform "
              f"{t['conform']:.0f} s)")  # fmt: skip

        def warehouse(name: str, rows_sql: str, rows: int) -> Path:
            root = Path(tmp) / name
            (root / "warehouse").mkdir(parents=True)
            shutil.copytree(base / "models", root / "models")
            with connect(path=root / "warehouse" / "hub.duckdb") as con:
                attach(con, base / "warehouse" / "hub.duckdb", "b", "warehouse", read_only=True)
                con.execute("create table base as select * from b.intermediate.int_person_records")
                con.execute("create schema intermediate")
                con.execute(f"create table intermediate.int_person_records as {rows_sql}")
            return root

        copies = -(-full // n)
        root = warehouse("full", _scaled(copies, full), full)
        shutil.rmtree(root / "models")  # the first link trains its own model
        wall, peak, r = _timed_spine(root)
        print(f"full linkage of {r['records']:,} records (first link, training included): wall "
              f"{wall:.1f} s, peak {peak:,.0f} MiB; {r['pairs']:,} pairs scored; stages "
              f"{r['phases']}")  # fmt: skip
        shutil.rmtree(root)

        copies = -(-existing // n)
        root = warehouse("incremental", _scaled(copies, existing), existing)
        with memory() as con:
            attach(con, root / "warehouse" / "hub.duckdb", "wh", "warehouse")
            con.execute(spine.SCHEMA)
            con.execute("use wh")
            # The existing spine as a perfect linker would have left it (the true persons):
            # what an incremental run costs does not depend on how the IDs were made.
            recs = """(select person_record_id as record_id, source_feed as source, role,
                       period, substr(record_id, strpos(record_id, '-') + 1)
                       as source_record_id, forename,
                       surname, date_of_birth, person_record_id as copy_id
                       from wh.intermediate.int_person_records)"""
            con.execute(
                "create table r as select *, split_part(copy_id, '-', 1) as copy, "
                f"substr(copy_id, strpos(copy_id, '-') + 1) as original from {recs}"
            )
            attach(con, base / "warehouse" / "hub.duckdb", "b", "warehouse", read_only=True)
            base_recs = """(select person_record_id as record_id, source_feed as source, role,
                            period, record_id as source_record_id, forename, surname,
                            date_of_birth from b.intermediate.int_person_records)"""
            evaluation.load_truth(con, base / "truth" / "records", base_recs)
            con.execute(f"""
                insert into wh.spine.person_ids
                select r.record_id, '{ids.PREFIX}' || lpad((dense_rank() over (
                           order by r.copy, coalesce(t.true_id, r.record_id)))::varchar,
                           {ids.WIDTH}, '0'),
                       r.source, null, r.period, 'bench'
                from r left join truth t on t.unique_id = r.original
            """)
            spine.register_home_uprns(con)
            con.execute(f"create table spine_records as {spine.RECORDS}")
            features.prepare(con, "spine_records", "wh.spine.person_features")
            con.execute("insert into wh.intermediate.int_person_records "
                        + _scaled(-(-new // n), new, first=copies + 1))  # fmt: skip
        wall, peak, r = _timed_spine(root)
        print(f"incremental: {r['new']:,} new records against {r['records'] - r['new']:,}: "
              f"wall {wall:.1f} s, peak {peak:,.0f} MiB; {r['pairs']:,} pairs scored; stages "
              f"{r['phases']}")  # fmt: skip


def _written_mentions(g, n: int, seed: int):
    """n mentions of the gazetteer's properties and streets as agencies write them: a fifth
    street locations, the rest addresses, a quarter of those in another style, conventions and
    postcodes with the generator's error rates; and the truth of each."""
    import numpy as np
    import pandas as pd

    from dagster_project.dev.synth import errors
    from dagster_project.dev.synth.addresses import (
        STYLES,
        Parts,
        convention,
        format_postcode,
        one_line,
        premises,
        properties_taken,
        relational,
    )

    rng = np.random.default_rng(seed)
    rates = errors.ErrorRates()
    taken = properties_taken(g.properties)
    short = dict(zip(g.streets.usrn, g.streets.street_short, strict=True))
    sample = g.properties.iloc[rng.integers(0, len(g.properties), n)]
    sample = sample.astype(object).where(sample.notna(), None)
    rows, truth = [], []
    for i, p in enumerate(sample.itertuples()):
        pid = f"m{i}"
        if rng.random() < 0.2:
            rows.append((pid, f"{p.street}, {p.town.title()}", None, None))
            truth.append((pid, None, int(p.usrn)))
            continue
        style = str(rng.choice(STYLES[1:])) if rng.random() < 0.25 else "standard"
        parts = Parts(p.sub_building, p.building_name, p.building_number, p.street,
                      None if p.sub_building else p.organisation)  # fmt: skip
        q, _ = convention(rng, rates, parts, taken)
        road = short.get(p.usrn) if q.street == p.street else None
        line1 = premises(q.sub_building, q.building_name, q.building_number, q.street, style,
                         road, q.organisation)  # fmt: skip
        if rng.random() < rates.relational:  # beside the property: its street is the answer
            rows.append((pid, one_line(relational(rng, line1), p.locality, p.town, None, style),
                         None, None))  # fmt: skip
            truth.append((pid, None, int(p.usrn)))
            continue
        pc = p.postcode
        if rng.random() < 0.01:
            pc = errors.postcode_typo(rng, pc)
        pc = format_postcode(pc, rng.random() < 0.05, rng.random() < 0.02)
        rows.append((pid, one_line(line1, p.locality, p.town, None, style), line1, pc))
        truth.append((pid, int(p.uprn), int(p.usrn)))
    mentions = pd.DataFrame(rows, columns=["place_record_id", "address", "address_line1",
                                           "postcode"])  # fmt: skip
    mentions["easting"] = mentions["northing"] = pd.array([None] * n, dtype="Int64")
    return mentions, pd.DataFrame(truth, columns=["place_record_id", "uprn", "usrn"])


UAM = "uk_address_matcher==1.5.3"


def uam_venv(path: Path) -> Path | None:
    """The python of a venv at `path` holding the Ministry of Justice's uk-address-matcher
    (UAM), made there if missing; None, said why, when it cannot be made. A venv of its own:
    UAM needs splink<5, the hub splink 5."""
    python = path / "bin" / "python"
    name, _, version = UAM.partition("==")
    check = [str(python), "-c", f"import importlib.metadata as m; print(m.version({name!r}))"]
    if python.exists() and subprocess.run(check, capture_output=True, text=True
                                          ).stdout.strip() == version:  # fmt: skip
        return python
    try:
        if not python.exists():
            subprocess.run(["python3", "-m", "venv", str(path)], check=True,
                           capture_output=True, text=True)  # fmt: skip
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", UAM], check=True,
                       capture_output=True, text=True)  # fmt: skip
    except FileNotFoundError as e:
        print(f"No venv for {UAM} at {path}: {e.filename} is not there.")
        return None
    except subprocess.CalledProcessError as e:
        why = (e.stderr or e.stdout or "").strip().splitlines()
        print(f"No venv for {UAM} at {path}: {' '.join(e.cmd[:4])} failed"
              f"{': ' + why[-1] if why else ''}.")  # fmt: skip
        return None
    return python


def run_uam(
    python: Path, gaz: DataFrame, mentions: DataFrame, workdir: Path
) -> tuple[DataFrame, float, float]:
    """UAM's answers on the gazetteer (its columns, docs/gazetteer.md) and the mentions
    (mention_id, text, postcode), through dev/uam_runner.py in UAM's venv: a DataFrame of
    mention_id and uprn (nullable Int64: null where UAM accepts no match), the seconds of the
    matching and those of preparing the gazetteer, timed inside the runner."""
    import duckdb

    workdir.mkdir(parents=True, exist_ok=True)
    files = {k: workdir / f"uam_{k}.parquet" for k in ("gazetteer", "mentions", "answers")}
    with duckdb.connect() as con:
        con.register("gaz", gaz)
        con.register("mentions", mentions)
        con.execute(f"copy gaz to '{files['gazetteer']}' (format parquet)")
        # all-null postcodes come from pandas untyped: the runner reads them as text
        con.execute(f"copy (select mention_id::varchar as mention_id, text::varchar as text, "
                    f"postcode::varchar as postcode from mentions) to '{files['mentions']}' "
                    f"(format parquet)")  # fmt: skip
    runner = Path(__file__).with_name("uam_runner.py")
    proc = subprocess.run([str(python), str(runner), *map(str, files.values())],
                          capture_output=True, text=True)  # fmt: skip
    if proc.returncode:
        raise SystemExit(f"uk-address-matcher failed: {proc.stderr.strip()[-2000:]}")
    said = dict(line.split(": ", 1) for line in proc.stdout.splitlines() if ": " in line)
    with duckdb.connect() as con:
        answers = con.execute(f"select * from read_parquet('{files['answers']}')").df()
    answers["uprn"] = answers["uprn"].astype("Int64")
    return (answers, float(said["uam matching seconds"]),
            float(said["uam gazetteer seconds"]))  # fmt: skip


def _hub_places(gaz, raw, learn: bool = False) -> tuple[object, dict[str, float]]:
    """The hub's place matcher on a gazetteer frame and mentions (raw_mentions' columns): its
    place_matches and the seconds of each stage; with `learn`, the matches again with weights
    learnt by EM from these mentions' candidates (places/weights.py), and those weights."""
    import duckdb

    from dagster_project.config import memory_limit
    from dagster_project.places import match, weights

    with duckdb.connect() as con:
        con.execute(f"set memory_limit = '{memory_limit()}'")
        con.execute("create table gaz as select * from gaz")
        con.execute("create table raw_mentions as select * from raw")
        con.execute("create table decisions (place_record_id varchar, uprn bigint, "
                    "usrn bigint, match boolean)")  # fmt: skip
        stages = {}
        for name, step in (
            ("prepare gazetteer", match.prepare_gazetteer),
            ("parse mentions", match.prepare_mentions),
            ("score properties", match.score_properties),
            ("score streets", match.score_streets),
            ("decide", match.decide),
        ):
            t = time.perf_counter()
            step(con)
            stages[name] = time.perf_counter() - t
        fixed = con.execute("select * from place_matches").df()
        if not learn:
            return fixed, stages
        con.execute("create table blocked_pairs as select * from pairs")
        u = weights.u_by_random_sampling(con)
        con.execute("create or replace table pairs as select * from blocked_pairs")
        learnt = weights.em(*weights.patterns(con), u_fixed=u)
        # the learnt prior is not used: to EM the blocks' candidates all look like matches
        match.score_properties(con, learnt[0])
        match.score_streets(con)
        match.decide(con)
        return (fixed, con.execute("select * from place_matches").df(), learnt), stages


def _place_outcome(answers, truth) -> dict[str, float]:
    """Of the property mentions (a UPRN in the truth): shares right, wrong and unanswered; of
    the others (a street, or beside a property): the share given a UPRN, always wrong."""
    import duckdb

    row = duckdb.sql("""
        select count(*) filter (where t.uprn is not null),
               avg(coalesce(a.uprn = t.uprn, false)::int) filter (where t.uprn is not null),
               avg(coalesce(a.uprn <> t.uprn, false)::int) filter (where t.uprn is not null),
               avg((a.uprn is null)::int) filter (where t.uprn is not null),
               count(*) filter (where t.uprn is null),
               avg((a.uprn is not null)::int) filter (where t.uprn is null)
        from truth t join answers a using (mention_id)
    """).fetchone()
    return dict(zip(("properties", "right", "wrong", "none", "others", "others_uprn"),
                    (x or 0 for x in row), strict=True))  # fmt: skip


def place_speed(properties: int, mentions: int) -> None:
    """Matching against a gazetteer of `properties`, the mentions written from it."""
    import numpy as np

    from dagster_project.dev.synth.gazetteer import build_gazetteer

    clock = time.perf_counter()
    g = build_gazetteer(int(properties * 0.95), np.random.default_rng(1))
    raw, truth = _written_mentions(g, mentions, seed=2)
    gaz = g.properties.drop(columns="building_key")
    print(
        f"{len(gaz):,} properties, {len(raw):,} mentions written "
        f"({time.perf_counter() - clock:.0f} s); {platform.machine()}, {os.cpu_count()} cores"
    )
    matches, stages = _hub_places(gaz, raw)
    matching = sum(v for k, v in stages.items() if k != "prepare gazetteer")
    print(
        f"matching {len(raw):,} mentions: {matching:.1f} s, "
        f"{len(raw) / matching:,.0f} mentions a second; gazetteer prepared once in "
        f"{stages['prepare gazetteer']:.1f} s; stages "
        + ", ".join(f"{k} {v:.1f} s" for k, v in stages.items())
    )
    answers = matches.rename(columns={"place_record_id": "mention_id"})
    truth = truth.rename(columns={"place_record_id": "mention_id"})
    o = _place_outcome(answers, truth)
    print(f"  property mentions: {o['properties']:,}: {o['right']:.2%} right, "
          f"{o['wrong']:.2%} wrong, {o['none']:.2%} unanswered")  # fmt: skip
    streets = answers.merge(truth.loc[truth.uprn.isna(), ["mention_id", "usrn"]],
                            on="mention_id", suffixes=("", "_true"))  # fmt: skip
    right = (streets.uprn.isna() & (streets.usrn == streets.usrn_true)).mean()
    print(f"  street mentions: {len(streets):,}: {right:.2%} to the true street, "
          f"{o['others_uprn']:.2%} given a UPRN")  # fmt: skip


def place_compare(properties: int, mentions: int, variants: int) -> None:
    """The hub's matcher and uk-address-matcher (in its own venv) on one gazetteer, on the
    benchmark's mentions and on variants written by rules independent of the generator
    (dev/variants.py); each mention as text and a postcode, nothing else."""
    import numpy as np
    import pandas as pd

    from dagster_project.config import paths
    from dagster_project.dev.synth.gazetteer import build_gazetteer
    from dagster_project.dev.variants import variants as write_variants

    g = build_gazetteer(int(properties * 0.95), np.random.default_rng(1))
    gaz = g.properties.drop(columns="building_key")
    raw, truth = _written_mentions(g, mentions, seed=2)
    sets = {"the benchmark's mentions": (
        raw[["place_record_id", "address", "postcode"]].set_axis(
            ["mention_id", "text", "postcode"], axis=1),
        truth.rename(columns={"place_record_id": "mention_id"}))}  # fmt: skip
    v, vt = write_variants(gaz, variants, seed=3)
    sets["variants by independent rules"] = (v, vt)
    python = uam_venv(paths().uam_venv)
    print(f"{len(gaz):,} properties; {platform.machine()}, {os.cpu_count()} cores; "
          f"uk-address-matcher: {'1.5.3' if python else 'not run'}")  # fmt: skip
    print("\n| mentions | property mentions | hub: right / wrong / none | "
          "uam: right / wrong / none | others given a UPRN, hub / uam | matching s, hub / uam "
          "| uam ÷ hub |\n| --- | ---: | --- | --- | --- | --- | ---: |")  # fmt: skip
    by_convention = {}
    with tempfile.TemporaryDirectory() as work:
        for label, (m, t) in sets.items():
            nowhere = pd.array([None] * len(m), dtype="Int64")
            raw_m = pd.DataFrame({"place_record_id": m.mention_id, "address": m.text,
                                  "address_line1": None, "postcode": m.postcode,
                                  "easting": nowhere, "northing": nowhere})  # fmt: skip
            matches, stages = _hub_places(gaz, raw_m)
            hub_s = sum(v for k, v in stages.items() if k != "prepare gazetteer")
            hub = matches.rename(columns={"place_record_id": "mention_id"})
            h = _place_outcome(hub, t)
            cells = [f"{h['right']:.2%} / {h['wrong']:.2%} / {h['none']:.2%}"]
            if python:
                uam, uam_s, _ = run_uam(python, gaz, m[["mention_id", "text", "postcode"]],
                                        Path(work))  # fmt: skip
                u = _place_outcome(uam, t)
                cells += [f"{u['right']:.2%} / {u['wrong']:.2%} / {u['none']:.2%}",
                          f"{h['others_uprn']:.2%} / {u['others_uprn']:.2%}",
                          f"{hub_s:.1f} / {uam_s:.1f}", f"{uam_s / hub_s:.1f}"]  # fmt: skip
            else:
                cells += ["", f"{h['others_uprn']:.2%} / ", f"{hub_s:.1f} / ", ""]
            print(f"| {label} ({len(m):,}) | {h['properties']:,} | " + " | ".join(cells) + " |")
            if "convention" in m:
                by_convention = {c: (_place_outcome(hub[hub.mention_id.isin(ids)], t),
                                     _place_outcome(uam[uam.mention_id.isin(ids)], t)
                                     if python else None)
                                 for c, ids in m.groupby("convention").mention_id}  # fmt: skip
    print("\nThe variants by convention (hub; uam), right / wrong / none of property mentions, "
          "or the share of the others given a UPRN:\n\n| convention | hub | uam |\n"
          "| --- | --- | --- |")  # fmt: skip
    for c, (h, u) in sorted(by_convention.items()):
        print(f"| {c} | {_outcome_cell(h)} | {_outcome_cell(u)} |")


def place_weights(properties: int, mentions: int, variants: int) -> None:
    """The matcher with its fixed bits (match.WEIGHTS) and with bits learnt from each set of
    mentions (places/weights.py: u from random pairs, m by EM over the candidates), on the
    benchmark's mentions and on the independent variants."""
    import numpy as np
    import pandas as pd

    from dagster_project.dev.synth.gazetteer import build_gazetteer
    from dagster_project.dev.variants import variants as write_variants
    from dagster_project.places.match import PRIOR, WEIGHTS

    g = build_gazetteer(int(properties * 0.95), np.random.default_rng(1))
    gaz = g.properties.drop(columns="building_key")
    raw, truth = _written_mentions(g, mentions, seed=2)
    v, vt = write_variants(gaz, variants, seed=3)
    nowhere = pd.array([None] * len(v), dtype="Int64")
    sets = {
        "the benchmark's mentions": (raw, truth.rename(columns={"place_record_id": "mention_id"})),
        "variants by independent rules": (pd.DataFrame(
            {"place_record_id": v.mention_id, "address": v.text, "address_line1": None,
             "postcode": v.postcode, "easting": nowhere, "northing": nowhere}), vt),
    }  # fmt: skip
    print(f"{len(gaz):,} properties; weights learnt on each set's own candidates\n")
    print("| mentions | fixed bits: right / wrong / none | learnt by EM: right / wrong / none |"
          "\n| --- | --- | --- |")  # fmt: skip
    learnt_bits = {}
    for label, (m, t) in sets.items():
        (fixed, learnt, (bits, prior)), _ = _hub_places(gaz, m, learn=True)
        learnt_bits[label] = (bits, prior)
        cells = [_outcome_cell(_place_outcome(x.rename(columns={"place_record_id": "mention_id"}),
                                              t), digits=2) for x in (fixed, learnt)]  # fmt: skip
        print(f"| {label} ({len(m):,}) | " + " | ".join(cells) + " |")
    print("\n| comparison | level | fixed bits | " + " | ".join(f"EM, {k}" for k in learnt_bits)
          + " |\n| --- | --- | ---: |" + " ---: |" * len(learnt_bits))  # fmt: skip
    print(f"| prior (EM's not used) | | {PRIOR} | "
          + " | ".join(f"({p})" for _, p in learnt_bits.values()) + " |")  # fmt: skip
    for c, levels in WEIGHTS.items():
        for level, b in levels.items():
            print(
                f"| {c} | {level} | {b} | "
                + " | ".join(f"{bits[c][level]}" for bits, _ in learnt_bits.values())
                + " |"
            )


def _outcome_cell(o: dict | None, digits: int = 1) -> str:
    if o is None:
        return ""
    if o["properties"]:
        return " / ".join(f"{o[k]:.{digits}%}" for k in ("right", "wrong", "none"))
    return f"{o['others_uprn']:.{digits}%} given a UPRN"


def person_uprn() -> None:
    """The person linker on the warehouse's person records (HUB_DATA_DIR) twice, trained on
    each: without the home's UPRN, and with it (from spine.place_matches); each against the
    truth."""
    from dagster_project.config import paths
    from dagster_project.people import evaluation
    from dagster_project.people.link import link_file
    from dagster_project.people.spine import RECORDS, register_home_uprns
    from dagster_project.platform.warehouse import attach, memory

    with tempfile.TemporaryDirectory() as tmp, memory() as con:
        attach(con, paths().warehouse, "wh", "warehouse", read_only=True)
        register_home_uprns(con)
        con.execute(f"create table recs as {RECORDS}")
        evaluation.load_truth(con, paths().truth_records, "recs")
        n, with_uprn = con.execute("select count(*), count(uprn) from recs").fetchone()
        print(f"{n:,} person records, {with_uprn:,} with a home UPRN")
        print(
            "| home compared by | precision | recall | F1 | recall, named or dated | "
            "recall, address written another way | recall, stale address |"
        )
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for label, columns in (("address words and postcode", "* exclude (uprn)"),
                               ("UPRN, then address words and postcode", "*")):  # fmt: skip
            source, out = Path(tmp) / "in.parquet", Path(tmp) / "out.parquet"
            con.execute(f"copy (select {columns} from recs) to '{source}' (format parquet)")
            link_file(source, out)
            con.execute(f"""
                create or replace table clusters as
                select o.record_id as unique_id, o.person_id as cluster_id, r.source, r.agency
                from read_parquet('{out}') o join recs r using (record_id)
            """)
            a, named = evaluation.overall(con), evaluation.overall(con, identifiable_only=True)
            errors = {r["error"]: r["recall"] for r in evaluation.by_error(con)}
            print(
                f"| {label} | {a['precision']:.4f} | {a['recall']:.4f} | {a['f1']:.4f} | "
                f"{named['recall']:.4f} | {errors.get('address_variant', 0):.4f} | "
                f"{errors.get('stale_address', 0):.4f} |"
            )


def rights(population: int, months: str, requests: int) -> None:
    """What the requests register costs at scale: a generated region ingested and conformed,
    then `hub conform` timed with an empty register, then again after `requests` erasures,
    restrictions and rectifications each (of people the spine names in several feeds); then
    a subject access request and the propagation report, and one `hub release` with the
    requests in force (its rights_honoured check passing)."""
    from dagster_project.access import demo

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t = _base_region(population, months, root)
        env = {**os.environ, "HUB_DATA_DIR": str(root), "DAGSTER_HOME": str(root / "dagster")}
        hub = [sys.executable, "-m", "dagster_project.cli"]
        demo.write(root / "access" / "policy.yml", "2099-12-31")
        empty, _, _ = _timed([*hub, "conform"], env)
        with _warehouse(root) as con:
            people = [r[0] for r in con.execute(
                "select person_id from spine.person_ids group by 1 "
                "having count(distinct source_feed) >= 3 order by 1 limit ?", [3 * requests]
            ).fetchall()]  # fmt: skip
            records = con.execute("select count(*) from spine.person_ids").fetchone()[0]
            subject = con.execute(
                "select forename, surname, date_of_birth::varchar from spine.person_ids join "
                "intermediate.int_person_records using (person_record_id) where person_id = ? "
                "and forename is not null and date_of_birth is not null limit 1", [people[2]]
            ).fetchone()  # fmt: skip
        for i, person in enumerate(people):
            action = ("erase", "restrict", "rectify")[i % 3]
            extra = ["--field", "dob", "--value", "1990-01-01"] if action == "rectify" else []
            _timed([*hub, "rights", action, "--user", "dpo", "--person", person,
                    "--reason", "benchmark", *extra], env)  # fmt: skip
        applied, peak, _ = _timed([*hub, "conform"], env)
        # a rectified person (still in the spine), found by its model from their details

        sar, _, _ = _timed([*hub, "sar", "--user", "dpo", "--forename", subject[0],
                                "--surname", subject[1], "--dob", subject[2],
                                "--person", people[2]], env)  # fmt: skip
        search = time.perf_counter()
        matched = subprocess.run([*hub, "sar", "--user", "dpo", "--forename", subject[0],
                                  "--surname", subject[1], "--dob", subject[2]], env=env,
                                 capture_output=True, text=True).returncode  # fmt: skip
        search = time.perf_counter() - search
        listed, _, _ = _timed([*hub, "rights", "list", "--user", "dpo"], env)
        release_s, _, _ = _timed([*hub, "release"], env)
        with _warehouse(root) as con:
            withheld = con.execute("select count(*) from ops.withheld_records").fetchone()[0]
        print(f"{population:,} people, months {months} ({t['delivered']}; {records:,} person "
              f"records); {platform.machine()}, {os.cpu_count()} cores.")  # fmt: skip
        print("| step | seconds |\n| --- | ---: |")
        print(f"| `hub conform`, empty register (nothing new) | {empty:.0f} |")
        print(f"| `hub conform` applying {len(people)} requests ({withheld:,} records withheld) "
              f"| {applied:.0f} (peak {peak:,.0f} MiB) |")  # fmt: skip
        print(f"| `hub sar --person` (the pack written) | {sar:.1f} |")
        print(f"| `hub sar` searching the spine by name and date of birth (exit {matched}: "
              f"0 found, 3 several candidates, 1 none) | {search:.1f} |")  # fmt: skip
        print(f"| `hub rights list` | {listed:.1f} |")
        print(f"| `hub release` with the requests in force | {release_s:.0f} |")


def reports(population: int, months: str) -> None:
    """A generated region released, then each report written again on its own (`hub report`
    times the three together; the assets' metadata gives each page's size)."""
    from dagster_project.reports.strategic import strategic_profile
    from dagster_project.tiers import publish

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t = _base_region(population, months, root)
        env = {**os.environ, "HUB_DATA_DIR": str(root), "DAGSTER_HOME": str(root / "dagster")}
        release_s, _, _ = _timed([sys.executable, "-m", "dagster_project.cli", "release"], env)
        report_s, peak, _ = _timed([sys.executable, "-m", "dagster_project.cli", "report"], env)
        clock = time.perf_counter()
        strategic = strategic_profile(publish.published(root / "marts", "level1"))
        strategic_s = time.perf_counter() - clock
        sizes = {p.name: p.stat().st_size for p in sorted((root / "reports").glob("*.html"))}
        print(f"{population:,} people, months {months} ({t['delivered']}); {platform.machine()}, "
              f"{os.cpu_count()} cores. `hub release` (with the reports) {release_s:.0f} s; "
              f"`hub report` (all three, through Dagster) {report_s:.0f} s, peak {peak:,.0f} "
              f"MiB; the strategic profile alone {strategic_s:.1f} s, {len(strategic):,} "
              "bytes.")  # fmt: skip
        for name, size in sizes.items():
            print(f"  {name}: {size:,} bytes")


def _warehouse(root: Path):
    from dagster_project.platform import warehouse

    return warehouse.connect(read_only=True, path=root / "warehouse" / "hub.duckdb")


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m dagster_project.dev.bench")
    sub = p.add_subparsers(dest="what", required=True)
    g = sub.add_parser("generate", help="time and peak memory of `hub generate`")
    g.add_argument(
        "--population", type=int, action="append", help="repeatable; default 20k, 250k and 2.5M"
    )
    g.add_argument("--months", default="2024-01:2024-12")
    i = sub.add_parser("ingest", help="time ingest plus gate of generated months")
    i.add_argument("--population", type=int, default=2_500_000)
    i.add_argument("--months", default="2024-01")
    a = sub.add_parser("spine-accuracy", help="the person spine against the truth")
    a.add_argument("--population", type=int, default=250_000)
    a.add_argument("--months", default="2024-01:2024-12")
    a.add_argument("--keep", type=Path, help="build the region here and keep it (default: a "
                   "temporary folder)")  # fmt: skip
    s = sub.add_parser("spine-speed", help="full and incremental person linkage at scale")
    s.add_argument("--population", type=int, default=250_000)
    s.add_argument("--months", default="2024-01:2024-12")
    s.add_argument("--full", type=int, default=1_000_000, help="records for the full linkage")
    s.add_argument("--existing", type=int, default=6_000_000, help="records in the spine")
    s.add_argument("--new", type=int, default=100_000, help="new records of the month")
    ps = sub.add_parser("place-speed", help="place matching against a large gazetteer")
    ps.add_argument("--properties", type=int, default=1_000_000)
    ps.add_argument("--mentions", type=int, default=300_000)
    for name, what in (
        ("place-compare", "the hub's place matcher beside uk-address-matcher"),
        ("place-weights", "the place matcher's fixed bits beside bits by EM"),
    ):
        pc = sub.add_parser(name, help=what)
        pc.add_argument("--properties", type=int, default=1_000_000)
        pc.add_argument("--mentions", type=int, default=300_000)
        pc.add_argument("--variants", type=int, default=5_000)
    sub.add_parser("person-uprn", help="person linkage with and without the home's UPRN")
    r = sub.add_parser("release", help="a release's disclosure figures on a generated region")
    r.add_argument("--population", type=int, default=250_000)
    r.add_argument("--months", default="2024-01:2024-12")
    v = sub.add_parser("service", help="the query service's time per request")
    v.add_argument("--population", type=int, default=250_000)
    v.add_argument("--months", default="2024-01:2024-12")
    v.add_argument("--data", type=Path, help="a released hub's data folder (default: generate)")
    v.add_argument("--repeats", type=int, default=20)
    rq = sub.add_parser("rights", help="the requests register's cost: conform, sar, release")
    rq.add_argument("--population", type=int, default=250_000)
    rq.add_argument("--months", default="2024-01:2024-12")
    rq.add_argument("--requests", type=int, default=10, help="of each kind")
    rp = sub.add_parser("reports", help="the reports' time and size on a released region")
    rp.add_argument("--population", type=int, default=250_000)
    rp.add_argument("--months", default="2024-01:2024-12")
    sub.add_parser("_spine", help=argparse.SUPPRESS)
    c = sub.add_parser("_ingest", help=argparse.SUPPRESS)
    c.add_argument("root", type=Path)
    c.add_argument("months")
    args = p.parse_args()
    if args.what == "generate":
        generate(args.population or [20_000, 250_000, 2_500_000], args.months)
    elif args.what == "ingest":
        ingest(args.population, args.months)
    elif args.what == "spine-accuracy":
        spine_accuracy(args.population, args.months, args.keep)
    elif args.what == "spine-speed":
        spine_speed(args.population, args.months, args.full, args.existing, args.new)
    elif args.what == "place-speed":
        place_speed(args.properties, args.mentions)
    elif args.what == "place-compare":
        place_compare(args.properties, args.mentions, args.variants)
    elif args.what == "place-weights":
        place_weights(args.properties, args.mentions, args.variants)
    elif args.what == "person-uprn":
        person_uprn()
    elif args.what == "release":
        release(args.population, args.months)
    elif args.what == "service":
        service(args.population, args.months, args.data, args.repeats)
    elif args.what == "rights":
        rights(args.population, args.months, args.requests)
    elif args.what == "reports":
        reports(args.population, args.months)
    elif args.what == "_spine":
        _spine_child()
    else:
        from dagster_project.dev.synth.region import month_range

        _ingest_child(args.root, month_range(args.months))


if __name__ == "__main__":
    main()
