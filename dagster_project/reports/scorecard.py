"""The data-quality scorecard: every feed's every month judged by the four qualities of the Home
Office guidance (Information sharing for community safety, section 4.2.3), so a board can see
which partner's data holds the partnership back.

One row per feed and month the hub holds or expected (every month from the first to the last
any supply was sent for; a month a feed sent nothing for is a row of its own, `missing`):

- currency: the supplier's `date_supplied` against the register's `due_date` (the month's end
  plus the contract's delivery day), from the first supply of the month that passed the gate.
  `date_supplied` and not `received_at`, because `received_at` is the earliest modification time
  of the files in the landing folder: any copy, download or re-landing that does not keep file
  times resets it (the synthetic region's files carry the day they were generated). The
  supplier's date is in every supply the gate reads, and an agency is judged by what it states.
  `received_at` stands in only where a supply has no date of its own.
- completeness: the month's records (as delivered, `records_read`) against the feed's usual
  count (the median of its other months), and the share of the contract's fields populated
  (non-blank) in the raw archive against the feed's usual share: what an agency leaves out by
  design, a column most records have no value for, is its norm, not a fault of one month.
- accuracy: the share of the postcodes delivered that are postcodes, as staging validates them
  (`postcode_reason`: NULL when valid, 'not a UK postcode' when not; 'missing' counts for
  completeness, not here).
- precision: places and people identified as precisely as the feed allows. Places: of the
  mentions of a place the contract describes in words (an address, a street, a description,
  a name), the share matched to a property (a UPRN) or, for the location of an event, which
  may be a street, to its street (`places_uprn_share` is the UPRN share alone). A place given
  only as a postcode or coordinates cannot name a property: such a role is n/a. People: the
  share of the feed's person records (of the roles its contract identifies a person by) whose
  person ID is shared with at least one other person record anywhere in the hub (another
  record of the same feed in any month, or of another feed), against the feed's usual share:
  whether a person is seen again depends on who they are as much as on the data, so only a
  fall from the feed's own norm says the identifiers got worse.
- the gate: the month's refusals and their reasons, from the register.

Each quality is rated red, amber or green from the thresholds below (module constants), and the
month overall by its worst. A share is rated on the upper end of its 95% confidence interval,
so that a month of a few records is not marked down for what chance alone explains. A feed
without the fields a measure needs gets None ('n/a'), not 0. Only aggregates: no value of any
record leaves the warehouse.
"""

from __future__ import annotations

import datetime as dt
import html as _html
import math
from collections.abc import Iterable

import duckdb
import pandas as pd

from dagster_project.codegen.dbt_files import model_name, staged_attributes
from dagster_project.contracts.model import Contract
from dagster_project.platform.warehouse import transaction
from dagster_project.reports import page

GUIDANCE = (
    "Home Office (2010), Information sharing for community safety: guidance and practical "
    "advice, section 4.2.3"
)
RATINGS = tuple(page.RAG)  # green, amber, red: best first
QUALITIES = ("gate", "currency", "completeness", "accuracy", "precision")  # ties: first named

# Currency, in days after the contract's delivery day. A week's grace: the monthly refresh
# runs after the latest delivery day of any feed, so a few days late still reaches the month's
# products. More than four weeks late, the month's products went out without it and the next
# month's supply is nearly due: as bad as missing.
LATE_AMBER_DAYS = 7  # amber when later than this
LATE_RED_DAYS = 28  # red when later than this; a month with no usable supply is red

# Completeness and the linked share of people, as a fraction of the feed's usual month (the
# median of its other months): a tenth down is worth asking about, half gone is a broken
# extract (a filter, a missing site, a column no longer exported).
USUAL_AMBER = 0.90
USUAL_RED = 0.50

# Accuracy: postcodes come from address systems that validate them, and staging forgives
# spacing and case, so a postcode that is still no postcode is rare in a sound extract: more
# than 3 in 100 is a field no longer validated at entry, 1 in 10 a systematic fault.
POSTCODE_AMBER = 0.97
POSTCODE_RED = 0.90

# Precision of place: 85% is the minimum acceptable geocoding hit rate for crime mapping
# (Ratcliffe 2004, Geocoding crime and a first estimate of a minimum acceptable hit rate,
# IJGIS 18(1)); below 95% the partnership's maps start to miss places that matter.
PLACE_AMBER = 0.95
PLACE_RED = 0.85

Z = 1.96  # the 95% confidence interval a share or count is judged on

