"""What the person linker compares, derived in SQL from a table in the person-record schema.

The schema (`hub link`'s input, and what the spine makes of `int_person_records`):
record_id, source, forename and surname (or one `name` column), date_of_birth, sex, postcode,
address, and optionally agency_ref (a person reference qualified by the agency that issued
it), age, period (YYYY-MM, the month the age was given in) and uprn (the home's UPRN, from the
place spine). Files from elsewhere write these their own way: dates are read in whichever of
DATE_FORMATS reads most of the column, a postcode that is not a UK postcode is compared as
written, and sex may be M/F, male/female or 1/2. Anything that still does not parse becomes
NULL, so an odd date weakens that one comparison instead of failing the run, and is counted.
"""

from __future__ import annotations

from dataclasses import dataclass

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

# The ways a date of birth is written, tried on the whole column; the first of those that read
# the most values is the column's (ISO first, then the UK's order before the US's).
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y%m%d", "%Y/%m/%d",
                "%m/%d/%Y", "%d %b %Y", "%d %B %Y")  # fmt: skip


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


def _col(columns: set[str], name: str, cast: str = "varchar") -> str:
    return f"s.{name}::{cast}" if name in columns else f"null::{cast}"


def _date_text(column: str) -> str:
    # A date exported from a spreadsheet or database often carries midnight with it.
    return f"nullif(regexp_replace(trim({column}), '[T ]00:00(:00(\\.0+)?)?$', ''), '')"


def _date(column: str, fmt: str) -> str:
    """The date `column` holds in `fmt`, if it is a plausible date of birth."""
    dob = f"try_strptime({_date_text(column)}, '{fmt}')::date"
    return f"case when {dob} between date '1900-01-01' and current_date then {dob} end"


def date_format(con: duckdb.DuckDBPyConnection, source: str, columns: set[str]) -> str:
    """The one of DATE_FORMATS that reads the most dates of birth in `source`."""
    if "date_of_birth" not in columns:
        return DATE_FORMATS[0]
    read = ", ".join(f"count({_date('s.date_of_birth::varchar', f)})" for f in DATE_FORMATS)
    counts = con.execute(f"select {read} from {source} as s").fetchone()
    return DATE_FORMATS[max(range(len(DATE_FORMATS)), key=lambda i: (counts[i], -i))]


def _postcode(column: str) -> str:
    return f"upper(regexp_replace({column}, '[^A-Za-z0-9]', '', 'g'))"


def _names(columns: set[str]) -> tuple[str, str]:
    """Forename and surname, from their own columns or from one `name` column, written
    "Forename Surname" (the last word the surname) or "SURNAME, Forename"."""
    if "forename" in columns or "surname" in columns or "name" not in columns:
        return _col(columns, "forename"), _col(columns, "surname")
    name = "trim(regexp_replace(s.name::varchar, '\\s+', ' ', 'g'))"
    comma = f"contains({name}, ',')"
    forename = (
        f"case when {comma} then split_part(trim(split_part({name}, ',', 2)), ' ', 1) "
        f"when contains({name}, ' ') then split_part({name}, ' ', 1) end"
    )
    surname = (
        f"case when {comma} then split_part({name}, ',', 1) "
        f"else regexp_extract({name}, '([^ ]+)$', 1) end"
    )
    return forename, surname


