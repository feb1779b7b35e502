"""The synthetic gazetteer: an AddressBase-shaped table of every property in the region.

Streets are laid out around real Thames Valley towns; buildings along them are houses,
converted houses (14A/14B, Flat A/B), blocks of flats sharing one building, shops, pubs,
schools, stations and workplaces. Postcode units are cut along the street order, so a long
street spans postcodes and a postcode can take the end of one street and the start of the next.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dagster_project.dev.synth.data import load_data

CLASSES = {
    "RD02": "Detached house",
    "RD03": "Semi-detached house",
    "RD04": "Terraced house",
    "RD06": "Self-contained flat",
    "CR01": "Shop",
    "CR06": "Public house or bar",
    "CO01": "Office",
    "CI01": "Industrial unit",
    "CE03": "Primary school",
    "CE04": "Secondary school",
    "CT08": "Railway station",
}
RESIDENTIAL = ("RD02", "RD03", "RD04", "RD06")
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # letters the Royal Mail uses in inward codes
METRES_BETWEEN_HOUSES = 12.0
PROPERTIES_PER_SECTOR = 2500
MAX_UNIT = 40
UNIT_RADIUS = 250  # metres from a postcode unit's first property to its farthest
SPACE_CELL = 600  # metres: streets starting in one cell are cut into postcodes together
PROPERTIES_PER_LSOA = 650
LSOAS_PER_WARD = 6
WARD_SUFFIXES = ["North", "South", "East", "West", "Central", "Park", "Village"]

GAZETTEER_COLUMNS = [
    "uprn",
    "class_code",
    "class_description",
    "organisation",
    "sub_building",
    "building_name",
    "building_number",
    "street",
    "usrn",
    "locality",
    "town",
    "postcode",
    "easting",
    "northing",
    "lsoa_code",
    "lsoa_name",
    "ward_code",
    "ward_name",
    "district_code",
    "district_name",
]


@dataclass
class Gazetteer:
    properties: pd.DataFrame  # GAZETTEER_COLUMNS, one row per property
    streets: pd.DataFrame  # usrn, street, locality, town, district, start/end coordinates


def unit_sizes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Postcode unit sizes: mostly 8-30 properties, one in ten below 4 (where the
    depersonalisation rule of the Home Office guidance, section 3.2, bites), never above 40."""
    small = rng.random(n) < 0.10
    return np.where(small, rng.integers(1, 4, n), rng.triangular(4, 15, MAX_UNIT, n).astype(int))


# "Little York Road" beside a "York Road": one street name in PREFIXED / 5 has a first word.
STREET_PREFIXES = ("Upper", "Lower", "Little", "Great", "Old")
PREFIXED = 100


def _street_names(rng, words, types, n: int) -> list[tuple[str, str]]:
    """n (street name, abbreviated) pairs, unique within one postcode district."""
    weights = np.array([t[2] for t in types], dtype=float)
    chosen: dict[str, str] = {}
    while len(chosen) < n:
        w = words[rng.integers(len(words))]
        full, short, _ = types[rng.choice(len(types), p=weights / weights.sum())]
        name, abbreviated = f"{w} {full}", f"{w} {short}"
        if name in chosen and len(chosen) > len(words) * 3:
            prefix = rng.choice(STREET_PREFIXES)
        else:  # by its name, so the random draws stay as they were
            k = zlib.crc32(f"{name}/{len(chosen)}".encode()) % PREFIXED
            prefix = STREET_PREFIXES[k] if k < len(STREET_PREFIXES) else None
        if prefix:  # people keep "Upper" when they abbreviate: it tells two streets apart
            name, abbreviated = f"{prefix} {name}", f"{prefix} {abbreviated}"
        chosen.setdefault(name, abbreviated)
    return list(chosen.items())


