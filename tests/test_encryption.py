"""The warehouse is encrypted at rest and opens only with its key; the keys are the hub's own,
kept readable by their owner only, never replaced and never shown."""

from __future__ import annotations

import os
import stat

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
