"""Staging (dbt, through Dagster) handles every agency format the generator emits."""

from __future__ import annotations

import re
import shutil

import dagster as dg
import pandas as pd
import pytest

from dagster_project.codegen.dbt_files import (
    canonical,
    model_name,
    split_parts,
    staged_name,
    write_all,
)
from dagster_project.contracts.model import load_contracts
from dagster_project.defs.conform.assets import conform_assets
from dagster_project.defs.conform.project import dbt_resource
from dagster_project.dev.synth.addresses import (
    CONVENTIONS,
    STYLES,
    format_postcode,
    one_line,
    premises,
)
from dagster_project.platform.warehouse import connect

pytestmark = pytest.mark.e2e  # dbt builds of a hub

CONTRACTS = load_contracts()
POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$")


def test_the_dbt_files_match_the_contracts():
    assert write_all(CONTRACTS, check=True) == []


@pytest.fixture(scope="module")
def conformed(tmp_path_factory, pristine):
    """Both pristine months of every feed ingested, then dbt built through Dagster."""
    from conftest import Hub

    root = tmp_path_factory.mktemp("conformed") / "data"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HUB_DATA_DIR", str(root))
        hub = Hub(root, pristine)
        for feed in CONTRACTS:
            for month in pristine.summary.months:
                assert hub.ingest(feed, month).passed
        result = dg.materialize(
            [conform_assets()], resources={"dbt": dbt_resource()}, raise_on_error=False
        )
        yield hub, result


def test_dbt_builds_and_its_tests_are_asset_checks(conformed):
    _, result = conformed
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 2 * len(CONTRACTS) + 16 and all(c.passed for c in checks)


@pytest.mark.parametrize("feed", sorted(CONTRACTS))
def test_staging_types_and_standardises_every_column(conformed, feed):
    hub, _ = conformed
    c = CONTRACTS[feed]
    with hub.connect() as con:
        raw = con.execute(f'SELECT * FROM raw."{feed}"').df()
        staged = con.execute(f"SELECT * FROM staging.{model_name(c)}").df()
    assert len(staged) == len(raw) and staged["record_id"].is_unique
    for f in c.fields:
        name, out = f.name, staged_name(f)
        delivered = raw[name].notna()
        if f.type in ("date", "time", "integer"):
            parsed = staged[out].notna()
            assert (parsed == delivered).all(), f"{feed}.{name}: values staging cannot read"
        if f.concept.endswith("postcode"):
            good = staged[out].dropna()
            assert good.map(lambda p: bool(POSTCODE.match(p))).all(), f"{feed}.{name}"
            assert (staged[f"{out}_reason"].eq("missing") == ~delivered).all()
        attribute = f.concept.split(".")[-1]
        if attribute in ("first_name", "surname", "full_name"):
            role = f.concept.split(".")[0]
            split = [f"{role}_surname", f"{role}_first_name"] if attribute == "full_name" else [out]
            for column in split:
                names = staged[column].dropna()
                assert names.str.fullmatch(r"[A-Z]+( [A-Z]+)*").all(), f"{feed}.{column}"
        if canonical(f):
            mapped = staged[out].notna()
            assert mapped.sum() >= 0.9 * delivered.sum(), f"{feed}.{name}: codes not mapped"


def _counts(hub, model: str, by: str) -> dict[tuple[str, str], int]:
    """Rows of an intermediate model by source feed and one other column."""
    with hub.connect() as con:
        rows = con.execute(
            f"SELECT source_feed, {by}, count(*) FROM intermediate.{model} GROUP BY ALL"
        ).fetchall()
    return {(feed, key): n for feed, key, n in rows}


def test_person_records_hold_every_person_mention_of_every_feed(conformed, pristine):
    """One row per person named in a record, whatever the feed and role (the truth says who)."""
    hub, _ = conformed
    truth = pristine.truth_records()
    named = truth[~truth["role"].isin(["record", "location"]) & truth["person_id"].notna()]
    expected = named.groupby(["feed", "role"]).size().to_dict()
    assert _counts(hub, "int_person_records", "role") == expected
    with hub.connect() as con:
        columns = [c[0] for c in con.execute("DESCRIBE intermediate.int_person_records").fetchall()]
    assert columns[:5] == ["person_record_id", "record_id", "source_feed", "agency", "role"]
    assert {"forename", "surname", "date_of_birth", "sex", "postcode", "address"} <= set(columns)


