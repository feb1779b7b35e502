"""Place matching on a small gazetteer written out here, through the real parser and DuckDB:
every way the generator writes an address finds its UPRN, a near miss (14A and 14C, a flat
and its building) is never taken for the property, a place that is not a property is located
on its street, and a reviewer's decision is honoured."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from dagster_project.dev.synth.addresses import STYLES, format_postcode, one_line, premises
from dagster_project.places import match
from dagster_project.places.parse import parse

HIGH, MILL, CHURCH = 38100001, 38100002, 38100003
STREETS = {"High Street": (HIGH, "E01000001"), "Mill Road": (MILL, "E01000002"),
           "Church Lane": (CHURCH, "E01000003")}  # fmt: skip
# uprn, organisation, sub_building, building_name, building_number, street, postcode, e, n
PROPERTIES = [
    (100000000001, None, "Flat 1", None, "10", "High Street", "OX4 1AA", 450100, 205100),
    (100000000002, None, "Flat 2", None, "10", "High Street", "OX4 1AA", 450100, 205100),
    (100000000003, None, None, None, "2", "High Street", "OX4 1AA", 450120, 205120),
    (100000000004, None, None, None, "12", "High Street", "OX4 1AA", 450140, 205140),
    (100000000005, "Co-op", None, None, "14", "High Street", "OX4 1AB", 450160, 205160),
    (100000000006, None, None, None, "14A", "Mill Road", "OX4 1AD", 450400, 205400),
    (100000000007, None, None, None, "14B", "Mill Road", "OX4 1AD", 450410, 205410),
    (100000000008, None, None, None, "16", "Mill Road", "OX4 1AD", 450420, 205420),
    (100000000009, None, "Flat 3", "Abbey Court", None, "Mill Road", "OX4 1AE", 450500, 205500),
    (100000000010, None, None, "The Barn", None, "Church Lane", "OX4 1AF", 450800, 205800),
    (100000000011, None, None, None, "3", "Church Lane", "OX4 1AF", 450810, 205810),
    (100000000012, "Booker Academy", None, None, "5", "Church Lane", "OX4 1AG", 450820, 205820),
]  # fmt: skip


def gazetteer(others: int = 0) -> pd.DataFrame:
    """PROPERTIES, and `others` houses on another street."""
    cols = ["uprn", "organisation", "sub_building", "building_name", "building_number", "street",
            "postcode", "easting", "northing"]  # fmt: skip
    elm = [(200000000000 + i, None, None, None, str(i), "Elm Road", "OX4 2AA", 452000 + i, 206000)
           for i in range(1, others + 1)]  # fmt: skip
    g = pd.DataFrame(PROPERTIES + elm, columns=cols)
    streets = {**STREETS, "Elm Road": (38100009, "E01000004")}
    g["usrn"] = g.street.map(lambda s: streets[s][0])
    g["lsoa_code"] = g.street.map(lambda s: streets[s][1])
    g["locality"], g["town"] = "Cowley", "OXFORD"
    g["ward_code"], g["district_code"] = "E05000001", "E07000178"
    return g


def run(mentions: list[dict], decisions: list[tuple] = (), others: int = 0) -> dict[str, dict]:
    """Match the mentions (place_record_id -> text, or a dict of columns) with the real
    matcher; each mention's row of place_matches, with its candidates."""
    rows = pd.DataFrame(
        [
            {
                "address": None,
                "address_line1": None,
                "postcode": None,
                "easting": None,
                "northing": None,
                **m,
            }
            for m in mentions
        ]  # fmt: skip
    ).astype({"easting": "Int64", "northing": "Int64"})
    rows = rows.astype({c: "string" for c in ("address", "address_line1", "postcode")})
    gaz = gazetteer(others)  # noqa: F841 (read by DuckDB)
    with duckdb.connect() as con:
        con.execute("create table gaz as select * from gaz")
        con.execute("create table raw_mentions as select * from rows")
        con.execute("create table decisions (place_record_id varchar, uprn bigint, "
                    "usrn bigint, match boolean)")  # fmt: skip
        for d in decisions:
            con.execute("insert into decisions values (?, ?, ?, ?)", list(d))
        match.match(con)
        out = {r["place_record_id"]: r for r in con.execute(
            "select * from place_matches").df().to_dict("records")}  # fmt: skip
        for pid, uprn in con.execute(
            "select place_record_id, uprn from place_candidates order by rank"
        ).fetchall():
            out[pid].setdefault("candidates", []).append(uprn)
    return out


