"""Nothing silently shrinks a month (issue 19, requirement 4): a supply must carry its file's
checksum, so a truncated file whose count agrees cannot pass as the agency's export, and a
replacement that removes much of a month waits for an engineer's decision."""

from __future__ import annotations

import os

import yaml

FEED, MONTH = "crime_offence", "2024-02"


def test_a_supply_without_a_checksum_is_refused_saying_what_to_add(hub):
    hub.ingest(FEED, "2024-01")
    before = hub.archive(FEED)
    path = hub.folder(FEED, MONTH) / "supply.yml"
    meta = yaml.safe_load(path.read_text(encoding="utf-8"))
    meta["file"].pop("sha256")
    path.write_text(yaml.safe_dump(meta), encoding="utf-8")
    name = hub.data_file(FEED, MONTH).name
    outcome = hub.ingest(FEED, MONTH)
    assert outcome.status == "quarantined", outcome.sentence
    assert "supply.yml: gives no checksum" in outcome.sentence
    assert f"`sha256sum {name}`" in outcome.sentence
    assert hub.archive(FEED) == before


def test_a_replacement_that_empties_or_halves_a_month_is_held_until_accepted(hub, monkeypatch):
    """A header-only supply (records: 0) and a half one are held, the month untouched, the
    supply left in landing, until an engineer accepts it; a small shrink goes through."""
    from conftest import run_hub
    from test_ingest_refusals import edit, rows

    env = {**os.environ, "DAGSTER_HOME": str(hub.root.parent / "dagster_home")}
    assert hub.ingest(FEED, MONTH).status == "loaded"
    before, held = hub.archive(FEED), hub.archive(FEED)[0]
    delivered = rows(hub.data_file(FEED, MONTH))

    edit(hub, lambda data: data[:1])  # the header alone, and records: 0
    emptied = hub.ingest(FEED, MONTH)
    assert emptied.status == "held" and not emptied.passed
    assert f"replaced: {held:,} → 0 records would remove more than 10%" in emptied.sentence
    assert hub.archive(FEED) == before and hub.data_file(FEED, MONTH).exists()

    half = held // 2
    edit(hub, lambda _: delivered[: half + 1])
    refused = run_hub("refresh", "--month", MONTH, "--feed", FEED, env=env)
    assert refused.returncode == 1 and hub.archive(FEED) == before
    assert f"replaced: {held:,} → {half:,} records would remove" in refused.stdout
    assert "--accept-shrink" in refused.stdout
    register = hub.register(FEED)
    assert sorted(register["status"]) == ["held", "held", "loaded"]  # within a second, maybe
    assert register.query("status == 'held'")["records_before"].tolist() == [held, held]

    accepted = run_hub("refresh", "--month", MONTH, "--feed", FEED, "--accept-shrink", env=env)
    assert accepted.returncode == 0, accepted.stdout
    assert f"{FEED}: replaced: {held:,} → {half:,} records" in accepted.stdout
    assert hub.archive(FEED)[0] == half
    register = hub.register(FEED).set_index("status")
    assert register.loc["loaded", "records_before"] == held

    monkeypatch.setenv("HUB_SHRINK_SHARE", "0.5")  # a partnership that allows more
    edit(hub, lambda data: data[:-1])
    small = hub.ingest(FEED, MONTH)
    assert small.status == "replaced", small.sentence
    assert f"replaced: {half:,} → {half - 1:,} records" in small.sentence
