"""`hub`: the Partnership Data Hub's command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from dagster_project.access.cli import add_parsers as add_access_parsers
from dagster_project.config import PRIVATE, key_from_environment, key_variable, paths
from dagster_project.platform.keys import MissingKey
from dagster_project.platform.warehouse import FileProblem
from dagster_project.rights.cli import add_parsers as add_rights_parsers


def _generate(args: argparse.Namespace) -> int:
    from dagster_project.dev.synth.errors import ErrorRates
    from dagster_project.dev.synth.region import generate, month_range

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
        faulty=args.faulty,
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
    for feed, period, fault in summary.faulty:
        print(f"Faulty on purpose: {feed} {period} ({fault.replace('_', ' ')})")
    return 0


def dagster_home() -> Path:
    """DAGSTER_HOME with the hub's instance settings (dagster_project/dagster.yaml, the one
    place they are edited), shared by `hub refresh` and `make dev`, so runs from the command
    line appear in the UI's history."""
    from importlib import resources

    home = paths().dagster_home
    home.mkdir(parents=True, exist_ok=True)
    settings, ours = home / "dagster.yaml", resources.files("dagster_project") / "dagster.yaml"
    if not settings.exists() or settings.read_text() != ours.read_text():
        settings.write_text(ours.read_text())
    return home


def _instance():
    """The hub's Dagster instance, its runs whose process died marked failed first (they
    would hold the queue and the UI's "in progress" for ever, platform/runs.py)."""
    import dagster as dg

    from dagster_project.platform import runs

    instance = dg.DagsterInstance.from_config(str(dagster_home()))
    for line in runs.heal(instance):
        print(f"Marked failed: {line}.")
    return instance


def _worker() -> dict[str, str]:
    """The tag that names this process as its runs' (platform/runs.py)."""
    from dagster_project.platform import runs

    return {runs.WORKER_TAG: str(runs.this_process())}


def _refresh(args: argparse.Namespace) -> int:

    from dagster_project.contracts.model import load_contracts
    from dagster_project.definitions import defs
    from dagster_project.defs.ingest.assets import asset_key
    from dagster_project.defs.partitions import monthly
    from dagster_project.dev.synth.region import month_range

    months = month_range(args.month)
    valid = monthly().get_partition_keys()
    outside = [m for m in months if m not in valid]
    if outside:
        raise ValueError(
            f"{', '.join(outside)} outside the months the hub holds "
            f"({valid[0]} to {valid[-1]}; HUB_MONTHS sets them)"
            if valid
            else "the hub holds no months yet (HUB_MONTHS sets them)"
        )
    contracts = load_contracts()
    feeds = args.feed or list(contracts)
    unknown = sorted(set(feeds) - set(contracts))
    if unknown:
        raise ValueError(f"no contract for feed {', '.join(unknown)}")
    job = defs().resolve_job_def("monthly_refresh")
    logging = {
        "loggers": {"console": {"config": {"log_level": "INFO" if args.verbose else "CRITICAL"}}}
    }
    from dagster_project.defs.ingest.assets import op_name

    accept = {"ops": {op_name(contracts[f]): {"config": {"accept_shrink": True}} for f in feeds}}
    accept = accept if args.accept_shrink else {}
    refusals = failures = 0
    with _instance() as instance:
        for month in months:
            result = job.execute_in_process(
                partition_key=month,
                instance=instance,
                raise_on_error=False,
                asset_selection=[asset_key(contracts[f]) for f in feeds],
                run_config={**logging, **accept},
                tags={"hub/source": "hub refresh", **_worker()},
            )
            refused = [c for c in result.get_asset_check_evaluations() if not c.passed]
            passed = len(result.get_asset_check_evaluations()) - len(refused)
            failed = _failures(result)
            print(
                f"{month}: {passed} passed, {len(refused)} refused, "
                f"{len(failed)} failed (run {result.run_id[:8]})"
            )
            for m in [e.materialization for e in result.get_asset_materialization_events()]:
                if "records_before" in m.metadata:  # a month replaced, so it can be seen shrink
                    before, rows = m.metadata["records_before"].value, m.metadata["rows"].value
                    print(f"  {m.asset_key.path[-1]}: replaced: {before:,} → {rows:,} records")
            for c in refused:
                print(f"  {c.description}")
            for line in failed:
                print(f"  {line}")
            refusals += len(refused)
            failures += len(failed)
    print(
        f"Warehouse: {paths().warehouse}; runs recorded in {dagster_home()} "
        "(`make dev` shows them)."
    )
    if refusals:
        print(
            f"{refusals} supplies refused: each is in {paths().quarantine}/<agency>/<feed>/"
            "<YYYY-MM>/ with report.html saying why."
        )
    return 1 if failures or (args.strict and refusals) else 0