def build_gazetteer(n_residential: int, rng: np.random.Generator) -> Gazetteer:
    places = load_data("places")
    districts = places["districts"]
    total_pop = sum(d["population"] for d in districts)
    rows: list[tuple] = []
    streets: list[tuple] = []
    taken: set[tuple[str, str, str]] = set()  # (street, locality, town): never two streets
    usrn = 38100000
    for d in districts:
        d_target = max(1, round(n_residential * d["population"] / total_pop))
        spreads = np.array([t["spread"] ** 2 for t in d["towns"]], dtype=float)
        town_targets = np.maximum(1, np.round(d_target * spreads / spreads.sum())).astype(int)
        for town, t_target in zip(d["towns"], town_targets, strict=True):
            per_outward = max(1, math.ceil(t_target / len(town["outward"])))
            for k, outward in enumerate(town["outward"]):
                centre = np.array(town["centre"], float) + rng.normal(0, town["spread"] / 2, 2) * (
                    k > 0
                )
                usrn = _lay_out_outward(
                    rng, places, d, town, outward, centre, per_outward, usrn, rows, streets, taken
                )
    props = pd.DataFrame(
        rows,
        columns=[
            "class_code",
            "organisation",
            "sub_building",
            "building_name",
            "building_number",
            "street",
            "usrn",
            "locality",
            "town",
            "outward",
            "easting",
            "northing",
            "district_code",
            "district_name",
            "building_key",
        ],
    )
    props = _in_space_order(props, streets)
    props = _assign_postcodes(props, rng)
    props = _assign_areas(props, rng)
    step = rng.integers(1, 60, len(props))
    props.insert(0, "uprn", (100_000_000_000 + np.cumsum(step)).astype(np.int64))
    props["class_description"] = props["class_code"].map(CLASSES)
    street_df = pd.DataFrame(
        streets,
        columns=[
            "usrn",
            "street",
            "street_short",
            "locality",
            "town",
            "outward",
            "start_easting",
            "start_northing",
            "end_easting",
            "end_northing",
            "district_code",
            "district_name",
        ],
    )
    return Gazetteer(props[GAZETTEER_COLUMNS + ["building_key"]].reset_index(drop=True), street_df)


def _fresh_street(rng, places, names, localities, town: str, taken: set) -> tuple[str, str, str]:
    """A street name and locality not yet used together in the town."""
    for _ in range(10_000):
        name, short = (
            next(names, None)
            or _street_names(rng, places["street_words"], places["street_types"], 1)[0]
        )
        locality = str(localities[rng.integers(len(localities))])
        if (name, locality, town) not in taken:
            taken.add((name, locality, town))
            return name, short, locality
    raise RuntimeError(f"{town}: no unused street name left")


def _in_space_order(props: pd.DataFrame, streets: list[tuple]) -> pd.DataFrame:
    """Order each district's streets along a Z-order curve of where they start, so that
    cutting properties in order gives compact postcode units and LSOAs."""
    start = {s[0]: (s[6], s[7]) for s in streets}
    e = props["usrn"].map(lambda u: start[u][0]).to_numpy() // SPACE_CELL
    n = props["usrn"].map(lambda u: start[u][1]).to_numpy() // SPACE_CELL
    key = pd.DataFrame({
        "district": pd.factorize(props["district_code"])[0],
        "cell": [z_order(int(a), int(b)) for a, b in zip(e, n, strict=True)],
        "usrn": props["usrn"], "position": np.arange(len(props)),
    })  # fmt: skip
    order = key.sort_values(list(key.columns), kind="stable").index
    return props.loc[order].reset_index(drop=True)


def z_order(x: int, y: int) -> int:
    """Interleave the bits of two cell numbers: nearby cells get nearby codes."""
    out = 0
    for bit in range(16):
        out |= ((x >> bit) & 1) << (2 * bit) | ((y >> bit) & 1) << (2 * bit + 1)
    return out


