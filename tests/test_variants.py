"""The independent address writer (dagster_project/dev/variants.py) on small gazetteers made
here by hand: each rule writes what it should, only for properties it applies to; the truth
agrees with the gazetteer; no mention is one a careful clerk could not resolve; the same seed
gives the same mentions."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from dagster_project.dev import variants as v

MILL, YORK, LITTLE_YORK, HIGH, KESTREL, HILL, READING_MILL = 11, 12, 13, 14, 15, 16, 17


def _gazetteer() -> pd.DataFrame:
    rows: list[dict] = []

    def add(street, usrn, postcode, e, n, number=None, sub=None, name=None, org=None,
            cls="RD04", locality="Headington", town="OXFORD"):  # fmt: skip
        rows.append({
            "uprn": 100_000_000_001 + len(rows), "class_code": cls, "organisation": org,
            "sub_building": sub, "building_name": name, "building_number": number,
            "street": street, "usrn": usrn, "locality": locality, "town": town,
            "postcode": postcode, "easting": e, "northing": n,
        })  # fmt: skip

    for k in range(1, 11):
        add("Mill Road", MILL, "OX3 1AA", 1000 + 12 * k, 2000, number=str(k))
    for x in "AB":
        add("Mill Road", MILL, "OX3 1AA", 1150, 2000, number=f"11{x}", cls="RD06")
    for x in "ABCD":
        add("Mill Road", MILL, "OX3 1AA", 1200, 2000, number="28", sub=f"Flat {x}", cls="RD06")
    for f in range(1, 7):
        add("Mill Road", MILL, "OX3 1AB", 1250, 2000, sub=f"Flat {f}", name="Heron House",
            cls="RD06")  # fmt: skip
    add("Mill Road", MILL, "OX3 1AB", 1300, 2000, number="30", org="The Red Lion", cls="CR06")
    for k in range(1, 7):
        add("Little York Road", LITTLE_YORK, "OX3 1AD", 1000 + 12 * k, 2500, number=str(k))
    for k in range(1, 4):
        add("York Road", YORK, "OX3 1AD", 1000 + 12 * k, 2600, number=str(k))
    add("High Street", HIGH, "OX3 1AE", 1010, 2010, number="5", org="Tesco Express", cls="CR01")
    add("High Street", HIGH, "OX3 1AE", 1010, 2030, number="7", org="Smith & Co Ltd", cls="CO01")
    for k in (9, 11, 13):
        add("High Street", HIGH, "OX3 1AE", 1010, 2040 + k, number=str(k))
    for u in range(1, 6):
        add("Kestrel Way", KESTREL, "OX3 1AF", 5000, 5000, number="1", sub=f"Unit {u}",
            name="Kestrel Trading Estate", cls="CI01")  # fmt: skip
    for k in range(1, 11):
        add("Hill Road", HILL, "OX3 1AG", 8000 + 12 * k, 8000, number=str(k))
    for k in range(1, 6):
        add("Mill Road", READING_MILL, "RG1 1AA", 40000 + 12 * k, 9000, number=str(k),
            locality="Caversham", town="READING")  # fmt: skip
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def gaz():
    return _gazetteer()


@pytest.fixture(scope="module")
def written(gaz):
    mentions, truth = v.variants(gaz, 400, seed=3)
    return mentions.merge(truth, on="mention_id")


def _record(gaz: pd.DataFrame, **match) -> tuple[dict, int]:
    g = v._Gazetteer(gaz)
    for i, r in enumerate(g.records):
        if all(r[k] == x for k, x in match.items()):
            return r, i
    raise LookupError(match)


def _texts(rule, record, i, n=60, **kw) -> list[str]:
    rng = np.random.default_rng(0)
    drafts = [v.WRITERS[rule](record, i, rng, **kw) for _ in range(n)]
    return [", ".join(d.parts) for d in drafts if d is not None]


# -- each rule writes what it should -------------------------------------------------------


def test_flat_word_writes_another_word_for_flat(gaz):
    r, i = _record(gaz, sub_building="Flat 3", building_name="Heron House")
    texts = _texts("flat_word", r, i, 200)
    words = {t.split()[0] for t in texts}
    assert words >= {"Apartment", "Apt", "Studio", "Room"}
    assert all("Flat" not in t and re.search(r"\b3\b", t) and "Heron House" in t for t in texts)
    assert any(t.endswith("Mill Road") for t in texts) and any(t.endswith(" 3") for t in texts)
    letter, j = _record(gaz, sub_building="Flat B", building_number="28")
    assert not any(w in t for t in _texts("flat_word", letter, j, 200) for w in ("Room", "Suite"))


def test_letter_flat_is_written_as_a_suffix_and_a_suffix_as_a_letter_flat(gaz):
    r, i = _record(gaz, sub_building="Flat D", building_number="28")
    assert set(_texts("letter_suffix", r, i)) == {"28D Mill Road", "28d Mill Road"}
    r, i = _record(gaz, building_number="11B")
    texts = set(_texts("suffix_flat", r, i))
    assert texts == {"Flat B, 11 Mill Road", "Flat B 11 Mill Road", "11 Mill Road, Flat B"}
    assert set(_texts("suffix_apart", r, i)) == {
        "11 B Mill Road", "11 b Mill Road", "11-B Mill Road", "11/B Mill Road"
    }  # fmt: skip


def test_flat_number_goes_before_the_building_name_with_no_flat_word(gaz):
    r, i = _record(gaz, sub_building="Flat 3", building_name="Heron House")
    assert set(_texts("flat_in_name", r, i)) == {"3 Heron House, Mill Road",
                                                 "3 Heron House Mill Road"}  # fmt: skip


def test_an_estate_unit_has_no_street_number(gaz):
    r, i = _record(gaz, sub_building="Unit 5")
    texts = _texts("estate_unit", r, i, 200)
    assert any(t == "Unit 5, Kestrel Trading Estate" for t in texts)
    assert any("Trad Est" in t for t in texts) and any(t.startswith("5 Kestrel") for t in texts)
    assert all(not re.search(r"\b1\b", t) for t in texts)
    assert any(t.endswith("Kestrel Way") for t in texts)


def test_short_names_drop_what_people_leave_off():
    assert v.short_forms("The Red Lion", "CR06") == [
        "Red Lion", "Red Lion PH", "Red Lion Public House", "Red Lion pub"
    ]  # fmt: skip
    assert v.short_forms("Tesco Express") == ["Tesco"]
    assert v.short_forms("Smith & Co Ltd") == ["Smith & Co", "Smith"]
    assert v.short_forms("Fairfield Limited") == ["Fairfield"]
    assert v.short_forms("Sainsbury's Local") == ["Sainsbury's", "Sainsburys"]
    assert v.short_forms("Lock Primary School") == ["Lock Primary"]
    assert v.short_forms("Lidl") == [] and v.short_forms("Post Office") == []
    for org in ("The Red Lion", "Tesco Express", "Smith & Co Ltd", "Lock Primary School"):
        assert {v.org_core(s) for s in v.short_forms(org, "CR06")} == {v.org_core(org)}


def test_short_name_is_written_with_the_street(gaz):
    r, i = _record(gaz, organisation="The Red Lion")
    texts = _texts("short_name", r, i)
    assert all(t.endswith("Mill Road") and not t.startswith("The") for t in texts)
    assert any("30 Mill Road" in t for t in texts) and "Red Lion PH, Mill Road" in texts


def test_street_words_drop_add_or_change_a_word():
    assert dict(v.street_words("Little York Road"))["York Road"] == 4.0
    assert {x for x, _ in v.street_words("Mill Street")} == {"Mill Road", "Upper Mill Street"}
    assert "Old Heath Lane" in dict(v.street_words("Heath Lane"))
    assert v.street_words("Broadway") == []


def test_misspelling_is_one_slip_never_at_the_first_letter():
    rng = np.random.default_rng(5)
    for _ in range(300):
        w = v.misspell("Wellington", rng)
        assert w[0] == "W" and 1 <= v.osa(w.lower(), "wellington") <= 1
    assert v.osa("raod", "road") == 1 and v.osa("mil", "mill") == 1 and v.osa("a", "a") == 0


def test_relational_mentions_name_a_place_beside_a_property(gaz):
    r, i = _record(gaz, street="Mill Road", building_number="5")
    texts = _texts("relational", r, i, 200)
    assert all(t.endswith("5 Mill Road") for t in texts)
    assert {t.split()[0] for t in texts} >= {"Land", "Rear", "R/O", "Opp.", "O/S"}
    flat, j = _record(gaz, sub_building="Flat 1")
    assert v.WRITERS["relational"](flat, j, np.random.default_rng(0)) is None


# -- the mentions together -------------------------------------------------------------------


def test_mentions_and_truth_have_the_documented_columns(gaz):
    mentions, truth = v.variants(gaz, 50, seed=1)
    assert list(mentions.columns) == ["mention_id", "text", "postcode", "convention"]
    assert list(truth.columns) == ["mention_id", "uprn", "usrn"]
    assert len(mentions) == len(truth) == 50 and mentions.mention_id.is_unique
    assert (mentions.mention_id == truth.mention_id).all()
    assert all(isinstance(x, str) for x in mentions.text)
    assert all(x is None or isinstance(x, str) for x in mentions.postcode)


def test_every_rule_writes_its_share(written):
    shares = written.convention.value_counts()
    assert set(shares.index) == set(v.RULES) and shares.min() == shares.max() == 40


def test_truth_agrees_with_the_gazetteer(gaz, written):
    props = gaz.set_index("uprn")
    rel = written.convention == "relational"
    assert written.loc[rel, "uprn"].isna().all() and written.loc[~rel, "uprn"].notna().all()
    for _, m in written[~rel].iterrows():
        p = props.loc[int(m.uprn)]
        assert p.usrn == m.usrn
        r = {k: v._s(p.get(k)) for k in ("organisation", "sub_building", "building_name",
                                          "building_number", "street", "class_code")}  # fmt: skip
        assert v.applies(m.convention, r | {"usrn": str(p.usrn)})
    assert set(written.loc[rel, "usrn"]) <= set(gaz.usrn)


def test_a_street_word_that_would_name_another_street_is_not_written(written):
    # York Road shares Little York Road's postcode and numbers 1-3: "1 York Road" is York Road.
    little = written[(written.convention == "street_word") & (written.usrn == LITTLE_YORK)]
    for text in little.text.str.lower():
        m = re.match(r"(\d+) york r", text)
        assert not (m and int(m.group(1)) <= 3), text


def test_a_mention_is_never_ambiguous_without_its_postcode(gaz, written):
    # Two Mill Roads (Oxford, Reading) both with houses 1-5: one of those named without its
    # postcode must name its town or locality; a street word always comes with the postcode.
    pc = re.compile(r"(?i)\b(ox3|rg1) ?1a[a-g]\b")
    both = re.compile(r"(?i)(?:^|\s)[1-5],? mill r")
    for _, m in written.iterrows():
        shown = m.postcode is not None or bool(pc.search(m.text))
        if m.usrn in (MILL, READING_MILL) and not shown and both.search(m.text):
            assert re.search(r"(?i)oxford|headington|reading|caversham", m.text), m.text
        if m.convention == "street_word":
            assert shown, m.text


def test_the_clerks_check_refuses_a_misspelling_that_is_another_street(gaz):
    g = v._Gazetteer(gaz)
    r, i = _record(gaz, street="Mill Road", building_number="5", postcode="OX3 1AA")
    d = v.Draft(["5 Hill Road"], [(0, "Hill Road")], "spelling", {"unit": "", "number": "5"},
                i, int(g.uprn[i]))  # fmt: skip
    assert not v.resolves(g, d, postcode=False, town=True, locality=False)
    d = v.Draft(["5 Mlil Road"], [(0, "Mlil Road")], "spelling", {"unit": "", "number": "5"},
                i, int(g.uprn[i]))  # fmt: skip
    assert not v.resolves(g, d, postcode=False, town=False, locality=False)  # Reading's too
    assert v.resolves(g, d, postcode=False, town=True, locality=False)
    assert v.resolves(g, d, postcode=True, town=False, locality=False)


def test_letter_flat_and_suffix_at_one_building_are_not_confused(gaz):
    props = pd.concat([gaz, gaz[gaz.sub_building == "Flat D"].assign(
        uprn=999_999_999_999, sub_building=None, building_number="28D")])  # fmt: skip
    mentions, truth = v.variants(props, 200, seed=2)
    j = mentions.merge(truth, on="mention_id")
    assert not j.text.str.contains(r"(?i)\b28 ?d\b|flat d, 28").any()


def test_plain_variations_are_mixed_in(gaz):
    mentions, _ = v.variants(gaz, 600, seed=4)
    text = mentions.text
    assert (text == text.str.lower()).mean() > 0.08
    assert (~text.str.contains(",")).mean() > 0.1
    assert mentions.postcode.isna().mean() > 0.2
    assert mentions.postcode.dropna().str.fullmatch(r"[A-Z]{2}\d[A-Z\d]?\d[A-Z]{2}").any()
    assert mentions.postcode.dropna().str.contains("[a-z]").any()
    assert text.str.contains(r"\b(?:Rd|St|Cl)\b").any() and text.str.contains("Road").any()
    assert text.str.contains("Headington").any() and text.str.contains("(?i)oxford").any()


def test_a_junction_names_two_streets_that_meet(gaz):
    mentions, truth = v.variants(gaz, 400, seed=5)
    j = mentions.merge(truth, on="mention_id")
    junctions = j[j.text.str.contains("(?i)junction|j/w|jct")]
    assert len(junctions) > 0
    for _, m in junctions.iterrows():
        low = m.text.lower()  # the streets that meet: Mill Road and High Street, two York Roads
        mill_high = "mill r" in low and "high st" in low and m.usrn in (MILL, HIGH)
        yorks = low.count("york r") == 2 and m.usrn in (YORK, LITTLE_YORK)
        assert (mill_high or yorks) and pd.isna(m.uprn), m.text


def test_the_two_mill_roads_are_written_both_ways(written):
    both = written[written.text.str.contains(r"(?i)(?:^|\s)[1-5],? mill r")]
    assert {MILL, READING_MILL} <= set(both.usrn)


def test_same_seed_same_mentions(gaz):
    a = v.variants(gaz, 120, seed=9)
    b = v.variants(gaz, 120, seed=9)
    c = v.variants(gaz, 120, seed=10)
    pd.testing.assert_frame_equal(a[0], b[0])
    pd.testing.assert_frame_equal(a[1], b[1])
    assert not a[0].text.equals(c[0].text)


def test_a_rule_with_no_property_gives_its_share_to_the_others(gaz):
    houses = gaz[gaz.sub_building.isna() & gaz.organisation.isna()
                 & ~gaz.building_number.fillna("").str.contains("B|A")]  # fmt: skip
    mentions, _ = v.variants(houses, 90, seed=1)
    assert set(mentions.convention) == {"street_word", "misspelt", "relational"}
    assert len(mentions) == 90


def test_an_extract_in_capitals_is_written_in_title_case(gaz):
    caps = gaz.copy()
    for c in ("organisation", "sub_building", "building_name", "street", "locality"):
        caps[c] = caps[c].str.upper()
    mentions, truth = v.variants(caps, 200, seed=1)
    assert set(mentions.convention) == set(v.RULES)
    assert mentions.text.str.contains("Mill R").any() and mentions.text.str.contains("Heron").any()
    ref, _ = v.variants(gaz, 200, seed=1)
    pd.testing.assert_frame_equal(mentions, ref)
