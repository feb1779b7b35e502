"""What people look at, in a real browser (Debian's Chromium, headless, tests/browser.py): the
Dagster UI of `make dev` over a hub that refused a supply, and the reports. Every page is held
to "no request leaves this machine and none fails"; screenshots are kept as test artefacts."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
import yaml
from browser import Visit, browser, open_page, screenshot
from conftest import run_hub
from servers import Dagster

pytestmark = pytest.mark.e2e
FEEDS = ("crime_offence", "asb")  # one refused in its second month, one loaded in both
REFUSED, MONTH = "crime_offence", "2024-02"
LAYERS = {"staging", "intermediate", "spine", "places", "marts", "tiers", "reference", "ops"}


@pytest.fixture
def ui(hub, tmp_path):
    """A hub holding two feeds' two months, one of them refused, as `hub refresh` left them in
    DAGSTER_HOME; then `make dev`'s Dagster on it."""
    for feed in hub.where.landing.glob("*/*/"):
        if feed.name not in FEEDS:
            shutil.rmtree(feed)
    meta_path = hub.folder(REFUSED, MONTH) / "supply.yml"
    meta = yaml.safe_load(meta_path.read_text())
    meta["records"] += 1  # the gate refuses a supply whose count disagrees with its metadata
    meta_path.write_text(yaml.safe_dump(meta))
    home = tmp_path / "dagster_home"
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    feeds = [a for f in FEEDS for a in ("--feed", f)]
    refreshed = run_hub("refresh", "--month", f"2024-01:{MONTH}", *feeds, env=env)
    assert "1 refused" in refreshed.stdout, refreshed.stdout + refreshed.stderr
    dagster = Dagster(env, tmp_path / "dagster_dev.log")
    # Dagster's first-visit dialog opens a second after a page loads, over whatever the test
    # has opened by then: on a busy machine the Materialize dialog, whose overlay then takes
    # the click that would skip it. Marked seen, as skipping it once does, it never opens.
    assert dagster.graphql("mutation { setNuxSeen }")["setNuxSeen"]
    yield dagster
    dagster.stop()