def _lay_out_outward(
    rng, places, d, town, outward, centre, target, usrn, rows, streets, taken
) -> int:
    """Lay streets around a postcode district's centre until it holds `target` dwellings."""
    urban = town["spread"] >= 2000
    localities = list(rng.choice(places["locality_words"], max(1, target // 1500), replace=False))
    names = iter(
        _street_names(rng, places["street_words"], places["street_types"], max(4, target // 8))
    )
    placed = 0
    while placed < target:
        name, short, locality = _fresh_street(
            rng, places, names, localities, town["post_town"], taken
        )
        house_names: set[str] = set()
        start = centre + rng.normal(0, town["spread"], 2)
        angle = rng.uniform(0, 2 * math.pi)
        direction = np.array([math.cos(angle), math.sin(angle)])
        n_buildings = int(np.clip(rng.lognormal(2.9, 0.8), 1, min(120, target - placed)))
        usrn += int(rng.integers(1, 20))
        for i in range(n_buildings):
            e, n = start + direction * METRES_BETWEEN_HOUSES * (i // 2)
            if i % 2:  # odd and even numbers face each other across the street
                e, n = e + 15 * direction[1], n - 15 * direction[0]
            number = str(i + 1)
            common = (
                name,
                usrn,
                locality,
                town["post_town"],
                outward,
                round(e),
                round(n),
                d["code"],
                d["name"],
                f"{usrn}/{number}",
            )
            station = not streets or streets[-1][4] != town["post_town"]
            for row in _building(
                rng, places, urban, name, locality, town, number, station and i == 0, house_names
            ):
                rows.append((*row, *common))
                placed += row[0] in RESIDENTIAL
        end = start + direction * METRES_BETWEEN_HOUSES * (n_buildings // 2)
        streets.append(
            (
                usrn,
                name,
                short,
                locality,
                town["post_town"],
                outward,
                round(start[0]),
                round(start[1]),
                round(end[0]),
                round(end[1]),
                d["code"],
                d["name"],
            )
        )
    return usrn


def _building(rng, places, urban, street, locality, town, number, station, house_names):
    """The properties of one building: (class, organisation, sub-building, name, number)."""
    orgs = places["organisations"]
    word = street.split()[0]
    if station:  # every town's station sits on its first street
        return [("CT08", f"{town['post_town'].title()} Station", None, None, number)]
    u = rng.random()
    if u < (0.015 if urban else 0.004):  # a block of flats sharing one building
        block = f"{rng.choice(places['building_words'])} {rng.choice(places['building_types'])}"
        numbered = rng.random() < 0.5
        return [
            (
                "RD06",
                None,
                f"Flat {f + 1}",
                None if numbered else block,
                number if numbered else None,
            )
            for f in range(int(rng.integers(4, 25)))
        ]
    if u < 0.045:  # a converted house: 14A, 14B ... or Flat A, Flat B ...
        letters = "ABCD"[: int(rng.integers(2, 5))]
        if rng.random() < 0.5:
            return [("RD06", None, None, None, f"{number}{x}") for x in letters]
        return [("RD06", None, f"Flat {x}", None, number) for x in letters]
    if u < 0.065:
        return [("CR01", str(rng.choice(orgs["shop"])), None, None, number)]
    if u < 0.071:
        return [("CR06", str(rng.choice(orgs["pub"])), None, None, number)]
    if u < 0.075:
        return [("CO01", f"{word} {rng.choice(orgs['office'])}", None, None, number)]
    if u < 0.078:
        estate = f"{word} {rng.choice(orgs['industrial'])}"
        return [("CI01", None, f"Unit {rng.integers(1, 20)}", estate, number)]
    if u < 0.081:
        if rng.random() < 0.2:
            return [("CE04", f"{locality} Academy", None, None, number)]
        return [("CE03", f"{word} Primary School", None, None, number)]
    free = [h for h in places["house_names"] if h not in house_names]
    if not urban and free and rng.random() < 0.08:  # a named house with no number
        house_names.add(name := str(rng.choice(free)))
        return [(str(rng.choice(["RD02", "RD03"])), None, None, name, None)]
    p = [0.3, 0.35, 0.35] if urban else [0.5, 0.35, 0.15]
    return [(str(rng.choice(["RD02", "RD03", "RD04"], p=p)), None, None, None, number)]


def _assign_postcodes(props: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Cut each postcode district's properties, in street order, into sectors and units of
    1-40 properties within a few hundred metres. A building is never split between units."""
    postcodes = np.empty(len(props), dtype=object)
    east, north = props["easting"].to_numpy(float), props["northing"].to_numpy(float)
    for outward, idx in props.groupby("outward", sort=False).indices.items():
        keys = props["building_key"].to_numpy()[idx]
        starts = np.r_[True, keys[1:] != keys[:-1]]
        building_size = np.diff(np.r_[np.flatnonzero(starts), len(idx)])[np.cumsum(starts) - 1]
        sizes = iter(unit_sizes(rng, len(idx) + 1).astype(int))
        letters = [a + b for a in INWARD_LETTERS for b in INWARD_LETTERS]
        per_sector = max(PROPERTIES_PER_SECTOR, len(idx) // 9 + 1)
        sector, unit_no, in_unit, in_sector, quota = 1, 0, 0, 0, next(sizes)
        anchor = idx[0]
        order = rng.permutation(len(letters))
        for j, i in enumerate(idx):
            too_big = in_unit + building_size[j] > MAX_UNIT
            too_far = math.hypot(east[i] - east[anchor], north[i] - north[anchor]) > UNIT_RADIUS
            if starts[j] and in_unit and (in_unit >= quota or too_big or too_far):
                unit_no, in_unit, quota, anchor = unit_no + 1, 0, next(sizes), i
                if in_sector >= per_sector or unit_no >= len(letters):
                    sector, unit_no, in_sector = sector + 1, 0, 0
                    order = rng.permutation(len(letters))
                    if sector > 10:
                        raise ValueError(f"{outward}: more postcode units than ten sectors hold")
            postcodes[i] = f"{outward} {sector % 10}{letters[order[unit_no]]}"
            in_unit += 1
            in_sector += 1
    props["postcode"] = postcodes
    return props


def bisect(
    idx: np.ndarray, east: np.ndarray, north: np.ndarray, keys: np.ndarray, target: int
) -> list[np.ndarray]:
    """Split properties into compact groups of about `target`: halve along the longer side
    at the median, never between two properties of one building, until groups are small."""
    if len(idx) <= target * 1.5:
        return [idx]
    e, n = east[idx], north[idx]
    along = e if np.ptp(e) >= np.ptp(n) else n
    order = idx[np.lexsort((keys[idx], along))]
    cut = len(order) // 2
    while 0 < cut < len(order) and keys[order[cut]] == keys[order[cut - 1]]:
        cut += 1
    if cut in (0, len(order)):
        return [idx]
    return [
        *bisect(order[:cut], east, north, keys, target),
        *bisect(order[cut:], east, north, keys, target),
    ]


def _assign_areas(props: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Divide each district into wards, and wards into LSOAs, by recursive bisection."""
    east, north = props["easting"].to_numpy(float), props["northing"].to_numpy(float)
    keys = props["building_key"].to_numpy()
    localities = props["locality"].to_numpy()
    columns = {
        c: np.empty(len(props), dtype=object)
        for c in ("lsoa_code", "lsoa_name", "ward_code", "ward_name")
    }
    lsoa_seq, ward_seq = 1000, 1000
    for district, idx in props.groupby("district_name", sort=False).indices.items():
        used: set[str] = set()
        k = 0
        for ward in bisect(idx, east, north, keys, PROPERTIES_PER_LSOA * LSOAS_PER_WARD):
            ward_seq += int(rng.integers(1, 4))
            name = pd.Series(localities[ward]).mode().iloc[0]
            suffix = 1
            while name in used:  # two wards of one locality: North, South ...
                name = f"{name.split(' and ')[0]} and {WARD_SUFFIXES[suffix % len(WARD_SUFFIXES)]}"
                suffix += 1
            used.add(name)
            for lsoa in bisect(ward, east, north, keys, PROPERTIES_PER_LSOA):
                lsoa_seq += int(rng.integers(1, 4))
                columns["lsoa_code"][lsoa] = f"E01{lsoa_seq:06d}"
                columns["lsoa_name"][lsoa] = f"{district} {k // 4 + 1:03d}{'ABCD'[k % 4]}"
                columns["ward_code"][lsoa] = f"E05{ward_seq:06d}"
                columns["ward_name"][lsoa] = name
                k += 1
    for c, values in columns.items():
        props[c] = values
    return props
