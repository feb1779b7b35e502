"""The catalogue (`make docs`, codegen/catalogue.py): dbt's docs site of the hub, built from
the session's released warehouse, every published table described and classified, searchable
by tier and classification, and opened in a real browser with no request leaving the machine.
The checks and the page's patches are also tested on their own, without a warehouse."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from browser import Visit, browser, open_page, screenshot
from dbt.task.docs import DOCS_INDEX_FILE_PATH

from dagster_project.codegen import catalogue
from dagster_project.codegen.dbt_files import agencies
from dagster_project.contracts.model import load_contracts
from dagster_project.tiers import publish

DBT_PAGE = Path(DOCS_INDEX_FILE_PATH)  # the page dbt 1.11 ships


def _node(kind: str, schema: str, name: str, **extra) -> dict:
    return {
        "resource_type": kind, "schema": schema, "name": name, "alias": name,
        "identifier": name, "description": "A table.", "columns": {}, "tags": [],
        "config": {"meta": {}}, "patch_path": f"partnership_data_hub://models/{name}.yml",
        "original_file_path": f"models/{name}.sql", **extra,
    }  # fmt: skip


def _manifest(*nodes: tuple[str, dict]) -> dict:
    return {"metadata": {"send_anonymous_usage_stats": True}, "sources": {}, "nodes": dict(nodes)}


# the page dbt ships, and what is done to it


def test_dbt_ships_a_page_that_reaches_off_the_machine():
    """Why the catalogue does not use dbt's page as it is: it would load a tracker from a CDN
    (and the check would see it)."""
    found = catalogue.external_references(DBT_PAGE.read_text("utf-8"))
    assert '.src="//' in found


def test_the_page_written_keeps_nothing_external_and_turns_tracking_off():
    manifest = _manifest(("model.p.a", _node("model", "level1", "a")))
    page = catalogue.site(DBT_PAGE.read_text("utf-8"), manifest, {"nodes": {}, "sources": {}})
    assert catalogue.external_references(page) == []
    assert "cloudfront" not in page and "!0===e.track" not in page
    assert "favicon.ico" not in page and 'xlink:href="{{' not in page
    assert '"send_anonymous_usage_stats": false' in page  # whatever the manifest said
    assert "INLINE DATA" not in page


@pytest.mark.parametrize(
    "html",
    [
        '<img src="https://example.org/a.png">',
        "<link href='//fonts.googleapis.com/css?family=Lato'>",
        "body { background: url( 'https://cdn.example.org/bg.svg') }",
        '@import "https://fonts.example.org/a.css";',
        's.src="//cdn.example.org/sp.js"',
        "A description with ![a map](http://tiles.example.org/1.png) in it",
    ],
)
def test_a_reference_to_another_machine_is_found(html):
    assert catalogue.external_references(html)


@pytest.mark.parametrize(
    "html",
    [
        'a.href="http://[::1]"',
        '<a href="http://localhost:3000">the Dagster UI</a>',
        '<img src="data:image/png;base64,AAAA">',
        '<use href="#icn-doc">',
        "see https://www.gov.uk/guidance in text",  # a link, not something the page loads
    ],
)
def test_what_stays_on_the_machine_is_not(html):
    assert catalogue.external_references(html) == []


def test_a_description_that_would_load_an_image_stops_the_build():
    node = _node("model", "level1", "a", description="![x](https://example.org/x.png)")
    with pytest.raises(RuntimeError, match="off the machine"):
        catalogue.site(DBT_PAGE.read_text("utf-8"), _manifest(("model.p.a", node)),
                       {"nodes": {}, "sources": {}})  # fmt: skip


# the checks


def test_a_table_or_column_with_no_description_is_named_with_its_file():
    described = _node("model", "staging", "stg", columns={"a": {"description": "A."}})
    bare = _node("seed", "reference", "codes", description=" ", patch_path=None,
                 original_file_path="seeds/codes.csv")  # fmt: skip
    manifest = _manifest(("model.p.stg", described), ("seed.p.codes", bare))
    catalog = {"nodes": {"model.p.stg": {"columns": {"A": {}, "B": {}}},
                         "seed.p.codes": {"columns": {"code": {}}}}, "sources": {}}  # fmt: skip
    problems = catalogue.undescribed(manifest, catalog)
    assert [(p.file, p.what) for p in problems] == [
        ("dbt/models/stg.yml", "no description for 1 column: b"),  # the warehouse's B
        ("dbt/seeds/codes.csv", "no description"),
        ("dbt/seeds/codes.csv", "no description for 1 column: code"),
    ]
    assert catalogue.report(problems).splitlines()[0] == "dbt/models/stg.yml"


def test_a_published_table_needs_its_tier_and_classification_as_meta_and_tags():
    meta = {"tier": "Level 2", "classification": "pseudonymised"}
    good = _node("model", "level2", "l2_a", tags=["level2", "pseudonymised"],
                 config={"meta": meta})  # fmt: skip
    untagged = _node("model", "level2", "l2_b", config={"meta": meta})
    wrong = _node("model", "level3", "l3_c", tags=["level3"],
                  config={"meta": {"tier": "Level 2"}})  # fmt: skip
    prep = _node("model", "marts_prep", "prep_d")  # not published: nothing asked of it
    manifest = _manifest(*((f"model.p.{n['name']}", n) for n in (good, untagged, wrong, prep)))
    catalog = {"nodes": {"model.p.l2_a": {}, "model.p.l2_b": {}}, "sources": {}}
    said = {(p.table, p.what) for p in catalogue.unclassified(manifest, catalog)}
    assert said == {
        ("level2.l2_b (l2_b)", "no tag pseudonymised (its classification)"),
        ("level2.l2_b (l2_b)", "no tag level2 (its tier)"),
        ("level3.l3_c (l3_c)", "meta.tier is 'Level 2', not 'Level 3'"),
        ("level3.l3_c (l3_c)", "no meta.classification"),
        ("level3.l3_c (l3_c)", "not in the warehouse: release the tiers (make demo) first"),
    }
    assert catalogue.slug("identifiable (personal and special category data)") == (
        "identifiable-personal-and-special-category-data"
    )


def test_with_no_warehouse_it_says_to_run_the_demo_first(tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path / "data"))
    with pytest.raises(catalogue.NoWarehouse, match="make demo"):
        catalogue.build(tmp_path / "catalogue")
    assert not (tmp_path / "catalogue").exists()


# built on the released warehouse


class Built:
    def __init__(self, out: Path, seconds: float, problems: list[catalogue.Problem]):
        self.index, self.seconds, self.problems = out / "index.html", seconds, problems
        self.manifest = json.loads((out / ".dbt" / "manifest.json").read_text())
        self.catalog = json.loads((out / ".dbt" / "catalog.json").read_text())


@pytest.fixture(scope="module")
def built(released, tmp_path_factory) -> Built:
    """The catalogue of the session's release, written outside the hub (dbt only reads the
    warehouse). What falls short elsewhere in the project is the tests' below to judge."""
    out = tmp_path_factory.mktemp("catalogue")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HUB_DATA_DIR", str(released.hub.root))
        started = time.monotonic()
        try:
            catalogue.build(out)
            problems = []
        except catalogue.Incomplete as e:
            problems = e.problems
            print(f"The catalogue falls short:\n{e}")  # shown with -s
    return Built(out, time.monotonic() - started, problems)


