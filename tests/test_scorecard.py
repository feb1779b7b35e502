"""The data-quality scorecard: its ratings as pure functions, then the session's linked region
copied and spoilt (a month refused, a refused re-delivery, supplies late, a month missing)
and scored, each figure held to a count of its own."""

from __future__ import annotations

import datetime as dt
import re
import time

import pandas as pd
import pytest

from dagster_project.contracts.model import load_contracts
from dagster_project.dev.synth import faults
from dagster_project.reports import scorecard as sc

# --- the ratings, pure functions ----------------------------------------------------------------


def test_currency_is_rated_by_days_late_and_a_month_without_a_usable_supply_is_red():
    assert sc.rate_currency("held", -2) == "green"
    assert sc.rate_currency("held", sc.LATE_AMBER_DAYS) == "green"
    assert sc.rate_currency("held", sc.LATE_AMBER_DAYS + 1) == "amber"
    assert sc.rate_currency("held", sc.LATE_RED_DAYS) == "amber"
    assert sc.rate_currency("held", sc.LATE_RED_DAYS + 1) == "red"
    assert sc.rate_currency("missing", None) == "red"
    assert sc.rate_currency("refused", None) == "red"
    assert sc.rate_currency("not yet due", None) is None
    assert [sc.currency_text("held", d) for d in (-1, 0, 1, 9)] == [
        "on time", "on time", "late by 1 day", "late by 9 days"]  # fmt: skip
    assert sc.currency_text("refused", None) == "missing"


def test_shares_over_many_records_are_rated_at_the_stated_thresholds():
    n = 1_000_000  # the interval is then narrow: the rating is the threshold's own
    rate = lambda share: sc.rate_share(share * n, n, sc.POSTCODE_AMBER, sc.POSTCODE_RED)  # noqa: E731
    assert rate(sc.POSTCODE_AMBER + 0.001) == "green"
    assert rate(sc.POSTCODE_AMBER - 0.002) == "amber"
    assert rate(sc.POSTCODE_RED - 0.002) == "red"
    assert sc.rate_share(0.9 * n, n, sc.PLACE_AMBER, sc.PLACE_RED) == "amber"
    assert sc.rate_share(0.8 * n, n, sc.PLACE_AMBER, sc.PLACE_RED) == "red"


def test_a_month_of_a_few_records_is_not_marked_down_for_chance():
    assert sc.rate_share(1, 2, sc.PLACE_AMBER, sc.PLACE_RED) == "green"  # one miss in two
    assert sc.rate_share(0, 10, sc.PLACE_AMBER, sc.PLACE_RED) == "red"  # none in ten is no chance
    assert sc.rate_share(90, 100, sc.PLACE_AMBER, sc.PLACE_RED) == "amber"
    assert sc.rate_share(0, 0, sc.PLACE_AMBER, sc.PLACE_RED) is None  # nothing to rate
    assert sc.rate_share(None, None, sc.PLACE_AMBER, sc.PLACE_RED) is None
    for k, n in [(0, 1), (1, 2), (3, 7), (95, 100), (9_990, 10_000)]:
        upper = sc.wilson_upper(k, n)
        assert k / n <= upper <= 1
        assert sc.wilson_upper(k * 10, n * 10) <= upper  # more records, a narrower interval


def test_completeness_is_rated_against_the_feeds_usual_month():
    usual = 100_000
    assert sc.rate_count_against_usual(int(0.95 * usual), usual) == "green"
    assert sc.rate_count_against_usual(int(0.85 * usual), usual) == "amber"
    assert sc.rate_count_against_usual(int(0.45 * usual), usual) == "red"
    assert sc.rate_count_against_usual(5, 7) == "green"  # 5 where 7 is usual: chance
    assert sc.rate_count_against_usual(0, 100) == "red"
    assert sc.rate_count_against_usual(50, None) is None  # no other month to compare
    assert sc.rate_share_against_usual(0.70 * usual, usual, 0.72) == "green"  # its own norm
    assert sc.rate_share_against_usual(0.60 * usual, usual, 0.72) == "amber"
    assert sc.rate_share_against_usual(0.30 * usual, usual, 0.72) == "red"
    assert sc.rate_share_against_usual(0, 5, 0.0) == "green"  # nothing to fall from