def features_sql(source: str, columns: set[str], date_fmt: str = DATE_FORMATS[0]) -> str:
    """SELECT of the linker's input from `source` (a table or view in the person-record
    schema), dates of birth read in `date_fmt`; optional columns missing from it are NULL."""
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise ValueError(f"person records need column(s) {', '.join(missing)}")

    def col(name: str, cast: str = "varchar") -> str:
        return _col(columns, name, cast)

    forename, surname = _names(columns)
    postcode = _postcode(col("postcode"))
    # A postcode from elsewhere (four or five digits, an Eircode) is compared as written; its
    # leading part is the group before a space or, written as one group, its first three.
    written = f"upper(trim(regexp_replace({col('postcode')}, '[^A-Za-z0-9 ]', '', 'g')))"
    foreign_district = (
        f"case when contains({written}, ' ') then split_part({written}, ' ', 1) "
        f"else left({postcode}, 3) end"
    )
    plausible_dob = _date(col("date_of_birth"), date_fmt)
    address_tokens = (
        f"list_filter(list_distinct(list_transform(string_split(regexp_replace("
        f"upper({col('address')}), '[^A-Z0-9]', ' ', 'g'), ' '), t -> hub_street_word(t))), "
        f"t -> not list_contains({list(NOT_ADDRESS_TOKENS)}, t))"
    )
    period_month = f"try_strptime({col('period')}, '%Y-%m')::date"
    age = f"try_cast({col('age')} as integer)"
    return f"""
with cleaned as (
    select
        s.record_id::varchar as unique_id,
        s.source::varchar as source,
        {_name(forename)} as forename,
        {_name(surname)} as surname,
        {plausible_dob} as date_of_birth,
        case upper(left(trim({col("sex")}), 1))
            when 'M' then 'M' when 'F' then 'F' when '1' then 'M' when '2' then 'F'
        end as sex,
        case when regexp_matches({postcode}, '{UK_POSTCODE}')
            then left({postcode}, length({postcode}) - 3) || ' ' || right({postcode}, 3)
            when regexp_matches({postcode}, '[0-9]') then {postcode}
        end as postcode,
        case when regexp_matches({postcode}, '{UK_POSTCODE}')
            then left({postcode}, length({postcode}) - 3)
            when regexp_matches({postcode}, '[0-9]') then {foreign_district}
        end as postcode_district,
        {address_tokens} as address_tokens,
        nullif(trim({col("address")}), '') as address,
        nullif(trim({col("agency_ref")}), '') as agency_ref,
        try_cast({col("uprn")} as bigint) as uprn,
        year({period_month}) - {age} as year_from_age,
        -- aged n on some day of the month the age was given in: born from the day after
        -- that month's start n + 1 years before, to that month's end n years before
        {period_month} - to_years({age} + 1) + interval 1 day as born_from_age,
        {period_month} + interval 1 month - interval 1 day - to_years({age}) as born_to_age
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
    c.postcode_district,
    coalesce(c.date_of_birth, c.born_from_age::date) as born_from,
    coalesce(c.date_of_birth, c.born_to_age::date) as born_to,
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


@dataclass(frozen=True)
class Prepared:
    """What prepare made of a table of person records, for whoever reports on it."""

    records: int
    date_format: str
    unparsed_dates: int  # dates of birth given but not read (or not plausible)
    non_uk_postcodes: int  # compared as written

    def notes(self) -> list[str]:
        notes = [f"dates of birth read as {self.date_format}"]
        if self.unparsed_dates:
            notes.append(
                f"{self.unparsed_dates:,} dates of birth could not be read as a plausible "
                "date and are left out of the date comparison"
            )
        if self.non_uk_postcodes:
            notes.append(
                f"{self.non_uk_postcodes:,} postcodes are not UK postcodes: compared as "
                "written, then by their leading part"
            )
        return notes


def prepare(con: duckdb.DuckDBPyConnection, source: str, table: str) -> Prepared:
    """Create `table` with the linker's features of the records in `source`."""
    register_lookups(con)
    columns = {r[0] for r in con.execute(f"describe select * from {source}").fetchall()}
    fmt = date_format(con, source, columns)
    con.execute(f"create or replace table {table} as {features_sql(source, columns, fmt)}")
    dupes = con.execute(
        f"select count(unique_id) - count(distinct unique_id), count(*) - count(unique_id) "
        f"from {table}"
    ).fetchone()
    if dupes[0] or dupes[1]:
        raise ValueError(
            f"person records: record_id must be present and unique "
            f"({dupes[0]} repeated, {dupes[1]} missing)"
        )
    dob, postcode = _col(columns, "date_of_birth"), _postcode(_col(columns, "postcode"))
    unparsed, foreign = con.execute(f"""
        select count(*) filter ({_date_text(dob)} is not null and {_date(dob, fmt)} is null),
               count(*) filter (regexp_matches({postcode}, '[0-9]')
                                and not regexp_matches({postcode}, '{UK_POSTCODE}'))
        from {source} as s""").fetchone()  # fmt: skip
    n = con.execute(f"select count(*) from {table}").fetchone()[0]
    return Prepared(n, fmt, unparsed, foreign)
