"""Shared fixtures: small synthetic regions generated once per test session, and the one
region taken end to end (ingest, conform, link, match) that the end-to-end tests copy."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from dagster_project.dev.synth.errors import ErrorRates
from dagster_project.dev.synth.region import Summary, generate, month_range


@dataclass
class Region:
    root: Path
    summary: Summary
    rates: ErrorRates

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def truth(self) -> Path:
        return self.root / "truth"

    @property
    def reference(self) -> Path:
        return self.root / "reference"

    def people(self) -> pd.DataFrame:
        return pd.read_parquet(self.truth / "people.parquet")

    def gazetteer(self) -> pd.DataFrame:
        return pd.read_csv(self.reference / "gazetteer.csv", dtype={"building_number": str})

    def truth_records(self, feed: str | None = None) -> pd.DataFrame:
        pattern = f"{feed}/*.parquet" if feed else "*/*.parquet"
        files = sorted((self.truth / "records").glob(pattern))
        return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def make_region(
    root: Path,
    population: int,
    months: str,
    seed: int,
    rates: ErrorRates | None = None,
    faulty: int = 0,
) -> Region:
    rates = rates or ErrorRates()
    summary = generate(
        population=population,
        months=month_range(months),
        seed=seed,
        out=root / "landing",
        truth=root / "truth",
        reference=root / "reference",
        rates=rates,
        progress=False,
        faulty=faulty,
    )
    return Region(root, summary, rates)


@pytest.fixture(scope="session", autouse=True)
def secrets(tmp_path_factory) -> Path:
    """The hub's keys, made for this session in a folder of its own: a test never reads or
    writes the developer's keys. Set in os.environ, so every subprocess inherits it."""
    from dagster_project.config import key_variable
    from dagster_project.platform import keys

    folder = tmp_path_factory.mktemp("secrets")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HUB_SECRETS_DIR", str(folder))
        for name in keys.NAMES:
            env.delenv(key_variable(name), raising=False)
        keys.ensure()
        yield folder


