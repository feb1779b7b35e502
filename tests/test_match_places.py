"""`hub match-places` on a gazetteer and mentions written here, not by the generator: the ways
people write flats, suffixes and places near a property (issue 18's conventions)."""

from __future__ import annotations

import csv

import pandas as pd
import pytest
from conftest import call_hub

AREA = {"lsoa_code": "E01000001", "ward_code": "E05000001", "district_code": "E07000178",
        "district_name": "Oxford", "town": "OXFORD"}  # fmt: skip
# uprn: (sub_building, building_name, building_number, street, usrn, postcode, organisation)
PROPERTIES = {
    1: ("Flat 1", "Heron House", "", "Mill Road", 1, "OX4 1AA", ""),
    2: ("Flat 2", "Heron House", "", "Mill Road", 1, "OX4 1AA", ""),
    3: ("Flat 3", "Heron House", "", "Mill Road", 1, "OX4 1AA", ""),
    4: ("", "", "3", "Mill Road", 1, "OX4 1AA", ""),
    5: ("", "", "5", "Mill Road", 1, "OX4 1AA", ""),
    6: ("Flat 2", "", "10", "High Street", 2, "OX4 1AB", ""),
    7: ("Flat 1", "", "10", "High Street", 2, "OX4 1AB", ""),
    8: ("Flat D", "", "28", "Oak Road", 3, "OX4 1AD", ""),
    9: ("", "", "28", "Oak Road", 3, "OX4 1AD", ""),
    10: ("", "", "11B", "Oak Road", 3, "OX4 1AD", ""),
    11: ("", "", "11", "Oak Road", 3, "OX4 1AD", ""),
    12: ("Unit 4", "Kestrel Trading Estate", "", "Kestrel Way", 4, "OX4 1AE", ""),
    13: ("Unit 5", "Kestrel Trading Estate", "", "Kestrel Way", 4, "OX4 1AE", ""),
    14: ("", "", "14", "Little York Road", 5, "OX4 1AF", "The Red Lion"),
    15: ("", "", "16", "Little York Road", 5, "OX4 1AF", ""),
    16: ("", "", "16", "York Road", 6, "OX4 1AG", ""),
    17: ("", "", "7", "Beechwood Avenue", 7, "OX4 1AH", ""),
    18: ("", "", "9", "Mill Road", 1, "OX4 1AA", ""),
    19: ("Studio 4", "", "10", "High Street", 2, "OX4 1AB", ""),
    20: ("Unit 7", "Heath Business Park", "3", "Heath Road", 8, "OX4 1AJ", ""),
    21: ("", "", "7", "Heath Road", 8, "OX4 1AJ", ""),
    22: ("", "", "12", "Elm Grove", 9, "OX4 1AK", "The Green Man"),
    23: ("", "", "2", "School Lane", 10, "OX4 1AL", "Finch Primary School"),
}
# mention text, postcode, the property it is (a UPRN's last digits) or "street" (beside one)
READ = {
    "apt": ("Apt 2, 10 High Street", "OX4 1AB", 6),
    "apartment": ("Apartment 1, 10 High St", "OX4 1AB", 7),
    "suite": ("Suite 2, 10 High Street", "OX4 1AB", 6),
    "room": ("Room 1, 10 High Street", "OX4 1AB", 7),
    "estate unit, no number": ("Unit 5, Kestrel Trading Estate", "OX4 1AE", 13),
    "estate unit and street": ("Unit 4 Kestrel Trading Estate, Kestrel Way", "OX4 1AE", 12),
    "letter flat before the number": ("Flat D 28 Oak Road", "OX4 1AD", 8),
    "suffix written apart": ("11 B Oak Road", "OX4 1AD", 10),
    "letter flat written as a suffix": ("28D Oak Road", "OX4 1AD", 8),
    "suffix written as a letter flat": ("Flat B, 11 Oak Road", "OX4 1AD", 10),
    "land adjacent to": ("land adjacent to 5 Mill Road", "OX4 1AA", "street"),
    "rear of": ("rear of 3 Mill Road", "OX4 1AA", "street"),
    "opposite, abbreviated": ("opp. 28 Oak Road", "OX4 1AD", "street"),
    "flat number and building name, no 'Flat'": ("2 Heron House, Mill Road", "OX4 1AA", 2),
    "building name, no commas, no postcode": ("3 Heron House Mill Road", "", 3),
    "a pub by a short form of its name": ("Red Lion, Little York Road", "OX4 1AF", 14),
    "a misspelt street": ("7 Beechwod Avenue", "OX4 1AH", 17),
    "a misspelt street, no postcode": ("7 Beechwod Ave, Oxford", "", 17),
    "a flat after the street": ("10 High Street, Studio 4", "OX4 1AB", 19),
    "estate unit, building number not given": ("Unit 7, Heath Business Park", "OX4 1AJ", 20),
    "estate abbreviated, unit a street number": ("7 Heath Bus. Pk, Heath Rd", "OX4 1AJ", 20),
    "a pub with 'PH', without 'The'": ("Green Man PH, Elm Grove", "OX4 1AK", 22),
    "a school without 'School'": ("Finch Primary, School Lane", "OX4 1AL", 23),
    "a suffix after a slash": ("11/B Oak Road", "OX4 1AD", 10),
    "a street's type swapped": ("7 Beechwood Road", "OX4 1AH", 17),
    "land adj": ("Land adj 5 Mill Road", "OX4 1AA", "street"),
}
# Where a careful clerk would hesitate, the matcher gives no UPRN and leaves it to a person.
HESITATE = {
    "a street word missing, in the other street's postcode": ("16 York Rd", "OX4 1AF"),
    "a building name the numbered property lacks": ("9 Heron House, Mill Road", "OX4 1AA"),
}


