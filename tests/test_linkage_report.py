"""The person linkage report on the session's linked region: a page that opens offline, holds
no personal data, and whose figures are the warehouse's own."""

from __future__ import annotations

import csv
import math
import re
import time

import pandas as pd
import pytest
from conftest import Hub

from dagster_project.config import Paths
from dagster_project.people import ids, model, review
from dagster_project.reports import linkage

pytestmark = pytest.mark.e2e  # the seed-7 region ingested, conformed, linked and matched

CHARTS = 4  # weights of the scored pairs, of the model's levels, cluster sizes, agency spread


@pytest.fixture(scope="module")
def warehouse(linked):
    """The linked region's warehouse, read only (the report never writes, so no copy)."""
    with Hub(linked.root).connect(read_only=True) as con:
        yield con


@pytest.fixture(scope="module")
def decisions_files(tmp_path_factory) -> tuple:
    """Decisions files of their own: the fixture's are empty, and are never changed."""
    folder = tmp_path_factory.mktemp("decisions")
    person, place = folder / "person.csv", folder / "place.csv"
    people = [("a", "b", review.MATCH), ("c", "d", review.NOT_A_MATCH), ("e", "f", review.MATCH)]
    places = [("m1", "uprn:1", review.NOT_A_MATCH)]
    for path, keys, decided in ((person, review.PERSON, people), (place, review.PLACE, places)):
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow((*keys, *review.DETAILS))
            writer.writerows((*d, "test", "2024-07-01", "") for d in decided)
    return person, place


@pytest.fixture(scope="module")
def report(linked, warehouse, decisions_files) -> tuple[str, float]:
    body = model.load(model.latest(Paths(linked.root).person_models))
    started = time.perf_counter()
    page = linkage.linkage_report(warehouse, body, *decisions_files)
    return page, time.perf_counter() - started


def test_the_page_draws_every_chart_and_opens_offline(report):
    page, seconds = report
    assert page.count("<svg") == page.count("<figure>") == CHARTS
    assert "<script" not in page.lower()
    # SVG's namespaces are names, never fetched; nothing else may point anywhere.
    bare = re.sub(r"\sxmlns(:\w+)?=\"[^\"]*\"", "", page)
    assert "http://" not in bare and "https://" not in bare
    assert "<img" not in page and "<link" not in page
    assert "How to read this" in page
    assert seconds < 60


def test_without_a_model_the_page_still_draws_the_rest(warehouse):
    page = linkage.linkage_report(warehouse, None)
    assert page.count("<svg") == CHARTS - 1
    assert "No model was given" in page


def test_the_page_names_no_person(report, warehouse):
    page, _ = report
    keys = warehouse.execute(
        "select person_id, person_record_id from spine.person_ids "
        "using sample 20 rows (reservoir, 7)"
    ).fetchall()
    people = warehouse.execute("""
        select forename, surname, date_of_birth, postcode from intermediate.int_person_records
        where length(forename) >= 5 and length(surname) >= 5 and date_of_birth is not null
          and postcode is not null
        order by person_record_id limit 10
    """).fetchall()  # fmt: skip
    assert len(keys) == 20 and len(people) == 10
    shown = [v for row in keys for v in row]
    shown += [str(v) for row in people for v in row]
    # The page's own words could hold a short name by chance; these are whole words.
    assert not [v for v in shown if re.search(rf"\b{re.escape(v)}\b", page)]
    assert not re.search(rf"\b{ids.PREFIX}\d{{{ids.WIDTH}}}\b", page)  # no person ID at all


def test_agency_spread_counts_each_person_once_by_agency_and_by_feed(warehouse):
    spread = linkage.agency_spread(warehouse).set_index("in how many")
    held = warehouse.execute("select person_id, agency, source_feed from spine.person_ids").df()
    per_person = held.groupby("person_id").nunique().clip(upper=4)
    for column, counted in (("persons (agencies)", "agency"), ("persons (feeds)", "source_feed")):
        expected = per_person[counted].value_counts()
        assert spread[column].tolist() == [int(expected.get(n, 0)) for n in (1, 2, 3, 4)]
    assert (spread.sum() == held.person_id.nunique()).all()
    assert spread.loc["2":].sum().min() > 0  # the region has people known to several agencies