def test_the_dagster_ui_tells_the_truth(ui, hub):
    visit, before = Visit(), {r["runId"] for r in ui.runs()}
    with browser() as chromium:
        page = open_page(chromium, f"{ui.url}/asset-groups", visit)
        page.get_by_text("staging", exact=True).first.wait_for(timeout=60_000)
        groups = set(page.locator("body").inner_text().split())
        screenshot(page, "dagster-lineage-groups")
        assert groups >= LAYERS and "default" not in groups

        # The refused month is a failed partition, the loaded one materialized, keys YYYY-MM.
        page = open_page(chromium, f"{ui.url}/assets/raw/{REFUSED}?view=partitions", visit)
        page.get_by_text("Failed (1)").wait_for(timeout=60_000)
        assert page.get_by_text("Materialized (1)").count() and page.get_by_text(MONTH).count()
        screenshot(page, "dagster-refused-month")
        stats = ui.graphql(f"""{{ assetNodeOrError(assetKey: {{path: ["raw", "{REFUSED}"]}}) {{
            ... on AssetNode {{ partitionStats {{ numMaterialized numFailed numPartitions }} }}
            }} }}""")
        assert stats["assetNodeOrError"]["partitionStats"] == {
            "numMaterialized": 1, "numFailed": 1, "numPartitions": 12}  # fmt: skip

        # Materialize a partition from the UI: the month is loaded already, so the run
        # succeeds, loads nothing and leaves the month's metadata as it was.
        page = open_page(chromium, f"{ui.url}/assets/raw/asb?view=partitions", visit)
        page.get_by_role("button", name="Materialize…").first.click()
        dialog = page.locator("[role=dialog]")
        screenshot(page, "dagster-materialize-dialog")
        dialog.get_by_role("button", name="Custom").click()
        box = dialog.get_by_placeholder("ex:", exact=False)
        box.fill(MONTH)
        box.press("Enter")
        dialog.get_by_role("button", name="Launch 1 run").click()
        page.get_by_text("Launched run").wait_for(timeout=60_000)
        screenshot(page, "dagster-materialize-launched")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        launched = [r for r in ui.runs() if r["runId"] not in before]
        if launched and launched[0]["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        time.sleep(3)
    [run] = launched
    assert (
        run["status"] == "SUCCESS" and {"key": "dagster/partition", "value": MONTH} in run["tags"]
    )
    latest = ui.graphql(f"""{{ assetOrError(assetKey: {{path: ["raw", "asb"]}}) {{ ... on Asset {{
        assetMaterializations(partitions: ["{MONTH}"], limit: 1) {{ metadataEntries {{ label
        ... on TextMetadataEntry {{ text }} }} }} }} }} }}""")
    [entries] = [m["metadataEntries"] for m in latest["assetOrError"]["assetMaterializations"]]
    assert {"label": "status", "text": "loaded"} in entries

    # Starting the UI started nothing: after two ticks of automation (its first evaluation
    # only sets where later ones start from), the only new run is ours.
    while ui.automation_ticks() < 2 and time.monotonic() < deadline:
        time.sleep(3)
    assert ui.automation_ticks() >= 2
    assert [r["runId"] for r in ui.runs() if r["runId"] not in before] == [run["runId"]]
    assert not visit.off_machine, visit.off_machine
    assert not [f for f in visit.failed if "ERR_ABORTED" not in f], visit.failed


def _opened(chromium, path: Path, name: str) -> tuple[object, Visit]:
    visit = Visit()
    page = open_page(chromium, path.as_uri(), visit)
    screenshot(page, name)
    assert not visit.off_machine and not visit.failed and not visit.errors, visit
    return page, visit


def test_the_strategic_profile_draws_level1_with_its_maps_offline(released, tmp_path):
    from dagster_project.reports.strategic import MAPPED, strategic_profile
    from dagster_project.tiers import publish

    level1 = publish.published(released.hub.where.marts, "level1")
    path = tmp_path / "strategic_profile.html"
    path.write_text(strategic_profile(level1))
    with browser() as chromium:
        page, _ = _opened(chromium, path, "strategic-profile")
        figures = page.locator("figure")
        captions = figures.locator("figcaption").all_inner_texts()
        maps = [c for c in captions if " by ward" in c or " by lsoa" in c]
        assert len(maps) == 2 * len(MAPPED), captions  # each measure by ward and by LSOA
        # every map draws its areas: one filled path per polygon at least
        for i, caption in enumerate(captions):
            if caption in maps:
                assert figures.nth(i).locator("svg path").count() > 10
        assert page.get_by_text("disclosure control").count()
        assert page.get_by_role("heading", name="The highest risk factors per district").count()


def test_the_scorecard_and_linkage_report_render_offline(linked, tmp_path):
    from conftest import Hub

    from dagster_project.config import Paths
    from dagster_project.contracts.model import load_contracts
    from dagster_project.people import model
    from dagster_project.reports import scorecard
    from dagster_project.reports.linkage import linkage_report

    where = Paths(linked.root)
    with Hub(linked.root).connect(read_only=True) as con:
        frame = scorecard.scorecard(con, load_contracts())
        pages = {
            "data-quality": scorecard.html(frame),
            "linkage": linkage_report(con, model.load(model.latest(where.person_models))),
        }
    with browser() as chromium:
        for name, html in pages.items():
            path = tmp_path / f"{name}.html"
            path.write_text(html)
            _opened(chromium, path, name)
        # the board sees every feed rated, in the colours the page names
        page, _ = _opened(chromium, tmp_path / "data-quality.html", "data-quality")
        rated = page.locator("td.green, td.amber, td.red").count()
        assert rated >= frame["feed"].nunique()
        page, _ = _opened(chromium, tmp_path / "linkage.html", "linkage")
        assert page.locator("figure svg").count() >= 3  # weights, the model's, cluster sizes