def test_the_worst_rating_sets_the_month_and_names_the_quality_holding_it_back():
    assert sc.worst(["green", None, "amber"]) == "amber"
    assert sc.worst([None, None]) is None
    ratings = dict.fromkeys(sc.QUALITIES, "green")
    assert sc.holding_back(ratings) is None
    assert sc.holding_back(ratings | {"precision": "amber", "currency": "amber"}) == "currency"
    assert sc.holding_back(ratings | {"precision": "red", "currency": "amber"}) == "precision"
    assert sc.holding_back(ratings | {"gate": "red", "currency": "red"}) == "gate"
    assert sc.holding_back(dict.fromkeys(sc.QUALITIES)) is None


def _measured() -> pd.DataFrame:
    """Figures as `measure` gives them, made by hand: a feed with places, people and
    postcodes over five months (one refused, one missing, one thin), and one with none."""
    rows = []
    for i, month in enumerate(["2024-01", "2024-02", "2024-03", "2024-04", "2024-05"]):
        held = {"supply": "held", "days_late": 0, "records": 200, "fields_populated": 0.95,
                "postcodes_given": 190, "postcodes_valid": 188, "place_mentions": 200,
                "places_uprn": 150, "places_matched": 196, "person_records": 200,
                "persons_linked": 80, "gate_refusals": 0}  # fmt: skip
        figures = {
            0: held,
            1: held | {"records": 60, "days_late": 12, "place_mentions": 60, "places_matched": 59,
                       "person_records": 60, "persons_linked": 24, "postcodes_given": 57,
                       "postcodes_valid": 56},
            2: {"supply": "refused", "gate_refusals": 1,
                "gate_reasons": "the file holds 200 records but supply.yml says 202"},
            3: {"supply": "missing", "gate_refusals": 0},
            4: held | {"gate_refusals": 1, "gate_reasons": "a column is missing"},
        }[i]  # fmt: skip
        rows.append({"agency": "police", "feed": "crimes", "month": month} | figures)
        rows.append({"agency": "fire", "feed": "fires", "month": month, "supply": "held",
                     "days_late": 0, "records": 10, "fields_populated": 1.0,
                     "gate_refusals": 0})  # fmt: skip
    return pd.DataFrame(rows, columns=list(sc.MEASURES)).astype(object)


def test_months_are_rated_from_their_figures_and_their_feeds_usual_months():
    frame = sc.rate_months(_measured())
    assert list(frame.columns) == list(sc.COLUMNS)
    crimes = frame[frame.feed == "crimes"].set_index("month")
    assert crimes.loc["2024-01", "records_usual"] == 130  # the median of its other months (60, 200)
    assert crimes.loc["2024-01", "overall_rag"] == "green"
    thin = crimes.loc["2024-02"]
    assert (thin.records_share, thin.completeness_rag) == (0.3, "red")
    assert thin.currency == "late by 12 days"
    assert (thin.overall_rag, thin.holding_back) == ("red", "completeness")
    refused = crimes.loc["2024-03"]
    assert (refused.gate_rag, refused.overall_rag, refused.holding_back) == ("red", "red", "gate")
    assert refused.gate_reasons.startswith("the file holds 200 records")
    assert refused.records is None and refused.completeness_rag is None
    missing = crimes.loc["2024-04"]
    assert (missing.currency, missing.currency_rag, missing.gate_rag) == ("missing", "red", None)
    again = crimes.loc["2024-05"]
    assert (again.gate_rag, again.overall_rag, again.gate_refusals) == ("amber", "amber", 1)
    # no postcode, place or person in the contract: n/a (None), never 0
    fires = frame[frame.feed == "fires"]
    shares = ["postcodes_valid_share", "places_matched_share", "persons_linked_share"]
    for column in [*shares, "accuracy_rag", "place_rag", "identity_rag", "precision_rag"]:
        assert fires[column].map(lambda v: v is None).all(), column
    assert (fires.overall_rag == "green").all()


