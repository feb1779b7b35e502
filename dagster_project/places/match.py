"""Matching every place mention to the gazetteer: a property (UPRN) or, for a location that is
not one (a street, a junction, "outside the Co-op", a bus route), a street (USRN).

Every function works in one DuckDB connection, on tables it names:
- `gaz`: the gazetteer (reference.gazetteer) -> `props`, the same parts read by parse.words;
- `raw_mentions`: the place records (int_place_records) -> `mentions`, each one parsed;
- `decisions(place_record_id, uprn, usrn, match)`: a reviewer's decisions, honoured;
- out: `place_matches`, one row per mention, and `place_candidates`, the candidates of the
  mentions a person should look at.

A mention's candidates come from blocks (same postcode; same street in the same town or
postcode district; same building or organisation name), so the comparisons stay bounded.
Each candidate is scored as a Fellegi-Sunter match weight: the bits each part's agreement or
disagreement adds (WEIGHTS). Flat and building number are never traded: a candidate whose
flat or number differs (14A and 14C) is no candidate at all.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from dagster_project.places.parse import flat_id, parse, short_name, words

# Bits of evidence (log2 of m/u) each level of each comparison adds (LEVELS says when each
# holds). A part both sides lack has no level and adds nothing; a part one side lacks counts
# against (a mention without the flat cannot say which flat).
WEIGHTS = {
    "flat": {"same": 5, "one side": -5},
    "number": {"same": 6, "one side": -6},
    # "same" at most: a name's agreement weighs log2(properties / properties so named)
    "name": {"same": 14, "not given": -4, "unexplained": -10},
    "street": {"same": 6, "guessed": 5, "close": 2, "part": 1, "type": 3, "other": -6},
    # another district: a candidate a clerk would not take without a person looking
    "postcode": {"same": 9, "sector": 2, "district": 1, "other": -10},
    "town": {"same": 2, "other": -3},
    "locality": {"same": 4},  # telling apart two streets of one name in a town
    "distance": {"10 m": 8, "100 m": 4, "over 1 km": -6},  # the mention's coordinates
}
# SQL: each comparison's level for a mention `m` and a candidate `p` (in `compared` below).
LEVELS = {
    "flat": """case when m.flat = p.flat then 'same'
                    when m.flat is not null or p.flat is not null then 'one side' end""",
    # a premises or building named needs no number ("Booker Academy")
    "number": """case when m.number = p.number then 'same'
                      when m.number is null and (p.number is null or org_in or name_in) then null
                      else 'one side' end""",
    "name": """case when name_in or org_in then 'same' when unexplained then 'unexplained'
                    when p.name is not null then 'not given' end""",
    "street": """case when street_in then 'same'
                      when p.street = m.street then 'guessed'  -- the one street it can mean
                      when len(m.streets) = 0 then null
                      when list_bool_or(list_transform(m.streets, s ->
                               damerau_levenshtein(s, p.street) <= 2
                               and jaro_winkler_similarity(s, p.street) >= 0.9)) then 'close'
                      -- a word missing or added ("York Road" for "Little York Road")
                      when list_bool_or(list_transform(m.streets, s ->
                               p.street like '% ' || s or s like '% ' || p.street)) then 'part'
                      -- the name, of another type ("Turing Road" for "Turing Lane")
                      when list_contains(list_transform(m.streets, s -> {s}), {street})
                          then 'type'
                      else 'other' end""",
    "postcode": """case when m.postcode = p.postcode then 'same'
                        when m.sector = p.sector then 'sector'
                        when m.outward = p.outward then 'district'
                        when m.postcode is not null then 'other' end""",
    "town": """case when list_contains(m.towns, p.town) then 'same'
                    when len(m.towns) > 0 then 'other' end""",
    "locality": "case when locality_in then 'same' end",
    "distance": """case when metres <= 10 then '10 m' when metres <= 100 then '100 m'
                        when metres > 1000 then 'over 1 km' end""",
}


def weight_sql(weights: dict[str, dict[str, float]]) -> str:
    """SQL: a candidate's match weight, the sum of its levels' bits (`<comparison>_level`)."""
    terms = []
    for comparison, bits in weights.items():
        cases = " ".join(
            f"when '{level}' then "
            + (f"least(name_bits, {b})" if (comparison, level) == ("name", "same") else f"{b}")
            for level, b in bits.items()
        )
        terms.append(f"case {comparison}_level {cases} else 0 end")
    return "\n + ".join(terms)


PRIOR = -8.0  # bits: the odds of any one candidate before its parts are compared
ACCEPT = 0.95  # probability a match needs
REVIEW = 0.5  # from here up to ACCEPT, or two candidates within MARGIN, a person looks
MARGIN = 4.0  # bits by which the best candidate must lead the next
# the areas of one property together, so a point's LSOA, ward and district always agree
AREA = "{'lsoa_code': p.lsoa_code, 'ward_code': p.ward_code, 'district_code': p.district_code}"


def _nearest(value: str, e: str, n: str) -> str:
    """SQL: `value` of the property `p` nearest the point (e, n)."""
    return f"arg_min({value}, (p.easting - {e}) ** 2 + (p.northing - {n}) ** 2)"


def _name(street: str) -> str:
    """SQL: a street's name without its type ("TURING" of "TURING LANE")."""
    return f"regexp_replace({street}, ' [A-Z]+$', '')"