# What each rating means, for the page.
THRESHOLDS = (
    ("currency", "days after the due date (date_supplied − due_date)",
     f"more than {LATE_AMBER_DAYS} days late",
     f"more than {LATE_RED_DAYS} days late, or no supply the gate passed"),
    ("completeness", "records, and share of the contract's fields populated, against the "
     "feed's usual month (median of its other months)",
     f"below {USUAL_AMBER:.0%} of usual", f"below {USUAL_RED:.0%} of usual"),
    ("accuracy", "share of the postcodes delivered that are valid UK postcodes",
     f"below {POSTCODE_AMBER:.0%}", f"below {POSTCODE_RED:.0%}"),
    ("precision", "share of place mentions matched to a property (or, for an event, its "
     "street); share of person records linked to another record, against the feed's usual",
     f"places below {PLACE_AMBER:.0%}; people below {USUAL_AMBER:.0%} of usual",
     f"places below {PLACE_RED:.0%}; people below {USUAL_RED:.0%} of usual"),
    ("gate", "supplies the gate refused that month (register)",
     "a refusal, but a supply for the month passed", "refused, and nothing for the month passed"),
)  # fmt: skip

# The guidance's four qualities as the hub applies them (a summary, not the guidance's words).
DEFINITIONS = (
    ("Precision", "the detail a field holds: the guidance asks for places to at least the "
     "postcode unit; the hub measures how many places reach a property (or a street for an "
     "event) and how many people are recognised again."),
    ("Accuracy", "how far what is recorded deviates from its true value; the hub measures the "
     "postcodes delivered that are valid postcodes."),
    ("Completeness", "a complete state is one that requires nothing to be added: all the "
     "month's records, and the fields agreed populated as usual."),
    ("Currency", "data timely enough for the partnership's intelligence-led work: each "
     "month's supply delivered by the day agreed in its contract."),
)  # fmt: skip

# The columns of the scorecard and of ops.data_quality, with their warehouse types.
COLUMNS = {
    "agency": "VARCHAR", "feed": "VARCHAR", "month": "VARCHAR",
    "supply": "VARCHAR",  # held | refused | missing | not yet due | destroyed
    "due_date": "DATE", "date_supplied": "DATE", "days_late": "INTEGER",
    "currency": "VARCHAR", "currency_rag": "VARCHAR",
    "records": "INTEGER", "records_usual": "DOUBLE", "records_share": "DOUBLE",
    "fields_populated": "DOUBLE", "fields_populated_usual": "DOUBLE",
    "completeness_rag": "VARCHAR",
    "postcodes_given": "INTEGER", "postcodes_valid_share": "DOUBLE", "accuracy_rag": "VARCHAR",
    "place_mentions": "INTEGER", "places_uprn_share": "DOUBLE",
    "places_matched_share": "DOUBLE", "place_rag": "VARCHAR",
    "person_records": "INTEGER", "persons_linked_share": "DOUBLE",
    "persons_linked_usual": "DOUBLE", "identity_rag": "VARCHAR", "precision_rag": "VARCHAR",
    "gate_refusals": "INTEGER", "gate_reasons": "VARCHAR", "gate_rag": "VARCHAR",
    "overall_rag": "VARCHAR", "holding_back": "VARCHAR",
}  # fmt: skip

COUNTS = {c for c, t in COLUMNS.items() if t == "INTEGER"} | {
    "postcodes_valid", "places_uprn", "places_matched", "persons_linked",
}  # fmt: skip

# A place mention judged for precision names its place in words; a role delivered only as a
# postcode or coordinates never can.
PLACE_WORDS = {"address", "address_line1", "street", "description", "name"}


# --- ratings: pure functions ------------------------------------------------------------------


def wilson_upper(k: float, n: float, z: float = Z) -> float | None:
    """The upper end of the Wilson interval of the share k/n with continuity correction
    (Newcombe 1998, method 4; None when n is 0): close to the exact binomial bound even for a
    handful of records, where the plain Wilson interval would mark one miss in two down."""
    if not n:
        return None
    p = min(max(k / n, 0.0), 1.0)
    if p == 1.0:
        return 1.0
    root = math.sqrt(z * z + 2 - 1 / n + 4 * p * (n * (1 - p) - 1))
    return min(1.0, (2 * n * p + z * z + 1 + z * root) / (2 * (n + z * z)))


def count_upper(x: float, z: float = Z) -> float:
    """The upper end of the interval of a count x, as a Poisson count (within 1% of the exact
    bound from x = 10; 3.9 against 3.7 at 0): how many records chance alone might have hidden."""
    return (math.sqrt(x + 1) + z / 2) ** 2