def _no_url_outside_xmlns(page: str) -> list[str]:
    return re.findall(r"https?://\S+", re.sub(r'xmlns(:\w+)?="[^"]*"', "", page))


def test_the_page_holds_its_sections_ratings_and_nothing_from_elsewhere():
    page = sc.html(sc.rate_months(_measured()))
    for rag in ("green", "amber", "red"):
        assert f"class='{rag}'" in page
    assert "<script" not in page.lower() and not _no_url_outside_xmlns(page)
    sections = ["Board summary", "Overall rating by feed and month", "Detail", "Thresholds",
                "The four qualities"]  # fmt: skip
    assert [page.index(s) for s in sections] == sorted(page.index(s) for s in sections)
    assert "section 4.2.3" in page and "Information sharing for community safety" in page
    for quality in ("Precision", "Accuracy", "Completeness", "Currency"):
        assert f"<strong>{quality}</strong>" in page


def test_feed_metadata_is_plain_values():
    meta = sc.feed_metadata(sc.rate_months(_measured()), "crimes", "2024-02")
    assert meta["records"] == 60 and meta["currency"] == "late by 12 days"
    assert all(isinstance(v, int | float | str | type(None)) for v in meta.values())
    with pytest.raises(KeyError):
        sc.feed_metadata(sc.rate_months(_measured()), "crimes", "1999-01")


# --- the linked region, spoilt and scored -------------------------------------------------------

REFUSED = "incidents"  # a month never held: its only supply refused
REFUSED_AGAIN = "asb"  # a month held, whose re-delivery the gate refused
LATE, VERY_LATE = "ambulance_calls", "stop_search"
MISSING = "waste_sites"
CHECKED = ("crime_victim", "incidents")  # figures held to counts of their own


def _withdraw(con, feed: str, month: str) -> None:
    """As if the month had never been supplied (the spines keep their rows: a month the hub
    does not hold is not measured from them)."""
    con.execute("delete from ops.supply_register where feed = ? and period = ?", [feed, month])
    con.execute(f'delete from raw."{feed}" where _partition = ?', [month])


@pytest.fixture(scope="module")
def scored(tmp_path_factory, linked):
    hub = linked.copy_to(tmp_path_factory.mktemp("scorecard") / "data")
    months = linked.region.summary.months
    spoilt = {REFUSED: months[2], REFUSED_AGAIN: months[3], LATE: months[4],
              VERY_LATE: months[0], MISSING: months[1]}  # fmt: skip
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HUB_DATA_DIR", str(hub.root))
        with hub.connect() as con:
            _withdraw(con, REFUSED, spoilt[REFUSED])
            _withdraw(con, MISSING, spoilt[MISSING])
            for feed, days in ((LATE, 10), (VERY_LATE, 40)):
                con.execute(
                    "update ops.supply_register set date_supplied = due_date + ? "
                    "where feed = ? and period = ? and status = 'loaded'",
                    [days, feed, spoilt[feed]],
                )
        for feed, fault in ((REFUSED, "record_count"), (REFUSED_AGAIN, "duplicate_reference")):
            contract = hub.contract(feed)
            faults.spoil(contract, hub.folder(feed, spoilt[feed]), spoilt[feed], fault)
            assert hub.ingest(feed, spoilt[feed]).status == "quarantined"
        with hub.connect(read_only=True) as con:
            clock = time.perf_counter()
            frame = sc.scorecard(con, load_contracts())
            seconds = time.perf_counter() - clock
        yield hub, frame, spoilt, months, seconds


def _row(frame: pd.DataFrame, feed: str, month: str) -> pd.Series:
    (i,) = frame.index[(frame.feed == feed) & (frame.month == month)]
    return frame.loc[i]


