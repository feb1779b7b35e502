"""Faults during a month's replacement: the process killed (`kill -9`) at each named point of
the journey, and a full disk. After each, the month is exactly the old supply or the new one,
the register and the quarantine agree with it, and a normal re-run finishes the job."""

from __future__ import annotations

import csv
import errno
import os
import shutil
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml
from conftest import Hub, run_hub, run_steps

from dagster_project.ingest.supplies import sha256

FEED, FIRST, MONTH = "crime_offence", "2024-01", "2024-02"

# The stages `ingest` announces (its `on_stage`), in the order a replacement passes them; the
# new month is the archive's from "committed" on.
REPLACEMENT = [
    "read",  # the supply read from landing
    "validated",  # the gate has run
    "begun",  # the transaction begun
    "deleted",  # the old month deleted, inside it
    "inserted",  # the new supply inserted
    "honoured",  # erasures and retention applied, the shrink rule checked
    "superseded",  # the old supply's register row marked replaced
    "registered",  # the new supply's row added
    "committed",  # committed: in the write-ahead log, not yet in the file
    "closed",  # the warehouse closed, so checkpointed into its file
    "remembered",  # the sensor's record of the supply written
]
# ... and those a refused replacement passes: the month stays the old supply.
REFUSAL = ["refusal registered", "quarantine moved", "validation written", "report written"]

KILL_CHILD = textwrap.dedent("""
    import sys
    from functools import partial
    from pathlib import Path

    from dagster_project.config import Paths
    from dagster_project.contracts.model import load_contracts
    from dagster_project.ingest.archive import connection
    from dagster_project.ingest.load import ingest

    where = Paths(Path(sys.argv[1]))

    def stage(name):
        print(name, flush=True)
        if name == sys.argv[2]:
            sys.stdin.read()  # wait here until killed

    contract = load_contracts()["crime_offence"]
    ingest(contract, "2024-02", partial(connection, where.warehouse), where, stage)
""")


