"""What each agency records in a month, before it is written down: the events, the people in
them and where they happened. A feed's `synthetic` block in its contract says how:

    synthetic:
      rate: 60                    # records per 1,000 residents a year
      actors:                     # people named in a record, by role
        offender: {propensity: offending, ages: [10, 90], share: 0.4, second: 0.15}
      location: {home: 0.3, property: 0.4, street: 0.3}
      property_classes: {CR: 3, RD: 1}
      hours: evening              # when in the day events happen

or derives its rows from another feed (`parent: crime_offence`, `per: offender`), or lists a
cohort (`cohort_per_1000: 0.15`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dagster_project.contracts.model import Contract, value_sets
from dagster_project.dev.synth.addresses import properties_taken
from dagster_project.dev.synth.data import load_data
from dagster_project.dev.synth.gazetteer import Gazetteer
from dagster_project.dev.synth.population import Population, age_at, propensity

HOURS = {  # relative frequency of each hour of the day
    "evening": np.array([6, 5, 4, 3, 2, 1, 1, 1, 2, 2, 3, 3, 4, 4, 4, 5, 6, 7, 8, 9, 9, 9, 8, 7.0]),
    "day": np.array(
        [1, 1, 1, 1, 1, 1, 2, 4, 7, 9, 10, 10, 10, 10, 10, 10, 9, 8, 6, 4, 3, 2, 1, 1.0]
    ),
    "any": np.ones(24),
}
STREET_FORMS = {"street": 4, "junction": 2, "outside": 3}
PLACE_DEPRIVATION = 1.0  # how much more often events happen in deprived places


@dataclass
class Region:
    """The gazetteer with the arrays that sampling and rendering need, computed once."""

    gazetteer: Gazetteer
    deprivation: np.ndarray  # per property
    hotspot: np.ndarray  # per property: some places attract far more events
    _class_weights: dict = field(default_factory=dict, repr=False)

    @property
    def properties(self) -> pd.DataFrame:
        return self.gazetteer.properties

    @property
    def streets(self) -> pd.DataFrame:
        return self.gazetteer.streets

    @functools.cached_property
    def column(self) -> dict[str, np.ndarray]:
        """Gazetteer columns as object arrays (None for missing), for row-by-row rendering."""
        props = self.properties
        return {
            c: np.array([None if pd.isna(v) else v for v in props[c]], dtype=object)
            for c in props.columns
        }

    @functools.cached_property
    def taken(self) -> frozenset[tuple]:
        return properties_taken(self.properties)

    @functools.cached_property
    def street_index(self) -> dict[int, int]:
        return {int(u): j for j, u in enumerate(self.streets["usrn"])}

    @functools.cached_property
    def street(self) -> dict[str, np.ndarray]:
        st = self.streets
        return {c: st[c].to_numpy() for c in st.columns}

    @functools.cached_property
    def street_short(self) -> dict[int, str]:
        return dict(zip(self.streets["usrn"], self.streets["street_short"], strict=True))

    @functools.cached_property
    def street_postcode(self) -> dict[int, str]:
        """The postcode of a property on each street: what a geocoder gives a street."""
        first = self.properties.drop_duplicates("usrn")
        return dict(zip(first["usrn"], first["postcode"], strict=True))

    @functools.cached_property
    def street_premises(self) -> dict[int, int]:
        """A shop or pub on each street that has one: 'outside the Co-op'."""
        cls = self.column["class_code"]
        named = np.flatnonzero(np.isin(cls, ["CR01", "CR06"]))
        usrn = self.column["usrn"][named]
        return dict(zip(usrn[::-1], named[::-1], strict=True))

    @functools.cached_property
    def street_weight(self) -> np.ndarray:
        """How likely each street is to be where a street-level event happens."""
        props = self.properties
        by_street = (
            pd.DataFrame({"usrn": props["usrn"], "dep": self.deprivation, "heat": self.hotspot})
            .groupby("usrn")
            .agg(dep=("dep", "first"), heat=("heat", "mean"))
        )
        st = by_street.reindex(self.streets["usrn"])
        return np.exp(PLACE_DEPRIVATION * st["dep"].to_numpy()) * st["heat"].to_numpy()

    @functools.cached_property
    def outward_streets(self) -> dict[str, np.ndarray]:
        return self.streets.groupby("outward").indices

    def class_weights(self, classes: dict[str, float]) -> np.ndarray:
        """Sampling weight of every property for events at premises of the given classes."""
        key = tuple(sorted(classes.items()))
        cache = self._class_weights
        if key not in cache:
            cls = self.column["class_code"].astype(str)
            w = np.zeros(len(cls))
            for prefix, weight in key:
                w[np.char.startswith(cls, prefix)] = weight
            cache[key] = w * np.exp(PLACE_DEPRIVATION * self.deprivation) * self.hotspot
        return cache[key]


def make_region(gazetteer: Gazetteer, rng: np.random.Generator) -> Region:
    props = gazetteer.properties
    lsoas = props["lsoa_code"].unique()
    district_offset = props.drop_duplicates("lsoa_code").set_index("lsoa_code")["district_name"]
    offsets = {d["name"]: d["deprivation"] for d in load_data("places")["districts"]}
    lsoa_dep = pd.Series(rng.normal(0, 0.7, len(lsoas)), index=lsoas)
    lsoa_dep += district_offset.reindex(lsoas).map(offsets).to_numpy()
    dep = props["lsoa_code"].map(lsoa_dep).to_numpy()
    street_heat = pd.Series(
        rng.lognormal(0, 1.0, len(gazetteer.streets)), index=gazetteer.streets["usrn"]
    )
    hotspot = props["usrn"].map(street_heat).to_numpy() * rng.lognormal(0, 0.5, len(props))
    return Region(gazetteer, dep, hotspot)


def month_bounds(period: str) -> tuple[np.datetime64, int]:
    start = np.datetime64(f"{period}-01")
    days = int(((start.astype("datetime64[M]") + 1).astype("datetime64[D]") - start).astype(int))
    return start, days


def _sample(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    total = weights.sum()
    if n == 0 or total <= 0:
        return np.full(n, -1, dtype=np.int64)
    cum = np.cumsum(weights)
    return np.minimum(np.searchsorted(cum, rng.random(n) * cum[-1], side="right"), len(weights) - 1)


def draw_codes(rng, value_set: str, n: int, risk: np.ndarray | None = None) -> np.ndarray:
    """Codes of a value set by their weights; on an ordered scale, given each record's risk
    (0-1), the riskier records get the higher codes."""
    vals = value_sets()[value_set]["values"]
    w = np.array([v.get("weight", 1) for v in vals], dtype=float)
    codes = np.array([str(v["code"]) for v in vals], dtype=object)
    if risk is not None:
        noisy = np.clip(risk + rng.normal(0, 0.1, n), 0, 0.9999)
        return codes[np.searchsorted(np.cumsum(w / w.sum()), noisy, side="right")]
    return codes[rng.choice(len(codes), size=n, p=w / w.sum())]


def build_events(
    rng: np.random.Generator,
    contract: Contract,
    region: Region,
    pop: Population,
    period: str,
    parents: dict[str, pd.DataFrame],
    first_seq: int = 1,
) -> pd.DataFrame:
    """The canonical records of one feed for one month (one row per record), numbered from
    first_seq so that references run on through the year, as agencies' do."""
    spec = contract.synthetic
    start, days = month_bounds(period)
    if "parent" in spec:
        return _children(rng, contract, parents[spec["parent"]], spec)
    present = pop.present(_month_index(pop, start))
    if "cohort_per_1000" in spec:
        return _cohort(rng, contract, region, pop, start, days, present, spec)
    n_present = int(present.sum())
    n = int(rng.poisson(spec["rate"] / 1000 * n_present / 12))
    n = max(n, spec.get("min_per_month", 2))
    date = start + rng.integers(0, days, n).astype("timedelta64[D]")
    hours = HOURS[spec.get("hours", "any")]
    minute = rng.choice(24, n, p=hours / hours.sum()) * 60 + rng.integers(0, 60, n)
    frame = pd.DataFrame({"date": date, "minute": minute})
    frame["event_id"] = [f"{contract.name}/{period}/{i + 1}" for i in range(n)]
    frame["seq"] = np.arange(first_seq, first_seq + n)
    type_field = next((f for f in contract.fields if f.concept == "event.type"), None)
    if type_field is not None:
        frame["type"] = draw_codes(rng, type_field.value_set, n)
    mid = start + days // 2
    for role, cfg in spec.get("actors", {}).items():
        w = propensity(pop, cfg["propensity"], mid, tuple(cfg.get("ages", (0, 120))), present)
        chosen = np.full(n, -1, dtype=np.int64)
        has = rng.random(n) < cfg.get("share", 1.0)
        if "types" in cfg:  # only some kinds of event name this person
            has &= frame["type"].isin(cfg["types"]).to_numpy()
        chosen[has] = _sample(rng, w, int(has.sum()))
        frame[role] = chosen
        if cfg.get("second"):
            second = np.full(n, -1, dtype=np.int64)
            has2 = has & (rng.random(n) < cfg["second"])
            second[has2] = _sample(rng, w, int(has2.sum()))
            second[second == chosen] = -1  # one person is not both offenders of a crime
            frame[f"{role}_2"] = second
        if "risk" not in frame:  # how this record's person ranks among those the agency sees
            rank = pd.Series(np.where(chosen >= 0, w[np.maximum(chosen, 0)], np.nan)).rank(pct=True)
            frame["risk"] = rank.fillna(pd.Series(rng.random(n))).to_numpy()
    if "risk" not in frame:
        frame["risk"] = rng.random(n)
    for role in spec.get("actors", {}):  # nobody is in an event before they are born
        idx = frame[role].to_numpy()
        born = np.where(idx >= 0, pop.col("dob")[np.maximum(idx, 0)], frame["date"].to_numpy())
        frame["date"] = np.maximum(frame["date"].to_numpy(), born.astype("datetime64[ns]"))
    if spec.get("distinct"):  # each person at most once a month (e.g. releases)
        role = next(iter(spec["actors"]))
        frame = frame[~frame[role].duplicated() | (frame[role] < 0)].reset_index(drop=True)
        frame["seq"] = np.arange(first_seq, first_seq + len(frame))
        frame["event_id"] = [f"{contract.name}/{period}/{i}" for i in frame["seq"]]
    return _locate(rng, frame, spec, region, pop, start)


