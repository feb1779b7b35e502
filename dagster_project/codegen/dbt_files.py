"""The dbt files a feed contract implies (`hub dbt-files`), written from the contracts every
time: change the contract (or this generator), never the files.

- `dbt/models/staging/<agency>/_<agency>__sources.yml`: the agency's raw tables, their
  columns and meanings, and in each column's `meta` the concept, type, date format and value
  set it carries. Every agency's file declares its own tables of the one source `raw`.
- `dbt/models/staging/<agency>/stg_<agency>__<feed>.sql`: one model per feed, an explicit
  select: a line for each column staging makes, each a macro of `dbt/macros/` (or plain SQL)
  saying what is done to the delivered column.
- `dbt/models/staging/<agency>/_<agency>__models.yml`: those models' descriptions and tests.
- the dbt seed `value_set_codes.csv`: every agency code and the canonical value it stands for
  (the broadest, where a code covers several).
- the dbt seed `address_words.csv`: the post towns, street types and sub-building words staging
  cuts an address delivered on one line by (contracts/reference/addresses.yml).
- `_seeds.yml` in the dbt project's seeds folder: the two seeds' descriptions, for the
  catalogue (`make docs`).
- `dbt/models/intermediate/int_*.sql`: the common schemas (person records, place records,
  events and the people in them), one union over the feeds, built a month at a time.
"""

from __future__ import annotations

import csv
import io
import textwrap
from pathlib import Path

import yaml

from dagster_project.config import dbt_dir
from dagster_project.contracts.model import Contract, address_words, value_sets
from dagster_project.ingest.suites import date_format

GENERATED = (
    "# Written by `hub dbt-files` from dagster_project/contracts/feeds/*.yml; do not edit.\n"
)
GUIDANCE = "Home Office guidance, Information sharing for community safety"


def model_name(contract: Contract) -> str:
    return f"stg_{contract.agency}__{contract.name}"


SPLIT_PARTS = ("address_line1", "address_line2", "town")


def split_parts(contract: Contract, f) -> list[str]:
    """The parts staging cuts from an address delivered on one line: those the feed has no
    column of its own for (the postcode only where the line ends with one)."""
    if f.attribute != "address":
        return []
    delivered = {g.attribute for g in contract.fields_for(f.role)}
    parts = [p for p in SPLIT_PARTS if p not in delivered]
    if f.options.get("with_postcode") and "postcode" not in delivered:
        parts.append("postcode")
    return parts


def staged_attributes(contract: Contract, role: str) -> set[str]:
    """What staging holds of a role, `<role>_<attribute>`: the contract's attributes, a full
    name as its two parts, a postcode with its reason, and the parts of a one-line address."""
    attrs = {f.attribute for f in contract.fields_for(role)}
    for f in contract.fields_for(role):
        attrs |= set(split_parts(contract, f))
    if "full_name" in attrs:
        attrs |= {"first_name", "surname"}
    if "postcode" in attrs:
        attrs.add("postcode_reason")
    return attrs


def staged_name(f) -> str:
    return f.concept.replace("attr.", "").replace(".", "_")


def canonical(f) -> bool:
    """Whether a coded column's codes map to canonical values (else they are kept as given)."""
    return bool(f.value_set) and "maps" in value_sets()[f.value_set]


def agencies(contracts: dict[str, Contract]) -> dict[str, list[Contract]]:
    """Each agency's feeds, in the contracts' order."""
    out: dict[str, list[Contract]] = {}
    for c in contracts.values():
        out.setdefault(c.agency, []).append(c)
    return out


def _yaml(body: dict) -> str:
    return GENERATED + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=100)


def _column(contract: Contract, f) -> dict:
    meta = {"concept": f.concept, "type": f.type}
    if f.type == "date":
        meta["format"] = date_format(contract, f)
    if f.type == "time":
        meta["format"] = contract.file.time_format
    if f.value_set:
        meta["value_set"] = f.value_set
    if f.identifies:
        meta["identifies"] = f.identifies
    return {"name": f.name, "description": f.meaning, "meta": meta}