def _failures(result) -> list[str]:
    """Why each failed step failed, in its last line. A refused supply and a blocking check
    that fails (a release held back) fail their step too; those are the checks' to report."""
    from dagster._core.errors import DagsterAssetCheckFailedError  # not exported by dagster

    from dagster_project.defs.ingest.assets import REFUSED

    def reported(failure) -> bool:
        user = failure.user_failure_data
        return failure.error.cls_name == DagsterAssetCheckFailedError.__name__ or bool(
            user and REFUSED in user.metadata
        )

    steps = result.get_step_failure_events()
    lines = [
        f"{e.step_key} failed: {_last_line(e.step_failure_data.error)}"
        for e in steps
        if not reported(e.step_failure_data)
    ]
    if not result.success and not steps:  # failed before any step ran (its resources)
        errors = [getattr(e.event_specific_data, "error", None) for e in result.all_events
                  if e.is_failure or e.event_type_value == "RESOURCE_INIT_FAILURE"]  # fmt: skip
        lines += [f"the run failed: {_last_line(e)}" for e in errors if e][-1:]
    return lines


def _last_line(error) -> str:
    """The last line of the error that started it all (Dagster wraps user code's errors)."""
    while error.cause:
        error = error.cause
    line = error.message.strip().splitlines()[-1]
    # The hub's own explanations are sentences: without the class name Dagster puts first.
    return line.split(": ", 1)[-1] if error.cls_name in (FileProblem.__name__, "Failure") else line


def _run_job(name: str, verbose: bool, ops: dict | None = None) -> int:
    """Run a job of the code location in-process, recorded in DAGSTER_HOME; print what dbt
    built and tested, each stage's summary, and every check that failed."""
    import dagster as dg

    from dagster_project.definitions import defs

    level = "INFO" if verbose else "CRITICAL"
    with _instance() as instance:
        result = (
            defs()
            .resolve_job_def(name)
            .execute_in_process(
                instance=instance,
                raise_on_error=False,
                tags=_worker(),
                run_config={
                    "loggers": {"console": {"config": {"log_level": level}}},
                    **({"ops": ops} if ops else {}),
                },  # fmt: skip
            )
        )
    checks = result.get_asset_check_evaluations()
    failed = [c for c in checks if not c.passed and c.severity == dg.AssetCheckSeverity.ERROR]
    warned = [c for c in checks if not c.passed and c.severity == dg.AssetCheckSeverity.WARN]
    built = [e.materialization for e in result.get_asset_materialization_events()]
    models = [m for m in built if m.asset_key.path[0] not in ("spine", "reference")]
    if models:
        print(
            f"dbt: {len(models)} models and seeds built, {len(checks) - len(failed)} "
            f"tests passed, {len(failed)} failed (run {result.run_id[:8]})"
        )
    for c in failed:
        print(f"  failed: {c.asset_key.to_user_string()} {c.check_name}")
    for m in built:
        for key in ("summary", "path"):
            if key in m.metadata:
                print(f"{m.asset_key.to_user_string()}: {m.metadata[key].value}")
    for c in checks:
        if "summary" in c.metadata:
            print(c.metadata["summary"].value)
    for c in warned:
        print(f"  below target: {c.asset_key.to_user_string()} {c.check_name}")
    for line in _failures(result):
        print(f"  {line}")
    return 0 if result.success and not failed else 1