def _month_index(pop: Population, start: np.datetime64) -> int:
    return int((start.astype("datetime64[M]") - pop.start.astype("datetime64[M]")).astype(int))


def _cohort(rng, contract, region, pop, start, days, present, spec) -> pd.DataFrame:
    """A monthly snapshot of a managed cohort (e.g. prolific and priority offenders): the
    people with the highest propensity, stable from month to month."""
    w = propensity(pop, spec["propensity"], start, tuple(spec.get("ages", (0, 120))), present)
    k = max(spec.get("min_per_month", 2), round(spec["cohort_per_1000"] * present.sum() / 1000))
    ranked = np.argsort(-w, kind="stable")[:k]
    ranked = ranked[w[ranked] > 0]
    n = len(ranked)
    order = rng.permutation(n)  # the agency's list is not in order of anyone's risk
    chosen, risk = ranked[order], np.linspace(1, 0, n)[order]
    period = str(start)[:7]
    frame = pd.DataFrame(
        {
            "date": np.full(n, start + days - 1),
            "minute": np.zeros(n, dtype=int),
            "event_id": [
                f"{contract.name}/{period}/{pop.person['person_id'].iat[i]}" for i in chosen
            ],
            "seq": np.arange(1, n + 1),
            "risk": risk,
        }
    )
    frame[spec.get("role", "offender")] = chosen
    return frame