LINEAGE_DOCS = {  # the columns the archive adds to every delivered row (ingest/archive.py)
    "_supply_id": "The supply the row arrived in (ops.supply_register.supply_id).",
    "_source_file": "The supplied file, as <agency>/<feed>/<YYYY-MM>/<file name> in landing.",
    "_file_sha256": "The SHA-256 checksum of the supplied file.",
    "_row_number": "The row's number in the supplied file, from 1.",
    "_loaded_at": "When the supply was appended to the archive.",
    "_partition": "The month the supply is for, YYYY-MM: the archive's partition.",
}


def _lineage() -> list[dict]:
    # Imported here: the archive's imports come back to this module (rights/honour.py).
    from dagster_project.ingest.archive import LINEAGE

    return [{"name": name, "description": LINEAGE_DOCS[name]} for name in LINEAGE]


def sources(feeds: list[Contract]) -> str:
    """One agency's tables of source `raw` (dbt gathers the tables every file declares)."""
    tables = [{
        "name": c.name,
        "description": f"{c.dataset}, from {c.agency_name} ({GUIDANCE}, section {c.section}), "
                       "as delivered, with lineage.",
        "meta": {"agency": c.agency, "classification": c.classification,
                 "legal_basis": c.legal_basis, "retention": c.retention.text},
        "columns": [*(_column(c, f) for f in c.fields), *_lineage()],
    } for c in feeds]  # fmt: skip
    return _yaml({"version": 2, "sources": [{
        "name": "raw", "schema": "raw",
        "description": "The archive: each feed's monthly supplies, appended after the gate.",
        "tables": tables}]})  # fmt: skip


STAGING_DOCS = {  # the columns every staging model makes besides the contract's own
    "record_id": "The record's id: its supply id, '#', and its row number in the supplied file.",
    "record_key": "The record's key as the requests register names it (docs/rights.md): the "
    "contract's key columns, trimmed and joined by '|'.",
    "source_feed": "The feed the record was supplied in.",
    "supply_id": "The supply the record arrived in (ops.supply_register.supply_id).",
    "row_number": "The record's row number in the supplied file, from 1.",
    "period": "The month the supply is for, YYYY-MM.",
    "loaded_at": "When the supply was appended to the archive.",
    "rectified_by": "The requests that rectified a value of the record (docs/rights.md), joined "
    "by ','; NULL when none did.",
}
PARTS = {  # what staging cuts from a full name or an address delivered on one line
    "first_name": "The forename(s), upper-cased without accents or punctuation",
    "surname": "The surname, upper-cased without accents or punctuation",
    "address_line1": "The premises and street",
    "address_line2": "The locality",
    "town": "The post town, upper-cased",
    "postcode": "The postcode in the standard form ('OX4 1AB'), NULL when it is not a UK one",
}


def _typed(c: Contract, f) -> str:
    """What staging did to a delivered column it keeps under its concept's name (as _staged)."""
    if split_parts(c, f):
        return "as delivered on one line, trimmed; its parts are in the columns beside it"
    if f.attribute in ("first_name", "surname"):
        return "upper-cased without accents or punctuation"
    if f.attribute == "postcode":
        return "in the standard form ('OX4 1AB'); NULL when missing or not a UK postcode"
    if f.type == "date":
        return f"as a date (delivered as {date_format(c, f)}); NULL when it cannot be read"
    if f.type == "time":
        return f"as a time (delivered as {c.file.time_format}); NULL when it cannot be read"
    if f.type == "integer":
        return "as an integer; NULL when it is not one"
    if canonical(f):
        return f"the canonical value of value set {f.value_set} its code stands for"
    return "as delivered, trimmed; NULL when blank"


def _staged_doc(c: Contract, f, name: str) -> str:
    """The description of `name`, one of the columns staging makes of the delivered `f`."""
    what = f"{f.meaning} ({f.name})"
    if name == staged_name(f):
        return f"{what}, {_typed(c, f)}."
    if name.endswith("_reason"):
        return f"Why {name.removesuffix('_reason')} is NULL: 'missing' or 'not a UK postcode'."
    if name == f"{staged_name(f)}_code":
        return f"{what}: the code as delivered (value set {f.value_set})."
    # a part cut from a full name or from an address delivered on one line
    return f"{PARTS[name.removeprefix(f'{f.role}_')]}, cut from {what}."


