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


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m dagster_project.bench")
    sub = p.add_subparsers(dest="what", required=True)
    g = sub.add_parser("generate", help="time and peak memory of `hub generate`")
    g.add_argument(
        "--population", type=int, action="append", help="repeatable; default 20k, 250k and 2.5M"
    )
    g.add_argument("--months", default="2024-01:2024-12")
    args = p.parse_args()
    generate(args.population or [20_000, 250_000, 2_500_000], args.months)


if __name__ == "__main__":
    main()