def _written(uprn: int, style: str) -> tuple[str, str]:
    """A property as the generator writes it in `style`: its first line and the whole."""
    p = next(p for p in PROPERTIES if p[0] == uprn)
    line1 = premises(p[2], p[3], p[4], p[5], style,
                     p[5].replace("Street", "St").replace("Road", "Rd").replace("Lane", "Ln"),
                     None if p[2] else p[1])  # fmt: skip
    return line1, one_line(line1, "Cowley", "OXFORD", None, style)


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("uprn", [p[0] for p in PROPERTIES])
def test_every_way_the_generator_writes_an_address_finds_its_uprn(uprn, style):
    line1, text = _written(uprn, style)
    pc = next(p[6] for p in PROPERTIES if p[0] == uprn)
    mentions = [
        {"place_record_id": "whole line", "address": text},  # one line, no postcode
        {"place_record_id": "parts", "address": text, "address_line1": line1,
         "postcode": format_postcode(pc, no_space=True, lower=True)},
        {"place_record_id": "postcode typo", "address": text, "address_line1": line1,
         "postcode": pc[:-2] + ("ZZ" if pc[-2:] != "ZZ" else "YY")},
    ]  # fmt: skip
    out = run(mentions)
    for pid, row in out.items():
        assert row["uprn"] == uprn and row["method"] in ("exact", "probabilistic"), pid
        assert row["is_property"] and row["lsoa_code"] is not None


@pytest.mark.parametrize("text, reason", [
    ("14C Mill Road, Cowley, OXFORD", "no property with that flat or building number"),
    ("14 Mill Road, Cowley, OXFORD", "no property with that flat or building number"),
    ("Flat 4, 10 High Street, Cowley, OXFORD", "no property with that flat or building number"),
])  # fmt: skip
def test_a_near_miss_is_not_taken_for_the_property(text, reason):
    (row,) = run([{"place_record_id": "m", "address": text}]).values()
    assert row["method"] == "none" and row["uprn"] is None
    assert row["reason"] == reason


def test_a_flat_is_not_its_building_nor_a_house_of_its_number():
    out = run([
        {"place_record_id": "slash", "address": "2/10 High St, Cowley, OXFORD"},
        {"place_record_id": "house", "address": "2 High Street, Cowley, OXFORD"},
        {"place_record_id": "building", "address": "10 High Street, Cowley, OXFORD"},
    ])  # fmt: skip
    assert out["slash"]["uprn"] == 100000000002  # Flat 2, 10 High Street
    assert out["house"]["uprn"] == 100000000003  # 2 High Street
    # 10 High Street is two flats: which one, the mention cannot say
    assert out["building"]["uprn"] is None and out["building"]["to_review"]
    assert out["building"]["reason"].startswith("ambiguous")
    assert sorted(out["building"]["candidates"]) == [100000000001, 100000000002]


@pytest.mark.parametrize("text, usrn, point", [
    ("High Street, OXFORD", HIGH, None),
    ("Junction of Mill Road and High Street, OXFORD", MILL, (450400, 205400)),
    ("Outside Co-op, High Street, OXFORD", HIGH, (450160, 205160)),
    ("Route 42 bus, Church Lane, Oxford", CHURCH, None),
])  # fmt: skip
def test_a_place_that_is_not_a_property_is_located_on_its_street(text, usrn, point):
    (row,) = run([{"place_record_id": "m", "address": text}]).values()
    assert row["method"] == "street-level" and not row["is_property"]
    assert row["usrn"] == usrn and row["uprn"] is None
    assert row["lsoa_code"] is not None and row["ward_code"] == "E05000001"
    if point:  # outside the premises; at the end of the street nearest the other
        assert (row["easting"], row["northing"]) == point


def test_a_named_premises_is_found_by_its_name_alone():
    # a name's weight is its rarity: one school among ten thousand properties
    (row,) = run([{"place_record_id": "m", "address": "Booker Academy"}], others=10_000).values()
    assert row["uprn"] == 100000000012 and row["method"] == "probabilistic"


def test_a_postcode_or_coordinates_alone_locate_but_do_not_match():
    out = run([
        {"place_record_id": "postcode", "postcode": "OX4 1AD"},
        {"place_record_id": "point", "easting": 450805, "northing": 205805},
        {"place_record_id": "nothing", "address": "  "},
    ])  # fmt: skip
    assert out["postcode"]["method"] == "none" and out["postcode"]["lsoa_code"] == "E01000002"
    assert out["point"]["method"] == "none" and out["point"]["lsoa_code"] == "E01000003"
    assert out["nothing"]["reason"] == "no address given"
    assert all(r["uprn"] is None for r in out.values())


def test_a_reviewers_decision_is_honoured():
    mention = [{"place_record_id": "m", "address": "10 High Street, Cowley, OXFORD"}]
    (queued,) = run(mention).values()
    assert queued["to_review"]
    (chosen,) = run(mention, [("m", 100000000002, None, True)]).values()
    assert chosen["method"] == "clerical" and chosen["uprn"] == 100000000002
    # ruling one flat out leaves the other as the only candidate
    (left,) = run(mention, [("m", 100000000001, None, False)]).values()
    assert left["uprn"] == 100000000002 and left["method"] == "probabilistic"


@pytest.mark.parametrize("text", [
    "Flat 2, 10 High Street", "10 High Street, Flat 2", "2/10 High St", "Flat 2 10 High St",
])  # fmt: skip
def test_the_parser_reads_flat_and_number_however_written(text):
    p = parse(text)
    assert (p.flat, p.number, p.streets[0]) == ("2", "10", "HIGH STREET")