def _staging_docs(c: Contract) -> list[dict]:
    """A description of every column of the feed's staging model, named as the model names
    them (so a column the model gains without one fails here, not in the catalogue)."""
    fields = {_as(line): f for f in c.fields for line in _staged(c, f)}
    columns = []
    for name in map(_as, _staging_columns(c)):
        doc = _staged_doc(c, fields[name], name) if name in fields else STAGING_DOCS[name]
        columns.append({"name": name, "description": doc})
    columns[0]["data_tests"] = ["unique", "not_null"]  # record_id
    return columns


def staging_docs(feeds: list[Contract]) -> str:
    models = [{
        "name": model_name(c),
        "description": f"{c.dataset} ({c.agency_name}), one row per delivered record: typed, "
                       "named by concept, names upper-cased without punctuation, postcodes in "
                       "the standard form (or NULL with a reason), codes beside their canonical "
                       "values, an address delivered on one line also cut into its parts.",
        "meta": {"classification": c.classification, "contract": f"{c.name}.yml"},
        "columns": _staging_docs(c),
    } for c in feeds]  # fmt: skip
    return _yaml({"version": 2, "models": models})


INCREMENTAL = (
    "{{ config(materialized='incremental', incremental_strategy='replace_months',\n"
    "          on_schema_change='fail') }}\n"
    "{%- set in_months = months_to_build() %}\n"
)
HEADER = "-- Written by `hub dbt-files` from the feed contracts; do not edit.\n"
IN_MONTHS = "{{ in_months }}"
PERIODS = "{{ ref('int_periods') }}"


def _select(c: Contract, columns: list[tuple[str, str]], where: str) -> str:
    """One feed's part of a generated union: `expression as name` for each column."""
    body = ",\n".join(
        f"    {expr} as {name}" if expr != name else f"    {name}" for name, expr in columns
    )
    return f"select\n{body}\nfrom {{{{ ref('{model_name(c)}') }}}}\nwhere {where}"


def _union(selects: list[str]) -> str:
    return "\n\n    union all\n\n".join(
        "\n".join(f"    {line}" if line else line for line in s.splitlines()) for s in selects
    )


def _incremental(comment: str, name: str, selects: list[str], final: str) -> str:
    """A model built a month at a time: the union of the feeds' selects, for the months whose
    supplies changed since it was last built (every month on a full build)."""
    return (
        f"{INCREMENTAL}{HEADER}{comment}\n\nwith\n\n"
        f"{name} as (\n\n{_union(selects)}\n\n)\n\n{final}\n"
    )


def _with_fingerprint(name: str) -> str:
    return (
        f"select\n    {name}.*,\n    months.supplies as period_supplies\nfrom {name}\n"
        f"inner join {PERIODS} as months on {name}.period = months.period"
    )


def _one_line(role: str, attrs: set[str]) -> str:
    """A role's address on one line: its parts joined, or the line as delivered."""
    lines = [f"{role}_{a}" for a in SPLIT_PARTS if a in attrs]
    if lines:
        return "nullif(concat_ws(', ', " + ", ".join(lines) + "), '')"
    return f"{role}_address" if "address" in attrs else "null::varchar"


PERSON_COLUMNS = {  # common schema column: (staging attribute, type)
    "agency_ref": ("ref", "varchar"),
    "forename": ("first_name", "varchar"),
    "surname": ("surname", "varchar"),
    "date_of_birth": ("dob", "date"),
    "age": ("age", "integer"),
    "sex": ("sex", "varchar"),
    "ethnicity": ("ethnicity", "varchar"),
    "address": (None, "varchar"),
    "address_line1": ("address_line1", "varchar"),
    "locality": ("address_line2", "varchar"),
    "town": ("town", "varchar"),
    "postcode": ("postcode", "varchar"),
    "postcode_reason": ("postcode_reason", "varchar"),
    "easting": ("easting", "integer"),
    "northing": ("northing", "integer"),
}


def _person_select(c: Contract, role: str) -> str:
    attrs = staged_attributes(c, role)
    # the record names this person when any of their columns holds a value
    staged = [
        f"{role}_{'surname' if f.attribute == 'full_name' else f.attribute}"
        for f in c.fields_for(role)
    ]
    present = " or ".join(f"{col} is not null" for col in staged)
    cols = [
        (out, _one_line(role, attrs) if attr is None
         else f"{role}_{attr}" if attr in attrs else f"null::{kind}")
        for out, (attr, kind) in PERSON_COLUMNS.items()
    ]  # fmt: skip
    head = [
        ("person_record_id", f"record_id || ':{role}'"),
        ("record_id", "record_id"),
        ("source_feed", "source_feed"),
        ("agency", f"'{c.agency}'"),
        ("role", f"'{role}'"),
    ]
    return _select(c, [*head, *cols, ("period", "period")], f"({present}) and {IN_MONTHS}")