def grown_supply(hub: Hub, copies: int) -> int:
    """The month's supply `copies` times over, every record under a new reference."""
    path = hub.data_file(FEED, MONTH)
    with open(path, encoding="utf-8", newline="") as fh:
        header, *data = list(csv.reader(fh))
    with open(path, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(header)
        n = 0
        for _ in range(copies):
            for row in data:
                n += 1
                out.writerow([f"43/{n:06d}/24", *row[1:]])
    _declare(hub, records=n, sha=sha256(path))
    return n


def _declare(hub: Hub, **changes) -> None:
    meta_path = hub.folder(FEED, MONTH) / "supply.yml"
    meta = yaml.safe_load(meta_path.read_text())
    meta["records"] = changes.get("records", meta["records"])
    meta["file"]["sha256"] = changes.get("sha", meta["file"]["sha256"])
    meta_path.write_text(yaml.safe_dump(meta))


def spoiled_supply(hub: Hub) -> None:
    """A new supply for the month that the gate refuses (it declares a record it lacks)."""
    grown_supply(hub, copies=2)
    meta = yaml.safe_load((hub.folder(FEED, MONTH) / "supply.yml").read_text())
    _declare(hub, records=meta["records"] + 1)


def content(hub: Hub) -> dict[str, tuple[int, int]]:
    """Per month of the feed's archive: its rows, and a checksum of every value of every row but
    the load time, independent of the rows' order (a sum of row hashes), so that two loads of one
    supply compare equal and a row lost, added, doubled or changed does not."""
    with hub.connect(read_only=True) as con:
        df = con.execute(f'SELECT * EXCLUDE (_loaded_at) FROM raw."{FEED}"').df()
    hashes = pd.util.hash_pandas_object(df.astype(str), index=False)
    return {
        month: (len(rows), int(rows.sum()))
        for month, rows in hashes.groupby(df["_partition"].to_numpy())
    }


def register(hub: Hub) -> pd.DataFrame:
    with hub.connect(read_only=True) as con:
        return con.execute("SELECT * FROM ops.supply_register WHERE feed = ?", [FEED]).df()


def complete_quarantine(path: str) -> bool:
    folder = Path(path)
    names = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    return {"supply.yml", "validation.json", "report.html"} <= names


def assert_consistent(hub: Hub) -> pd.DataFrame:
    """One loaded supply per month, the one whose rows the month holds; nothing registered
    twice; every replaced supply pointing to one the register knows. Returns the register."""
    reg = register(hub)
    loaded = reg[reg["status"] == "loaded"]
    assert sorted(loaded["period"]) == [FIRST, MONTH], "a month without one loaded supply"
    assert not reg.duplicated(["supply_id", "status"]).any(), "a supply registered twice"
    with hub.connect(read_only=True) as con:
        held = dict(
            con.execute(
                f'SELECT _partition, list(DISTINCT _supply_id) FROM raw."{FEED}" GROUP BY 1'
            ).fetchall()
        )
    for _, row in loaded.iterrows():
        assert held[row["period"]] == [row["supply_id"]], "the register names another supply"
    replaced = reg[reg["status"] == "replaced"]
    assert replaced["replaced_by"].isin(reg["supply_id"]).all(), "replaced by nothing"
    return reg


@dataclass
class Before:
    """A hub with both months of the feed loaded, never changed: a test copies it."""

    root: Path
    old: dict  # content() of the archive
    old_supply: str
    new: tuple[int, int]  # the month's content once the grown supply replaces it
    new_supply: str

    def copy_to(self, root: Path, refused: bool) -> Hub:
        shutil.copytree(self.root, root)
        hub = Hub(root)
        spoiled_supply(hub) if refused else grown_supply(hub, copies=2)
        return hub


@pytest.fixture(scope="module")
def before(tmp_path_factory, pristine) -> Before:
    root = tmp_path_factory.mktemp("before") / "data"
    hub = Hub(root, pristine)
    hub.ingest(FEED, FIRST)
    old_supply = hub.ingest(FEED, MONTH).supply_id
    old = content(hub)
    reference = tmp_path_factory.mktemp("reference") / "data"
    shutil.copytree(root, reference)
    after = Hub(reference)
    grown_supply(after, copies=2)
    new_supply = after.ingest(FEED, MONTH).supply_id
    return Before(root, old, old_supply, content(after)[MONTH], new_supply)


@pytest.mark.parametrize("point", REPLACEMENT + REFUSAL)
def test_a_replacement_killed_at_any_point_is_whole_and_a_rerun_finishes_it(
    before, point, tmp_path, monkeypatch
):
    refused = point in REFUSAL
    hub = before.copy_to(tmp_path / "data", refused)
    monkeypatch.setenv("HUB_DATA_DIR", str(hub.root))
    run_steps(KILL_CHILD, str(hub.root), point, kill_at=point)
    wal = hub.where.warehouse.with_name(hub.where.warehouse.name + ".wal")
    if point in ("committed", "closed"):  # the points the write-ahead log tells apart
        assert wal.exists() == (point == "committed"), f"{wal.name} at {point!r}"

    # Killed: the warehouse opens, and the month is exactly the old supply or the new one.
    landed = not refused and REPLACEMENT.index(point) >= REPLACEMENT.index("committed")
    month = before.new if landed else before.old[MONTH]
    assert content(hub) == {**before.old, MONTH: month}, "a killed replacement left a mixed month"
    reg = assert_consistent(hub)
    loaded = reg.loc[(reg["status"] == "loaded") & (reg["period"] == MONTH), "supply_id"]
    assert loaded.item() == (before.new_supply if landed else before.old_supply)
    for path in reg.loc[reg["status"] == "quarantined", "quarantine_path"]:
        # A refusal is registered before its supply moves: until the re-run completes it, the
        # supply it names is either still in landing or in its quarantine folder.
        assert Path(path).is_dir() or hub.folder(FEED, MONTH).is_dir()

    # A normal re-run: the month is the new supply, or (refused) still the old one.
    hub.ingest(FEED, MONTH)
    assert content(hub) == {**before.old, MONTH: before.old[MONTH] if refused else before.new}
    reg = assert_consistent(hub).set_index("supply_id")
    quarantined = reg[reg["status"] == "quarantined"]
    if refused:
        assert len(quarantined) == 1, "the refused supply is registered more than once"
        assert complete_quarantine(quarantined["quarantine_path"].iloc[0]), (
            "the refused supply's quarantine folder lacks the supply or its report"
        )
        assert not hub.folder(FEED, MONTH).exists(), "the refused supply is still in landing"
        assert reg.loc[before.old_supply, "status"] == "loaded"
    else:
        assert quarantined.empty
        assert reg.loc[before.old_supply, "status"] == "replaced"
        assert reg.loc[before.old_supply, "replaced_by"] == before.new_supply
        assert reg.loc[before.new_supply, "status"] == "loaded"


@pytest.fixture
def small_disk(tmp_path) -> Path:
    """A 64 MB disk of its own (tmpfs), unmounted whatever the test does."""
    mount = tmp_path / "disk"
    mount.mkdir()
    try:
        made = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)],
            capture_output=True,
            text=True,
        )
    except OSError as e:
        pytest.skip(f"no small disk can be made here: mount could not be run ({e})")
    if made.returncode:
        pytest.skip(f"no small disk can be made here: mount says {made.stderr.strip()!r}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "--lazy", str(mount)], check=True)


def fill(path: Path) -> None:
    """Write `path` until the disk holding it has no room left, not a byte."""
    with open(path, "wb", buffering=0) as fh:  # unbuffered: no write left over for close
        for block in (1_048_576, 4096, 1):
            try:
                while fh.write(b"\0" * block):
                    pass
            except OSError as e:
                assert e.errno == errno.ENOSPC, e


def test_a_full_disk_is_named_and_the_month_kept_until_there_is_room(
    before, small_disk, tmp_path, monkeypatch
):
    hub = before.copy_to(small_disk / "data", refused=False)
    monkeypatch.setenv("HUB_DATA_DIR", str(hub.root))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))  # the runs' record has room
    fill(small_disk / "filler")
    refresh = ("refresh", "--month", MONTH, "--feed", FEED)

    full = run_hub(*refresh)  # a process of its own, as the operator runs it
    said = full.stdout + full.stderr
    assert full.returncode != 0, said
    assert f"the disk holding {hub.root}" in said and "is full" in said, said
    assert "Traceback" not in said and "IO Error" not in said, said
    assert content(hub) == before.old, "a replacement on a full disk changed the archive"

    (small_disk / "filler").unlink()
    again = run_hub(*refresh)
    assert again.returncode == 0, again.stdout + again.stderr
    assert content(hub) == {**before.old, MONTH: before.new}
    assert_consistent(hub)


