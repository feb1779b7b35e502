"""Nothing silently shrinks a month (issue 19, requirement 4): a supply must carry its file's
checksum, so a truncated file whose count agrees cannot pass as the agency's export."""

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


def test_a_replacement_says_how_many_records_the_month_held_and_holds_now(hub):
    """The month shrinks to half of what it held: the CLI and the register say so."""
    from conftest import run_hub
    from test_ingest_refusals import edit

    env = {**os.environ, "DAGSTER_HOME": str(hub.root.parent / "dagster_home")}
    first = run_hub("refresh", "--month", MONTH, "--feed", FEED, env=env)
    assert first.returncode == 0 and "replaced" not in first.stdout, first.stdout
    held = hub.archive(FEED)[0]
    half = held // 2
    edit(hub, lambda data: data[: half + 1])  # the header and half the records
    again = run_hub("refresh", "--month", MONTH, "--feed", FEED, env=env)
    assert f"{FEED}: replaced: {held:,} → {half:,} records" in again.stdout, again.stdout
    register = hub.register(FEED).set_index("status")
    assert register.loc["loaded", "records_before"] == held
    assert register.loc["replaced", "records_read"] == held