def _children(rng, contract: Contract, parent: pd.DataFrame, spec: dict) -> pd.DataFrame:
    """Rows derived from another feed's records of the same month: one per record, or one
    per person of a role in it (crime offenders and victims, drug tests, outcomes)."""
    rows = parent
    if "types" in spec:
        rows = rows[rows["type"].isin(spec["types"])]
    per = spec.get("per", "event")
    if per != "event":
        parts = [rows.assign(**{per: rows[c]}) for c in (per, f"{per}_2") if c in rows]
        rows = pd.concat(parts).sort_values(["seq", per], kind="stable") if parts else rows
        rows = rows[rows[per] >= 0]
    if "rename" in spec:  # the parent's offender is this agency's detainee
        rows = rows.assign(**{spec["rename"]: rows[per]})
    keep = rng.random(len(rows)) < spec.get("share", 1.0)
    return rows[keep].reset_index(drop=True)


def _locate(
    rng, frame: pd.DataFrame, spec: dict, region: Region, pop: Population, start: np.datetime64
) -> pd.DataFrame:
    """Where each event happened: a property (someone's home, a shop, a school, a station)
    or a place that is not a property (a street, a junction, outside a named premises)."""
    n = len(frame)
    kinds = spec.get("location", {})
    loc_prop = np.full(n, -1, dtype=np.int64)
    loc_street = np.full(n, -1, dtype=np.int64)
    loc_form = np.full(n, "", dtype=object)
    if not kinds:
        return frame.assign(loc_prop=loc_prop, loc_street=loc_street, loc_form=loc_form)
    names = list(kinds)
    p = np.array([kinds[k] for k in names], dtype=float)
    kind = np.array(names, dtype=object)[rng.choice(len(names), n, p=p / p.sum())]
    actors = [r for r in spec.get("actors", {}) if r in frame]

    home = kind == "home"
    if home.any() and actors:
        who = frame[actors[-1]].to_numpy()
        for r in actors[:-1]:  # prefer the first-listed actor's home
            who = np.where(frame[r].to_numpy() >= 0, frame[r].to_numpy(), who)
        hh = pop.col("household")
        homes = np.where(who >= 0, pop.household_uprn[hh[np.maximum(who, 0)]], -1)
        loc_prop[home] = homes[home]
    kind[home & (loc_prop < 0)] = "property"

    prop = kind == "property"
    if prop.any():
        w = region.class_weights(spec.get("property_classes", {"RD": 1, "CR": 2}))
        loc_prop[prop] = _sample(rng, w, int(prop.sum()))

    for special, codes in (("station", ("CT08",)), ("site", ("CI01", "CO01"))):
        sel = kind == special
        if sel.any():
            w = region.class_weights(dict.fromkeys(codes, 1.0))
            loc_prop[sel] = _sample(rng, w, int(sel.sum()))

    school = kind == "school"
    if school.any():
        loc_prop[school] = _nearest_school(region, pop, frame[actors[0]].to_numpy()[school], start)

    street = kind == "street"
    if street.any():
        loc_street[street] = _sample(rng, region.street_weight, int(street.sum()))
        forms = spec.get("street_forms", STREET_FORMS)
        fnames = list(forms)
        fw = np.array([forms[f] for f in fnames], dtype=float)
        loc_form[street] = np.array(fnames, dtype=object)[
            rng.choice(len(fnames), int(street.sum()), p=fw / fw.sum())
        ]
    loc_form[loc_prop >= 0] = "property"
    return frame.assign(loc_prop=loc_prop, loc_street=loc_street, loc_form=loc_form)


def _nearest_school(region: Region, pop: Population, who: np.ndarray, when) -> np.ndarray:
    cls = region.column["class_code"]
    e, n = region.column["easting"].astype(float), region.column["northing"].astype(float)
    hh = pop.col("household")
    ages = age_at(pop.col("dob")[np.maximum(who, 0)], when)
    out = np.empty(len(who), dtype=np.int64)
    for code in ("CE03", "CE04"):
        schools = np.flatnonzero(cls == code)
        if not len(schools):
            schools = np.flatnonzero(np.isin(cls, ["CE03", "CE04"]))
        sel = (ages < 11) if code == "CE03" else (ages >= 11)
        homes = pop.household_uprn[hh[np.maximum(who[sel], 0)]]
        d2 = (e[homes, None] - e[schools][None, :]) ** 2 + (
            n[homes, None] - n[schools][None, :]
        ) ** 2
        out[sel] = schools[np.argmin(d2, axis=1)] if len(homes) else []
    return out
