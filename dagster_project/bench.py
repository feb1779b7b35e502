"""Benchmarks, run by hand (`make bench` or `python -m dagster_project.bench generate`), never
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

    from .archive import connection
    from .config import Paths
    from .contracts import load_contracts
    from .ingest import ingest

    where = Paths(root)

    connect = functools.partial(connection, where.warehouse)

    from .gate import _batch_definition

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

    from .synth.region import month_range

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _hub_generate(population, months, root)
        shutil.move(str(root / "reference"), str(root / "ref"))
        print(
            f"{population:,} people, months {months}, {platform.machine()}, "
            f"{os.cpu_count()} cores, Python {platform.python_version()}"
        )
        wall, peak, out = _timed(
            [sys.executable, "-m", "dagster_project.bench", "_ingest", str(root), months]
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


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m dagster_project.bench")
    sub = p.add_subparsers(dest="what", required=True)
    g = sub.add_parser("generate", help="time and peak memory of `hub generate`")
    g.add_argument(
        "--population", type=int, action="append", help="repeatable; default 20k, 250k and 2.5M"
    )
    g.add_argument("--months", default="2024-01:2024-12")
    i = sub.add_parser("ingest", help="time ingest plus gate of generated months")
    i.add_argument("--population", type=int, default=2_500_000)
    i.add_argument("--months", default="2024-01")
    c = sub.add_parser("_ingest", help=argparse.SUPPRESS)
    c.add_argument("root", type=Path)
    c.add_argument("months")
    args = p.parse_args()
    if args.what == "generate":
        generate(args.population or [20_000, 250_000, 2_500_000], args.months)
    elif args.what == "ingest":
        ingest(args.population, args.months)
    else:
        from .synth.region import month_range

        _ingest_child(args.root, month_range(args.months))


if __name__ == "__main__":
    main()
