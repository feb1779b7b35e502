"""The ground truth covers every delivered record, and the errors match their configured rates."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from conftest import make_region

from dagster_project.contracts.model import load_contracts, nicknames
from dagster_project.dev.synth.errors import ErrorRates
from dagster_project.dev.synth.render import ADDRESS_ATTRS, NAME_ATTRS, shows_postcode
from dagster_project.ingest.supplies import read_data

CONTRACTS = load_contracts()


def test_truth_covers_every_record(region):
    people = set(region.people()["person_id"])
    uprns = set(region.gazetteer()["uprn"])
    for c in CONTRACTS.values():
        for period in region.summary.months:
            data = read_data(c, c.landing_dir(region.landing, period) / c.file.filename(period))
            truth = pd.read_parquet(region.truth / "records" / c.name / f"{period}.parquet")
            records = truth[truth["role"] == "record"]
            assert sorted(records["row_number"]) == list(range(1, len(data) + 1)), c.name
            for role in c.roles:
                rows = truth[truth["role"] == role]
                assert len(rows) == len(data), f"{c.name}.{role}: a record without its truth"
                assert set(rows["person_id"].dropna()) <= people
            assert set(truth["uprn"].dropna()) <= uprns
            if c.fields_for("location"):
                loc = truth[truth["role"] == "location"]
                located = loc["uprn"].notna() | loc["usrn"].notna()
                assert located.all(), f"{c.name}: a location without its true place"


def _digest(folder) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.e2e
def test_same_seed_gives_identical_bytes(tmp_path):
    a = make_region(tmp_path / "a", 1500, "2024-01:2024-02", seed=3)
    b = make_region(tmp_path / "b", 1500, "2024-01:2024-02", seed=3)
    c = make_region(tmp_path / "c", 1500, "2024-01:2024-02", seed=4)
    assert _digest(a.root) == _digest(b.root)
    assert _digest(a.root) != _digest(c.root)


def _eligible(region, truth: pd.DataFrame) -> dict[str, pd.Series]:
    """For every error type, which truth rows it could have applied to."""
    people = region.people().set_index("person_id")
    nick = nicknames()
    out: dict[str, list[pd.Series]] = {}
    for name, t in truth.groupby(["feed", "role"]):
        feed, role = name
        c = CONTRACTS[feed]
        attrs = {f.attribute for f in c.fields_for(role)}
        t = t[t["person_id"].notna()] if role not in ("record", "location") else t
        if role == "record" or t.empty:
            continue
        applied = t["errors"].fillna("").str.split(";")
        has = lambda code, applied=applied: applied.map(lambda e: code in e)  # noqa: E731
        if role == "location":
            # a property's address, also when then written as beside it ("Rear of …")
            out.setdefault("address_variant", []).append(
                ("address" in attrs) & ((t["location_kind"] == "property") | has("relational"))
            )
            out.setdefault("postcode_no_space", []).append(
                pd.Series("postcode" in attrs, index=t.index)
            )
            continue
        p = people.loc[t["person_id"]]
        p.index = t.index
        if attrs & NAME_ATTRS:
            for code in ("typo", "transposition", "name_swap"):
                out.setdefault(code, []).append(pd.Series(True, index=t.index))
            out.setdefault("nickname", []).append(p["first_name"].isin(nick))
            out.setdefault("former_surname", []).append(p["former_surname"].notna())
            used = np.where(has("former_surname"), p["former_surname"], p["surname"])
            out.setdefault("hyphen_variant", []).append(
                pd.Series([isinstance(s, str) and "-" in s for s in used], index=t.index)
            )
        if "dob" in attrs:
            dob = pd.to_datetime(p["dob"])
            out.setdefault("dob_day_month_swap", []).append(
                (dob.dt.day <= 12) & (dob.dt.day != dob.dt.month)
            )
            out.setdefault("dob_missing", []).append(pd.Series(True, index=t.index))
            out.setdefault("age_instead_of_dob", []).append(
                pd.Series("age" in attrs, index=t.index)
            )
        if attrs & {"address", "address_line1"}:
            out.setdefault("address_variant", []).append(pd.Series(True, index=t.index))
        if shows_postcode(c, role):
            for code in ("postcode_no_space", "postcode_lower", "postcode_typo"):
                out.setdefault(code, []).append(pd.Series(True, index=t.index))
        if attrs & ADDRESS_ATTRS:
            out.setdefault("stale_address", []).append(_moved(region, t, p))
    return {k: pd.concat(v).reindex(truth.index, fill_value=False) for k, v in out.items()}


def _moved(region, t: pd.DataFrame, p: pd.DataFrame) -> pd.Series:
    """Whether the person's household had a previous address by the record's month: it moved
    before the window, or during it by then."""
    residence = pd.read_parquet(region.truth / "residence.parquet")
    later = residence[residence.duplicated("household")]  # every home after a household's first
    first_move = later.groupby("household")["from_month"].min()
    month_index = t["period"].map({m: i for i, m in enumerate(region.summary.months)})
    return p["household"].map(first_move).le(month_index).fillna(False).astype(bool)


PERSON_ERRORS = [
    "typo",
    "transposition",
    "nickname",
    "name_swap",
    "former_surname",
    "hyphen_variant",
    "dob_day_month_swap",
    "dob_missing",
    "age_instead_of_dob",
    "postcode_no_space",
    "postcode_lower",
    "postcode_typo",
    "address_variant",
    "stale_address",
]


def _within(observed: int, n: int, rate: float) -> bool:
    return abs(observed / n - rate) <= 4 * np.sqrt(rate * (1 - rate) / n) + 0.005


@pytest.mark.parametrize("code", PERSON_ERRORS)
def test_error_rate_within_tolerance(noisy_region, code):
    truth = noisy_region.truth_records()
    eligible = _eligible(noisy_region, truth)[code]
    n = int(eligible.sum())
    assert n >= 30, f"too few values eligible for {code} to measure its rate"
    applied = truth.loc[eligible, "errors"].fillna("").str.split(";").map(lambda e: code in e)
    rate = getattr(noisy_region.rates, code)
    assert _within(int(applied.sum()), n, rate), f"{code}: {applied.sum()}/{n} vs {rate}"
    assert (
        not truth.loc[~eligible, "errors"].fillna("").str.split(";").map(lambda e: code in e).any()
    )


def test_missing_field_and_duplicate_rates(noisy_region):
    truth = noisy_region.truth_records()
    records = truth[truth["role"] == "record"]
    errors = records["errors"].fillna("").str.split(";")
    originals = ~errors.map(lambda e: "duplicate_record" in e)
    dups = int((~originals).sum())
    assert _within(dups, int(originals.sum()), noisy_region.rates.duplicate_record)
    blanks = errors[originals].map(lambda e: sum(x.startswith("missing_field:") for x in e)).sum()
    optional = 0
    for feed, n in records[originals].groupby("feed").size().items():
        c = CONTRACTS[feed]
        optional += n * sum(
            1
            for f in c.fields
            if not f.required
            and f.attribute != "ref"
            and f.concept not in ("event.date", "event.type")
        )
    assert _within(int(blanks), optional, noisy_region.rates.missing_field)


def test_default_error_rates_are_applied(region):
    """At the default rates, the errors are present but rare."""
    truth = region.truth_records()
    people_rows = truth[~truth["role"].isin(["record", "location"])]
    flagged = people_rows["errors"].fillna("").ne("").mean()
    assert 0.05 < flagged < 0.6


def _landed(region, feed: str) -> pd.DataFrame:
    """Each delivered row of a feed beside its truth for one role."""
    c = CONTRACTS[feed]
    frames = []
    for period in region.summary.months:
        data = read_data(c, c.landing_dir(region.landing, period) / c.file.filename(period))
        data["row_number"] = np.arange(1, len(data) + 1)
        truth = pd.read_parquet(region.truth / "records" / feed / f"{period}.parquet")
        truth = truth[truth["role"] == c.roles[0]]
        frames.append(data.merge(truth, on="row_number"))
    return pd.concat(frames, ignore_index=True)


def test_errors_are_visible_in_the_delivered_values(noisy_region):
    rows = _landed(noisy_region, "crime_offender")
    people = noisy_region.people().set_index("person_id")
    true_dob = (
        pd.to_datetime(people.loc[rows["person_id"], "dob"]).dt.strftime("%d/%m/%Y").to_numpy()
    )
    codes = rows["errors"].fillna("").str.split(";")
    swapped = codes.map(lambda e: "dob_day_month_swap" in e) & ~codes.map(
        lambda e: "dob_missing" in e or "age_instead_of_dob" in e
    )
    swapped &= rows["DOB"].notna()  # a field blanked at random hides the swap
    assert swapped.sum() > 10
    for dob, true in zip(rows.loc[swapped, "DOB"], true_dob[swapped.to_numpy()], strict=True):
        d, m, y = true.split("/")
        assert dob == f"{m}/{d}/{y}"
    clean = codes.map(
        lambda e: not {"dob_day_month_swap", "dob_missing", "age_instead_of_dob"} & set(e)
    )
    clean &= rows["DOB"].notna()
    assert (rows.loc[clean, "DOB"].to_numpy() == true_dob[clean.to_numpy()]).all()
    no_space = codes.map(lambda e: "postcode_no_space" in e)
    pcs = rows.loc[no_space, "HOME_POSTCODE"].dropna()
    assert len(pcs) > 10 and not pcs.str.contains(" ").any()


def test_error_rates_parse_and_refuse_nonsense():
    assert ErrorRates.parse(["typo=0.1"]).typo == 0.1
    with pytest.raises(ValueError, match="unknown error type"):
        ErrorRates.parse(["tyop=0.1"])
    with pytest.raises(ValueError, match="between 0 and 1"):
        ErrorRates.parse(["typo=2"])


def test_references_do_not_repeat_across_months(region):
    """Crime, incident and ASB references run on through the year, as agencies' do."""
    for feed in ("crime_offence", "incidents", "asb", "btp_crimes"):
        c = CONTRACTS[feed]
        refs = pd.concat(
            read_data(c, c.landing_dir(region.landing, m) / c.file.filename(m))[list(c.key)]
            for m in region.summary.months
        )
        assert not refs.drop_duplicates().duplicated(subset=list(c.key)).any(), feed