@pytest.fixture(scope="session", autouse=True)
def region_clock():
    """The synthetic regions are dated 2024: the hub holds its months, and retention is measured
    as of early 2025, else the two-year feeds would go by the day the tests run (test_rights
    moves it on). A supply is read as soon as it is written (the quiet period's test sets
    its own)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HUB_MONTHS", "2024-01:2024-12")
        env.setenv("HUB_RETENTION_AS_OF", "2025-01-31")
        env.setenv("HUB_QUIET_SECONDS", "0")  # supplies are generated whole before they are read
        yield


@pytest.fixture(scope="session")
def region(tmp_path_factory) -> Region:
    """The default error rates, on a region big enough for people to recur across agencies."""
    return make_region(tmp_path_factory.mktemp("region"), 20_000, "2024-01:2024-06", seed=7)


def pytest_addoption(parser):
    parser.addoption(
        "--hub-shard",
        choices=("linked", "rest"),
        help="only the tests that use the session's linked region (`linked`), or only the "
        "others (`rest`): `make test` runs the two at once, one process each, since the "
        "linked region is most of the suite's time and needs one core of its own",
    )


def pytest_collection_modifyitems(config, items):
    """The tests of the noisy region's statistics need 40,000 people generated: not for the
    inner loop (`make test-fast`). With --hub-shard, the tests of the other shard are left out:
    by the fixtures a test uses (with those they use), so a test that comes to need the linked
    region moves to its shard by itself and it is never built twice."""
    for item in items:
        if "noisy_region" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)
    shard = config.getoption("--hub-shard")
    if shard is None:
        return
    keep, drop = [], []
    for item in items:
        in_linked = "linked" in getattr(item, "fixturenames", ())
        (keep if in_linked == (shard == "linked") else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def noisy_region(tmp_path_factory) -> Region:
    """Every error at a high rate, so observed rates can be compared with configured ones."""
    rates = ErrorRates(**{name: 0.2 for name in ErrorRates.__dataclass_fields__})
    return make_region(
        tmp_path_factory.mktemp("noisy"), 40_000, "2024-01:2024-06", seed=11, rates=rates
    )


@pytest.fixture(scope="session")
def pristine(tmp_path_factory) -> Region:
    """A small region whose supplies the ingest tests copy and spoil."""
    return make_region(tmp_path_factory.mktemp("pristine"), 3_000, "2024-01:2024-02", seed=5)


class Hub:
    """A hub of its own for one test at `root`: landing copied from a region (else left as it
    is), an empty warehouse, HUB_DATA_DIR pointing at it."""

    def __init__(self, root: Path, landing_from: Region | None = None):
        import shutil

        from dagster_project.config import Paths

        self.root, self.where = root, Paths(root)
        if landing_from:
            shutil.copytree(landing_from.landing, self.where.landing)

    def contract(self, feed: str):
        from dagster_project.contracts.model import load_contracts

        return load_contracts()[feed]

    def folder(self, feed: str, month: str) -> Path:
        return self.contract(feed).landing_dir(self.where.landing, month)

    def data_file(self, feed: str, month: str) -> Path:
        return self.folder(feed, month) / self.contract(feed).file.filename(month)

    def connect(self, read_only: bool = False):
        from dagster_project.platform.warehouse import connect

        return connect(read_only, self.where.warehouse)

    def ingest(self, feed: str, month: str):
        from dagster_project.ingest.load import ingest

        return ingest(self.contract(feed), month, self.connect, self.where)

    def archive(self, feed: str) -> tuple[int, int]:
        """Row count and a checksum of every value of the feed's raw table."""
        with self.connect() as con:
            exists = con.execute(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema = 'raw' AND table_name = ?",
                [feed],
            ).fetchone()
            if not exists[0]:
                return 0, 0
            df = con.execute(f'SELECT * FROM raw."{feed}" ORDER BY _partition, _row_number').df()
        return len(df), int(pd.util.hash_pandas_object(df.astype(str), index=False).sum())

    def first_value(self, feed: str, column: str):
        """The value of a column in the first delivered row of a feed's archive."""
        with self.connect() as con:
            return con.execute(
                f'SELECT "{column}" FROM raw."{feed}" WHERE _row_number = 1'
            ).fetchone()[0]

    def register(self, feed: str) -> pd.DataFrame:
        with self.connect() as con:
            return con.execute(
                "SELECT * FROM ops.supply_register WHERE feed = ? ORDER BY processed_at, status",
                [feed],
            ).df()


@pytest.fixture
def hub(tmp_path, pristine, monkeypatch) -> Hub:
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path / "data"))
    return Hub(tmp_path / "data", pristine)


def call_hub(*args: str) -> subprocess.CompletedProcess:
    """`hub` in this process (its `main(argv)`), with what it printed and its exit code, for
    the tests where a process of its own is not the point."""
    import contextlib
    import io

    from dagster_project.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as e:  # argparse's own refusals
            code = e.code
    return subprocess.CompletedProcess(["hub", *args], code, out.getvalue(), err.getvalue())