def _conform(args: argparse.Namespace) -> int:
    return _run_job("conform", args.verbose)


def _release(args: argparse.Namespace) -> int:
    if args.list:
        return _releases_kept()
    if args.open:
        return _open_release(args.open, args.query, args.max_rows)
    if args.query:
        raise ValueError("a query is for a release opened with --open R")
    return _run_job("release", args.verbose)


def _releases_kept() -> int:
    from dagster_project.tiers import publish

    where = paths()
    releases = publish.kept(where.marts)
    if not releases:
        print("No release yet: hub release publishes one.")
    for r in releases:
        record = r.record
        months = f"{record.get('first_month')} to {record.get('last_month')}"
        built = f"built {record['built_at']}, " if "built_at" in record else ""
        supplies = f"{len(record['supplies'])} supplies" if "supplies" in record else (
            record.get("built_from", ""))  # fmt: skip
        print(f"{r.id}{'  (current)' if r.current else ''}: {built}{months}, {supplies}; "
              f"{where.shown(str(r.folder))}")  # fmt: skip
    return 0


def _open_release(release: str, query: str | None, max_rows: int) -> int:
    """A kept release's record, or a query on its three tiers (attached as level1, level2
    and level3, read-only): for the hub's engineers, who hold its keys (`hub sql` reads the
    warehouse the same way); analysts reach a release through the query service."""
    import duckdb

    from dagster_project.platform import warehouse
    from dagster_project.tiers import publish

    where = paths()
    found = {r.id: r for r in publish.kept(where.marts)}
    if release not in found:
        raise ValueError(f"release {release} is not kept: the releases kept are "
                         f"{', '.join(found) or 'none'} (hub release --list)")  # fmt: skip
    folder = found[release].folder
    if query is None:
        print(json.dumps(found[release].record, indent=2))
        print("Query it: hub release --open " + release + ' "select * from level1.release"')
        return 0
    try:
        with warehouse.memory() as con:
            for tier in publish.TIERS:
                publish.attach(con, publish.tier_file(folder, tier), tier, tier)
            result = con.sql(query)
            if result is not None:
                result.show(max_rows=max_rows, max_width=10_000)
    except (duckdb.Error, warehouse.FileProblem) as e:
        print(f"hub release: {where.shown(str(e))}", file=sys.stderr)
        return 1
    return 0


def _report(args: argparse.Namespace) -> int:
    return _run_job("reports", args.verbose)


def _spine(args: argparse.Namespace) -> int:
    if args.retrain:
        code = _run_job("person_model_retrain", args.verbose)
        if code:
            return code
    ops = {"spine__person_ids": {"config": {"full_relink": args.full}}}
    return _run_job("person_relink", args.verbose, ops)


def _link(args: argparse.Namespace) -> int:
    from dagster_project.people.link import link_file

    out = link_file(Path(args.input), Path(args.output),
                    Path(args.model) if args.model else None,
                    Path(args.pairs) if args.pairs else None)  # fmt: skip
    print("What the linker used:")
    for line in out.used:
        print(f"  {line}")
    print(
        f"{out.records:,} records -> {out.persons:,} persons ({out.links:,} links of "
        f"{out.pairs_scored:,} pairs scored; model: {out.model}). Wrote {args.output}"
        + (f" and {args.pairs}" if args.pairs else "")
    )
    return 0


def _match_places(args: argparse.Namespace) -> int:
    from dagster_project.places.match_file import match_file

    out = match_file(Path(args.gazetteer), Path(args.input), Path(args.output))
    methods = ", ".join(f"{method} {n:,}" for method, n in out.by_method.items())
    print(f"{out.mentions:,} mentions against {out.properties:,} properties: {methods}; "
          f"{out.to_review:,} for a person to look at. Wrote {args.output}")  # fmt: skip
    return 0