def test_cluster_sizes_add_up_to_the_spine(warehouse):
    sizes = linkage.cluster_sizes(warehouse)
    persons, records = warehouse.execute(
        "select count(distinct person_id), count(*) from spine.person_ids"
    ).fetchone()
    assert sizes.persons.sum() == persons and sizes.records.sum() == records
    assert sizes.iloc[0].tolist() == ["1", sizes.persons.iloc[0], sizes.persons.iloc[0]]


def test_queues_and_decisions_are_the_tables_and_files_counts(report, warehouse, decisions_files):
    queues = linkage.review_queues(warehouse).set_index(["queue", "waiting"])["count"]

    def count(sql: str) -> int:
        return warehouse.execute(sql).fetchone()[0]

    assert queues["person", "pairs"] == count("select count(*) from spine.review_queue") > 0
    assert queues["place", "mentions"] == count(
        "select count(distinct place_record_id) from spine.place_review_queue"
    )
    assert queues["place", "candidates shown"] == count(
        "select count(*) from spine.place_review_queue"
    )
    made = linkage.decisions(warehouse, *decisions_files).set_index(["spine", "decisions"])["count"]
    assert made["person", "'match' in the decisions file"] == 2
    assert made["person", "'not a match' in the decisions file"] == 1
    assert made["place", "'not a match' in the decisions file"] == 1
    assert made["person", "links made by a reviewer's 'match' (warehouse)"] == count(
        "select count(*) from spine.person_links where basis = 'reviewer'"
    )
    page, _ = report
    assert f"<td class='n'>{queues['person', 'pairs']:,}</td>" in page


def test_the_weight_histogram_holds_every_scored_pair_the_spine_keeps(warehouse):
    bins = linkage.weight_histogram(warehouse)
    links = warehouse.execute(
        "select count(*) from spine.person_links where basis = 'model'"
    ).fetchone()[0]
    queued = warehouse.execute("select count(*) from spine.review_queue").fetchone()[0]
    assert bins.links.sum() == links and bins.queued.sum() == queued
    # Linked pairs sit at or above the link threshold, queued ones from the review threshold.
    cut = linkage.thresholds()
    assert bins[bins.links > 0].weight_from.min() >= math.floor(cut["link"])
    assert bins[bins.queued > 0].weight_from.min() >= cut["review"]


def test_level_weights_are_the_models_own(linked):
    body = model.load(model.latest(Paths(linked.root).person_models))
    levels = linkage.level_weights(body)
    saved = [(c["output_column_name"], level) for c in body["splink"]["comparisons"]
             for level in c["comparison_levels"] if not level.get("is_null_level")]  # fmt: skip
    assert len(levels) == len(saved)
    for (_, row), (name, level) in zip(levels.iterrows(), saved, strict=True):
        assert (row.comparison, row.level) == (name, level["label_for_charts"])
        if row["from"] == "trained":
            assert row["m probability"] == level["m_probability"]
            assert row["u probability"] == level["u_probability"]
    m, u = levels["m probability"], levels["u probability"]
    assert levels["match weight"].tolist() == pytest.approx(
        [math.log2(a / b) for a, b in zip(m, u, strict=True)]
    )


def test_precision_and_recall_are_those_of_the_latest_evaluation(linked, report, warehouse):
    figures = linkage.evaluation(warehouse)
    # The second refresh's Dagster run evaluated last.
    held = warehouse.execute(
        "select * from spine.evaluation where run_id = ?", [linked.second.run_id]
    ).df()
    assert not held.empty
    keys = {"overall": ["scope"], "by feed pair": ["feed_a", "feed_b"], "by error": ["error"]}
    scopes = {"overall": list(linkage.OVERALL_SCOPES), "by feed pair": ["feed pair"],
              "by error": ["error"]}  # fmt: skip
    for name, on in keys.items():
        expected = held[held.scope.isin(scopes[name])].sort_values(on).reset_index(drop=True)
        shown = figures[name].sort_values(on).reset_index(drop=True)
        assert len(shown) == len(expected) > 0
        for column in ("precision", "recall", "f1", "true_positives", "false_negatives"):
            pd.testing.assert_series_equal(
                shown[column].astype(float), expected[column], check_names=False
            )
    page, _ = report
    for row in figures["overall"].itertuples():
        assert f"<td class='n'>{row.precision:.4f}</td><td class='n'>{row.recall:.4f}</td>" in page