def test_agency_references_follow_people_not_rows(region):
    """One agency gives a person one reference, in every feed it sends; another agency's
    reference for the same person is different."""
    truth = region.truth_records()
    police, probation = [], []
    for feed, role, column in (
        ("crime_offender", "offender", "OFFENDER_REF"),
        ("ppo", "offender", "OFFENDER_REF"),
        ("oasys", "client", "CRN"),
    ):
        c = CONTRACTS[feed]
        for m in region.summary.months:
            data = read_data(c, c.landing_dir(region.landing, m) / c.file.filename(m))
            t = truth[(truth["feed"] == feed) & (truth["period"] == m) & (truth["role"] == role)]
            pairs = pd.DataFrame(
                {
                    "ref": data[column].to_numpy()[t["row_number"] - 1],
                    "person_id": t["person_id"].to_numpy(),
                }
            )
            (probation if feed == "oasys" else police).append(pairs)
    police, probation = pd.concat(police), pd.concat(probation)
    assert police.groupby("person_id")["ref"].nunique().max() == 1
    assert police.groupby("ref")["person_id"].nunique().max() == 1
    both = police.merge(probation, on="person_id", suffixes=("_police", "_probation"))
    assert len(both) and (both["ref_police"].str[3:] != both["ref_probation"].str[1:]).all()