def person_records(contracts: dict[str, Contract]) -> str:
    selects = [_person_select(c, role) for c in contracts.values() for role in c.roles]
    return _incremental(
        "-- One row per person named in any record of any feed: the common schema the\n"
        "-- person spine links.",
        "mentions",
        selects,
        _with_fingerprint("mentions"),
    )


PLACE_COLUMNS = ("address_line1", "locality", "street", "town", "postcode", "easting", "northing")
STAGED_PLACE = {"locality": "address_line2"}


def _place_present(c: Contract, role: str) -> str | None:
    """SQL true when a record holds something of a role's place; None when it never can."""
    attrs = {f.attribute for f in c.fields_for(role)} & ADDRESS_LIKE
    return " or ".join(f"{role}_{a} is not null" for a in sorted(attrs)) or None


def _place_select(c: Contract, role: str) -> str:
    """A place mention: the event's location, or the home address of a person in it."""
    attrs = staged_attributes(c, role)
    if role == "location" and not attrs & {"address", *SPLIT_PARTS}:
        text = next((f"{role}_{a}" for a in ("description", "name") if a in attrs), "null::varchar")
    else:
        text = _one_line(role, attrs)
    kind = "event location" if role == "location" else f"home of {role}"
    cols = {"address": text}
    for a in PLACE_COLUMNS:
        staged = STAGED_PLACE.get(a, a)
        cols[a] = (
            f"{role}_{staged}"
            if staged in attrs
            else ("null::integer" if a in ("easting", "northing") else "null::varchar")
        )
    cols["postcode_reason"] = f"{role}_postcode_reason" if "postcode" in attrs else "null::varchar"
    head = [
        ("place_record_id", f"record_id || ':{role}'"),
        ("record_id", "record_id"),
        ("source_feed", "source_feed"),
        ("kind", f"'{kind}'"),
    ]
    where = f"({_place_present(c, role)}) and {IN_MONTHS}"
    return _select(c, [*head, *cols.items(), ("period", "period")], where)


ADDRESS_LIKE = {
    "address",
    "description",
    "name",
    "address_line1",
    "address_line2",
    "street",
    "town",
    "postcode",
    "easting",
    "northing",
}


def place_records(contracts: dict[str, Contract]) -> str:
    selects = [
        _place_select(c, role)
        for c in contracts.values()
        for role in (["location"] if c.fields_for("location") else []) + c.roles
        if _place_present(c, role)
    ]
    return _incremental(
        "-- One row per address or location mention in any feed: the common schema the\n"
        "-- place spine matches to UPRNs.",
        "mentions",
        selects,
        _with_fingerprint("mentions"),
    )


def _event_id(c: Contract) -> str:
    """SQL for the event a record belongs to: a child feed's record belongs to its parent's
    event (the same reference in the same month's extract), any other record is one."""
    if c.parent:
        ref = next(f for f in c.fields if f.concept == "event.ref")
        return f"'{c.parent}:' || period || ':' || {staged_name(ref)}"
    by_name = {f.name: f for f in c.fields}
    key = " || '|' || ".join(staged_name(by_name[k]) for k in c.key)
    # a record without its key (an optional reference left blank) is still an event
    return f"'{c.name}:' || period || ':' || coalesce({key}, record_id)"


def _event_select(c: Contract) -> str:
    concepts = {f.concept for f in c.fields}

    def event(attr: str, kind: str) -> str:
        return f"event_{attr}" if f"event.{attr}" in concepts else f"null::{kind}"

    location = _place_present(c, "location")
    columns = [
        ("event_id", _event_id(c)),
        ("source_feed", "source_feed"),
        ("agency", f"'{c.agency}'"),
        ("record_id", "record_id"),
        ("event_ref", event("ref", "varchar")),
        ("event_type", "'" + str(c.event_type).replace("'", "''") + "'"),
        ("category", event("type", "varchar")),
        ("event_date", event("date", "date")),
        ("event_time", event("time", "time")),
        (
            "place_record_id",
            f"case when {location} then record_id || ':location' end"
            if location
            else "null::varchar",
        ),
        ("period", "period"),
        ("row_number", "row_number"),
    ]
    return _select(c, columns, IN_MONTHS)


