"""Unit tests of the pure pieces: contracts, errors, addresses, months, encodings."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from dagster_project.config import Paths, months
from dagster_project.contracts.model import ContractError, load_contracts, parse_contract
from dagster_project.dev.synth import errors as err
from dagster_project.dev.synth.addresses import format_postcode, one_line, premises
from dagster_project.dev.synth.gazetteer import unit_sizes
from dagster_project.dev.synth.refs import SPACE, agency_refs, permute
from dagster_project.dev.synth.region import feed_order, month_range
from dagster_project.dev.synth.render import coding
from dagster_project.dev.synth.supply import to_codepage


def rng():
    return np.random.default_rng(0)


def test_month_range():
    assert month_range("2024-11:2025-02") == ["2024-11", "2024-12", "2025-01", "2025-02"]
    assert month_range("2024-03") == ["2024-03"]
    with pytest.raises(ValueError):
        month_range("2024-05:2024-01")


def _edit_distance(a: str, b: str) -> int:
    d = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, d[0] = d[0], i
        for j, cb in enumerate(b, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (ca != cb))
    return d[-1]


def test_typo_is_one_edit_and_transposition_swaps_neighbours():
    r = rng()
    for name in ["Smith", "Catherine", "O'Brien", "Li"]:
        for _ in range(20):
            assert _edit_distance(err.typo(r, name), name) == 1
            t = err.transpose(r, name)
            assert sorted(t) == sorted(name) and t != name and _edit_distance(t, name) == 2
    assert err.transpose(r, "Aa") != "Aa" and err.transpose(r, "oo") == "oo"


def test_dates_and_postcodes():
    assert err.swap_day_month(np.datetime64("1990-11-03")) == np.datetime64("1990-03-11")
    assert err.can_swap_day_month(np.datetime64("1990-11-03"))
    assert not err.can_swap_day_month(np.datetime64("1990-11-13"))
    assert not err.can_swap_day_month(np.datetime64("1990-05-05"))
    r = rng()
    for _ in range(50):
        wrong = err.postcode_typo(r, "RG1 2AB")
        assert wrong != "RG1 2AB" and wrong.startswith("RG1 ") and len(wrong) == 7
    assert format_postcode("RG1 2AB", no_space=True, lower=True) == "rg12ab"
    assert err.hyphen_variant(r, "Smith-Jones") in {"Smith Jones", "Smith", "Jones"}


def test_address_conventions_rewrite_only_what_they_can_and_name_no_other_property():
    from dagster_project.dev.synth.addresses import Parts, conventions

    r = np.random.default_rng(0)

    def written(p: Parts, taken=frozenset()) -> dict[str, str]:
        return {code: premises(*[getattr(q, k) for k in ("sub_building", "building_name",
                                 "building_number", "street")], organisation=q.organisation)
                for code, fn in conventions(p, taken).items() for q in [fn(r, p)]}  # fmt: skip

    flat = written(Parts("Flat 3", "Heron House", None, "Mill Road", None))
    assert flat["flat_without_word"] == "3 Heron House, Mill Road"
    assert flat["flat_word"].split()[0] in {"Apt", "Apartment", "Unit", "Suite", "Room", "Studio"}
    assert "letter_flat" not in flat
    assert written(Parts("Flat D", None, "28", "Oak Road", None))["letter_flat"] == "28D Oak Road"
    suffix = written(Parts(None, None, "11B", "Oak Road", None))
    assert suffix["letter_flat"] == "Flat B, 11 Oak Road"
    assert suffix["spaced_suffix"] == "11 B Oak Road"
    taken = frozenset({("Oak Road", "11", "Flat B")})
    assert "letter_flat" not in written(Parts(None, None, "11B", "Oak Road", None), taken)
    pub = written(Parts(None, None, "14", "Little York Road", "The Red Lion"))
    assert pub["short_name"] == "Red Lion, 14 Little York Road"
    assert pub["street_word_dropped"] == "The Red Lion, 14 York Road"
    assert pub["street_typo"].endswith(" Road") and "Little York Road" not in pub["street_typo"]
    assert "short_name" not in written(Parts(None, None, "1", "Mill Road", "The Grange"))


def test_address_styles():
    args = ("Flat 2", None, "10", "High Street")
    assert premises(*args) == "Flat 2, 10 High Street"
    assert premises(*args, style="flat_last") == "10 High Street, Flat 2"
    assert premises(*args, style="slash", street_short="High St") == "2/10 High St"
    assert premises(*args, style="abbreviated", street_short="High St") == "Flat 2, 10 High St"
    assert (
        premises("Flat 3", "Victoria Court", None, "Mill Lane")
        == "Flat 3, Victoria Court, Mill Lane"
    )
    assert premises(None, None, "14A", "Oak Road") == "14A Oak Road"
    assert premises(None, None, "1", "Mill Road", organisation="Co-op") == "Co-op, 1 Mill Road"
    assert (
        one_line("1 Mill Road", "Caversham", "READING", "RG4 5AB")
        == "1 Mill Road, Caversham, READING, RG4 5AB"
    )


def test_postcode_units_stay_within_bounds():
    sizes = unit_sizes(rng(), 10_000)
    assert sizes.min() >= 1 and sizes.max() <= 40
    assert 0.05 < (sizes < 4).mean() < 0.15


def test_codings():
    assert coding("ethnicity_police")["W_GRT"] == "W9"
    assert coding("ethnicity_nhs")["A_CHI"] == "R"
    assert coding("sex_nhs")["F"] == "2"


def test_agency_references_are_stable_unique_and_keyed():
    refs = agency_refs(1, "police", "TVP{num:08d}", np.array([0, 1, 2, 0]))
    assert refs[0] == refs[3] and len(set(refs[:3])) == 3
    assert refs != agency_refs(2, "police", "TVP{num:08d}", np.array([0, 1, 2, 0]))
    assert refs[:3] != agency_refs(1, "probation", "TVP{num:08d}", np.array([0, 1, 2]))
    sample = np.arange(0, SPACE, 997, dtype=np.uint64)
    mapped = permute(sample, 1, "police")
    assert len(np.unique(mapped)) == len(sample) and mapped.max() < SPACE
    # not an affine map of the index, so the index cannot be read back off the reference
    steps = np.diff(mapped.astype(np.int64))
    assert len(np.unique(steps)) > len(steps) // 2


def test_to_codepage():
    assert to_codepage("José", "cp1252") == "José"
    assert to_codepage("Łukasz Wójcik", "cp1252") == "Lukasz Wójcik"


def test_parents_come_first():
    order = [c.name for c in feed_order(load_contracts())]
    assert order.index("crime_offence") < order.index("crime_offender")
    assert order.index("crime_offence") < order.index("detection_status")


def test_a_bad_contract_is_refused_with_its_name():
    ref = {"name": "REF", "type": "string", "concept": "event.ref", "meaning": "m"}
    good = {
        "name": "x", "agency": "a", "agency_name": "A", "dataset": "d", "section": "3.2.2",
        "description": "d", "classification": "personal",
        "guidance_classification": "depersonalised", "legal_basis": "l",
        "retention": {"text": "r", "years": 1},
        "delivery_day": 5, "supplier": {}, "file": {"format": "csv", "name": "x.csv"},
        "key": ["REF"], "fields": [ref], "event_type": "incident",
    }  # fmt: skip

    def with_field(**extra):
        return {**good, "fields": [ref, {"name": "C", "meaning": "m", **extra}]}

    assert parse_contract(good).columns == ["REF"]
    with pytest.raises(ContractError, match="x.yml: missing key 'agency'"):
        parse_contract({k: v for k, v in good.items() if k != "agency"}, path="x.yml")
    with pytest.raises(ContractError, match="unknown value set nope"):
        parse_contract(with_field(type="code", concept="attr.c", value_set="nope"))
    with pytest.raises(ContractError, match="unknown concept 'offender.shoe_size'"):
        parse_contract(with_field(type="string", concept="offender.shoe_size"))
    with pytest.raises(ContractError, match="unknown type"):
        parse_contract(with_field(type="blob", concept="attr.c"))
    with pytest.raises(ContractError, match="key"):
        parse_contract({**good, "key": ["NOPE"]})
    with pytest.raises(ContractError, match="event_type"):  # an event of its own, or a child
        parse_contract({k: v for k, v in good.items() if k != "event_type"})


def test_the_months_held_are_those_configured_else_from_the_first_delivered(tmp_path, monkeypatch):
    where = Paths(tmp_path)
    monkeypatch.setenv("HUB_MONTHS", "2023-04:2024-03")
    assert months(where) == ("2023-04", "2024-03")
    monkeypatch.setenv("HUB_MONTHS", "2023-04:")
    assert months(where) == ("2023-04", None)  # the last complete month, as time goes on
    monkeypatch.delenv("HUB_MONTHS")
    (where.landing / "police" / "asb" / "2024-05").mkdir(parents=True)
    (where.landing / "police" / "asb" / "not-a-month").mkdir()
    (where.landing_state / "asb").mkdir(parents=True)
    (where.landing_state / "asb" / "2024-02.json").write_text("{}")  # read, then swept away
    assert months(where) == ("2024-02", None)
    (where.landing / "police" / "asb" / "2099-01").mkdir()  # a stray: never the first month
    assert months(where) == ("2024-02", None)
    for wrong in ("2024-13:", "2024-05:2024-01"):
        monkeypatch.setenv("HUB_MONTHS", wrong)
        with pytest.raises(ValueError, match="HUB_MONTHS"):
            months(where)


def test_a_supply_is_still_arriving_while_a_file_changed_within_the_quiet_period():
    from dagster_project.ingest.load import still_arriving

    assert still_arriving({"a.csv": 100.0, "supply.yml": 50.0}, now=200.0, quiet=60) is None
    why = still_arriving({"a.csv": 170.0, "supply.yml": 195.0}, now=200.0, quiet=60)
    assert why.startswith("supply.yml changed 5 s ago") and "in about 55 s" in why
    assert still_arriving({"a.csv": 200.5}, now=200.0, quiet=60).startswith("a.csv changed 0 s")
    assert still_arriving({"a.csv": 199.0}, now=200.0, quiet=0) is None
    assert still_arriving({}, now=0.0, quiet=60) is None


def test_encoding_faults_name_the_first_line_at_fault():
    from dagster_project.ingest.supplies import encoding_fault

    def lines(*texts):
        return list(enumerate(texts, start=1))

    plain, legacy, utf8 = b"a,b\n", "Caf\xe9,b\n".encode("cp1252"), "Café,b\n".encode()
    assert encoding_fault(lines(plain, legacy, legacy), "cp1252") is None
    assert encoding_fault(lines(plain, utf8), "utf-8") is None
    mixed = encoding_fault(lines(plain, legacy, utf8), "cp1252")
    assert mixed.startswith("line 3 is UTF-8, but line 2 is cp1252")
    assert "the file is UTF-8" in encoding_fault(lines(plain, utf8), "cp1252")
    assert encoding_fault(lines(plain, utf8, legacy), "utf-8").startswith(
        "not readable as utf-8: byte 0xe9 on line 3"
    )


def test_a_date_of_birth_is_plausible_between_1900_and_the_event_unless_the_contract_says():
    import dataclasses

    from dagster_project.contracts.model import plausible

    contracts = load_contracts()
    stop, victim = contracts["stop_search"], contracts["crime_victim"]
    dob = next(f for f in stop.fields if f.name == "SUBJECT_DOB")
    assert plausible(stop, dob) == ("1900-01-01", "SEARCH_DATE")
    assert plausible(victim, next(f for f in victim.fields if f.name == "DOB")) == (
        "1900-01-01",
        "month_end",
    )
    declared = dataclasses.replace(dob, not_before="1910-01-01")
    assert plausible(stop, declared) == ("1910-01-01", "SEARCH_DATE")
    event = next(f for f in stop.fields if f.name == "SEARCH_DATE")
    assert plausible(stop, event) == (None, None)


def test_a_date_bound_must_be_a_date_month_end_or_another_date_column():
    raw = yaml.safe_load(load_contracts()["stop_search"].path.read_text(encoding="utf-8"))
    raw["fields"][0]["not_after"] = "SEARCH_DATE"  # not a date column
    with pytest.raises(ContractError, match="only a date column has bounds"):
        parse_contract(raw)
    raw = yaml.safe_load(load_contracts()["stop_search"].path.read_text(encoding="utf-8"))
    dob = next(f for f in raw["fields"] if f["name"] == "SUBJECT_DOB")
    dob["not_after"] = "yesterday"
    with pytest.raises(ContractError, match="neither a date"):
        parse_contract(raw)