def _uprn(n: int) -> int:
    return 100000000000 + n


@pytest.fixture(scope="module")
def matched(tmp_path_factory):
    d = tmp_path_factory.mktemp("places")
    with (d / "gazetteer.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["uprn", "sub_building", "building_name", "building_number", "street", "usrn",
                    "postcode", "organisation", "easting", "northing", *AREA])  # fmt: skip
        for n, (sub, name, number, street, usrn, pc, org) in PROPERTIES.items():
            w.writerow([_uprn(n), sub, name, number, street, 38000000 + usrn, pc, org,
                        452000 + 10 * n, 204000 + 10 * usrn, *AREA.values()])  # fmt: skip
    mentions = {**READ, **HESITATE}
    rows = [(i, text, pc) for i, (text, pc, *_) in mentions.items()]
    pd.DataFrame(rows, columns=["mention_id", "text", "postcode"]).to_csv(d / "m.csv", index=False)
    done = call_hub("match-places", "--gazetteer", str(d / "gazetteer.csv"),
                    "--input", str(d / "m.csv"), "--output", str(d / "out.parquet"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"{len(mentions)} mentions against {len(PROPERTIES)} properties" in done.stdout
    return d, pd.read_parquet(d / "out.parquet").set_index("mention_id")


def test_match_places_writes_one_documented_row_per_mention(matched):
    from dagster_project.places.match_file import OUTPUT

    _, out = matched
    assert ["mention_id", *out.columns] == list(OUTPUT)
    assert len(out) == len(READ) + len(HESITATE)


@pytest.mark.parametrize("convention", READ)
def test_each_convention_is_read_as_people_write_it(matched, convention):
    _, out = matched
    row, want = out.loc[convention], READ[convention][2]
    if want == "street":  # beside a property is not the property: on its street
        assert row.method == "street-level" and pd.isna(row.uprn) and row.usrn > 0
    else:
        assert row.uprn == _uprn(want), row.method


@pytest.mark.parametrize("convention", HESITATE)
def test_where_a_clerk_would_hesitate_a_person_decides(matched, convention):
    _, out = matched
    row = out.loc[convention]
    assert pd.isna(row.uprn) and row.method == "none" and row.to_review, row.reason


def test_match_places_refuses_a_file_it_cannot_match_and_says_why(matched, tmp_path):
    d, _ = matched
    bad = tmp_path / "m.csv"
    bad.write_text("id,address\n1,10 High Street\n", encoding="utf-8")
    done = call_hub("match-places", "--gazetteer", str(d / "gazetteer.csv"),
                    "--input", str(bad), "--output", str(tmp_path / "o.parquet"))  # fmt: skip
    assert done.returncode == 2
    assert f"{bad}: no column mention_id, text" in done.stderr
    assert not (tmp_path / "o.parquet").exists()
    missing = call_hub("match-places", "--gazetteer", str(d / "gazetteer.csv"),
                       "--input", str(tmp_path / "none.csv"), "--output", "o.parquet")  # fmt: skip
    assert missing.returncode == 2 and "none.csv: no such file" in missing.stderr