EVENT_COLUMNS = (
    "event_id",
    "source_feed",
    "agency",
    "record_id",
    "event_ref",
    "event_type",
    "category",
    "event_date",
    "event_time",
    "place_record_id",
    "period",
)


def events(contracts: dict[str, Contract]) -> str:
    selects = [_event_select(c) for c in contracts.values() if not c.parent]
    columns = ",\n".join(f"    records.{col}" for col in EVENT_COLUMNS)
    final = (
        f"select\n{columns},\n    months.supplies as period_supplies\nfrom records\n"
        f"inner join {PERIODS} as months on records.period = months.period\n"
        "-- a record supplied twice, byte for byte, is one event\n"
        "qualify row_number() over (partition by records.event_id order by records.row_number) = 1"
    )
    return _incremental(
        "-- One row per event (crime, incident, assessment, attendance ...) of any feed; a child\n"
        "-- feed's records (the victims of a crime) belong to their parent's event.",
        "records",
        selects,
        final,
    )


def event_people(contracts: dict[str, Contract]) -> str:
    selects = [
        _select(c, [("record_id", "record_id"), ("event_id", _event_id(c))], IN_MONTHS)
        for c in contracts.values()
        if c.roles
    ]
    final = (
        "select\n"
        "    record_events.event_id,\n"
        "    people.person_record_id,\n"
        "    people.role,\n"
        "    people.source_feed,\n"
        "    people.period,\n"
        "    months.supplies as period_supplies\n"
        "from {{ ref('int_person_records') }} as people\n"
        "inner join record_events on people.record_id = record_events.record_id\n"
        "-- a child record whose parent record has not arrived belongs to no event (yet)\n"
        "inner join {{ ref('int_events') }} as events on record_events.event_id = events.event_id\n"
        f"inner join {PERIODS} as months on people.period = months.period"
    )
    return _incremental(
        "-- Who took part in each event, in what role: one row per person record of\n"
        "-- int_person_records that belongs to an event of int_events.",
        "record_events",
        selects,
        final,
    )


def periods(contracts: dict[str, Contract]) -> str:
    selects = [
        "select\n    period,\n    supply_id,\n    count(*) as records,\n"
        "    bit_xor(hash(record_key)) as record_keys,\n"
        "    string_agg(distinct rectified_by, ',' order by rectified_by) as rectified_by\n"
        f"from {{{{ ref('{model_name(c)}') }}}}\ngroup by period, supply_id"
        for c in contracts.values()
    ]
    return (
        "{{ config(materialized='view') }}\n"
        f"{HEADER}"
        "-- One row per month the archive holds, with a fingerprint of every supply in it: an\n"
        "-- incremental build redoes the months whose fingerprint is not the one they were built\n"
        "-- from (a supply arrived, was replaced or withdrawn, or its records were erased,\n"
        "-- restricted, rectified or destroyed).\n\n"
        f"with\n\nsupplies as (\n\n{_union(selects)}\n\n)\n\n"
        "select\n    period,\n    md5(string_agg(\n"
        "        supply_id || ':' || records || ':' || record_keys || ':'\n"
        "        || coalesce(rectified_by, ''), ','\n"
        "        order by supply_id\n    )) as supplies\n"
        "from supplies\ngroup by period\n"
    )


def value_set_codes() -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["value_set", "code", "canonical", "label", "grouping"])
    for name, vs in value_sets().items():
        for v in vs["values"]:
            # A code standing for several canonical values (police W9: Gypsy or Irish
            # Traveller, Roma, Other White) maps to the broadest, which each list puts last.
            canonical = v.get("from", [""])[-1] if "maps" in vs else v["code"]
            writer.writerow([name, v["code"], canonical, v.get("label", ""), v.get("group", "")])
    return out.getvalue()