def rate(value: float | None, amber_below: float, red_below: float) -> str | None:
    if _missing(value):
        return None
    return "red" if value < red_below else "amber" if value < amber_below else "green"


def rate_currency(supply: str, days_late: int | None) -> str | None:
    """A month with no usable supply is red; one not yet due is not rated."""
    if supply == "not yet due":
        return None
    if supply in ("missing", "refused") or days_late is None or days_late > LATE_RED_DAYS:
        return "red"
    return "amber" if days_late > LATE_AMBER_DAYS else "green"


def rate_share(k: float | None, n: int | None, amber_below: float, red_below: float) -> str | None:
    """A share against fixed thresholds, judged on the upper end of its interval."""
    return rate(wilson_upper(k, n) if n else None, amber_below, red_below)


def rate_share_against_usual(k: float | None, n: int | None, usual: float | None) -> str | None:
    """A share against the feed's usual share: no worse than usual (its norm, whatever it is)
    is green; a fall is judged on the upper end of the month's interval."""
    if not n or usual is None or math.isnan(usual):
        return None
    if usual <= 0:
        return "green"  # nothing to fall from
    return rate(wilson_upper(k, n) / usual, USUAL_AMBER, USUAL_RED)


def rate_count_against_usual(records: int | None, usual: float | None) -> str | None:
    if records is None or usual is None or math.isnan(usual) or usual <= 0:
        return None
    return rate(count_upper(records) / usual, USUAL_AMBER, USUAL_RED)


def worst(ratings: Iterable[str | None]) -> str | None:
    """The worst of the ratings given; None when none is rated."""
    rated = [r for r in ratings if r is not None]
    return max(rated, key=RATINGS.index) if rated else None


def holding_back(ratings: dict[str, str | None]) -> str | None:
    """The quality that sets the overall rating (the first of QUALITIES when several do);
    None when all are green or none is rated."""
    overall = worst(ratings.values())
    if overall in (None, "green"):
        return None
    return next(q for q in QUALITIES if ratings.get(q) == overall)


def currency_text(supply: str, days_late: int | None) -> str:
    if supply in ("missing", "refused"):
        return "missing"
    if supply == "not yet due":
        return "not yet due"
    if days_late is None:
        return "unknown"
    if days_late <= 0:
        return "on time"
    return f"late by {days_late} day{'s' if days_late != 1 else ''}"


def leave_one_out_median(values: pd.Series) -> pd.Series:
    """For each entry, the median of the others (NaN where there is none): a month's usual
    is the feed's other months, so that a bad month does not set its own bar."""
    out = []
    for i in range(len(values)):
        others = values.drop(values.index[i]).dropna()
        out.append(float(others.median()) if len(others) else math.nan)
    return pd.Series(out, index=values.index, dtype="float64")


def _share(k, n) -> float | None:
    return None if _missing(k) or _missing(n) or not n else float(k) / float(n)


def _missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _int(value) -> int | None:
    return None if _missing(value) else int(value)


def _nones(frame: pd.DataFrame) -> pd.DataFrame:
    """Every value plain (_plain), and None, not NaN, for what is not rated or does not apply
    (n/a): a share of nothing is not 0."""
    frame = frame.map(_plain).astype(object)
    frame = frame.where(frame.notna(), None).reset_index(drop=True)
    # a count beside an n/a is a float to pandas; it is a count all the same
    for column in COUNTS & set(frame.columns):
        frame[column] = pd.Series([_int(v) for v in frame[column]], dtype=object)
    return frame