@pytest.mark.e2e
def test_a_row_for_every_feed_and_month(scored):
    _, frame, _, months, seconds = scored
    contracts = load_contracts()
    assert sorted(zip(frame.feed, frame.month, strict=True)) == sorted(
        (f, m) for f in contracts for m in months
    )
    assert (frame.agency == frame.feed.map(lambda f: contracts[f].agency)).all()
    assert frame.overall_rag.isin(["green", "amber", "red"]).all()
    assert seconds < 120


@pytest.mark.e2e
def test_a_refused_month_is_red_with_the_registers_reason(scored):
    hub, frame, spoilt, _, _ = scored
    with hub.connect(read_only=True) as con:
        (reason,) = con.execute(
            "select reason from ops.supply_register "
            "where feed = ? and period = ? and status = 'quarantined'",
            [REFUSED, spoilt[REFUSED]],
        ).fetchone()
    row = _row(frame, REFUSED, spoilt[REFUSED])
    assert (row.supply, row.gate_rag, row.overall_rag, row.holding_back) == (
        "refused", "red", "red", "gate")  # fmt: skip
    assert (row.gate_refusals, row.gate_reasons) == (1, reason)
    assert "supply.yml says" in reason
    assert (row.currency, row.currency_rag) == ("missing", "red")
    assert row.records is None and row.places_matched_share is None  # nothing held to measure
    board = sc.board(frame).set_index("feed")
    assert board.loc[REFUSED, "months red"] >= 1


@pytest.mark.e2e
def test_a_refused_redelivery_is_amber_while_the_month_stays_held(scored):
    _, frame, spoilt, _, _ = scored
    row = _row(frame, REFUSED_AGAIN, spoilt[REFUSED_AGAIN])
    assert (row.supply, row.gate_refusals, row.gate_rag) == ("held", 1, "amber")
    assert "identifies a record" in row.gate_reasons  # the duplicated key, by count, not value
    assert row.overall_rag in ("amber", "red") and row.records > 0


@pytest.mark.e2e
def test_late_and_missing_months(scored):
    _, frame, spoilt, _, _ = scored
    late, very = _row(frame, LATE, spoilt[LATE]), _row(frame, VERY_LATE, spoilt[VERY_LATE])
    assert (late.currency, late.days_late, late.currency_rag) == ("late by 10 days", 10, "amber")
    assert (very.currency, very.currency_rag, very.overall_rag) == ("late by 40 days", "red",
                                                                    "red")  # fmt: skip
    assert very.holding_back == "currency"
    missing = _row(frame, MISSING, spoilt[MISSING])
    assert (missing.supply, missing.currency, missing.currency_rag, missing.overall_rag) == (
        "missing", "missing", "red", "red")  # fmt: skip
    assert missing.gate_refusals == 0 and missing.gate_rag is None


@pytest.mark.e2e
def test_completeness_equals_a_count_of_its_own(scored):
    hub, frame, _, months, _ = scored
    feed, month = CHECKED[0], months[1]
    contract = load_contracts()[feed]
    with hub.connect(read_only=True) as con:
        counts = dict(con.execute(
            f'select _partition, count(*) from raw."{feed}" group by 1').fetchall())  # fmt: skip
        delivered = con.execute(f'select * from raw."{feed}" where _partition = ?', [month]).df()[
            contract.columns
        ]
    row = _row(frame, feed, month)
    assert row.records == counts[month] == len(delivered)
    others = [n for m, n in counts.items() if m != month]
    assert row.records_usual == pd.Series(others).median()
    assert row.records_share == pytest.approx(counts[month] / pd.Series(others).median())
    blank = delivered.apply(lambda col: col.isna() | (col.astype(str).str.strip() == ""))
    assert row.fields_populated == pytest.approx(1 - blank.to_numpy().mean())


