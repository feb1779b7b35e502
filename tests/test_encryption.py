"""The warehouse is encrypted at rest and opens only with its key; the keys are the hub's own,
kept readable by their owner only, never replaced and never shown."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from conftest import run_hub

from dagster_project.platform import keys, warehouse

FEED, MONTH = "crime_offence", "2024-01"
PLANTED = "PLANTED-PLAINTEXT-7f3c9a1e"


def _plant(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TABLE IF NOT EXISTS planted (value VARCHAR)")
    con.execute("INSERT INTO planted VALUES (?)", [PLANTED])


def _bytes(path) -> bytes:
    """The file and any write-ahead log beside it."""
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


@pytest.fixture
def ingested(hub):
    assert hub.ingest(FEED, MONTH).passed
    with hub.connect() as con:
        _plant(con)
    return hub


def test_the_warehouse_opens_only_with_its_key(ingested):
    path = str(ingested.where.warehouse)
    with pytest.raises(duckdb.Error, match="encrypted"):
        duckdb.connect(path)
    con = warehouse.memory()
    with pytest.raises(duckdb.Error, match="without a key"):
        con.execute(f"ATTACH '{path}' AS w (READ_ONLY)")
    with pytest.raises(duckdb.Error, match="[Ww]rong encryption key"):
        con.execute(f"ATTACH '{path}' AS w (ENCRYPTION_KEY 'not the key', READ_ONLY)")
    con.close()
    rows, _ = ingested.archive(FEED)
    assert rows > 0
    with ingested.connect(read_only=True) as con:
        assert con.execute("SELECT value FROM planted").fetchone() == (PLANTED,)


def test_no_plaintext_in_the_file(ingested, tmp_path):
    reference = ingested.first_value(FEED, "CRIME_REF")
    assert len(reference) >= 8
    stored = _bytes(ingested.where.warehouse)
    assert PLANTED.encode() not in stored
    assert reference.encode() not in stored
    # The same value in a file without encryption is there to be read: the check can see it.
    plain = tmp_path / "plain.duckdb"
    with duckdb.connect(str(plain)) as con:
        _plant(con)
    assert PLANTED.encode() in _bytes(plain)


def test_hub_sql_reads_the_encrypted_warehouse(ingested):
    done = run_hub("sql", "SELECT feed, status FROM ops.supply_register")
    assert done.returncode == 0, done.stderr
    assert FEED in done.stdout and "loaded" in done.stdout


def test_a_missing_key_says_how_to_make_one(tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_SECRETS_DIR", str(tmp_path / "none"))
    with pytest.raises(keys.MissingKey, match="HUB_WAREHOUSE_KEY.*hub keys"):
        keys.key("warehouse")
    monkeypatch.setenv("HUB_WAREHOUSE_KEY", "from the environment")
    assert keys.key("warehouse") == "from the environment"


def test_a_key_others_can_read_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_SECRETS_DIR", str(tmp_path))
    keys.ensure()
    keys.key_file("warehouse").chmod(0o644)
    with pytest.raises(keys.MissingKey, match="can be read by others.*chmod 600"):
        keys.key("warehouse")


def test_ensure_makes_owner_only_keys_and_never_replaces_one(tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_SECRETS_DIR", str(tmp_path / "secrets"))
    monkeypatch.setenv("HUB_LEVEL3_KEY", "held elsewhere")
    created = keys.ensure()
    assert sorted(p.name for p in created) == ["audit.key", "pseudonym.key", "warehouse.key"]
    assert stat.S_IMODE((tmp_path / "secrets").stat().st_mode) == 0o700
    for path in created:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert len(path.read_text().strip()) == 64
    before = {p: p.read_text() for p in created}
    assert keys.ensure() == []
    assert {p: p.read_text() for p in created} == before
    assert not keys.key_file("level3").exists()


def test_hub_keys_shows_where_the_keys_are_never_what(tmp_path):
    env = {**os.environ, "HUB_SECRETS_DIR": str(tmp_path), "HUB_DATA_DIR": str(tmp_path / "data")}
    first = run_hub("keys", env=env)
    assert first.returncode == 0, first.stderr
    again = run_hub("keys", env=env)
    values = [(tmp_path / f"{name}.key").read_text().strip() for name in keys.NAMES]
    for name, value in zip(keys.NAMES, values, strict=True):
        assert f"{name}: created {tmp_path / name}.key" in first.stdout
        assert "already there" in again.stdout
        assert value not in first.stdout + first.stderr + again.stdout + again.stderr
    # Each new key is a rotation in the audit trail, by its fingerprint only.
    trail = (tmp_path / "data" / "audit" / "log.jsonl").read_text()
    assert trail.count('"action":"key_rotation"') == len(keys.NAMES)
    assert not [v for v in values if v in trail]


def _damage(path, offset: int) -> None:
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(bytes(64))


def _damaged_table(hub, tmp_path) -> tuple[object, str]:
    """A copy of the warehouse with one data block overwritten, such that the file still
    opens but one of its tables cannot be read: found by trying each block in turn."""
    from dagster_project.config import Paths
    from dagster_project.platform import integrity

    block, size = 262_144, hub.where.warehouse.stat().st_size
    for offset in range(3 * 4096 + 1000, size, block):
        where = Paths(tmp_path / f"at{offset}")
        where.warehouse.parent.mkdir(parents=True)
        shutil.copyfile(hub.where.warehouse, where.warehouse)
        _damage(where.warehouse, offset)
        lines, whole = integrity.check(where)
        if not whole and "tables damaged" in lines[0]:
            return where, lines[1].split(":")[0].strip()
    raise AssertionError("no block of the warehouse holds a table's data")


def test_a_damaged_warehouse_is_told_apart_from_a_wrong_key(ingested, tmp_path):
    intact = run_hub("check")
    assert intact.returncode == 0 and "tables read whole" in intact.stdout, intact.stdout

    query = "SELECT count(*) FROM (SELECT DISTINCT * FROM raw.crime_offence)"
    other_key = {**os.environ, "HUB_WAREHOUSE_KEY": "a key this warehouse was never written with"}
    wrong = run_hub("sql", query, env=other_key)
    assert wrong.returncode == 1 and "written with another warehouse key" in wrong.stderr
    assert "is damaged" not in wrong.stderr

    where, table = _damaged_table(ingested, tmp_path)
    env = {**os.environ, "HUB_DATA_DIR": str(where.root)}
    checked = run_hub("check", env=env)
    assert checked.returncode == 1, checked.stdout
    assert "warehouse/hub.duckdb: 1 of" in checked.stdout and f"{table}: fails" in checked.stdout
    read = run_hub("sql", f"SELECT count(*) FROM (SELECT DISTINCT * FROM {table})", env=env)
    assert read.returncode == 1 and "is damaged" in read.stderr, read.stderr
    assert "right key?" not in read.stderr and "hub check" in read.stderr


def test_a_refresh_on_a_damaged_warehouse_says_so(ingested):
    size = ingested.where.warehouse.stat().st_size
    for offset in range(3 * 4096 + 1000, size, 262_144):  # every block: the catalog too
        _damage(ingested.where.warehouse, offset)
    done = run_hub("refresh", "--month", "2024-02", "--feed", FEED)
    assert done.returncode == 1
    assert "is damaged" in done.stdout and "right key?" not in done.stdout, done.stdout
    checked = run_hub("check")
    assert checked.returncode == 1 and "is damaged" in checked.stdout


def _holding(read_only: bool) -> subprocess.Popen:
    """Another process with the warehouse open (a writer, or a reader) until told to close."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from dagster_project.platform import warehouse; "
         f"c = warehouse.connect(read_only={read_only}); print('open', flush=True); "
         "sys.stdin.readline(); c.close()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout.readline().strip() == "open"
    return holder


def test_a_reader_waits_for_a_writer_and_a_blocked_writer_names_its_reader(ingested):
    writer = _holding(read_only=False)
    hub = str(Path(sys.executable).with_name("hub"))
    query = "SELECT count(*) AS n FROM raw.crime_offence"
    reader = subprocess.Popen(
        [hub, "sql", query], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    time.sleep(3)
    assert reader.poll() is None, "hub sql did not wait for the writer"
    writer.communicate("\n")
    out, err = reader.communicate(timeout=120)
    assert reader.returncode == 0 and "n" in out, err
    assert f"waiting for process {writer.pid}" in err

    from dagster_project.platform import warehouse

    reading = _holding(read_only=True)
    with pytest.raises(warehouse.FileProblem, match=f"held by process {reading.pid}"):
        warehouse.wait_for_lock(lambda: ingested.connect(), retries=2)
    reading.communicate("\n")