def _plain(value):
    """A value as Dagster's metadata and the page take it: int, float, str, date or None."""
    if _missing(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.date()
    return value


# --- what the warehouse holds -----------------------------------------------------------------


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tables(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    return {
        (s, t)
        for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = current_database()"
        ).fetchall()
    }


REQUIRED = (
    ("ops", "supply_register"),
    ("intermediate", "int_person_records"),
    ("spine", "person_ids"),
    ("spine", "place_matches"),
)


def _register(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(
        "select feed, period, status, gate, reason, records_read, date_supplied, due_date, "
        "received_at, processed_at from ops.supply_register"
    ).df()


def _fill(con: duckdb.DuckDBPyConnection, contract: Contract) -> pd.DataFrame:
    """Per month: the records the archive holds and how many of their contract fields are
    populated (a value that is not blank)."""
    cells = " + ".join(f"count(nullif(trim({_ident(f.name)}), ''))" for f in contract.fields)
    return con.execute(
        f"select _partition as period, count(*) as held, {cells} as populated "
        f"from raw.{_ident(contract.name)} group by _partition"
    ).df()


def _postcode_roles(contract: Contract) -> list[str]:
    roles = (["location"] if contract.fields_for("location") else []) + contract.roles
    return [r for r in roles if "postcode_reason" in staged_attributes(contract, r)]


def _postcodes(con: duckdb.DuckDBPyConnection, contract: Contract) -> pd.DataFrame:
    """Per month: the postcodes delivered (of every role that has one) and how many staging
    found valid."""
    reasons = ", ".join(_ident(f"{role}_postcode_reason") for role in _postcode_roles(contract))
    return con.execute(
        "select period, count(*) filter (where reason is distinct from 'missing') as given, "
        "count(*) filter (where reason is null) as valid from ("
        f"select period, unnest([{reasons}]) as reason "
        f"from staging.{_ident(model_name(contract))}) group by period"
    ).df()


def place_kinds(contract: Contract) -> dict[str, bool]:
    """The kinds of place mention (as int_place_records names them) judged for precision, and
    whether a street is as precise as the mention can be (an event's location may be a street;
    a home is a property)."""
    roles = (["location"] if contract.fields_for("location") else []) + contract.roles
    return {
        ("event location" if role == "location" else f"home of {role}"): role == "location"
        for role in roles
        if {f.attribute for f in contract.fields_for(role)} & PLACE_WORDS
    }


def identifying_roles(contract: Contract) -> list[str]:
    """The roles of the people the contract identifies (a field that identifies a person)."""
    return sorted({f.role for f in contract.fields if f.identifies == "person"})


def _places(con: duckdb.DuckDBPyConnection, contracts: dict[str, Contract]) -> pd.DataFrame:
    wanted = [(c.name, kind, street) for c in contracts.values()
              for kind, street in place_kinds(c).items()]  # fmt: skip
    feeds, kinds, streets = (list(x) for x in zip(*wanted, strict=True)) if wanted else ([],) * 3
    return con.execute(
        """
        with wanted as (
            select unnest(?::varchar[]) as feed, unnest(?::varchar[]) as kind,
                   unnest(?::boolean[]) as street_ok
        )
        select m.source_feed as feed, m.period, count(*) as mentions,
               count(m.uprn) as uprn,
               count(*) filter (where m.uprn is not null
                                   or (w.street_ok and m.usrn is not null)) as matched
        from spine.place_matches m
        join wanted w on w.feed = m.source_feed and w.kind = m.kind
        group by all
        """,
        [feeds, kinds, streets],
    ).df()


def _persons(con: duckdb.DuckDBPyConnection, contracts: dict[str, Contract]) -> pd.DataFrame:
    wanted = [(c.name, role) for c in contracts.values() for role in identifying_roles(c)]
    feeds, roles = (list(x) for x in zip(*wanted, strict=True)) if wanted else ([], [])
    return con.execute(
        """
        with wanted as (select unnest(?::varchar[]) as feed, unnest(?::varchar[]) as role),
        sizes as (select person_id, count(*) as records from spine.person_ids group by 1)
        select r.source_feed as feed, r.period, count(*) as records,
               count(*) filter (where s.records > 1) as linked
        from intermediate.int_person_records r
        join wanted w on w.feed = r.source_feed and w.role = r.role
        join spine.person_ids p using (person_record_id)
        join sizes s using (person_id)
        group by all
        """,
        [feeds, roles],
    ).df()


def _months(register: pd.DataFrame) -> list[str]:
    """Every month from the first to the last any supply was sent for: a month in between
    that no feed sent anything for was expected all the same."""
    periods = sorted(register["period"].dropna().unique())
    if not periods:
        return []
    return [str(p) for p in pd.period_range(periods[0], periods[-1], freq="M")]


def _due(contract: Contract, month: str) -> dt.date:
    # as ingest computes the register's due_date, for a month that has no register row
    return pd.Period(month, "M").end_time.date() + dt.timedelta(days=contract.delivery_day)


def _date(value) -> dt.date | None:
    return None if pd.isna(value) else pd.Timestamp(value).date()


def _supplies(register: pd.DataFrame, contract: Contract, month: str, as_of: dt.date) -> dict:
    """What became of one month's supplies, from the register."""
    rows = register[(register["feed"] == contract.name) & (register["period"] == month)]
    refused = rows[rows["status"] == "quarantined"]
    reasons = "; ".join(dict.fromkeys(str(r) for r in refused["reason"].dropna())) or None
    passed = rows[rows["gate"] == "passed"].sort_values("processed_at")
    current = passed[passed["status"].isin(["loaded", "destroyed"])]
    out = {"due_date": _due(contract, month), "gate_refusals": len(refused),
           "gate_reasons": reasons}  # fmt: skip
    if current.empty:
        due = out["due_date"]
        supply = "refused" if len(refused) else "missing" if due < as_of else "not yet due"
        return out | {"supply": supply}
    # The month was usable from the first supply the gate passed (a later one is a correction).
    first = passed.iloc[0]
    due = _date(first["due_date"]) or out["due_date"]
    supplied = _date(first["date_supplied"]) or _date(first["received_at"])
    return out | {
        "supply": "held" if (current["status"] == "loaded").any() else "destroyed",
        "due_date": due,
        "date_supplied": supplied,
        "days_late": (supplied - due).days if supplied else None,
        "records": _int(current.iloc[-1]["records_read"]),
    }


def _lookup(frame: pd.DataFrame, month: str, feed: str | None = None) -> dict:
    """The figures of one month (of one feed, in a frame of every feed); {} when none."""
    if frame.empty:
        return {}
    hit = frame["period"] == month
    if feed is not None:
        hit &= frame["feed"] == feed
    return frame[hit].iloc[0].to_dict() if hit.any() else {}


MEASURES = (
    "agency", "feed", "month", "supply", "due_date", "date_supplied", "days_late", "records",
    "fields_populated", "postcodes_given", "postcodes_valid", "place_mentions", "places_uprn",
    "places_matched", "person_records", "persons_linked", "gate_refusals", "gate_reasons",
)  # fmt: skip


def measure(
    con: duckdb.DuckDBPyConnection,
    contracts: dict[str, Contract],
    as_of: dt.date | None = None,
) -> pd.DataFrame:
    """The figures the ratings are made from (MEASURES), one row per feed and month: counts,
    None where the feed's contract gives nothing to count or the hub holds nothing of the
    month. `as_of` (today) tells a month that is missing from one not yet due."""
    as_of = as_of or dt.datetime.now(dt.UTC).date()
    have = _tables(con)
    absent = [f"{s}.{t}" for s, t in REQUIRED if (s, t) not in have]
    if absent:
        raise ValueError(
            f"the warehouse has no {', '.join(absent)}: ingest and conform before the scorecard"
        )
    register = _register(con)
    months = _months(register)
    places, persons = _places(con, contracts), _persons(con, contracts)
    rows = []
    for c in contracts.values():
        fill = _fill(con, c) if ("raw", c.name) in have else pd.DataFrame()
        coded = _postcode_roles(c) and ("staging", model_name(c)) in have
        postcodes = _postcodes(con, c) if coded else pd.DataFrame()
        for month in months:
            row = {"agency": c.agency, "feed": c.name, "month": month}
            row |= _supplies(register, c, month, as_of)
            if row["supply"] == "held":  # what the hub holds of the month
                f = _lookup(fill, month)
                row["fields_populated"] = _share(
                    f.get("populated"), f.get("held", 0) * len(c.fields)
                )
                if coded:
                    p = _lookup(postcodes, month)
                    row |= {"postcodes_given": p.get("given", 0),
                            "postcodes_valid": p.get("valid", 0)}  # fmt: skip
                if place_kinds(c):
                    m = _lookup(places, month, c.name)
                    row |= {"place_mentions": m.get("mentions", 0),
                            "places_uprn": m.get("uprn", 0),
                            "places_matched": m.get("matched", 0)}  # fmt: skip
                if identifying_roles(c):
                    r = _lookup(persons, month, c.name)
                    row |= {"person_records": r.get("records", 0),
                            "persons_linked": r.get("linked", 0)}  # fmt: skip
            rows.append(row)
    return _nones(pd.DataFrame(rows, columns=list(MEASURES)))


def rate_month(m: dict) -> dict:
    """One month's shares and ratings from its figures and its feed's usual figures
    (`records_usual`, `fields_populated_usual`, `persons_linked_usual`): a pure function."""
    supply, usable = m["supply"], m["supply"] in ("held", "destroyed")
    held = supply == "held"
    records, usual = m.get("records"), m.get("records_usual")
    fill, n = m.get("fields_populated"), m.get("records") or 0
    given, mentions, people = (m.get(k) for k in ("postcodes_given", "place_mentions",
                                                   "person_records"))  # fmt: skip
    out = {
        "records_share": _share(records, usual) if records is not None else None,
        "currency": currency_text(supply, m.get("days_late")),
        "currency_rag": rate_currency(supply, m.get("days_late")),
        "completeness_rag": worst([
            rate_count_against_usual(records, usual) if held else None,
            rate_share_against_usual(None if fill is None else fill * n, n,
                                     m.get("fields_populated_usual")) if held else None,
        ]),
        "postcodes_valid_share": _share(m.get("postcodes_valid"), given),
        "accuracy_rag": rate_share(m.get("postcodes_valid"), given, POSTCODE_AMBER, POSTCODE_RED),
        "places_uprn_share": _share(m.get("places_uprn"), mentions),
        "places_matched_share": _share(m.get("places_matched"), mentions),
        "place_rag": rate_share(m.get("places_matched"), mentions, PLACE_AMBER, PLACE_RED),
        "persons_linked_share": _share(m.get("persons_linked"), people),
        "identity_rag": rate_share_against_usual(m.get("persons_linked"), people,
                                                 m.get("persons_linked_usual")),
        "gate_rag": "red" if supply == "refused"
                    else ("amber" if m.get("gate_refusals") else "green") if usable else None,
    }  # fmt: skip
    out["precision_rag"] = worst([out["place_rag"], out["identity_rag"]])
    ratings = {q: out[f"{q}_rag"] for q in QUALITIES}
    return out | {"overall_rag": worst(ratings.values()), "holding_back": holding_back(ratings)}


def rate_months(measured: pd.DataFrame) -> pd.DataFrame:
    """The scorecard (COLUMNS) from `measure`'s figures: each feed's usual figures (the median
    of its other months), then each month rated. A pure function."""
    if measured.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    parts = []
    for _, feed in measured.groupby("feed", sort=False):
        figures = feed.astype({k: "float64" for k in MEASURES[7:-1]})
        usable = feed["supply"].isin(["held", "destroyed"])
        linked = figures["persons_linked"] / figures["person_records"].where(
            figures["person_records"] > 0)  # fmt: skip
        parts.append(feed.assign(
            records_usual=leave_one_out_median(figures["records"].where(usable)),
            fields_populated_usual=leave_one_out_median(figures["fields_populated"]),
            persons_linked_usual=leave_one_out_median(linked),
        ))  # fmt: skip
    rows = [m | rate_month(m) for m in _nones(pd.concat(parts)).to_dict("records")]
    return _nones(pd.DataFrame(rows).reindex(columns=list(COLUMNS)))


def scorecard(
    con: duckdb.DuckDBPyConnection,
    contracts: dict[str, Contract],
    as_of: dt.date | None = None,
) -> pd.DataFrame:
    """One row per feed and month (COLUMNS), rated as the module says. Reads the register,
    the raw archive, staging and the two spines: conform must have run. `as_of` (today)
    decides whether a month with nothing from a feed is missing or not yet due."""
    return rate_months(measure(con, contracts, as_of))


# --- outputs ------------------------------------------------------------------------------------


def write(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> None:
    """Replace ops.data_quality with the scorecard, in one transaction: a reader sees the old
    table or the new one, never half of either. Typed from COLUMNS, so a column that holds
    only n/a this month keeps its type."""
    columns = ", ".join(f"{_ident(c)} {t}" for c, t in COLUMNS.items())
    values = ", ".join(f"cast({_ident(c)} as {t})" for c, t in COLUMNS.items())
    con.register("scorecard_rows", frame.reindex(columns=list(COLUMNS)))
    try:
        with transaction(con):
            con.execute("create schema if not exists ops")
            con.execute(f"create or replace table ops.data_quality ({columns})")
            con.execute(f"insert into ops.data_quality select {values} from scorecard_rows")
    finally:
        con.unregister("scorecard_rows")


def previous(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The scorecard as last written (ops.data_quality), or an empty one."""
    held = con.execute(
        "select count(*) from duckdb_tables() where database_name = current_database() "
        "and schema_name = 'ops' and table_name = 'data_quality'"
    ).fetchone()[0]
    return con.table("ops.data_quality").df() if held else pd.DataFrame(columns=list(COLUMNS))


def changed(frame: pd.DataFrame, before: pd.DataFrame) -> pd.DataFrame:
    """The rows of `frame` new since `before` or different from its row of the same feed and
    month: only those are worth a new observation on the feed's month."""

    def keyed(f: pd.DataFrame) -> dict:
        shown = f.reindex(columns=list(COLUMNS)).astype(str)
        return {(r[1], r[2]): tuple(r) for r in shown.itertuples(index=False)}

    old, new = keyed(before), keyed(frame)
    return frame[[new[key] != old.get(key) for key in new]] if len(frame) else frame


def feed_metadata(frame: pd.DataFrame, feed: str, month: str) -> dict:
    """The figures of one feed's month, as plain values."""
    hit = frame[(frame["feed"] == feed) & (frame["month"] == month)]
    if hit.empty:
        raise KeyError(f"the scorecard has no row for {feed} {month}")
    plain = {k: _plain(v) for k, v in hit.iloc[0].items()}
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in plain.items()}


def _pct(value) -> str:
    return "n/a" if _missing(value) else f"{value:.0%}" if value in (0, 1) else f"{value:.1%}"


def published(count) -> str:
    """A count of records as the page shows it, by Level 1's rule (the page goes to the
    board): 1 to 7 is "fewer than 8", any other rounded to the nearest 5. The exact figures
    stay in ops.data_quality, for the hub's engineers."""
    if _missing(count):
        return ""
    count = round(count)
    return "fewer than 8" if 0 < count < 8 else f"{5 * round(count / 5):,}"


def why(row: dict) -> str:
    """One line on what holds the month back, from its figures (no record's value)."""
    quality = row.get("holding_back")
    if quality == "gate":
        n = row["gate_refusals"]
        return f"refused {n} time{'s' if n != 1 else ''}: {row['gate_reasons']}"
    if quality == "currency":
        return row["currency"]
    if quality == "completeness":
        return (f"{published(row['records'])} records, usual "
                f"{published(row['records_usual'])}; fields "
                f"populated {_pct(row['fields_populated'])}, usual "
                f"{_pct(row['fields_populated_usual'])}")  # fmt: skip
    if quality == "accuracy":
        return (f"{_pct(row['postcodes_valid_share'])} of {published(row['postcodes_given'])} "
                "postcodes valid")  # fmt: skip
    if quality == "precision":
        parts = []
        if row.get("place_rag") == row["precision_rag"]:
            parts.append(f"{_pct(row['places_matched_share'])} of "
                         f"{published(row['place_mentions'])} "
                         "places matched")  # fmt: skip
        if row.get("identity_rag") == row["precision_rag"]:
            parts.append(f"{_pct(row['persons_linked_share'])} of "
                         f"{published(row['person_records'])} "
                         "person records linked, usual "
                         f"{_pct(row['persons_linked_usual'])}")  # fmt: skip
        return "; ".join(parts)
    return ""


def board(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per feed: its latest rated month, that month's overall rating and what holds
    it back, and how many of its months were red or amber."""
    rows = []
    for (agency, feed), months in frame.groupby(["agency", "feed"], sort=False):
        rated = months[months["overall_rag"].notna()]
        latest = (rated if len(rated) else months).iloc[-1].to_dict()
        rows.append({
            "agency": agency, "feed": feed, "latest month": latest["month"],
            "overall": latest["overall_rag"], "holding back": latest["holding_back"],
            "why": why(latest),
            "months red": int((months["overall_rag"] == "red").sum()),
            "months amber": int((months["overall_rag"] == "amber").sum()),
            "months": len(months),
        })  # fmt: skip
    # the feeds holding the partnership back first; ties in the contracts' order
    rank = {r: i for i, r in enumerate(RATINGS)}
    rows.sort(key=lambda r: (-rank.get(r["overall"], -1), -r["months red"], -r["months amber"]))
    return pd.DataFrame(rows)


def _classes(series: pd.Series) -> pd.Series:
    return series.map(lambda r: r if r in RATINGS else "").reset_index(drop=True)


def _shown(series: pd.Series) -> pd.Series:
    return series.map(lambda r: "n/a" if _missing(r) else r)


DETAIL = {  # column shown: (scorecard column, kind)
    "feed": ("feed", "text"), "month": ("month", "text"),
    "supply": ("supply", "text"), "currency": ("currency", "text"),
    "currency RAG": ("currency_rag", "rag"), "records": ("records", "records"),
    "usual": ("records_usual", "records"), "fields populated": ("fields_populated", "share"),
    "completeness RAG": ("completeness_rag", "rag"),
    "postcodes valid": ("postcodes_valid_share", "share"),
    "accuracy RAG": ("accuracy_rag", "rag"),
    "places matched": ("places_matched_share", "share"),
    "to a UPRN": ("places_uprn_share", "share"),
    "persons linked": ("persons_linked_share", "share"),
    "linked, usual": ("persons_linked_usual", "share"),
    "precision RAG": ("precision_rag", "rag"), "gate refusals": ("gate_refusals", "count"),
    "gate RAG": ("gate_rag", "rag"), "gate reasons": ("gate_reasons", "text"),
    "overall": ("overall_rag", "rag"),
    "holding back": ("holding_back", "text"),
}  # fmt: skip


def _detail(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    shown, classes = {}, {}
    for label, (column, kind) in DETAIL.items():
        values = frame[column].reset_index(drop=True)
        if kind == "share":
            shown[label] = values.map(_pct)
        elif kind == "count":
            shown[label] = values.map(lambda v: None if _missing(v) else round(v))
        elif kind == "records":
            shown[label] = values.map(published)
        elif kind == "rag":
            shown[label], classes[label] = _shown(values), _classes(values)
        else:
            shown[label] = values.map(lambda v: "" if _missing(v) else v)
    return pd.DataFrame(shown), classes


def html(frame: pd.DataFrame) -> str:
    """The scorecard as one self-contained page (reports/page.py): the board summary, the
    feed × month grid of overall ratings, the detail, the thresholds and the definitions."""
    months = sorted(frame["month"].unique()) if not frame.empty else []
    summary = board(frame)
    body = [
        "<p class='note'>Every feed's every month judged by the four qualities of data the "
        f"Home Office guidance names ({_html.escape(GUIDANCE)}): precision, accuracy, "
        "completeness and currency, and by the hub's gate. Each is rated "
        "<span class='green'>green</span>, <span class='amber'>amber</span> or "
        "<span class='red'>red</span> by the thresholds at the end; a month overall by its "
        "worst. Figures only: no value of any record.</p>",
        "<h2>Board summary</h2>",
        "<p>Each feed's latest month, its rating and the quality holding it back; the feeds "
        "that hold the partnership back first.</p>",
    ]
    if summary.empty:
        body.append(page.table(summary))
    else:
        shown = summary.assign(overall=_shown(summary["overall"]),
                               **{"holding back": summary["holding back"].fillna("")})  # fmt: skip
        body.append(page.table(shown, classes={"overall": _classes(summary["overall"])}))
    body += ["<h2>Overall rating by feed and month</h2>"]
    if months:
        grid = frame.pivot(index="feed", columns="month", values="overall_rag")
        grid = grid.reindex(index=list(dict.fromkeys(frame["feed"])), columns=months)
        cells = grid.reset_index()
        body.append(page.table(
            cells.assign(**{m: _shown(cells[m]) for m in months}),
            classes={m: _classes(cells[m]) for m in months},
        ))  # fmt: skip
    detail, classes = _detail(frame)
    body += [
        "<h2>Detail</h2>",
        "<p>Shares are of the month's own records; n/a where the feed's contract carries "
        "nothing to measure (no postcode, no place named in words, no person identified) or "
        "the hub holds nothing for the month.</p>",
        # wide: it scrolls on its own rather than widening the page
        f"<div style='overflow-x:auto'>{page.table(detail, classes=classes)}</div>",
        "<h2>Thresholds</h2>",
        f"<p>A share is rated on the upper end of its 95% confidence interval (z = {Z}), and a "
        "count on the upper end of a Poisson interval, so that a month of a few records is not "
        "marked down for what chance alone explains. Usual means the median of the feed's "
        "other months. Currency is measured from the supplier's date_supplied, not the files' "
        "arrival time, which any copy resets.</p>",
        page.table(
            pd.DataFrame(THRESHOLDS, columns=["quality", "measure", "amber when", "red when"])
        ),  # fmt: skip
        "<h2>The four qualities</h2>",
        f"<p>As the hub applies them, after {_html.escape(GUIDANCE)}:</p><dl>",
        *(
            f"<dt><strong>{_html.escape(n)}</strong></dt><dd>{_html.escape(d)}</dd>"
            for n, d in DEFINITIONS
        ),  # fmt: skip
        "</dl>",
    ]
    span = f"{months[0]} to {months[-1]}" if months else "no months yet"
    feeds = frame["feed"].nunique() if not frame.empty else 0
    return page.page("Data quality scorecard", f"{feeds} feeds, {span}", body)