def _released_tables(released) -> set[str]:
    with released.hub.connect(read_only=True) as con:
        rows = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = 'hub' and table_schema in ('level1', 'level2', 'level3')"
        ).fetchall()
    return {f"{schema}.{name}" for schema, name in rows}


@pytest.mark.e2e
def test_every_published_table_is_in_the_catalogue_described_and_classified(built, released):
    published = catalogue.published(built.manifest)
    tables = {f"{n['schema']}.{n['alias']}": (k, n) for k, n in published.items()}
    assert set(tables) == _released_tables(released)
    assert {t.split(".")[0] for t in tables} == set(publish.TIERS)
    for table, (key, node) in tables.items():
        columns = built.catalog["nodes"][key]["columns"]  # as the warehouse has them
        assert node["description"].strip(), table
        assert {c.lower() for c in columns} <= set(node["columns"]), table
        assert all(c["description"].strip() for c in node["columns"].values()), table
        meta = node["config"]["meta"]
        assert meta["tier"] == f"Level {node['schema'][-1]}" and meta["classification"]
        assert {node["schema"], catalogue.slug(meta["classification"])} <= set(node["tags"])
    assert not [p for p in built.problems if p.table.startswith(tuple(publish.TIERS))]


@pytest.mark.e2e
def test_the_feeds_and_seeds_are_described_from_their_contracts(built):
    """Sources `raw`, the staging models and the seeds are written by `hub dbt-files`: every
    column of them, delivered, staged or added by the archive, carries a description."""
    feeds = [f"dbt/models/staging/{a}/_{a}__{kind}.yml"
             for a in agencies(load_contracts()) for kind in ("sources", "models")]  # fmt: skip
    assert [p for p in built.problems if p.file in feeds or p.file.startswith("dbt/seeds/")] == []
    raw = [n for n in built.manifest["sources"].values() if n["source_name"] == "raw"]
    assert raw and all("_loaded_at" in n["columns"] for n in raw)


@pytest.mark.e2e
def test_the_page_holds_everything_and_refers_to_no_other_machine(built):
    page = built.index.read_text("utf-8")
    assert catalogue.external_references(page) == []
    assert "MANIFEST.JSON INLINE DATA" not in page and "CATALOG.JSON INLINE DATA" not in page
    assert sorted(p.name for p in built.index.parent.iterdir()) == [".dbt", "index.html"]
    print(f"catalogue built in {built.seconds:.0f} s")  # shown with -s


def _search(page, query: str) -> set[str]:
    """The models a search in the page's search box lists, by unique id."""
    page.fill("#search", query)
    page.wait_for_function(
        "q => document.querySelector('.app-title h1 .break')?.textContent === q", arg=query
    )  # the results are this query's, not the last one's
    hrefs = page.locator(".search-result").evaluate_all(
        "els => els.map(e => e.getAttribute('href'))"
    )
    return {h.rsplit("/", 1)[-1] for h in hrefs}


@pytest.mark.e2e
def test_the_catalogue_opens_offline_and_finds_tables_by_name_tier_and_classification(built):
    level2 = set(catalogue.searchable(built.manifest)["level2"])
    ids = {f"{n['schema']}.{n['alias']}": k for k, n in catalogue.published(built.manifest).items()}
    visit = Visit()
    with browser() as chromium:
        page = open_page(chromium, built.index.as_uri(), visit)
        page.wait_for_selector("#search")
        assert ids["level2.person_factors"] in _search(page, "person_factors")
        assert {ids[t] for t in level2} <= _search(page, "level2")  # the tier's tag
        pseudonymised = _search(page, "pseudonymised")  # Level 2's classification, a tag
        assert {ids[t] for t in level2} <= pseudonymised
        page.wait_for_timeout(300)  # the results drawn, for the screenshot
        screenshot(page, "catalogue")
        table = open_page(chromium, f"{built.index.as_uri()}#!/model/{ids['level2.events']}", visit)
        table.locator("text=pseudonymised >> visible=true").first.wait_for()  # its classification
    assert visit.off_machine == []
    assert visit.failed == []
    assert visit.errors == []