def run_steps(script: str, *args: str, kill_at: str | None = None) -> list[str]:
    """`script` run by Python in a process of its own, which prints each step it reaches
    (and, at the step named in its arguments, waits): killed (-9) at `kill_at`, else run to
    its end. The steps it told; it must reach `kill_at`, or end well."""
    import os
    import signal
    import tempfile

    with tempfile.TemporaryFile("w+") as errors:
        child = subprocess.Popen(
            [sys.executable, "-c", script, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        told = []
        for line in child.stdout:
            told.append(line.strip())
            if told[-1] == kill_at:
                child.send_signal(signal.SIGKILL)
                break
        code = child.wait(timeout=300)
        child.stdout.close()
        child.stdin.close()
        errors.seek(0)
        if kill_at:
            assert told[-1:] == [kill_at], f"the child never reached {kill_at!r}, only {told}"
        else:
            assert code == 0, errors.read()[-2000:]
    return told


def run_hub(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """The `hub` console script of the environment running the tests, as a user would: for
    the tests where the process matters (its environment, another process's lock)."""
    exe = Path(sys.executable).with_name("hub")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=900, env=env)


def refresh(hub: Hub, months: list[str], instance):
    """Ingest every feed's months, then conform, link and match, as a monthly refresh does."""
    from dagster_project.contracts.model import load_contracts
    from dagster_project.definitions import defs

    for month in months:
        for feed in load_contracts():
            hub.ingest(feed, month)
    return defs().resolve_job_def("conform").execute_in_process(instance=instance)


@dataclass
class Linked:
    """The seed-7 region's first months linked, then its last month added by a second refresh;
    `root` is never changed: a test copies it (`copy_to`) before it changes anything."""

    root: Path
    first: object  # the Dagster results of the two refreshes
    second: object
    ids_before: pd.DataFrame  # person IDs after the first refresh
    region: Region

    def copy_to(self, root: Path) -> Hub:
        import shutil

        shutil.copytree(self.root, root, symlinks=True, ignore=shutil.ignore_patterns("dagster"))
        return Hub(root)


def person_ids(hub: Hub) -> pd.DataFrame:
    with hub.connect(read_only=True) as con:
        return con.execute("select person_record_id, person_id from spine.person_ids").df()


@pytest.fixture(scope="session")
def linked(tmp_path_factory, region) -> Linked:
    """Built once per session: months arrive one refresh at a time, as in production."""
    import shutil

    import dagster as dg

    root = tmp_path_factory.mktemp("linked") / "data"
    # An instance of its own, so nothing another test left behind reaches these runs.
    with pytest.MonkeyPatch.context() as env, dg.instance_for_test() as instance:
        env.setenv("HUB_DATA_DIR", str(root))
        hub = Hub(root, region)
        shutil.copytree(region.truth, root / "truth")
        shutil.copytree(region.reference, root / "reference")
        months = region.summary.months
        first = refresh(hub, months[:-1], instance)
        before = person_ids(hub)
        second = refresh(hub, months[-1:], instance)
    return Linked(root, first, second, before, region)


@dataclass
class Released:
    hub: Hub
    result: object  # the Dagster result of the release


def release(instance):
    """The tiers released through Dagster: the marts, the staged files, their checks and the
    rename."""
    import dagster as dg

    from dagster_project.defs.resources import resources
    from dagster_project.defs.tiers.assets import (
        BOUNDARIES,
        POPULATION,
        PUBLISHED,
        STAGED,
        marts_assets,
    )
    from dagster_project.defs.tiers.definitions import defs as tiers_defs

    return dg.materialize(
        tiers_defs().assets,
        selection=dg.AssetSelection.assets(
            POPULATION, BOUNDARIES, marts_assets(), STAGED, PUBLISHED
        ),
        resources=resources(),
        instance=instance,
        raise_on_error=False,
    )


@pytest.fixture(scope="session")
def released(tmp_path_factory, linked):
    """The session's linked region (every month ingested, conformed, linked and matched),
    copied, and released through Dagster: the tiers' tests and the query service's share it."""
    import dagster as dg

    hub = linked.copy_to(tmp_path_factory.mktemp("tiers") / "data")
    # Neither the instance nor HUB_DATA_DIR outlives the release: Dagster's current instance
    # moves on with every later test's, and a later release makes its own (release_again).
    with dg.instance_for_test() as instance, pytest.MonkeyPatch.context() as env:
        env.setenv("HUB_DATA_DIR", str(hub.root))
        result = release(instance)
    return Released(hub, result)


def release_again():
    """The tiers released once more, in an instance of its own."""
    import dagster as dg

    with dg.instance_for_test() as instance:
        return release(instance)