def _suites(args: argparse.Namespace) -> int:
    from dagster_project.codegen.suites import write_all
    from dagster_project.config import suites_dir
    from dagster_project.contracts.model import load_contracts

    changes = write_all(load_contracts(), check=args.check)
    for feed, rules in changes.items():
        print(f"{feed}: {'would add' if args.check else 'added'} {', '.join(rules)}")
    if not changes:
        print(f"Every suite in {suites_dir()} has its contract's rules.")
    return 1 if changes and args.check else 0


def _dbt_files(args: argparse.Namespace) -> int:
    from dagster_project.codegen.dbt_files import write_all
    from dagster_project.contracts.model import load_contracts

    changed = write_all(load_contracts(), check=args.check)
    for path in changed:
        print(f"{'would write' if args.check else 'wrote'} dbt/{path}")
    if not changed:
        print("The dbt sources, seeds and staging models match the feed contracts.")
    return 1 if changed and args.check else 0


def _keys(args: argparse.Namespace) -> int:
    from dagster_project.access import settings
    from dagster_project.platform import keys

    created = keys.ensure()
    trail = settings.trail() if created else None
    for path in created:  # a new key is a rotation (docs/keys.md), and audited as one
        name = path.stem
        trail.append({"action": "key_rotation", "user": "hub", "subject": name,
                      "fingerprint": keys.fingerprint(name), "outcome": "created"})  # fmt: skip
    for name in keys.NAMES:
        path = keys.key_file(name)
        if path in created:
            print(f"{name}: created {path} (readable by you only)")
        elif key_from_environment(name):
            print(f"{name}: from the environment ({key_variable(name)})")
        else:
            print(f"{name}: {path} (already there, kept)")
    print("Keep a copy of the keys somewhere safe: without the warehouse key the warehouse "
          "cannot be read (docs/keys.md).")  # fmt: skip
    return 0


def _sql(args: argparse.Namespace) -> int:
    import duckdb

    from dagster_project.platform import warehouse

    def waiting(why: str) -> None:
        print(f"hub sql: {why} (a refresh or release); up to 100 s", file=sys.stderr)

    path = paths().warehouse
    try:
        with (
            warehouse.wait_for_lock(
                lambda: warehouse.connect(read_only=True), on_wait=waiting
            ) as con,
            warehouse.explained(path),
        ):
            result = con.sql(args.query)
            if result is not None:  # a statement that returns no rows
                result.show(max_rows=args.max_rows, max_width=10_000)
    except (duckdb.Error, warehouse.FileProblem) as e:
        print(f"hub sql: {paths().shown(str(e))}", file=sys.stderr)
        return 1
    return 0


