"""The gazetteer, the people and the events have the structure of a real county."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from dagster_project.contracts.model import codes, nicknames
from dagster_project.dev.synth.errors import ErrorRates

POSTCODE = re.compile(r"^[A-Z]{1,2}\d{1,2}[A-Z]? \d[A-Z]{2}$")


def test_gazetteer_has_addressbase_structure(region):
    g = region.gazetteer()
    assert g["uprn"].is_unique
    assert g["uprn"].astype(str).str.fullmatch(r"\d{12}").all()
    assert g["postcode"].str.match(POSTCODE).all()
    per_postcode = g.groupby("postcode").size()
    assert per_postcode.max() <= 40 and per_postcode.min() >= 1
    assert (per_postcode < 4).sum() > 10, "some postcodes must hold fewer than 4 properties"
    flats = g[g["sub_building"].notna()]
    shared = flats.groupby(
        ["street", "building_number", "building_name", "postcode"], dropna=False
    ).size()
    assert (shared > 1).sum() > 10, "flats share a building"
    assert (g.groupby("usrn")["postcode"].nunique() > 1).sum() > 10, "streets span postcodes"
    assert g["building_number"].str.fullmatch(r"\d+[A-D]").any(), "14A-style numbers"
    assert g["easting"].between(400_000, 520_000).all()
    assert g["northing"].between(150_000, 260_000).all()
    districts = set(g["district_name"])
    assert {"Oxford", "Reading", "Slough", "Milton Keynes", "Wycombe"} <= districts
    assert {pc.split()[0][:2].rstrip("0123456789") for pc in g["postcode"]} >= {
        "OX",
        "RG",
        "SL",
        "HP",
        "MK",
    }
    for col in ("lsoa_code", "ward_code", "district_code"):
        assert g[col].notna().all()
    assert g["lsoa_code"].str.fullmatch(r"E01\d{6}").all()
    assert g["ward_code"].str.fullmatch(r"E05\d{6}").all()
    assert set(g["class_code"]) >= {"RD02", "RD06", "CR01", "CR06", "CE03", "CT08"}


def test_households_and_names(region):
    p = region.people()
    assert set(p["ethnicity"]) <= set(codes("ethnicity"))
    assert p["ethnicity"].nunique() >= 12
    assert set(p["sex"]) == {"M", "F"}
    ages = (pd.Timestamp("2024-01-01") - pd.to_datetime(p["dob"])).dt.days / 365.25
    assert ages.min() >= -1 and ages.max() < 105
    households = p.groupby("household").size()
    assert 2.0 < households.mean() < 2.8

    # Common surnames are common, and the same full name belongs to different people.
    surnames = p["surname"].value_counts()
    assert surnames.index[0] in {"Smith", "Jones", "Williams", "Taylor", "Brown", "Patel", "Khan"}
    assert surnames.iloc[0] > 20 * surnames.median()
    full = p["first_name"] + " " + p["surname"]
    same_name = full[full.duplicated(keep=False)]
    assert p.loc[same_name.index].groupby(full[same_name.index])["household"].nunique().gt(1).any()

    # Twins: two children of one household born the same day.
    kids = p[p["role"] == "child"]
    twins = kids[kids.duplicated(["household", "dob"], keep=False)]
    assert len(twins) >= 4
    assert twins.groupby("household")["first_name"].nunique().gt(1).all()

    # A father and his son with the same name at one address.
    heads = p[(p["role"] == "head") & (p["sex"] == "M")].set_index("household")
    sons = p[(p["role"] == "adult_child") & (p["sex"] == "M")]
    same = sons[
        sons["first_name"].to_numpy() == heads["first_name"].reindex(sons["household"]).to_numpy()
    ]
    same = same[
        same["surname"].to_numpy() == heads["surname"].reindex(same["household"]).to_numpy()
    ]
    assert len(same) >= 1

    # Married names: a former surname kept for the linkage to find.
    assert p["former_surname"].notna().sum() > 100
    assert p["surname"].str.contains("-").any(), "double-barrelled surnames"


def test_people_move_are_born_die_arrive_and_leave(region):
    changes = region.summary.changes
    for kind in ("moves", "births", "deaths", "arrivals", "departures"):
        assert changes[kind] > 0, kind
    p = region.people()
    assert (p["entered"] > 0).sum() == changes["births"] + changes["arrivals"]
    assert set(p["exit"].dropna()) == {"death", "departure"}


def test_a_few_people_generate_most_records(region):
    """Prolific offenders, repeat victims and frequent attenders, but no one person dominates."""
    truth = region.truth_records()
    people = truth[~truth["role"].isin(["record", "location"]) & truth["person_id"].notna()]
    per_person = people.groupby("person_id").size().sort_values(ascending=False)
    top = per_person.iloc[: max(1, len(per_person) // 20)].sum() / per_person.sum()
    assert top > 0.15, f"top 5% of people account for only {top:.0%} of mentions"
    offenders = truth[truth["feed"] == "crime_offender"].groupby("person_id").size()
    repeat_share = offenders[offenders > 1].sum() / offenders.sum()
    assert repeat_share > 0.3, f"repeat offenders account for only {repeat_share:.0%}"
    assert offenders.max() >= 4, "prolific offenders recur month after month"
    assert offenders.max() / offenders.sum() < 0.05, "one person dominates the offender file"


def test_risk_factors_cluster_in_the_same_people(region):
    """School exclusion, drug treatment and A&E assaults go with offending."""
    truth = region.truth_records()
    named = truth[truth["person_id"].notna()]
    offenders = set(
        named.loc[
            named["feed"].isin(["crime_offender", "stop_search", "yos_assessments"]), "person_id"
        ]
    )
    p = region.people()
    base = len(offenders) / len(p)
    for feeds in (
        ["school_exclusions"],
        ["drug_treatment_adults", "drug_treatment_young_people"],
        ["ae_assaults"],
    ):
        group = set(named.loc[named["feed"].isin(feeds), "person_id"])
        assert len(group) >= 10, feeds
        share = len(group & offenders) / len(group)
        assert share > 3 * base, f"{feeds}: {share:.1%} offend against {base:.1%} overall"


def test_places_cluster_in_deprived_areas(region):
    truth = region.truth_records("crime_offence")
    located = truth[(truth["role"] == "location") & truth["uprn"].notna()]
    g = region.gazetteer().set_index("uprn")
    per_lsoa = located["uprn"].map(g["lsoa_code"]).value_counts()
    homes = g.groupby("lsoa_code").size()
    rate = (per_lsoa / homes.reindex(per_lsoa.index)).sort_values()
    assert rate.iloc[-len(rate) // 10 :].mean() > 2.5 * rate.median()


def test_every_error_type_is_produced(noisy_region):
    truth = noisy_region.truth_records()
    errors = truth["errors"].fillna("").str.split(";").explode()
    produced = set(errors[errors != ""].str.split(":").str[0])
    expected = set(ErrorRates.__dataclass_fields__)
    assert expected <= produced, expected - produced
    assert nicknames()["William"]
    assert np.isin(["Bill", "Will"], nicknames()["William"]).any()