def address_words_seed() -> str:
    """The words an address delivered on one line is cut by: post towns, the words that end a
    street name (each abbreviation beside the word it stands for), the words that open a
    sub-building."""
    words = address_words()
    rows = [("post_town", w, "") for w in words["post_towns"]]
    for full, short in words["street_types"].items():
        rows += [("street_type", full, ""), *(("street_type", s, full) for s in short)]
    rows += [("sub_building", w, "") for w in words["sub_buildings"]]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["kind", "word", "stands_for"])
    writer.writerows(rows)
    return out.getvalue()


def seed_docs() -> str:
    """The seeds' descriptions: the seeds are written here, so their documentation is too."""
    value_set_codes = {
        "name": "value_set_codes",
        "description": "Every code of every value set the feed contracts use "
        "(dagster_project/contracts/reference/value_sets.yml), with the canonical value it "
        "stands for: staging puts the canonical value beside each delivered code.",
        "columns": [
            {"name": "value_set", "description": "The value set the code belongs to."},
            {"name": "code", "description": "A code as agencies deliver it."},
            {"name": "canonical", "description": "The canonical value the code stands for (the "
             "broadest, where it covers several); the code itself where the value set is not "
             "mapped to canonical values."},
            {"name": "label", "description": "What the code means; empty when the value set "
             "gives no label."},
            {"name": "grouping", "description": "The group the code falls in, where the value "
             "set groups its codes; empty otherwise."},
        ],
    }  # fmt: skip
    address_words = {
        "name": "address_words",
        "description": "The words staging cuts an address delivered on one line by "
        "(dagster_project/contracts/reference/addresses.yml): post towns, the words that end "
        "a street name with their abbreviations, and the words that open a sub-building.",
        "columns": [
            {"name": "kind", "description": "'post_town', 'street_type' or 'sub_building'."},
            {"name": "word", "description": "The word, as addresses write it."},
            {"name": "stands_for", "description": "For an abbreviated street type ('Rd'), the "
             "word it stands for ('Road'); empty otherwise."},
        ],
    }  # fmt: skip
    return _yaml({"version": 2, "seeds": [value_set_codes, address_words]})


def _literal(text: str) -> str:
    """A Jinja string literal holding a column name or a format (which never hold a quote)."""
    if any(ch in text for ch in "'\"\\"):
        raise ValueError(f"{text!r}: staging cannot quote a column name or format holding a quote")
    return f"'{text}'"


def _macro(name: str, *args: str) -> str:
    """A dbt macro call: {{ name(args) }}."""
    return "{{ " + f"{name}({', '.join(args)})" + " }}"


def _staged(c: Contract, f) -> list[str]:
    """What staging makes of one delivered column: `expression as name`, one line each."""
    column = f'"{f.name}"'  # the delivered column in SQL,
    arg = f"'{column}'"  # and as a macro's argument: '"DOB"'
    out, role, attribute = staged_name(f), f.role, f.attribute
    if attribute == "full_name":  # "SURNAME, Forename" or "Forename Surname"
        form = f.options.get("name_format", "forename_first")
        parts = ("surname", "first_name") if form == "surname_first" else ("first_name", "surname")
        return [f"{_macro('split_name', arg, _literal(p), _literal(form))} as {role}_{p}"
                for p in parts]  # fmt: skip
    if split_parts(c, f):  # the line as delivered, then the parts the feed has no column for
        lines = [f"nullif(trim({column}), '') as {out}"]
        for part in split_parts(c, f):
            lines.append(
                f"{_macro('address_part', _literal(f.name), _literal(part))} as {role}_{part}"
            )
            if part == "postcode":
                reason = _macro("address_part", _literal(f.name), "'postcode_reason'")
                lines.append(f"{reason} as {role}_postcode_reason")
        return lines
    if attribute in ("first_name", "surname"):
        return [f"{_macro('clean_name', arg)} as {out}"]
    if attribute == "postcode":
        return [f"{_macro('clean_postcode', arg)} as {out}",
                f"{_macro('postcode_reason', arg)} as {out}_reason"]  # fmt: skip
    if f.type == "date":
        return [f"{_macro('parse_date', arg, _literal(date_format(c, f)))} as {out}"]
    if f.type == "time":
        return [f"{_macro('parse_time', arg, _literal(c.file.time_format))} as {out}"]
    if f.type == "integer":
        return [f"try_cast({column} as integer) as {out}"]
    if canonical(f):
        return [f"{_macro('canonical_code', arg, _literal(f.value_set))} as {out}",
                f"{column} as {out}_code"]  # fmt: skip
    return [f"nullif(trim({column}), '') as {out}"]


