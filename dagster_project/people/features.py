"""What the person linker compares, derived in SQL from a table in the person-record schema.

The schema (`hub link`'s input, and what the spine makes of `int_person_records`):
record_id, source, forename, surname, date_of_birth (ISO), sex, postcode, address, and
optionally agency_ref (a person reference qualified by the agency that issued it), age,
period (YYYY-MM, the month the age was given in) and uprn (the home's UPRN, from the place
spine). Anything that does not parse becomes NULL,
so a foreign postcode or an odd date weakens that one comparison instead of failing the run.
"""

from __future__ import annotations

import duckdb

from dagster_project.contracts.model import nicknames

REQUIRED = ("record_id", "source")

# Street words written short, so "2/10 High St" and "Flat 2, 10 High Street" share tokens.
STREET_WORDS = {
    "ST": "STREET", "RD": "ROAD", "AVE": "AVENUE", "AV": "AVENUE", "CL": "CLOSE",
    "DR": "DRIVE", "LN": "LANE", "CRES": "CRESCENT", "GDNS": "GARDENS", "PL": "PLACE",
    "CT": "COURT", "SQ": "SQUARE", "TER": "TERRACE", "TERR": "TERRACE", "GRN": "GREEN",
    "GR": "GROVE", "PK": "PARK", "WY": "WAY",
}  # fmt: skip
NOT_ADDRESS_TOKENS = ("", "FLAT", "APARTMENT", "APT", "UNIT")

UK_POSTCODE = r"^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$"


def _name(column: str) -> str:
    """As staging's clean_name: O'Brien -> OBRIEN, Smith-Jones -> SMITH JONES, '' -> NULL."""
    return (
        f"nullif(trim(regexp_replace(regexp_replace(regexp_replace(upper(strip_accents("
        f"{column}::varchar)), '-', ' ', 'g'), '[^A-Z ]+', '', 'g'), ' +', ' ', 'g')), '')"
    )


def register_lookups(con: duckdb.DuckDBPyConnection) -> None:
    """The nickname and street-word tables the feature SQL joins to."""
    pairs = sorted({(nick.upper(), formal.upper()) for formal, informal in nicknames().items()
                    for nick in informal})  # fmt: skip
    con.execute("create or replace temp table hub_nicknames (nickname varchar, formal varchar)")
    con.executemany("insert into hub_nicknames values (?, ?)", pairs)
    street = "map {" + ", ".join(f"'{k}': '{v}'" for k, v in STREET_WORDS.items()) + "}"
    con.execute(f"create or replace temp macro hub_street_word(t) as coalesce({street}[t], t)")


def features_sql(source: str, columns: set[str]) -> str:
    """SELECT of the linker's input from `source` (a table or view in the person-record
    schema); optional columns missing from it are NULL."""
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise ValueError(f"person records need column(s) {', '.join(missing)}")

    def col(name: str, cast: str = "varchar") -> str:
        return f"s.{name}::{cast}" if name in columns else f"null::{cast}"

    postcode = f"upper(regexp_replace({col('postcode')}, '[^A-Za-z0-9]', '', 'g'))"
    dob = f"try_cast({col('date_of_birth')} as date)"
    plausible_dob = f"case when {dob} between date '1900-01-01' and current_date then {dob} end"
    address_tokens = (
        f"list_filter(list_distinct(list_transform(string_split(regexp_replace("
        f"upper({col('address')}), '[^A-Z0-9]', ' ', 'g'), ' '), t -> hub_street_word(t))), "
        f"t -> not list_contains({list(NOT_ADDRESS_TOKENS)}, t))"
    )
    period_year = f"try_cast(left({col('period')}, 4) as integer)"
    return f"""
with cleaned as (
    select
        s.record_id::varchar as unique_id,
        s.source::varchar as source,
        {_name(col("forename"))} as forename,
        {_name(col("surname"))} as surname,
        {plausible_dob} as date_of_birth,
        case upper(left(trim({col("sex")}), 1)) when 'M' then 'M' when 'F' then 'F' end as sex,
        case when regexp_matches({postcode}, '{UK_POSTCODE}')
            then left({postcode}, length({postcode}) - 3) || ' ' || right({postcode}, 3)
        end as postcode,
        {address_tokens} as address_tokens,
        nullif(trim({col("address")}), '') as address,
        nullif(trim({col("agency_ref")}), '') as agency_ref,
        try_cast({col("uprn")} as bigint) as uprn,
        {period_year} - try_cast({col("age", "varchar")} as integer) as year_from_age
    from {source} as s
)
select
    c.unique_id,
    c.source,
    c.forename,
    -- a nickname of several formal names ("Sam") blocks with the first alphabetically but
    -- compares with all of them
    coalesce(n.formal[1], c.forename) as forename_std,
    list_append(coalesce(n.formal, []), c.forename) as forename_formal,
    c.surname,
    case when c.surname is not null then string_split(c.surname, ' ') end as surname_tokens,
    c.date_of_birth,
    coalesce(year(c.date_of_birth), c.year_from_age) as birth_year,
    c.sex,
    c.postcode,
    split_part(c.postcode, ' ', 1) as postcode_district,
    c.address,
    case when len(c.address_tokens) > 0 then c.address_tokens end as address_tokens,
    -- the numbers of an address in order ("10 2" for Flat 2, 10 High St, however written)
    nullif(array_to_string(list_sort(list_filter(c.address_tokens,
        t -> regexp_matches(t, '^[0-9]'))), ' '), '') as address_numbers,
    c.uprn,
    c.agency_ref,
    case when contains(c.agency_ref, ':') then split_part(c.agency_ref, ':', 1) else c.source
    end as ref_issuer
from cleaned as c
left join (
    select nickname, list(formal order by formal) as formal from hub_nicknames group by 1
) as n on n.nickname = c.forename
"""


def prepare(con: duckdb.DuckDBPyConnection, source: str, table: str) -> int:
    """Create `table` with the linker's features of the records in `source`; its row count."""
    register_lookups(con)
    columns = {r[0] for r in con.execute(f"describe select * from {source}").fetchall()}
    con.execute(f"create or replace table {table} as {features_sql(source, columns)}")
    dupes = con.execute(
        f"select count(unique_id) - count(distinct unique_id), count(*) - count(unique_id) "
        f"from {table}"
    ).fetchone()
    if dupes[0] or dupes[1]:
        raise ValueError(
            f"person records: record_id must be present and unique "
            f"({dupes[0]} repeated, {dupes[1]} missing)"
        )
    return con.execute(f"select count(*) from {table}").fetchone()[0]
