"""Feed contracts: one YAML file per feed in `contracts/feeds/`, the single declaration that
every stage reads (the synthetic region, ingest, the expectation suites, staging, docs).

A contract says who supplies the feed, how the file is written (format, delimiter, encoding,
date format), and for every column: its type, what it means, which concept it carries
(`offender.surname`, `event.date`, `location.postcode` ...), which minimum-dataset item of the
Home Office guidance (Information sharing for community safety, section 3.2) it satisfies,
and its value set.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

FIELD_TYPES = {"string", "integer", "decimal", "date", "time", "code", "flag"}
CLASSIFICATIONS = {"personal", "sensitive personal", "depersonalised"}
FILE_FORMATS = {"csv", "xlsx"}
# What a concept's first part names: a person in a role, the event's place, or the event.
PERSON_ATTRIBUTES = {
    "ref",
    "first_name",
    "surname",
    "full_name",
    "dob",
    "age",
    "sex",
    "ethnicity",
    "occupation",
    "address",
    "address_line1",
    "address_line2",
    "town",
    "postcode",
    "easting",
    "northing",
}
LOCATION_ATTRIBUTES = {
    "address",
    "description",
    "name",
    "street",
    "town",
    "postcode",
    "easting",
    "northing",
}
EVENT_ATTRIBUTES = {"ref", "date", "time", "date_to", "time_to", "type"}


class ContractError(ValueError):
    """A contract file that cannot be used; the message names the file and the reason."""


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    concept: str
    meaning: str
    guidance: str | None = None
    identifies: str | None = None  # person | place | event
    value_set: str | None = None
    format: str | None = None  # date or time format, when it differs from the file's
    required: bool = False
    # A date column's plausible bounds: a date, `month_end` (the last day of the supply's
    # month) or another date column of the feed (see `plausible`).
    not_before: str | None = None
    not_after: str | None = None
    options: dict[str, Any] = field(default_factory=dict)  # concept-specific settings

    @property
    def role(self) -> str:
        return self.concept.split(".", 1)[0]

    @property
    def attribute(self) -> str:
        return self.concept.split(".", 1)[1] if "." in self.concept else ""


EARLIEST = "1900-01-01"  # no one the hub records was born before it
MONTH_END = "month_end"


def plausible(contract: Contract, f: Field) -> tuple[str | None, str | None]:
    """A date column's bounds (not before, not after), as the contract declares them. A date
    of birth is by default not before 1900 and not after the event (a feed without an event
    date: the end of the supply's month), so one after the event, or in the future, is
    refused rather than staged."""
    if f.type != "date" or f.attribute != "dob":
        return f.not_before, f.not_after
    event = next((g.name for g in contract.fields if g.concept == "event.date"), MONTH_END)
    return f.not_before or EARLIEST, f.not_after or event


RETENTION_FROM = ("event", "financial_year_end")  # or the name of a date column of the feed


@dataclass(frozen=True)
class Retention:
    """How long the hub keeps a record (the Data Protection Act's fifth principle), as the
    contract states it (`text`) and as the hub applies it: `years` after the date it counts
    from (`counts_from`: the record's month, the end of the financial year of that month, or a
    date column such as the release date, the record's month where that is blank), and at
    least until the person it names is `until_age` (from their date of birth). A record with
    no date to count from is kept, and counted as undated."""

    text: str
    years: int | None = None
    counts_from: str = "event"
    until_age: int | None = None
    note: str | None = None


@dataclass(frozen=True)
class FileSpec:
    format: str
    name: str  # pattern with {period} (YYYY-MM) and {yyyymm}
    delimiter: str = ","
    encoding: str = "utf-8"
    date_format: str = "%Y-%m-%d"
    time_format: str = "%H:%M"
    sheet: str | None = None
    # Bounds on reading one month's file: beyond them it is refused, not read on for ever (a
    # workbook's rows and cells are the writer's claim). Columns are bounded by the contract's.
    max_records: int = 200_000
    read_seconds: float = 300

    def filename(self, period: str) -> str:
        return self.name.format(period=period, yyyymm=period.replace("-", ""))


@dataclass(frozen=True)
class Contract:
    name: str
    agency: str
    agency_name: str
    dataset: str
    section: str
    description: str
    classification: str
    guidance_classification: str
    legal_basis: str
    retention: Retention
    delivery_day: int
    supplier: dict[str, str]
    file: FileSpec
    key: tuple[str, ...]  # the columns that identify a record within a supply
    fields: tuple[Field, ...]
    caveats: tuple[str, ...] = ()
    event_type: str | None = None  # what one record is (crime, incident ...); None in a child feed
    synthetic: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def record_key_sql(self) -> str:
        """A record's key as SQL over its delivered columns: the `key` values, trimmed, joined
        by `|`, as `hub rights --record` names a record and staging's `record_key` holds it (a
        part that is missing is empty, so every key has all its parts)."""
        parts = ", ".join(f"coalesce(trim(\"{name}\"), '')" for name in self.key)
        return f"concat_ws('|', {parts})"

    def fields_for(self, role: str) -> list[Field]:
        return [f for f in self.fields if f.role == role]

    @property
    def parent(self) -> str | None:
        """The feed whose records this one's rows belong to (the victims of a recorded crime
        name the crime by its reference), or None when each record is an event of its own."""
        return next((f.options["refers_to"] for f in self.fields if "refers_to" in f.options), None)

    @property
    def roles(self) -> list[str]:
        """Roles of the people a record names, in column order (offender, victim, ...)."""
        seen: dict[str, None] = {}
        for f in self.fields:
            if f.role not in ("location", "event", "attr"):
                seen.setdefault(f.role)
        return list(seen)

    def landing_dir(self, landing: Path, period: str) -> Path:
        return landing / self.agency / self.name / period


def _field(raw: dict[str, Any], where: str) -> Field:
    known = {
        "name",
        "type",
        "concept",
        "meaning",
        "guidance",
        "identifies",
        "value_set",
        "format",
        "required",
        "not_before",
        "not_after",
    }
    missing = {"name", "type", "concept", "meaning"} - raw.keys()
    if missing:
        raise ContractError(f"{where}: field {raw.get('name', '?')} lacks {sorted(missing)}")
    if raw["type"] not in FIELD_TYPES:
        raise ContractError(f"{where}: field {raw['name']} has unknown type {raw['type']!r}")
    return Field(
        # YAML reads 1900-01-01 as a date; a bound is kept as its ISO text
        **{k: str(raw[k]) if k.startswith("not_") else raw[k] for k in known if k in raw},
        options={k: v for k, v in raw.items() if k not in known},
    )


def _retention(raw: Any, where: str) -> Retention:
    if not isinstance(raw, dict) or not raw.get("text"):
        raise ContractError(
            f"{where}: retention needs its text and its rule (years, from, until_age)"
        )
    unknown = set(raw) - {"text", "years", "from", "until_age", "note"}
    if unknown:
        raise ContractError(f"{where}: retention has unknown keys {sorted(unknown)}")
    rule = Retention(raw["text"], raw.get("years"), raw.get("from", "event"), raw.get("until_age"),
                     raw.get("note"))  # fmt: skip
    if rule.years is None and rule.until_age is None:
        raise ContractError(f"{where}: retention needs years, until_age or both")
    return rule


def parse_contract(raw: dict[str, Any], path: Path | None = None) -> Contract:
    where = str(path or raw.get("name", "contract"))
    try:
        fields = tuple(_field(f, where) for f in raw["fields"])
        contract = Contract(
            name=raw["name"],
            agency=raw["agency"],
            agency_name=raw["agency_name"],
            dataset=raw["dataset"],
            section=str(raw["section"]),
            description=raw["description"].strip(),
            classification=raw["classification"],
            guidance_classification=raw["guidance_classification"],
            legal_basis=raw["legal_basis"].strip(),
            retention=_retention(raw["retention"], where),
            delivery_day=int(raw["delivery_day"]),
            supplier=raw["supplier"],
            file=FileSpec(**raw["file"]),
            key=tuple(raw["key"]),
            fields=fields,
            caveats=tuple(raw.get("caveats", ())),
            event_type=raw.get("event_type"),
            synthetic=raw.get("synthetic", {}),
            path=path,
        )
    except KeyError as e:
        raise ContractError(f"{where}: missing key {e}") from e
    except TypeError as e:
        raise ContractError(f"{where}: {e}") from e
    _validate(contract, where)
    return contract


def _validate(c: Contract, where: str) -> None:
    names = c.columns
    if len(set(names)) != len(names):
        raise ContractError(f"{where}: duplicate column names")
    if not c.key or set(c.key) - set(names):
        raise ContractError(f"{where}: key {list(c.key)} must name columns of the feed")
    if c.file.format not in FILE_FORMATS:
        raise ContractError(f"{where}: unknown file format {c.file.format!r}")
    if c.classification not in CLASSIFICATIONS:
        raise ContractError(f"{where}: unknown classification {c.classification!r}")
    sets = value_sets()
    for f in c.fields:
        allowed = {"event": EVENT_ATTRIBUTES, "location": LOCATION_ATTRIBUTES}.get(
            f.role, None if f.role == "attr" else PERSON_ATTRIBUTES
        )
        if allowed is not None and f.attribute not in allowed:
            raise ContractError(f"{where}: field {f.name} has unknown concept {f.concept!r}")
        if f.value_set and f.value_set not in sets:
            raise ContractError(f"{where}: field {f.name} uses unknown value set {f.value_set}")
        if f.type == "code" and not f.value_set:
            raise ContractError(f"{where}: code field {f.name} needs a value_set")
        if "refers_to" in f.options and f.concept != "event.ref":
            raise ContractError(f"{where}: only the event reference can refer to another feed")
    dates = {f.name for f in c.fields if f.type == "date"}
    for f in c.fields:
        for bound in (f.not_before, f.not_after):
            if bound is None:
                continue
            if f.type != "date":
                raise ContractError(f"{where}: field {f.name}: only a date column has bounds")
            if bound not in dates - {f.name} and bound != MONTH_END and not _is_date(bound):
                raise ContractError(
                    f"{where}: field {f.name}: bound {bound!r} is neither a date (YYYY-MM-DD), "
                    f"{MONTH_END}, nor another date column of the feed"
                )
    if c.retention.counts_from not in (*RETENTION_FROM, *dates):
        raise ContractError(
            f"{where}: retention counts from {c.retention.counts_from!r}: neither "
            f"{' nor '.join(RETENTION_FROM)} nor a date column of the feed"
        )
    if c.retention.until_age and not any(f.attribute == "dob" for f in c.fields):
        raise ContractError(f"{where}: retention until_age needs a date of birth column")
    if bool(c.event_type) == bool(c.parent):
        raise ContractError(
            f"{where}: a feed has an event_type, or an event reference that refers_to its parent"
        )


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _validate_parents(contracts: dict[str, Contract]) -> None:
    """A child feed's reference must name a feed whose records are keyed by that reference."""
    for c in contracts.values():
        parent = contracts.get(c.parent) if c.parent else None
        if c.parent and (
            parent is None
            or len(parent.key) != 1
            or parent.key[0] not in [f.name for f in parent.fields if f.concept == "event.ref"]
        ):
            raise ContractError(
                f"{c.path or c.name}: refers_to {c.parent!r}, which is not a feed keyed by its "
                "event reference"
            )


def _package_dir(name: str) -> Path:
    return Path(str(resources.files("dagster_project.contracts") / name))


@functools.cache
def address_words() -> dict[str, Any]:
    """Post towns and street types, for splitting addresses delivered on one line."""
    with open(_package_dir("reference") / "addresses.yml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@functools.cache
def value_sets() -> dict[str, dict[str, Any]]:
    with open(_package_dir("reference") / "value_sets.yml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@functools.cache
def nicknames() -> dict[str, list[str]]:
    """Formal first name -> its informal forms (reference/nicknames.yml)."""
    with open(_package_dir("reference") / "nicknames.yml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)["nicknames"]


def codes(value_set: str) -> list[str]:
    return [str(v["code"]) for v in value_sets()[value_set]["values"]]


@functools.cache
def load_contracts(directory: Path | None = None) -> dict[str, Contract]:
    """Every feed contract, by feed name, in a stable order."""
    directory = directory or _package_dir("feeds")
    contracts: dict[str, Contract] = {}
    for path in sorted(directory.glob("*.yml")):
        with open(path, encoding="utf-8") as fh:
            c = parse_contract(yaml.safe_load(fh), path)
        if c.name != path.stem:
            raise ContractError(f"{path}: feed name {c.name!r} differs from the file name")
        contracts[c.name] = c
    _validate_parents(contracts)
    return contracts