def _cte(name: str, lines: list[str]) -> str:
    body = "\n".join(f"    {line}" if line else line for line in lines)
    return f"{name} as (\n\n{body}\n\n)"


def _select_from(items: list[str], relation: str) -> list[str]:
    return [
        "select",
        *(f"    {item}," for item in items[:-1]),
        f"    {items[-1]}",
        f"from {relation}",
    ]


def _staging_columns(c: Contract) -> list[str]:
    """The staging model's select list, `expression as name` (or a bare name) a line each."""
    return [
        "_supply_id || '#' || _row_number as record_id",
        "record_key",
        f"'{c.name}' as source_feed",
        *(line for f in c.fields for line in _staged(c, f)),
        "_supply_id as supply_id",
        "_row_number as row_number",
        "_partition as period",
        "_loaded_at as loaded_at",
        "rectified_by",
    ]


def _as(line: str) -> str:
    """The name a select line gives its column."""
    return line.rsplit(" as ", 1)[-1]


def staging_model(c: Contract) -> str:
    """A feed's staging model: the raw table, each address delivered on one line cut into
    steps, then every column typed, named by its concept and standardised, a line each.
    Staging drops only the records the requests register withholds."""
    for f in c.fields:
        _literal(f.name)  # refuses a name that cannot be quoted
    delivered = [f"{c.record_key_sql} as record_key", "*"]
    ctes = [
        _cte("delivered", _select_from(delivered, f"{{{{ source('raw', {_literal(c.name)}) }}}}")),
        _cte("source", [
            "-- the requests register (docs/rights.md): records erased or restricted left out,",
            "-- rectified values in place of those delivered",
            _macro("honour_rights", _literal(c.name)),
        ]),
    ]  # fmt: skip
    one_line = [f for f in c.fields if split_parts(c, f)]
    if one_line:
        steps = [
            _macro("address_steps", _literal(f.name),
                   *(["with_postcode=true"] if "postcode" in split_parts(c, f) else []))
            for f in one_line
        ]  # fmt: skip
        comment = "-- each address delivered on one line, cut into its parts step by step"
        ctes.append(_cte("split", [comment, *_select_from([*steps, "*"], "source")]))
    columns = _staging_columns(c)
    ctes.append(_cte("staged", _select_from(columns, "split" if one_line else "source")))
    about = textwrap.fill(
        f"{c.dataset}, from {c.agency_name}: one row per delivered record, each column typed, "
        "named by the concept it carries and standardised.",
        width=97, initial_indent="-- ", subsequent_indent="-- ",
    )  # fmt: skip
    return (
        f"-- Written by `hub dbt-files` from the feed contract {c.name}.yml; do not edit.\n"
        f"{about}\n\nwith\n\n" + ",\n\n".join(ctes) + "\n\nselect * from staged\n"
    )


def write_all(
    contracts: dict[str, Contract], directory: Path | None = None, check: bool = False
) -> list[str]:
    """Write what differs; returns the files changed (or that would be, with check)."""
    d = directory or dbt_dir()
    staging = d / "models" / "staging"
    wanted = {
        d / "seeds" / "value_set_codes.csv": value_set_codes(),
        d / "seeds" / "address_words.csv": address_words_seed(),
        d / "seeds" / "_seeds.yml": seed_docs(),
        d / "models" / "intermediate" / "int_periods.sql": periods(contracts),
        d / "models" / "intermediate" / "int_person_records.sql": person_records(contracts),
        d / "models" / "intermediate" / "int_place_records.sql": place_records(contracts),
        d / "models" / "intermediate" / "int_events.sql": events(contracts),
        d / "models" / "intermediate" / "int_event_people.sql": event_people(contracts),
    }
    for agency, feeds in agencies(contracts).items():
        wanted[staging / agency / f"_{agency}__sources.yml"] = sources(feeds)
        wanted[staging / agency / f"_{agency}__models.yml"] = staging_docs(feeds)
        for c in feeds:
            wanted[staging / agency / f"{model_name(c)}.sql"] = staging_model(c)
    changed = []
    for path, text in wanted.items():
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        changed.append(str(path.relative_to(d)))
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    return changed
