"""`hub`: the Partnership Data Hub's command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .config import paths


def _generate(args: argparse.Namespace) -> int:
    from .synth.errors import ErrorRates
    from .synth.region import generate, month_range

    summary = generate(
        population=args.population,
        months=month_range(args.months),
        seed=args.seed,
        out=Path(args.out),
        truth=Path(args.truth),
        reference=Path(args.reference),
        rates=ErrorRates.parse(args.error_rate),
        overwrite=args.overwrite,
        progress=not args.quiet,
    )
    total = sum(summary.records.values())
    print(
        f"Synthetic region: {args.population:,} people, {summary.properties:,} properties, "
        f"{len(summary.months)} months ({summary.months[0]} to {summary.months[-1]})."
    )
    print(
        f"Delivered {total:,} records in {len(summary.records)} feeds to {args.out}/"
        f"<agency>/<feed>/<YYYY-MM>/; gazetteer in {args.reference}/; truth in {args.truth}/."
    )
    if summary.changes:
        print(
            "Changes over the window: "
            + ", ".join(f"{v:,} {k}" for k, v in sorted(summary.changes.items()))
        )
    return 0


def parser() -> argparse.ArgumentParser:
    data = paths()
    p = argparse.ArgumentParser(prog="hub", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate", help="generate a synthetic region and deliver every agency feed")
    g.add_argument("--population", type=int, default=20_000, help="residents at the start")
    g.add_argument("--months", default="2024-01:2024-12", help="YYYY-MM:YYYY-MM")
    g.add_argument("--seed", type=int, default=42)
    g.add_argument("--out", default=str(data.landing), help="landing folder")
    g.add_argument("--truth", default=str(data.truth), help="ground-truth folder (never landing)")
    g.add_argument("--reference", default=str(data.reference), help="gazetteer folder")
    g.add_argument(
        "--error-rate",
        action="append",
        default=[],
        metavar="TYPE=RATE",
        help="override one error rate, e.g. typo=0.05 (repeatable)",
    )
    g.add_argument(
        "--overwrite", action="store_true", help="replace a region that `hub generate` wrote before"
    )
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    g.set_defaults(func=_generate)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileExistsError) as e:
        print(f"hub {args.command}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