def _in_its_area(place: str, mention: str) -> str:
    """SQL: `place` is in the town or postcode district `mention` gives (anywhere, when it
    gives neither)."""
    return (f"({place}.outward = {mention}.outward or list_contains({mention}.towns, {place}.town)"
            f" or ({mention}.outward is null and len({mention}.towns) = 0))")  # fmt: skip


def _lookup(con: duckdb.DuckDBPyConnection, name: str, values_sql: str, fn) -> None:
    """A table `name(v, w)` of fn over the distinct values: a gazetteer of a million
    properties has a few thousand distinct street, building and town names."""
    values = [r[0] for r in con.execute(values_sql).fetchall()]
    pairs = pa.table({"v": pa.array(values, pa.string()),
                      "w": pa.array([fn(v) or None for v in values], pa.string())})  # fmt: skip
    con.register("looked_up", pairs)
    con.execute(f"create or replace table {name} as select * from looked_up")
    con.unregister("looked_up")


def prepare_gazetteer(con: duckdb.DuckDBPyConnection) -> None:
    """`props` (one row per property, its parts as mentions are read) and `streets` (one row
    per USRN, with the point in its middle and the area of the property nearest it)."""
    named = ("street", "building_name", "organisation", "locality", "town")
    for column, fn in [(c, words) for c in named] + [("sub_building", flat_id)]:
        _lookup(con, f"w_{column}", f"select distinct {column} from gaz", fn)
    _lookup(con, "w_short", "select w from w_building_name union select w from w_organisation",
            short_name)  # fmt: skip
    con.execute("""
        create or replace table props as
        -- a gazetteer without USRNs: a street is its name in its town
        select g.uprn, coalesce(g.usrn, -(hash(st.w, tw.w) % 1000000000)::bigint) as usrn,
               fl.w as flat,
               upper(nullif(trim(g.building_number), '')) as number,
               coalesce(number, 'flat ' || fl.w) as unit,
               bn.w as name, org.w as org, bs.w as name_short, os.w as org_short,
               st.w as street, lo.w as locality, tw.w as town,
               g.postcode, split_part(g.postcode, ' ', 1) as outward,
               g.postcode[:-3] as sector, g.easting, g.northing,
               g.lsoa_code, g.ward_code, g.district_code,
               concat_ws(', ', g.organisation, g.sub_building, g.building_name,
                         concat_ws(' ', g.building_number, g.street), g.locality, g.town,
                         g.postcode) as address,
               -- term frequency: a unique school name says more than "Pharmacy"
               case when coalesce(org.w, bn.w) is not null
                    then log2(count(*) over () / count(*) over (partition by coalesce(org.w, bn.w)))
               end as name_bits
        from gaz g
        left join w_street st on st.v = g.street
        left join w_building_name bn on bn.v = g.building_name
        left join w_organisation org on org.v = g.organisation
        left join w_locality lo on lo.v = g.locality
        left join w_town tw on tw.v = g.town
        left join w_sub_building fl on fl.v = g.sub_building
        left join w_short bs on bs.v = bn.w
        left join w_short os on os.v = org.w
    """)
    con.execute(f"""
        create or replace table streets as
        select * exclude (area), unnest(area) from (
        with mid as (
            select usrn, any_value(street) as street, any_value(town) as town,
                   any_value(locality) as locality, any_value(outward) as outward,
                   round(avg(easting))::integer as e, round(avg(northing))::integer as n
            from props group by usrn
        )
        select mid.*, {_nearest(AREA, "e", "n")} as area
        from mid join props p using (usrn)
        group by all
        )
    """)
    con.execute("""
        create or replace table postcodes as
        select postcode, round(avg(easting))::integer as e, round(avg(northing))::integer as n,
               mode(lsoa_code) as lsoa_code, mode(ward_code) as ward_code,
               mode(district_code) as district_code
        from props group by postcode
    """)