def _check(args: argparse.Namespace) -> int:
    from dagster_project.platform import integrity

    lines, whole = integrity.check(paths())
    print("\n".join(lines))
    return 0 if whole else 1


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
    g.add_argument(
        "--faulty",
        type=int,
        default=0,
        metavar="N",
        help="spoil N supplies with faults the gate must refuse (listed in the truth)",
    )
    g.set_defaults(func=_generate)

    r = sub.add_parser("refresh", help="ingest a month of every feed through Dagster")
    r.add_argument("--month", required=True, help="YYYY-MM, or a range YYYY-MM:YYYY-MM")
    r.add_argument("--feed", action="append", help="only this feed (repeatable)")
    r.add_argument("--verbose", action="store_true", help="log every step")
    r.add_argument(
        "--accept-shrink",
        action="store_true",
        help="load replacements that remove more of a month than HUB_SHRINK_SHARE allows",
    )
    r.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when a supply is refused (by default only when a run fails)",
    )
    r.set_defaults(func=_refresh)

    c = sub.add_parser("conform", help="build the dbt models and the person spine through Dagster")
    c.add_argument("--verbose", action="store_true", help="log every step")
    c.set_defaults(func=_conform)

    r = sub.add_parser("release", help="build, check and publish the Level 1, 2 and 3 files")
    r.add_argument("--verbose", action="store_true", help="log every step")
    r.add_argument("--list", action="store_true", help="the releases kept, newest first")
    r.add_argument("--open", metavar="R", help="a kept release: what it was built from, or "
                   "with a query, the query on its tiers (level1, level2, level3)")  # fmt: skip
    r.add_argument("query", nargs="?", help="with --open: SQL on the release's tiers")
    r.add_argument("--max-rows", type=int, default=1000, help="rows to print at most")
    r.set_defaults(func=_release)

    rp = sub.add_parser(
        "report", help="write the strategic profile, scorecard and linkage report (data/reports/)"
    )
    rp.add_argument("--verbose", action="store_true", help="log every step")
    rp.set_defaults(func=_report)

    sp = sub.add_parser("spine", help="bring the person spine up to date through Dagster")
    sp.add_argument("--full", action="store_true",
                    help="re-link every record, keeping IDs by largest overlap")  # fmt: skip
    sp.add_argument("--retrain", action="store_true",
                    help="train a new version of the person model first")  # fmt: skip
    sp.add_argument("--verbose", action="store_true", help="log every step")
    sp.set_defaults(func=_spine)

    k = sub.add_parser("link", help="link person records in a file (no warehouse needed)")
    k.add_argument("--input", required=True, help="records.csv or records.parquet: record_id, "
                   "source, forename, surname, date_of_birth, sex, postcode, address")  # fmt: skip
    k.add_argument("--output", required=True, help="clusters.parquet: record_id, person_id")
    k.add_argument("--model", help="a saved person model (JSON); default: train on the input")
    k.add_argument("--pairs", help="also write the scored pairs to this parquet file")
    k.set_defaults(func=_link)

    mp = sub.add_parser("match-places", help="match the addresses in a file to a gazetteer "
                        "(no warehouse needed)")  # fmt: skip
    mp.add_argument("--gazetteer", required=True, help="a gazetteer CSV in the hub's format "
                    "(docs/gazetteer.md), e.g. data/reference/gazetteer.csv")  # fmt: skip
    mp.add_argument("--input", required=True, help="mentions.csv or .parquet: mention_id, text, "
                    "and optionally postcode, town, easting, northing")  # fmt: skip
    mp.add_argument("--output", required=True, help="matches.parquet: one row per mention")
    mp.set_defaults(func=_match_places)

    s = sub.add_parser("suites", help="write expectation suites from the feed contracts")
    s.add_argument(
        "--check",
        action="store_true",
        help="change nothing; exit 1 if a suite lacks its contract's rules",
    )
    s.set_defaults(func=_suites)

    ky = sub.add_parser("keys", help="create the hub's keys that do not exist yet (never shown)")
    ky.set_defaults(func=_keys)

    q = sub.add_parser("sql", help="run a query on the warehouse, read-only, and print the result")
    q.add_argument("query", help='e.g. "SELECT feed, period, status FROM ops.supply_register"')
    q.add_argument("--max-rows", type=int, default=1000, help="rows to print at most")
    q.set_defaults(func=_sql)

    ck = sub.add_parser("check", help="read every table of the warehouse and the tiers whole; "
                        "exit 1 naming each damaged file and table")  # fmt: skip
    ck.set_defaults(func=_check)

    d = sub.add_parser(
        "dbt-files", help="write dbt sources, seeds and staging models from the contracts"
    )
    d.add_argument(
        "--check",
        action="store_true",
        help="change nothing; exit 1 if a file differs from what the contracts imply",
    )
    d.set_defaults(func=_dbt_files)
    add_access_parsers(sub)
    add_rights_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    os.umask(PRIVATE)  # everything the hub writes is its own account's alone (docs/access.md)
    root = paths().root
    if root.is_dir() and root.stat().st_mode & 0o077:
        root.chmod(0o700)  # a clone's data/ comes from git as 0755; its content is the hub's
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileExistsError, FileNotFoundError, MissingKey, FileProblem) as e:
        print(f"hub {args.command}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