@pytest.mark.e2e
def test_place_person_and_postcode_shares_equal_counts_of_their_own(scored):
    hub, frame, _, months, _ = scored
    month = months[1]
    with hub.connect(read_only=True) as con:
        places = con.execute(
            "select source_feed, kind, method, uprn from spine.place_matches where period = ?",
            [month],
        ).df()
        people = con.execute(
            "select p.person_record_id, p.person_id, r.source_feed, r.period "
            "from spine.person_ids p join intermediate.int_person_records r using "
            "(person_record_id)"
        ).df()
        victims = con.execute(
            "select victim_postcode, victim_postcode_reason from staging.stg_police__crime_victim "
            "where period = ?",
            [month],
        ).df()
    # a home is matched when it has its property; an event's location also when on its street
    homes = places[(places.source_feed == "crime_victim") & (places.kind == "home of victim")]
    victim = _row(frame, "crime_victim", month)
    assert victim.place_mentions == len(homes) > 0
    assert victim.places_matched_share == pytest.approx(homes.uprn.notna().mean())
    events = places[places.source_feed == "incidents"]
    incident = _row(frame, "incidents", month)
    assert incident.place_mentions == len(events) > 0
    assert incident.places_matched_share == pytest.approx((events.method != "none").mean())
    assert incident.places_uprn_share == pytest.approx(events.uprn.notna().mean())
    # linked: the person has another record anywhere in the hub
    sizes = people.groupby("person_id").person_record_id.transform("size")
    theirs = (people.source_feed == "crime_victim") & (people.period == month)
    assert victim.person_records == theirs.sum()
    assert victim.persons_linked_share == pytest.approx((sizes[theirs] > 1).mean())
    given = victims[victims.victim_postcode_reason.fillna("") != "missing"]
    assert victim.postcodes_given == len(given)
    assert victim.postcodes_valid_share == pytest.approx(given.victim_postcode.notna().mean())


@pytest.mark.e2e
def test_feeds_without_person_or_place_fields_are_not_applicable(scored):
    _, frame, _, _, _ = scored
    status = frame[frame.feed == "detection_status"]
    for column in ("postcodes_valid_share", "places_matched_share", "persons_linked_share",
                   "precision_rag", "accuracy_rag"):  # fmt: skip
        assert status[column].map(lambda v: v is None).all(), column
    # people named by age and sex only (bus incidents) identify no one: n/a, not 0
    assert frame[frame.feed == "bus_incidents"].persons_linked_share.map(
        lambda v: v is None).all()  # fmt: skip


@pytest.mark.e2e
def test_write_replaces_the_warehouse_table(scored):
    hub, frame, _, _, _ = scored
    with hub.connect() as con:
        sc.write(con, frame)
        sc.write(con, frame)  # replaced, not appended
        held = con.execute("select * from ops.data_quality").df()
        types = dict(con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'ops' and table_name = 'data_quality'").fetchall())  # fmt: skip
    assert len(held) == len(frame) and list(held.columns) == list(sc.COLUMNS)
    assert types["records"] == "INTEGER" and types["due_date"] == "DATE"
    assert types["places_matched_share"] == "DOUBLE"
    assert set(held.overall_rag) == set(frame.overall_rag)


@pytest.mark.e2e
def test_the_page_has_the_ratings_and_no_record_value(scored):
    hub, frame, spoilt, _, _ = scored
    page = sc.html(frame)
    for rag in ("green", "amber", "red"):
        assert f"class='{rag}'" in page
    assert "<script" not in page.lower() and not _no_url_outside_xmlns(page)
    assert f"{REFUSED}" in page and "supply.yml says" in page
    # no reference, name or postcode of any record: the values of the victims' identifiers
    contract = load_contracts()["crime_victim"]
    with hub.connect(read_only=True) as con:
        named = [f.name for f in contract.fields if f.identifies == "person"]
        values = con.execute(
            "select distinct v from (select unnest([" + ", ".join(f'"{n}"' for n in named)
            + "]) as v from raw.crime_victim) where length(v) >= 6"
        ).fetchall()  # fmt: skip
    assert values and not [v for (v,) in values if v in page]
    meta = sc.feed_metadata(frame, REFUSED, spoilt[REFUSED])
    assert meta["overall_rag"] == "red" and dt.date.fromisoformat(meta["due_date"])