def _towns(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    return frozenset(r[0] for r in con.execute(
        "select distinct town from props where town is not null").fetchall())  # fmt: skip


def _found(tokens: tuple[str, ...], names: frozenset[str]) -> list[str]:
    """The names (one to three words) the text contains, e.g. post towns."""
    out = []
    for size in (3, 2, 1):
        for i in range(len(tokens) - size + 1):
            g = " ".join(tokens[i : i + size])
            if g in names:
                out.append(g)
    return out


# A mention as parse.parse reads it.
PARSED = pa.schema(
    [(name, pa.string()) for name in ("id", "flat", "number", "postcode")]
    + [(name, pa.list_(pa.string())) for name in ("tokens", "streets", "towns")]
    + [("lead", pa.string()), ("form", pa.string())]
    + [("easting", pa.int64()), ("northing", pa.int64())]
)


def prepare_mentions(con: duckdb.DuckDBPyConnection) -> None:
    """`mentions`: every row of `raw_mentions`, parsed (parse.parse)."""
    towns = _towns(con)
    rows = con.execute("""
        select place_record_id, address, address_line1, postcode, easting, northing
        from raw_mentions
    """).fetchall()
    cols: dict[str, list] = {name: [] for name in PARSED.names}
    for pid, text, line1, code, e, n in rows:
        p = parse(text, line1, code)
        lead = short_name(words((line1 or text or "").split(",")[0])) or None
        for k, v in (("id", pid), ("flat", p.flat), ("number", p.number), ("postcode", p.postcode),
                     ("tokens", list(p.tokens)), ("streets", list(p.streets)),
                     ("towns", _found(p.tokens, towns)), ("lead", lead), ("form", p.form),
                     ("easting", e), ("northing", n)):  # fmt: skip
            cols[k].append(v)
    con.register("parsed", pa.Table.from_pydict(cols, schema=PARSED))
    con.execute("""
        create or replace table mentions as
        select *, split_part(postcode, ' ', 1) as outward, postcode[:-3] as sector,
               ' ' || array_to_string(tokens, ' ') || ' ' as text
        from parsed
    """)
    con.unregister("parsed")
    # the street a mention names: the first of its candidate names the gazetteer holds in its
    # town or postcode district (anywhere, when it gives neither)
    con.execute(f"""
        create or replace table mentions as
        with named as (
            select id, unnest(streets) as street, unnest(range(len(streets))) as pos,
                   towns, outward
            from mentions
        )
        select m.*, s.street, false as guessed, coalesce(m.number, 'flat ' || m.flat) as unit
        from mentions m left join (
            select n.id, arg_min(n.street, n.pos) as street
            from named n join streets s on s.street = n.street
            where {_in_its_area("s", "n")}
            group by n.id
        ) s using (id)
    """)
    for step in (GUESSED_STREETS, LETTER_FLATS, NAME_FLATS, NAMES_SAID):
        con.execute(step)


# A street named as no street of its town or district is: the one street there its name is one
# or two letters from, a word short of ("York Road" for "Little York Road") or another type of
# ("Turing Road" for "Turing Lane"), if only one is. (Not guessed without a town or postcode:
# names repeat from town to town.)
GUESSED_STREETS = f"""
    create or replace table mentions as
    with lost as (
        select *, {_name("said")} as said_name from (
            select id, unnest(streets) as said, towns, outward from mentions
            where street is null and len(streets) > 0)
    ),
    named as (select outward, town, street, {_name("street")} as name from streets),
    near as (  -- (equality joins, not one join on a disjunction: there are many streets)
        select l.id, l.said, l.said_name, s.street, s.name from lost l join named s using (outward)
        union all
        select l.id, l.said, l.said_name, s.street, s.name
        from (select id, said, said_name, unnest(towns) as town from lost) l
        join named s using (town)
    ),
    close as (
        select distinct id, street from near
        where name = said_name or street like '% ' || said
           or (abs(length(said) - length(street)) <= 2
               and jaro_winkler_similarity(said, street) >= 0.9
               and damerau_levenshtein(said, street) <= 2)
    ),
    guess as (select id, any_value(street) as street from close group by id having count(*) = 1)
    select m.* replace (coalesce(m.street, g.street) as street,
                        g.street is not null as guessed)
    from mentions m left join guess g using (id)
"""


# A letter after a number is a suffix (28D) to some and a flat (Flat D, 28) to others: where the
# gazetteer holds the mention's building only the other way, in its postcode or on its street,
# the mention is read that way.
LETTER_FLATS = f"""
    create or replace table mentions as
    with m as (
        select *, regexp_extract(number, '^([0-9]+)([A-Z])$', ['n', 'l']) as split
        from mentions
    ),
    c as (  -- the mentions that could be read the other way
        select id, number, flat, split, postcode, street, outward, towns from m
        where split.n <> '' or regexp_matches(flat, '^[A-Z]$')
    ),
    near as (  -- their buildings in the gazetteer: in the postcode (on the street it names)
               -- or, where the postcode holds none, on the street
        select c.id, p.number, p.flat, 1 as far from c join props p on p.postcode = c.postcode
        where p.number in (c.number, c.split.n, c.number || c.flat)
          and (c.street is null or p.street = c.street)
        union
        select c.id, p.number, p.flat, 2 from c join props p using (street)
        where p.number in (c.number, c.split.n, c.number || c.flat)
          and {_in_its_area("p", "c")}
    ),
    here as (select * from near qualify far = min(far) over (partition by id)),
    other_way as (
        select c.id,
               bool_or(h.number is not distinct from c.number
                       and h.flat is not distinct from c.flat) as as_written,
               bool_or(c.flat is null and h.number = c.split.n and h.flat = c.split.l)
                   as suffix_is_flat,
               bool_or(h.number = c.number || c.flat and h.flat is null) as flat_is_suffix
        from c join here h using (id)
        group by c.id
    )
    select * replace (coalesce(number, 'flat ' || flat) as unit) from (
        select m.* exclude (split) replace (
            case when o.suffix_is_flat and not o.as_written then m.split.n
                 when o.flat_is_suffix and not o.as_written then m.number || m.flat
                 else m.number end as number,
            case when o.suffix_is_flat and not o.as_written then m.split.l
                 when o.flat_is_suffix and not o.as_written then null else m.flat end as flat)
        from m left join other_way o using (id)
    )
"""

# "3 Heron House, Mill Road" is Flat 3 of Heron House, where the gazetteer holds that flat and
# no building 3 of that name (in the mention's postcode or on its street).
NAME_FLATS = f"""
    create or replace table mentions as
    with c as (
        select id, number, postcode, street, outward, towns, text from mentions
        where number is not null and flat is null
    ),
    named as (select * from props where name_short is not null),
    near as (  -- in its postcode, else on its street
        select c.id, p.name, p.number, p.flat, 1 as far from c join named p using (postcode)
        where contains(c.text, ' ' || p.name_short || ' ')
        union
        select c.id, p.name, p.number, p.flat, 2 from c join named p using (street)
        where contains(c.text, ' ' || p.name_short || ' ')
          and {_in_its_area("p", "c")}
    ),
    here as (select * from near qualify far = min(far) over (partition by id)),
    flats as (
        select c.id, any_value(h.number) filter (where h.flat = c.number) as number
        from c join here h using (id)
        group by c.id
        having bool_or(h.flat = c.number) and not coalesce(bool_or(h.number = c.number), false)
           and count(distinct h.name) filter (where h.flat = c.number) = 1
    )
    select m.* replace (
        case when f.id is null then m.number else f.number end as number,
        case when f.id is null then m.flat else m.number end as flat,
        case when f.id is null then m.unit else coalesce(f.number, 'flat ' || m.number) end
            as unit)
    from mentions m left join flats f using (id)
"""

# The building and premises names of the gazetteer a mention gives (in its postcode or on its
# street), outside its street's name: a candidate without them leaves words unexplained.
NAMES_SAID = f"""
    create or replace table mentions as
    with named as (
        select distinct postcode, street, outward, town, unnest([name_short, org_short]) as name
        from props where coalesce(name, org) is not null
    ),
    m as (
        select id, postcode, street, outward, towns,
               replace(text, ' ' || coalesce(street, '') || ' ', ' ') as said from mentions
    ),
    found as (
        select m.id, n.name from m join named n using (postcode)
        where contains(m.said, ' ' || n.name || ' ')
        union
        select m.id, n.name from m join named n using (street)
        where contains(m.said, ' ' || n.name || ' ')
          and {_in_its_area("n", "m")}
    )
    select m.*, coalesce(f.names, []) as names
    from mentions m left join (select id, list(name) as names from found group by id) f
        using (id)
"""


def _probability(weight: str, prior: float) -> str:
    return f"1 / (1 + pow(2, -({weight} + {prior})))"


# SQL: the candidates (id, uprn) of each mention `m` (its towns in `mt`). A mention meets only
# properties of its building number (or, in a building with no number, its flat): a street
# holds hundreds; one with neither is found by name.
BLOCKS = """
            select m.id, p.uprn from m
            join props p on p.postcode = m.postcode and p.unit = m.unit
            union
            select m.id, p.uprn from m join mt using (id)
            join props p on p.street = m.street and p.town = mt.town and p.unit = m.unit
            union
            select m.id, p.uprn from m
            join props p on p.street = m.street and p.outward = m.outward and p.unit = m.unit
            union  -- a named property on the street ("The Barn Church Lane Oxford")
            select m.id, p.uprn from m join mt using (id)
            join props p on p.street = m.street and p.town = mt.town
                        and p.name_bits is not null
            where m.unit is null
            union  -- a flat without its building's number ("Unit 5, Kestrel Trading Estate")
            select m.id, p.uprn from m join props p using (postcode, flat)
            where m.number is null
            union
            select m.id, p.uprn from m join mt using (id)
            join props p on p.street = m.street and p.town = mt.town and p.flat = m.flat
            where m.number is null
            union  -- ... or in the postcode ("Green Man PH, Elm Grove")
            select m.id, p.uprn from m
            join props p on p.postcode = m.postcode and p.name_bits is not null
            where m.unit is null
            union  -- a name that opens the mention, in its town or postcode district
            select m.id, p.uprn from m join mt using (id)
            join props p on coalesce(p.org_short, p.name_short) = m.lead and p.town = mt.town
            union
            select m.id, p.uprn from m
            join props p on coalesce(p.org_short, p.name_short) = m.lead
                        and p.outward = m.outward
            union  -- a mention with neither town nor postcode: its street and number, or name
            select m.id, p.uprn from m
            join props p on (p.street = m.street and p.unit = m.unit)
                         or coalesce(p.org_short, p.name_short) = m.lead
            where m.outward is null and len(m.towns) = 0
"""


def score_properties(
    con: duckdb.DuckDBPyConnection,
    weights: dict | None = None,
    prior: float = PRIOR,
    candidates: str | None = None,
) -> None:
    """`pairs`: each mention that could be a property, with every candidate its blocks give
    (or `candidates`, SQL as BLOCKS), its comparisons' levels and its weight (WEIGHTS and
    PRIOR, unless given: places/weights.py); `excluded` where the flat or building number
    disagrees."""
    levels = ",\n".join(f"{sql.format(s=_name('s'), street=_name('p.street'))} as {c}_level"
                         for c, sql in LEVELS.items())  # fmt: skip
    con.execute(f"""
        create or replace table pairs as
        with m as (select * from mentions where form = 'address'),
        mt as (select id, unnest(towns) as town from m),
        blocked as ({candidates or BLOCKS}
        ),
        compared as (
            select b.id, b.uprn,
                   m.flat is not distinct from p.flat as flat_same,
                   m.number is not distinct from p.number as number_same,
                   coalesce(contains(m.text, ' ' || p.name_short || ' '), false) as name_in,
                   coalesce(contains(m.text, ' ' || p.org_short || ' '), false) as org_in,
                   coalesce(p.street = m.street and not m.guessed, false) as street_in,
                   -- a name the mention gives that the candidate does not have
                   len(list_filter(m.names, x -> x is distinct from p.name_short
                                              and x is distinct from p.org_short)) > 0
                       as unexplained,
                   contains(m.text, ' ' || p.locality || ' ') as locality_in,
                   sqrt((m.easting - p.easting) ** 2 + (m.northing - p.northing) ** 2) as metres,
                   coalesce(m.flat <> p.flat or m.number <> p.number, false) as excluded,
                   {levels},
                   p.name_bits,
                   flat_same and number_same and street_in and not unexplained
                   and (p.name is null or name_in)
                   and (m.postcode = p.postcode
                        or (m.postcode is null and list_contains(m.towns, p.town))) as exact
            from blocked b join m using (id) join props p using (uprn)
        ),
        weighed as (select *, {weight_sql(weights or WEIGHTS)} as weight from compared)
        select *, case when excluded then 0.0 else {_probability("weight", prior)} end
               as probability
        from weighed c
        -- a candidate a reviewer said is not the place is never offered again
        anti join decisions d on d.place_record_id = c.id and d.uprn = c.uprn and not d.match
    """)


def score_streets(con: duckdb.DuckDBPyConnection) -> None:
    """`street_pairs`: each mention that names no property (a street, a junction, outside a
    shop, a bus route, or an address with neither flat, number nor a known building name)
    with the streets of that name in its town or postcode district."""
    con.execute("""
        create or replace table street_mentions as
        select * from mentions m
        where form <> 'address'
           or (flat is null and number is null
               and not exists (select 1 from pairs p
                               where p.id = m.id and (p.name_in or p.org_in) and not p.excluded))
    """)
    con.execute(f"""
        create or replace table street_pairs as
        with ms as (
            select id, unnest(streets) as street, unnest(range(1, len(streets) + 1)) as pos
            from street_mentions
            union all  -- the street its name was taken for
            select id, street, len(streets) + 1 from street_mentions where guessed
        )
        select ms.id, s.usrn, ms.pos,
               (list_contains(m.towns, s.town) or m.outward = s.outward)::integer
               + contains(m.text, ' ' || s.locality || ' ')::integer
               -- coordinates the agency gave, near the street's middle
               + coalesce(2 * (sqrt((m.easting - s.e) ** 2 + (m.northing - s.n) ** 2)
                               <= 500)::integer, 0) as fit
        from ms join street_mentions m using (id) join streets s on s.street = ms.street
        anti join decisions d on d.place_record_id = ms.id and d.usrn = s.usrn and not d.match
        where {_in_its_area("s", "m")}
    """)


def decide(con: duckdb.DuckDBPyConnection) -> None:
    """`place_matches`: one row per mention with its method, score, UPRN or USRN, point and
    area, and the reason when it is not matched; `place_candidates`: the candidates of every
    mention a person should look at."""
    # a number or flat on a street the gazetteer knows, but not there: the reason it failed
    con.execute("""
        create or replace table known_streets as
        select id from mentions where number is not null and street is not null
        union
        select id from pairs where excluded
    """)
    con.execute(f"""
        create or replace table property_outcome as
        with ranked as (
            select *, row_number() over w as rank, lead(weight) over w as next_weight,
                   lead(probability) over w as next_probability,
                   count(*) filter (where exact) over (partition by id) as n_exact,
                   count(*) filter (where exact and locality_in) over (partition by id)
                       as n_exact_here
            from pairs where not excluded
            window w as (partition by id order by exact desc, locality_in desc, weight desc,
                         uprn)
        )
        select id, uprn, probability, rank, weight, next_weight,
               -- two exact matches in one town: the one in the locality the mention names
               case when n_exact = 1 or (n_exact > 1 and n_exact_here = 1) then 'exact'
                    when probability >= {ACCEPT}
                         and coalesce(weight - next_weight >= {MARGIN}, true) then 'probabilistic'
                    when probability >= {REVIEW} then 'review'
               end as outcome,
               case when n_exact > 1 and n_exact_here <> 1
                        then n_exact || ' properties match it exactly'
                    when probability >= {REVIEW} and weight - next_weight < {MARGIN}
                         and next_probability >= {REVIEW}
                        then 'ambiguous: candidates close in score'
                    when probability >= {REVIEW} and probability < {ACCEPT}
                        then 'uncertain: the best candidate scores below ' || {ACCEPT}
                    else 'no candidate scores ' || {REVIEW} || ' or more'
               end as reason
        from ranked
        -- a mention that names no property is a street's, whatever properties are near
        where rank = 1 and id not in (select id from street_mentions)
    """)
    con.execute("""
        create or replace table street_outcome as
        with best as (
            select id, usrn, pos, fit,
                   count(*) over (partition by id, pos, fit) as tied,
                   row_number() over (partition by id order by pos, fit desc, usrn) as rank
            from street_pairs
        )
        select id, usrn, tied = 1 as sure from best where rank = 1
    """)
    # where on the street: outside a named premises, at the end nearest the other street of a
    # junction, else its middle
    con.execute(f"""
        create or replace table street_points as
        select * exclude (area), unnest(area) from (
        with outside as (
            select o.id, arg_min(p.easting, p.uprn) as e, arg_min(p.northing, p.uprn) as n
            from street_outcome o join street_mentions m using (id)
            join props p on p.usrn = o.usrn and p.org is not null
                        and list_has_all(m.tokens, string_split(p.org, ' '))
            where m.form = 'outside' group by o.id
        ),
        other as (
            select o.id, arg_min(s.e, sp.pos) as oe, arg_min(s.n, sp.pos) as "on"
            from street_outcome o join street_pairs sp using (id)
            join streets s on s.usrn = sp.usrn
            join street_mentions m using (id)
            where m.form = 'junction' and sp.usrn <> o.usrn group by o.id
        ),
        junction as (
            select o.id, {_nearest("p.easting", "oe", '"on"')} as e,
                   {_nearest("p.northing", "oe", '"on"')} as n
            from street_outcome o join other using (id) join props p on p.usrn = o.usrn
            group by o.id
        ),
        point as (
            select o.id, o.usrn, coalesce(x.e, j.e, s.e) as e, coalesce(x.n, j.n, s.n) as n
            from street_outcome o join streets s using (usrn)
            left join outside x using (id) left join junction j using (id)
        )
        select pt.id, pt.usrn, pt.e, pt.n,
               {_nearest(AREA, "pt.e", "pt.n")} as area
        from point pt join props p using (usrn)
        group by all
        )
    """)
    # a mention not matched but with coordinates: the area of the nearest property, searched
    # for in its 100 m grid square and the eight around it
    con.execute(f"""
        create or replace table near_points as
        select * exclude (area), unnest(area) from (
        with m as (
            select id, easting as e, northing as n,
                   unnest([-1, -1, -1, 0, 0, 0, 1, 1, 1]) as dx,
                   unnest([-1, 0, 1, -1, 0, 1, -1, 0, 1]) as dy
            from mentions
            where easting is not null and northing is not null
              and id not in (select id from property_outcome
                             where outcome in ('exact', 'probabilistic'))
              and id not in (select id from street_outcome where sure)
        )
        select m.id, {_nearest(AREA, "e", "n")} as area
        from m join props p on p.easting // 100 = m.e // 100 + dx
                           and p.northing // 100 = m.n // 100 + dy
        group by m.id
        )
    """)
    con.execute(f"""
        create or replace table place_matches as
        with chosen as (
            select m.id,
                   case when d.match then 'clerical'
                        when po.outcome in ('exact', 'probabilistic') then po.outcome
                        when so.sure then 'street-level'
                        else 'none' end as method,
                   case when d.match then d.uprn
                        when po.outcome in ('exact', 'probabilistic') then po.uprn end as uprn,
                   case when d.match then d.usrn
                        when so.sure and po.outcome is distinct from 'exact'
                         and po.outcome is distinct from 'probabilistic' then so.usrn
                   end as street_usrn,
                   case when d.match or po.outcome = 'exact' or so.sure then 1.0
                        else po.probability end as score,
                   po.outcome = 'review' or (so.usrn is not null and not so.sure) as to_review,
                   case
                       when d.match or po.outcome in ('exact', 'probabilistic') or so.sure
                           then null
                       when so.usrn is not null then 'ambiguous: streets of that name in its town'
                       when po.outcome = 'review' or po.reason like '%exactly' then po.reason
                       when m.form <> 'address' then 'street not found in its town or district'
                       when len(m.tokens) = 0 and m.postcode is not null
                           then 'only a postcode: located at its centre'
                       when len(m.tokens) = 0 and np.id is not null
                           then 'no address: located by its coordinates'
                       when len(m.tokens) = 0 then 'no address given'
                       when coalesce(po.probability, 0) < {REVIEW} and ks.id is not null
                           then 'no property with that flat or building number'
                       when po.id is null then 'no candidate shares its postcode, street or name'
                       else po.reason
                   end as reason
            from mentions m
            left join property_outcome po using (id)
            left join street_outcome so using (id)
            left join (select * from decisions where match) d on d.place_record_id = m.id
            left join known_streets ks using (id)
            left join near_points np using (id)
        )
        select c.id as place_record_id, c.method, round(c.score, 4) as score,
               c.uprn, coalesce(p.usrn, c.street_usrn) as usrn,
               c.uprn is not null as is_property,
               coalesce(p.easting, sp.e, pc.e, m.easting) as easting,
               coalesce(p.northing, sp.n, pc.n, m.northing) as northing,
               coalesce(p.lsoa_code, sp.lsoa_code, pc.lsoa_code, np.lsoa_code) as lsoa_code,
               coalesce(p.ward_code, sp.ward_code, pc.ward_code, np.ward_code) as ward_code,
               coalesce(p.district_code, sp.district_code, pc.district_code, np.district_code)
                   as district_code,
               c.reason, c.to_review and c.method = 'none' as to_review
        from chosen c join mentions m using (id)
        left join props p on p.uprn = c.uprn
        left join street_points sp on sp.id = c.id and sp.usrn = c.street_usrn
        -- (the conditions inside the keys keep these hash joins)
        left join postcodes pc
            on pc.postcode = case when c.method = 'none' and len(m.tokens) = 0
                                  then m.postcode end
        left join near_points np on np.id = case when c.method = 'none' then c.id end
    """)
    # A mention may have both property and street candidates: one ranking of them all, the
    # properties first, so each rank is one candidate.
    con.execute("""
        create or replace table place_candidates as
        select * replace (row_number() over (partition by place_record_id
               order by usrn is not null, rank, coalesce(uprn, usrn)) as rank)
        from (
        select p.id as place_record_id, row_number() over (partition by p.id
               order by p.weight desc, p.uprn) as rank,
               p.uprn, null::bigint as usrn, g.address, round(p.probability, 4) as score
        from pairs p join place_matches pm on pm.place_record_id = p.id
        join props g on g.uprn = p.uprn
        where pm.method = 'none' and not p.excluded
        qualify rank <= 3
        union all
        select sp.id, row_number() over (partition by sp.id order by sp.pos, sp.fit desc,
               sp.usrn), null, sp.usrn, s.street || ', ' || s.town, null
        from street_pairs sp join place_matches pm on pm.place_record_id = sp.id
        join streets s on s.usrn = sp.usrn
        where pm.method = 'none' and pm.to_review
        qualify row_number() over (partition by sp.id order by sp.pos, sp.fit desc, sp.usrn) <= 3
        )
    """)


def match(con: duckdb.DuckDBPyConnection) -> None:
    """From `gaz`, `raw_mentions` and `decisions` to `place_matches` and `place_candidates`."""
    prepare_gazetteer(con)
    prepare_mentions(con)
    score_properties(con)
    score_streets(con)
    decide(con)
