"""Nothing silently shrinks a month (issue 19, requirement 4): a supply must carry its file's
checksum, so a truncated file whose count agrees cannot pass as the agency's export."""

from __future__ import annotations

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
