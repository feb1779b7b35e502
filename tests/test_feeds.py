"""Every feed of the Home Office guidance, section 3.2, is delivered, field by field, as its
contract says."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from dagster_project.contracts.model import load_contracts
from dagster_project.ingest.supplies import read_data, read_metadata, sha256

ORACLE = yaml.safe_load((Path(__file__).parent / "guidance_3_2.yml").read_text(encoding="utf-8"))
CONTRACTS = load_contracts()


def supplies(region):
    for c in CONTRACTS.values():
        for period in region.summary.months:
            yield c, period, c.landing_dir(region.landing, period)


@pytest.mark.parametrize("section", sorted(ORACLE))
def test_every_minimum_dataset_item_has_a_column(section):
    """Each list of section 3.2 (3.2.1 has three files, 3.2.19 two) is carried whole by one
    contract of that section: every item is the `guidance` of one of its fields."""
    contracts = [c for c in CONTRACTS.values() if c.section == section]
    assert contracts, f"no contract for section {section}"
    for part, items in ORACLE[section]["files"].items():
        carriers = [c for c in contracts if set(items) <= {f.guidance for f in c.fields}]
        assert carriers, f"{section} {part}: no contract carries all of {items}"


def test_every_contract_guidance_is_a_real_item():
    for c in CONTRACTS.values():
        items = {i for part in ORACLE[c.section]["files"].values() for i in part}
        for f in c.fields:
            assert f.guidance is None or f.guidance in items, f"{c.name}.{f.name}: {f.guidance!r}"


def test_every_feed_delivers_every_month_with_its_columns(region):
    for c, period, directory in supplies(region):
        data = read_data(c, directory / c.file.filename(period))
        assert list(data.columns) == c.columns, c.name
        assert len(data) > 0, f"{c.name} {period} is empty"


def test_supply_metadata_matches_its_file(region):
    for c, period, directory in supplies(region):
        meta = read_metadata(directory)
        path = directory / meta["file"]["name"]
        data = read_data(c, path)
        assert meta["records"] == len(data), f"{path}: record count"
        assert meta["feed"] == c.name and meta["agency"] == c.agency_name
        assert str(meta["period"]["start"])[:7] == period
        assert str(meta["period"]["end"])[:7] == period
        assert [f["name"] for f in meta["fields"]] == c.columns
        assert meta["file"]["sha256"] == sha256(path)
        assert meta["date_supplied"] > meta["period"]["end"]
        for key in ("supplier", "dataset", "caveats"):
            assert meta[key], f"{path}: {key} missing"


def test_event_dates_fall_inside_the_period(region):
    for c, period, directory in supplies(region):
        date_fields = [f for f in c.fields if f.concept == "event.date"]
        if not date_fields or c.synthetic.get("cohort_per_1000"):
            continue
        f = date_fields[0]
        values = read_data(c, directory / c.file.filename(period))[f.name].dropna()
        fmt = "%Y-%m-%d" if c.file.format == "xlsx" else (f.format or c.file.date_format)
        dates = pd.to_datetime(values, format=fmt)
        assert (dates.dt.strftime("%Y-%m") == period).all(), f"{c.name} {period}"


def test_formats_vary_as_agencies_send_them(region):
    formats = {(c.file.format, c.file.delimiter, c.file.encoding) for c in CONTRACTS.values()}
    delimiters = {d for fmt, d, _ in formats if fmt == "csv"}
    encodings = {e for fmt, _, e in formats if fmt == "csv"}
    assert {",", ";", "|", "\t"} <= delimiters
    assert {"utf-8", "utf-8-sig", "cp1252"} <= encodings
    assert any(fmt == "xlsx" for fmt, _, _ in formats)
    for c, period, directory in supplies(region):
        raw = (directory / c.file.filename(period)).read_bytes()
        if c.file.format == "xlsx":
            assert raw[:2] == b"PK"
            continue
        assert raw.startswith(codecs.BOM_UTF8) == (c.file.encoding == "utf-8-sig"), c.name
        raw.decode(c.file.encoding)


def test_cp1252_supply_holds_what_the_code_page_can(region):
    """The council's legacy system cannot store every letter: nothing in its file needs UTF-8."""
    c = CONTRACTS["asb"]
    for period in region.summary.months:
        raw = (c.landing_dir(region.landing, period) / c.file.filename(period)).read_bytes()
        raw.decode("cp1252")
        assert b"\r\n" in raw


def test_names_dates_and_addresses_differ_between_agencies():
    """One agency writes DOB as dd/mm/yyyy, another ISO; one splits the address, another
    gives one line."""
    dob_formats = {
        c.file.date_format
        for c in CONTRACTS.values()
        if any(f.attribute == "dob" for f in c.fields) and c.file.format == "csv"
    }
    assert {"%d/%m/%Y", "%Y-%m-%d"} <= dob_formats
    address_styles = {
        f.attribute
        for c in CONTRACTS.values()
        for f in c.fields
        if f.attribute in ("address", "address_line1")
    }
    assert address_styles == {"address", "address_line1"}
    sex_codings = {
        f.value_set for c in CONTRACTS.values() for f in c.fields if f.attribute == "sex"
    }
    assert len(sex_codings) >= 3


def test_agency_identifiers_wherever_a_person_is_named():
    """Where an agency records a named person it also sends what it holds of them: its own
    reference, date of birth or age, sex, and an address or postcode."""
    for c in CONTRACTS.values():
        for role in c.roles:
            attrs = {f.attribute for f in c.fields_for(role)}
            if attrs & {"first_name", "surname", "full_name"}:
                assert "ref" in attrs or c.name == "waste_sites", f"{c.name}.{role}: no reference"
                assert attrs & {"dob", "age"} or c.name == "waste_sites", c.name


def test_no_truth_in_landing(region):
    """Nothing in landing leaks the truth: no truth columns, no true person IDs, no UPRNs."""
    uprns = set(region.gazetteer()["uprn"].astype(str))
    truth_columns = {"person_id", "uprn", "usrn", "event_id", "true_person_id", "household"}
    person_id = re.compile(r"\bP\d{8}\b")
    twelve_digits = re.compile(r"\b\d{12}\b")
    for c, period, directory in supplies(region):
        data = read_data(c, directory / c.file.filename(period))
        assert not {col.lower() for col in data.columns} & truth_columns
        text = data.fillna("").astype(str).to_csv(index=False)
        assert not person_id.search(text), f"{c.name} {period} holds a true person ID"
        leaked = set(twelve_digits.findall(text)) & uprns
        assert not leaked, f"{c.name} {period} holds UPRNs"
        meta = (directory / "supply.yml").read_text(encoding="utf-8")
        assert not person_id.search(meta)
