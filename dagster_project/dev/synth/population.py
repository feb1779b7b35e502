"""The synthetic population: households at UPRNs, people with names, sexes, dates of birth and
ethnic groups, and what happens to them month by month (moves, births, deaths, arrivals,
departures).

Each person carries a latent vulnerability shared in part with their household; with the
deprivation of where they live, it drives every agency's propensity (offending, victimisation,
drug use, school exclusion, health), so the same people and places recur across agencies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dagster_project.dev.synth.data import load_data
from dagster_project.dev.synth.gazetteer import RESIDENTIAL

HOUSEHOLD_TYPES = ["single", "couple", "family", "lone_parent", "shared"]
HOUSEHOLD_SHARES = [0.30, 0.28, 0.25, 0.10, 0.07]
OCCUPANCY = 0.95
ADULT_CHILD_SHARE = 0.15  # families with a grown-up child still at home
JUNIOR_SHARE = 0.15  # of grown-up sons living with their father: named after him
TWIN_SHARE = 0.04  # of families with two or more children
MARRIED_NAME_SHARE = 0.75  # of women in a couple: took the partner's surname
MONTHLY = {"move": 0.008, "arrive": 0.001, "depart": 0.001, "birth": 0.005}
RECENT_MOVERS = 0.15  # of households: moved in the two years before the window
MAX_VULNERABILITY = 3.0  # caps the latent score, so no one person dominates a feed


def death_hazard(age: np.ndarray) -> np.ndarray:
    """Monthly probability of death by age (Gompertz, about 1 % a year overall)."""
    return np.minimum(0.0002 * np.exp(0.085 * (age - 20)), 0.3) / 12


# Propensity of each domain: weight = exp(a*z + b*deprivation) * sex factor * age curve.
PROPENSITIES = {
    "offending": (
        2.0,
        0.5,
        {"M": 3.0, "F": 1.0},
        lambda a: np.exp(-(((a - 20) / 9) ** 2)) * (a >= 10) + 0.03 * (a >= 18) * (a < 65),
    ),
    "victim": (1.4, 0.4, {"M": 1.0, "F": 1.1}, lambda a: np.exp(-(((a - 28) / 18) ** 2)) + 0.1),
    "drug": (1.4, 0.5, {"M": 2.0, "F": 1.0}, lambda a: np.exp(-(((a - 34) / 12) ** 2)) * (a >= 12)),
    "alcohol": (
        1.0,
        0.3,
        {"M": 1.5, "F": 1.0},
        lambda a: np.exp(-(((a - 50) / 18) ** 2)) * (a >= 14),
    ),
    "exclusion": (
        1.5,
        0.6,
        {"M": 2.5, "F": 1.0},
        lambda a: np.exp(-(((a - 14) / 2.5) ** 2)) * (a >= 5) * (a <= 16),
    ),
    "assault": (1.8, 0.5, {"M": 2.0, "F": 1.0}, lambda a: np.exp(-(((a - 26) / 14) ** 2)) + 0.05),
    "health": (1.5, 0.3, {"M": 1.0, "F": 1.0}, lambda a: 0.3 + (a / 60.0) ** 2),
    "anyone": (0.0, 0.0, {"M": 1.0, "F": 1.0}, lambda a: (a >= 18) * 1.0),
}


@dataclass
class Population:
    """Column arrays of every person who ever lives in the region during the window."""

    person: pd.DataFrame  # one row per person (see _people columns)
    household_uprn: np.ndarray  # property index of each household's current home
    household_prev_uprn: np.ndarray  # property index of its previous home, -1 if none
    deprivation: np.ndarray  # per property
    start: np.datetime64  # first day of the window
    seed: int  # keys each agency's numbering of people
    # (household, property index, month from which it lived there; -1: before the window)
    residence: list[tuple[int, int, int]] = field(default_factory=list)
    _columns: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def col(self, name: str) -> np.ndarray:
        """A person column as a numpy array, converted once per month (pandas' string
        columns are slow to convert, and every feed reads the same ones)."""
        if name not in self._columns:
            self._columns[name] = self.person[name].to_numpy()
        return self._columns[name]

    def present(self, month: int) -> np.ndarray:
        return (self.col("entered") <= month) & (self.col("left") > month)


def _ethnic_shares(places: dict) -> dict[str, tuple[list[str], np.ndarray]]:
    mix = places["ethnic_mix"]
    shares = {}
    for d in places["districts"]:
        boost = places.get("ethnic_boost", {}).get(d["name"], {})
        codes = ["W_BRI", *mix]
        w = np.array([mix[c] * boost.get(c, 1.0) for c in mix])
        w = (1 - d["white_british"]) * w / w.sum()
        shares[d["name"]] = (codes, np.r_[d["white_british"], w])
    return shares


def _draw_names(rng, pools: np.ndarray, sexes: np.ndarray | None, table: dict) -> np.ndarray:
    out = np.empty(len(pools), dtype=object)
    keys = zip(pools, sexes, strict=True) if sexes is not None else ((p, None) for p in pools)
    groups: dict[tuple, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    for (pool, sex), idx in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        entries = table[pool] if sex is None else table["male" if sex == "M" else "female"][pool]
        names = np.array([e[0] for e in entries], dtype=object)
        w = np.array([e[1] for e in entries], dtype=float)
        out[idx] = rng.choice(names, size=len(idx), p=w / w.sum())
    return out


def make_households(
    rng: np.random.Generator,
    n_people: int,
    uprns: np.ndarray,
    districts: np.ndarray,
    start: np.datetime64,
    first_id: int,
    first_household: int,
    entered: int,
) -> pd.DataFrame:
    """People in new households at the given properties (one household per property),
    stopping once n_people are housed. Returns one row per person."""
    places, names = load_data("places"), load_data("names")
    h = len(uprns)
    htype = rng.choice(len(HOUSEHOLD_TYPES), size=h, p=HOUSEHOLD_SHARES)
    kids = np.where(
        htype == 2,
        rng.choice([1, 2, 3], h, p=[0.4, 0.4, 0.2]),
        np.where(htype == 3, rng.choice([1, 2, 3], h, p=[0.5, 0.35, 0.15]), 0),
    )
    adults = np.select([htype == 0, htype == 3, htype == 4], [1, 1, rng.integers(2, 5, h)], 2)
    adult_child = (htype == 2) & (rng.random(h) < ADULT_CHILD_SHARE)
    size = adults + kids + adult_child
    keep = np.cumsum(size) <= max(n_people, int(size[0]))
    htype, kids, adults, adult_child, size = (
        a[keep] for a in (htype, kids, adults, adult_child, size)
    )
    uprns, districts, h = uprns[keep], districts[keep], int(keep.sum())

    # Household-level draws.
    head_age = np.select(
        [htype == 0, htype == 1, htype == 2, htype == 3],
        [
            rng.integers(18, 92, h),
            rng.integers(22, 92, h),
            rng.integers(26, 56, h),
            rng.integers(20, 55, h),
        ],
        rng.integers(18, 36, h),
    )
    head_age = np.where(adult_child, np.maximum(head_age, 42 + rng.integers(0, 14, h)), head_age)
    shares = _ethnic_shares(places)
    eth = np.empty(h, dtype=object)
    for dname in np.unique(districts):
        sel = districts == dname
        codes, p = shares[dname]
        eth[sel] = rng.choice(codes, size=int(sel.sum()), p=p)
    pool = np.array([places["name_pool"][e] for e in eth], dtype=object)
    family_surname = _draw_names(rng, pool, None, names["surnames"])
    hz = rng.normal(0, 1, h)

    # One row per person: role within the household.
    hh = np.repeat(np.arange(h), size)
    slot = np.arange(len(hh)) - np.repeat(np.cumsum(size) - size, size)
    a_h, k_h = adults[hh], kids[hh]
    role = np.where(
        slot == 0,
        "head",
        np.where(
            slot < a_h,
            np.where(np.isin(htype[hh], [1, 2]), "partner", "sharer"),
            np.where(slot < a_h + k_h, "child", "adult_child"),
        ),
    )
    n = len(hh)
    sex = np.where(rng.random(n) < 0.5, "M", "F").astype(object)
    couple = np.isin(htype[hh], [1, 2])
    same_sex = rng.random(h)[hh] < 0.04
    sex[(role == "head") & couple] = "M"
    sex[(role == "partner")] = np.where(same_sex[role == "partner"], "M", "F")
    sex[(role == "head") & (htype[hh] == 3)] = np.where(
        rng.random(int(((role == "head") & (htype[hh] == 3)).sum())) < 0.85, "F", "M"
    )
    ha = head_age[hh]
    age = np.select(
        [role == "head", role == "partner", role == "sharer", role == "child"],
        [
            ha,
            np.maximum(18, ha + rng.normal(-2, 3, n).round()),
            rng.integers(18, 40, n),
            (rng.random(n) * np.minimum(18, ha - 17)).astype(int),
        ],
        rng.integers(18, 31, n),
    ).astype(int)
    age = np.where(role == "adult_child", np.minimum(age, ha - 20), age)

    # Twins: the second child of some families shares the first child's birthday.
    second_child = (role == "child") & (slot == a_h + 1)
    twins_h = (k_h >= 2) & (rng.random(h)[hh] < TWIN_SHARE)
    twin = second_child & twins_h
    age[twin] = age[np.flatnonzero(twin) - 1]
    dob = start - (age * 365.25 + rng.integers(0, 365, n)).astype("timedelta64[D]")
    dob[twin] = dob[np.flatnonzero(twin) - 1]

    first = _draw_names(rng, pool[hh], sex, names["first_names"])
    # Twins get different first names.
    for i in np.flatnonzero(twin):
        while first[i] == first[i - 1]:
            first[i] = _draw_names(rng, pool[hh][i : i + 1], sex[i : i + 1], names["first_names"])[
                0
            ]
    own_surname = _draw_names(rng, pool[hh], None, names["surnames"])
    surname = np.where(
        np.isin(role, ["head", "child", "adult_child"]), family_surname[hh], own_surname
    )
    former = np.full(n, None, dtype=object)
    married = (role == "partner") & (sex == "F") & (rng.random(n) < MARRIED_NAME_SHARE)
    surname[married] = family_surname[hh][married]
    former[married] = own_surname[married]
    # A father and his grown-up son with the same name at one address.
    head_idx = (np.cumsum(size) - size)[hh]
    junior = (role == "adult_child") & (sex == "M") & (sex[head_idx] == "M")
    junior &= rng.random(n) < JUNIOR_SHARE
    first[junior] = first[head_idx[junior]]

    z = 0.6 * hz[hh] + 0.8 * rng.normal(0, 1, n)
    return pd.DataFrame(
        {
            "person_id": [f"P{first_id + i:08d}" for i in range(n)],
            "household": (first_household + hh).astype(np.int64),
            "role": role,
            "first_name": first,
            "surname": surname,
            "former_surname": former,
            "sex": sex,
            "dob": dob,
            "ethnicity": eth[hh],
            "z": z.astype(np.float32),
            "entered": entered,
            "left": np.iinfo(np.int32).max,
            "exit": None,
        }
    ).assign(_uprn=uprns[hh])


def build_population(
    rng: np.random.Generator,
    properties: pd.DataFrame,
    n_people: int,
    start: np.datetime64,
    deprivation: np.ndarray,
    seed: int,
) -> Population:
    residential = np.flatnonzero(properties["class_code"].isin(RESIDENTIAL).to_numpy())
    occupied = rng.permutation(residential)[: int(len(residential) * OCCUPANCY)]
    people = make_households(
        rng, n_people, occupied, properties["district_name"].to_numpy()[occupied], start, 1, 0, 0
    )
    n_households = int(people["household"].max()) + 1
    hh_uprn = np.full(n_households, -1, dtype=np.int64)
    hh_uprn[people["household"].to_numpy()] = people["_uprn"].to_numpy()
    # Some households moved in the two years before the window: agencies that last saw them
    # then still hold the old address.
    prev = np.full(n_households, -1, dtype=np.int64)
    recent = np.flatnonzero(rng.random(n_households) < RECENT_MOVERS)
    prev[recent] = rng.choice(residential, len(recent))
    prev[prev == hh_uprn] = -1
    pop = Population(people.drop(columns="_uprn"), hh_uprn, prev, deprivation, start, seed)
    pop.residence = [(int(h), int(u), -1) for h, u in enumerate(prev) if u >= 0]
    pop.residence += [(int(h), int(u), 0) for h, u in enumerate(hh_uprn)]
    return pop


def age_at(dob: np.ndarray, when: np.datetime64) -> np.ndarray:
    """Whole years between dates of birth and a date."""
    years = when.astype("datetime64[Y]").astype(int) - dob.astype("datetime64[Y]").astype(int)
    before_birthday = (when - when.astype("datetime64[Y]")) < (dob - dob.astype("datetime64[Y]"))
    return years - before_birthday


def advance(
    rng: np.random.Generator,
    pop: Population,
    properties: pd.DataFrame,
    month: int,
    month_start: np.datetime64,
) -> dict[str, int]:
    """What happens in the region during one month: deaths, departures, moves, arrivals and
    births. Returns counts of each."""
    p = pop.person
    present = pop.present(month)
    age = age_at(p["dob"].to_numpy(), month_start)
    dies = present & (rng.random(len(p)) < death_hazard(age))
    p.loc[dies, ["left", "exit"]] = [month, "death"]

    n_h = len(pop.household_uprn)
    occupied_h = np.zeros(n_h, bool)
    occupied_h[p["household"].to_numpy()[present & ~dies]] = True
    departs = occupied_h & (rng.random(n_h) < MONTHLY["depart"])
    leaving = np.isin(p["household"].to_numpy(), np.flatnonzero(departs)) & present & ~dies
    p.loc[leaving, ["left", "exit"]] = [month, "departure"]
    occupied_h &= ~departs

    is_res = properties["class_code"].isin(RESIDENTIAL).to_numpy()
    taken = np.zeros(len(properties), bool)
    taken[pop.household_uprn[occupied_h]] = True
    vacant = rng.permutation(np.flatnonzero(is_res & ~taken))

    movers = np.flatnonzero(occupied_h & (rng.random(n_h) < MONTHLY["move"]))[: len(vacant) // 2]
    new_homes, vacant = vacant[: len(movers)], vacant[len(movers) :]
    pop.household_prev_uprn[movers] = pop.household_uprn[movers]
    pop.household_uprn[movers] = new_homes
    pop.residence.extend((int(h), int(u), month) for h, u in zip(movers, new_homes, strict=True))

    n_arrive = rng.binomial(int(occupied_h.sum()), MONTHLY["arrive"])
    arrive_at = vacant[:n_arrive]
    arrivals = (
        make_households(
            rng,
            max(1, int(n_arrive * 2.3)),
            arrive_at,
            properties["district_name"].to_numpy()[arrive_at],
            month_start,
            len(p) + 1,
            n_h,
            month,
        )
        if n_arrive
        else p.iloc[:0]
    )

    mothers = present & ~dies & ~leaving & (p["sex"].to_numpy() == "F") & (age >= 18) & (age <= 44)
    mothers &= rng.random(len(p)) < MONTHLY["birth"]
    mothers_idx = np.flatnonzero(mothers)
    births = _babies(rng, p.iloc[mothers_idx], month_start, len(p) + len(arrivals) + 1, month)

    if len(arrivals):
        extra_h = int(arrivals["household"].max()) + 1 - n_h
        hh_of = arrivals.drop_duplicates("household")
        pop.household_uprn = np.r_[pop.household_uprn, np.full(extra_h, -1)]
        pop.household_uprn[hh_of["household"].to_numpy()] = hh_of["_uprn"].to_numpy()
        pop.household_prev_uprn = np.r_[pop.household_prev_uprn, np.full(extra_h, -1)]
        pop.residence.extend(
            (int(h), int(u), month) for h, u in zip(hh_of["household"], hh_of["_uprn"], strict=True)
        )
    pop.person = pd.concat(
        [p, arrivals.drop(columns="_uprn", errors="ignore"), births], ignore_index=True
    )
    pop._columns.clear()
    return {
        "deaths": int(dies.sum()),
        "departures": int(leaving.sum()),
        "moves": len(movers),
        "arrivals": len(arrivals),
        "births": len(births),
    }


def _babies(rng, mothers: pd.DataFrame, month_start, first_id: int, month: int) -> pd.DataFrame:
    n = len(mothers)
    names = load_data("names")
    pool = np.array(
        [load_data("places")["name_pool"][e] for e in mothers["ethnicity"]], dtype=object
    )
    sex = np.where(rng.random(n) < 0.512, "M", "F").astype(object)
    return pd.DataFrame(
        {
            "person_id": [f"P{first_id + i:08d}" for i in range(n)],
            "household": mothers["household"].to_numpy(),
            "role": "child",
            "first_name": _draw_names(rng, pool, sex, names["first_names"]) if n else [],
            "surname": mothers["surname"].to_numpy(),
            "former_surname": None,
            "sex": sex,
            "dob": month_start + rng.integers(0, 28, n).astype("timedelta64[D]"),
            "ethnicity": mothers["ethnicity"].to_numpy(),
            "z": (0.6 * mothers["z"].to_numpy() + 0.8 * rng.normal(0, 1, n)).astype(np.float32),
            "entered": month,
            "left": np.iinfo(np.int32).max,
            "exit": None,
        }
    )


def propensity(
    pop: Population, kind: str, when: np.datetime64, ages: tuple[int, int], present: np.ndarray
) -> np.ndarray:
    """Sampling weight of every person for one agency's records at a date (0 = ineligible)."""
    a, b, sex_factor, curve = PROPENSITIES[kind]
    age = age_at(pop.col("dob"), when)
    dep = pop.deprivation[pop.household_uprn[pop.col("household")]]
    z = np.clip(pop.col("z"), -3, MAX_VULNERABILITY)
    w = np.exp(a * z + b * dep) * curve(age.astype(float))
    w *= np.where(pop.col("sex") == "M", sex_factor["M"], sex_factor["F"])
    w[~present | (age < ages[0]) | (age > ages[1])] = 0.0
    return w