def test_a_full_disk_is_told_from_the_systems_error_or_duckdbs():
    from dagster_project.platform.warehouse import no_space

    system = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/data/quarantine/report.html")
    duck = duckdb.IOException('Could not write file "/data/warehouse/hub.duckdb.wal": No space '
                              "left on device")  # fmt: skip
    assert "the disk holding /data/quarantine is full" in str(no_space(system, "/data"))
    assert str(no_space(duck, "/data")).startswith("/data/warehouse/hub.duckdb.wal could not")
    assert no_space(OSError(errno.EACCES, "Permission denied", "/data/x"), "/data") is None
    assert no_space(duckdb.IOException("Could not set lock on file"), "/data") is None


@pytest.mark.parametrize("point", ["inserted", "registered", "quarantine moved"])
def test_a_disk_that_fills_inside_the_replacement_leaves_the_month_whole(
    before, small_disk, point, monkeypatch
):
    from dagster_project.ingest.load import ingest
    from dagster_project.platform.warehouse import FileProblem

    refused = point in REFUSAL
    hub = before.copy_to(small_disk / "data", refused)
    monkeypatch.setenv("HUB_DATA_DIR", str(hub.root))

    def stage(name: str) -> None:
        if name == point:  # the transaction's commit, or the quarantine's report, meets it
            fill(small_disk / "filler")

    with pytest.raises(
        FileProblem, match=f" could not be written because the disk holding {hub.root}"
    ):
        ingest(hub.contract(FEED), MONTH, hub.connect, hub.where, stage)
    assert content(hub) == before.old, "a replacement on a full disk changed the archive"
    assert_consistent(hub)

    (small_disk / "filler").unlink()
    hub.ingest(FEED, MONTH)
    assert content(hub) == {**before.old, MONTH: before.old[MONTH] if refused else before.new}
    reg = assert_consistent(hub)
    for path in reg.loc[reg["status"] == "quarantined", "quarantine_path"]:
        assert complete_quarantine(path), "a quarantine left without its report"