def test_place_records_hold_every_location_and_home_address(conformed, pristine):
    """Every event location, and every home address a record holds (the truth says which)."""
    hub, _ = conformed
    truth = pristine.truth_records()
    locations = truth[truth["role"] == "location"].groupby("feed").size()
    homes = truth[~truth["role"].isin(["record", "location"]) & truth["uprn"].notna()]
    expected = {(f, "event location"): n for f, n in locations.items()}
    expected |= {
        (f, f"home of {r}"): n for (f, r), n in homes.groupby(["feed", "role"]).size().items()
    }
    assert _counts(hub, "int_place_records", "kind") == expected


# Addresses delivered on one line: (feed, column, role, the parts staging cuts from it).
ONE_LINE = [
    (c.name, f.name, f.role, split_parts(c, f))
    for c in CONTRACTS.values()
    for f in c.fields
    if split_parts(c, f)
]


def _none(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(object).where(frame.notna(), None)


def _properties(region) -> pd.DataFrame:
    """The gazetteer with each property's first line in every style the generator writes."""
    gaz = _none(region.gazetteer())
    streets = pd.read_csv(region.reference / "streets.csv")
    short = dict(zip(streets["usrn"], streets["street_short"], strict=True))
    for style in STYLES:
        gaz[style] = [
            premises(p.sub_building, p.building_name, p.building_number, p.street, style,
                     short.get(p.usrn), None if p.sub_building else p.organisation)
            for p in gaz.itertuples()
        ]  # fmt: skip
    return gaz


def _staged_parts(con, feed: str, role: str, parts: list[str]) -> pd.DataFrame:
    cols = {"address": f"{role}_address"} | {p: f"{role}_{p}" for p in parts}
    select = ", ".join(f"{col} AS {name}" for name, col in cols.items())
    model = model_name(CONTRACTS[feed])
    return con.execute(f"SELECT period, row_number, {select} FROM staging.{model}").df()


def _squash(text: str) -> str:
    return re.sub(r"[\s,]+", "", text).upper()


@pytest.mark.parametrize(("feed", "column", "role", "parts"), ONE_LINE)
def test_one_line_addresses_split_as_the_truth_says(conformed, pristine, feed, column, role, parts):
    """Each delivered one-line address, cut into the parts of the property (or street) the
    truth says it is: premises as some style writes them, locality, post town, postcode."""
    hub, _ = conformed
    with hub.connect() as con:
        staged = _staged_parts(con, feed, role, parts).dropna(subset=["address"])
    truth = pristine.truth_records(feed)
    truth = truth[truth["role"] == role][["period", "row_number", "uprn", "usrn", "errors"]]
    rows = _none(staged.merge(truth, on=["period", "row_number"], validate="1:1"))
    assert len(rows) == len(staged) > 0
    gaz = _properties(pristine).set_index("uprn")
    towns = pd.read_csv(pristine.reference / "streets.csv").set_index("usrn")["town"]
    for r in rows.itertuples():
        cut = [r.address_line1, r.address_line2, r.town, getattr(r, "postcode", None)]
        whole = _squash("".join(p for p in cut if p)) == _squash(r.address)
        written = set(r.errors.split(";")) & set(CONVENTIONS)
        if written:  # a convention's first line is not the gazetteer's, nor beside it one
            placed = r.town in set(gaz.town) and r.address_line1 is not None
        elif r.uprn is not None:
            p = gaz.loc[int(r.uprn)]
            placed = r.address_line1 in {p[style] for style in STYLES}
            placed &= r.address_line2 == p.locality and r.town == p.town
            if "postcode" in parts and "postcode_typo" not in r.errors:
                placed &= r.postcode == p.postcode
        else:  # a street, a junction or outside a shop: no locality, the street's post town
            placed = r.address_line2 is None and r.town == towns[int(r.usrn)]
        assert whole and placed, f"{feed} row {r.row_number} (values not shown: personal data)"


def test_every_one_line_format_the_generator_writes_splits(conformed, pristine, tmp_path):
    """Every property of the region written in every style, with and without the postcode
    forms agencies use, through the staging views dbt built (on a copy of the warehouse)."""
    hub, _ = conformed
    copy = tmp_path / "hub.duckdb"
    shutil.copy(hub.where.warehouse, copy)
    gaz = _properties(pristine)
    pc_forms = {"plain": {}, "no_space": {"no_space": True}, "lower": {"lower": True}}
    with connect(path=copy) as con:
        for feed, column, role, parts in ONE_LINE:
            if feed not in ("ppo", "crime_victim"):  # one feed with the postcode in the line
                continue  # and one without are enough: every feed runs the same macro
            with_pc = "postcode" in parts
            rows = [
                (style, form, p.uprn,
                 one_line(getattr(p, style), p.locality, p.town,
                          format_postcode(p.postcode, **kw) if with_pc else None, style))
                for p in gaz.itertuples() for style in STYLES
                for form, kw in (pc_forms.items() if with_pc else [("plain", {})])
            ]  # fmt: skip
            lines = pd.DataFrame(rows, columns=["style", "form", "uprn", "text"])
            lines["n"] = range(1, len(lines) + 1)
            con.execute(f'DELETE FROM raw."{feed}"')
            con.execute(
                f'INSERT INTO raw."{feed}" ("{column}", _supply_id, _row_number, _partition) '
                "SELECT text, 'test', n, '2024-01' FROM lines"
            )
            staged = _none(_staged_parts(con, feed, role, parts))
            got = lines.merge(staged, left_on="n", right_on="row_number")
            expected = gaz.set_index("uprn").loc[got["uprn"]].reset_index()
            line1 = [e[s] for e, s in zip(expected.to_dict("records"), got["style"], strict=True)]
            wrong = (
                (got["address_line1"].to_numpy() != line1)
                | (got["address_line2"].to_numpy() != expected["locality"].to_numpy())
                | (got["town"].to_numpy() != expected["town"].to_numpy())
                | (with_pc and (got["postcode"].to_numpy() != expected["postcode"].to_numpy()))
            )
            misplaced = sorted(set(got.loc[wrong, "style"] + "/" + got.loc[wrong, "form"]))
            assert len(got) == len(lines), feed
            assert not misplaced, f"{feed}: {wrong.sum()} of {len(got)} misplaced in {misplaced}"


def test_person_records_take_the_postcode_from_a_one_line_address(conformed):
    hub, _ = conformed
    with hub.connect() as con:
        found = con.execute(
            "SELECT count(*), count(postcode), count(town) FROM intermediate.int_person_records "
            "WHERE source_feed = 'ppo' AND address IS NOT NULL"
        ).fetchone()
    assert found[0] > 0 and found[0] == found[1] == found[2]


def _truth_event(pristine) -> dict[tuple[str, str, int], str]:
    """(feed, period, row number) -> the event the truth says the record is about."""
    records = pristine.truth_records()
    records = records[records["role"] == "record"]
    keys = zip(records["feed"], records["period"], records["row_number"], strict=True)
    return dict(zip(keys, records["event_id"], strict=True))


def _row_of(record_id: str) -> int:
    return int(record_id.rsplit("#", 1)[1])


def test_events_hold_one_row_per_parent_record(conformed, pristine):
    """Every record of a feed that is not a child is an event, once (a record supplied
    twice is one); child feeds make none."""
    hub, _ = conformed
    with hub.connect() as con:
        events = con.execute(
            "SELECT source_feed, record_id, period, event_type FROM intermediate.int_events"
        ).df()
    truth = _truth_event(pristine)
    events["truth"] = [
        truth[(f, p, _row_of(r))]
        for f, p, r in zip(
            events["source_feed"], events["period"], events["record_id"], strict=True
        )
    ]
    parents = {c.name for c in CONTRACTS.values() if not c.parent}
    expected = {k: v for k, v in truth.items() if k[0] in parents}
    assert events["truth"].is_unique
    assert set(events["truth"]) == set(expected.values())
    assert set(events["source_feed"]) == parents
    assert (events["event_type"] == events["source_feed"].map(
        {c.name: c.event_type for c in CONTRACTS.values()})).all()  # fmt: skip


def test_people_of_child_feeds_hang_off_the_parents_event(conformed, pristine):
    """The offenders, victims and detainees of a recorded crime are people of the crime's
    event; every person record belongs to exactly one event."""
    hub, _ = conformed
    with hub.connect() as con:
        people = con.execute(
            "SELECT p.person_record_id, p.source_feed, p.period, e.record_id AS event_record "
            "FROM intermediate.int_event_people AS p "
            "JOIN intermediate.int_events AS e USING (event_id)"
        ).df()
        mentions = con.execute("SELECT count(*) FROM intermediate.int_person_records").fetchone()
    truth = _truth_event(pristine)
    assert len(people) == mentions[0] and people["person_record_id"].is_unique
    children = {c.name: c.parent for c in CONTRACTS.values() if c.parent and c.roles}
    linked = people[people["source_feed"].isin(children)]
    assert set(linked["source_feed"]) == set(children)
    for r in linked.itertuples():
        own = truth[(r.source_feed, r.period, _row_of(r.person_record_id.rsplit(":", 1)[0]))]
        parent = truth[(children[r.source_feed], r.period, _row_of(r.event_record))]
        assert own == parent, r.person_record_id
