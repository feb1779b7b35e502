"""Level 2 measured as a whole, as an intruder would use it (docs/disclosure-control.md).

Every figure reads the tiers as published (Level 2) and what the hub knows of each person
(Level 3, in the staged release; never anything an analyst holds): how small the smallest class
of person keys is on everything a key carries across every table (k), whether a class shares a
sensitive flag to the last member (l), how many keys are alone on what they carry, how often a
neighbour who knows a person's age, sex, home and that they were a victim (once, or twice)
finds exactly their key, and how few addresses the place published for an event can be.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from dagster_project.platform import keys, pseudonyms

PERSON_TABLE = "person_factors"  # the one Level 2 table that carries person keys
KEY = "person_key"
# What a person's row says that no neighbour sees (agencies' records): every other column a
# key carries is taken as known to an intruder (a quasi-identifier), so a column added to the
# table counts against k at once.
SENSITIVE_COLUMNS = (
    "ppo_status", "reconviction_risk", "harm_risk", "yos_persistent", "released_from_custody",
    "positive_drug_tests", "stop_searches", "ae_assault_attendances", "ambulance_assault_calls",
    "drug_alcohol_admissions", "drug_treatment_starts", "school_exclusions", "custody_releases",
)  # fmt: skip
BOOKKEEPING = (KEY, "generalisation", "class_size")
# The sensitive flags no class may hold to the last member.
SENSITIVE = (
    "ppo_status is not null", "reconviction_risk in ('HIGH', 'VERY HIGH')",
    "harm_risk in ('HIGH', 'VERY HIGH')", "yos_persistent", "released_from_custody",
    "positive_drug_tests > 0", "drug_treatment_starts > 0", "drug_alcohol_admissions > 0",
    "school_exclusions > 0", "stop_searches > 0",
    "ae_assault_attendances + ambulance_assault_calls > 0",
)  # fmt: skip
K, L, ADDRESSES = 5, 2, 8
ATTACK_LIMIT = 0.05  # the share of people a neighbour may single out


@dataclass(frozen=True)
class Figures:
    person_key_tables: tuple[str, ...]
    quasi_identifiers: tuple[str, ...]
    k: int
    l_diversity: int
    unique_share: float
    neighbour: float | None  # singled out knowing one event; None with no one to attack
    neighbour_two_events: float | None
    smallest_place: int | None  # addresses in the finest place published for any event
    points_at_home: int  # events at a home of someone in them published finer than an LSOA

    def record(self) -> dict[str, float | int | None]:
        """The figures as the release record names them (docs/disclosure-control.md)."""
        return {
            "level2_k": self.k, "level2_l": self.l_diversity,
            "level2_unique_share": self.unique_share, "level2_neighbour_attack": self.neighbour,
            "level2_neighbour_attack_two_events": self.neighbour_two_events,
            "level2_smallest_place": self.smallest_place,
        }  # fmt: skip

    def problems(self) -> list[str]:
        out = []
        if self.person_key_tables != (PERSON_TABLE,):
            out.append(f"person keys in {', '.join(self.person_key_tables)}: only "
                       f"{PERSON_TABLE} may carry them")  # fmt: skip
        if self.k < K:
            out.append(f"{PERSON_TABLE} ({', '.join(self.quasi_identifiers)}): a class of "
                       f"{self.k} (k >= {K})")  # fmt: skip
        if self.l_diversity < L:
            out.append(f"{PERSON_TABLE}: a class whose members all share a sensitive flag")
        for name, share in (("one event", self.neighbour), ("two", self.neighbour_two_events)):
            if share is not None and share > ATTACK_LIMIT:
                out.append(f"{PERSON_TABLE}: a neighbour who knows {name} singles out "
                           f"{share:.1%} of people (at most {ATTACK_LIMIT:.0%})")  # fmt: skip
        if self.smallest_place is not None and self.smallest_place < ADDRESSES:
            out.append(f"events (easting, northing, lsoa_code): a place of "
                       f"{self.smallest_place} addresses (at least {ADDRESSES})")  # fmt: skip
        if self.points_at_home:
            out.append(f"events (easting, northing): {self.points_at_home} event(s) at the home "
                       "of someone in them placed finer than their LSOA")  # fmt: skip
        return out


def register_pseudonym(con: duckdb.DuckDBPyConnection) -> None:
    """`release_pseudonym(person_id)`: the key Level 2 gives a person, for matching Level 3."""
    known = con.execute("select count(*) from duckdb_functions() "
                        "where function_name = 'release_pseudonym'").fetchone()[0]  # fmt: skip
    if known:
        return
    secret = keys.key("pseudonym").encode()
    con.create_function(
        "release_pseudonym", lambda pid: pseudonyms.pseudonym(pid, secret),
        [duckdb.sqltype("VARCHAR")], duckdb.sqltype("VARCHAR"), null_handling="special",
    )  # fmt: skip


def _key_tables(con, l2: str) -> tuple[str, ...]:
    return tuple(r[0] for r in con.execute(
        "select distinct table_name from duckdb_columns() where database_name = ? "
        "and column_name = ? order by 1", [l2, KEY]).fetchall())  # fmt: skip


def quasi_identifiers(con, l2: str) -> list[str]:
    """Every column of the person table but the sensitive ones and the bookkeeping."""
    return [r[0] for r in con.execute(
        "select column_name from duckdb_columns() where database_name = ? and table_name = ? "
        "order by column_index", [l2, PERSON_TABLE]).fetchall()
        if r[0] not in SENSITIVE_COLUMNS + BOOKKEEPING]  # fmt: skip


def _classes(con, l2: str, quasi: list[str]) -> tuple[int, int, float]:
    columns = ", ".join(quasi)
    every_member = " or ".join(f"bool_and(coalesce({f}, false))" for f in SENSITIVE)
    k, shared, unique = con.execute(f"""
        with classes as (
            select count(*) as n, {every_member} as shared
            from {l2}.main.{PERSON_TABLE} group by {columns}
        )
        select min(n), bool_or(shared), sum(n) filter (where n = 1) / sum(n) from classes
    """).fetchone()  # fmt: skip
    return k or 0, (1 if shared else L), float(unique or 0.0)


def _neighbour(con, l2: str, l3: str) -> tuple[float | None, float | None]:
    """Everyone published, against what a neighbour knows of them (from Level 3): exact age,
    sex, home postcode, and that they were a victim (of one event, or of two). Singled out:
    exactly one consistent key, and it is theirs."""
    return con.execute(f"""
        with known as (
            select release_pseudonym(person_id) as key, age, sex,
                   replace(current_postcode, ' ', '') as postcode, victimisations
            from {l3}.main.person_single_view
            where victimisations > 0
        ),
        published as (
            select {KEY}, age_band, sex, home_area_type, victim,
                   replace(home_area, ' ', '') as area
            from {l2}.main.{PERSON_TABLE}
        ),
        -- the neighbour tells keys apart only by what they know: classes of those values
        classes as (
            select age_band, sex, home_area_type, area, victim, count(*) as n,
                   list({KEY}) as keys
            from published group by all
        ),
        matches as (
            select k.key, k.victimisations, c.n, c.victim, list_contains(c.keys, k.key) as own
            from known as k join classes as c
              on (c.sex is null or c.sex = k.sex)
             and (c.age_band is null or k.age between
                    try_cast(split_part(replace(c.age_band, '+', '-200'), '-', 1) as integer)
                    and try_cast(split_part(replace(c.age_band, '+', '-200'), '-', 2) as integer))
             and (c.area is null or (c.home_area_type = 'postcode sector'
                    and left(k.postcode, length(k.postcode) - 2) = c.area)
                  or (c.home_area_type = 'postcode district'
                    and left(k.postcode, length(k.postcode) - 3) = c.area)
                  or (c.home_area_type = 'postcode area'
                    and regexp_extract(k.postcode, '^[A-Z]+') = c.area))
             and (c.victim is null or c.victim <> '0')
        )
        select
            count(distinct key) filter (where n1 = 1 and own1) / count(distinct key),
            count(distinct key) filter (where twice and n2 = 1 and own2)
                / nullif(count(distinct key) filter (where twice), 0)
        from (
            select key, any_value(victimisations) >= 2 as twice,
                   sum(n) as n1, bool_or(own) as own1,
                   sum(n) filter (where victim is null or victim in ('2+', '1+')) as n2,
                   bool_or(own and (victim is null or victim in ('2+', '1+'))) as own2
            from matches group by key
        )
    """).fetchone()  # fmt: skip


def _places(con, l2: str, gazetteer: str, homes: str) -> tuple[int | None, int]:
    """The fewest addresses in the place published for an event (its 100 m square within its
    LSOA where a point is published, else its LSOA), and how many events at the home of
    someone in them (`homes`: their event keys) are placed finer than their LSOA."""
    return con.execute(f"""
        with squares as (
            select lsoa_code, easting // 100 as e, northing // 100 as n, count(*) as a
            from {gazetteer} group by all
        ),
        lsoas as (select lsoa_code, sum(a) as a from squares group by 1),
        events as (select * from {l2}.main.events where lsoa_code is not null)
        select
            min(case when ev.easting is not null then coalesce(sq.a, 0) else l.a end),
            count(*) filter (where ev.easting is not null
                             and ev.event_key in (select event_key from {homes}))
        from events as ev
        left join squares as sq on sq.lsoa_code = ev.lsoa_code
             and sq.e = ev.easting // 100 and sq.n = ev.northing // 100
        left join lsoas as l on l.lsoa_code = ev.lsoa_code
    """).fetchone()  # fmt: skip


def measure(
    con: duckdb.DuckDBPyConnection, l2: str, l3: str, gazetteer: str, homes: str
) -> Figures:
    """`l2`, `l3`: the attached tiers; `gazetteer`: the gazetteer's relation; `homes`: a
    relation of the event keys (`event_key`) of events at the home of someone in them."""
    register_pseudonym(con)
    quasi = quasi_identifiers(con, l2)
    k, diverse, unique = _classes(con, l2, quasi)
    neighbour, two = _neighbour(con, l2, l3)
    smallest, at_home = _places(con, l2, gazetteer, homes)
    return Figures(
        _key_tables(con, l2), tuple(quasi), k, diverse, unique, neighbour, two, smallest, at_home
    )


def warehouse_relations(catalog: str) -> tuple[str, str]:
    """The gazetteer, and the keys of events at the home of someone in them, in the warehouse
    attached as `catalog`."""
    return (
        f"{catalog}.reference.gazetteer",
        f"(select release_pseudonym(event_id) as event_key "
        f"from {catalog}.marts_prep.prep_event_locations where at_home)",
    )
