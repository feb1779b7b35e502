"""The requests register: every erasure, restriction, lift and rectification a data subject
(or the partnership for them) has asked for, one JSON line each in `data/rights/requests.jsonl`,
appended and never rewritten. Every stage honours what it says through `active` (honour.py
turns it into the tables staging reads).

A request names a person ID of the spine, or one source record: its feed and its record key
(the values of the contract's `key` columns as delivered, joined by `|`)."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

ACTIONS = ("erase", "restrict", "lift", "rectify")
PERSON_ID = re.compile(r"^P[0-9]{1,12}$")
# What a rectification of a person may correct: the attribute of the concept each feed's column
# carries (victim.dob, client.dob ...), so one request reaches every record of theirs.
PERSON_FIELDS = ("dob", "surname", "first_name", "sex", "postcode", "address")


class RequestError(ValueError):
    """A request that cannot be registered; the message says which part and why."""


@dataclass(frozen=True)
class Request:
    id: str
    action: str
    reason: str
    user: str
    at: str  # UTC, ISO 8601
    person: str | None = None
    feed: str | None = None
    record: str | None = None
    field: str | None = None  # rectify: the column (a record) or the attribute (a person)
    value: str | None = None  # rectify: the corrected value (a date as YYYY-MM-DD)
    lifts: str | None = None  # lift: the restriction it ends

    @property
    def target(self) -> str:
        return f"person {self.person}" if self.person else f"{self.feed} record {self.record}"


def check(request: Request, feeds: dict) -> None:
    """Refuse a request that names nothing, or names it wrongly (`feeds`: the contracts)."""
    if request.action not in ACTIONS:
        raise RequestError(f"unknown action {request.action!r}: one of {', '.join(ACTIONS)}")
    if not request.reason.strip():
        raise RequestError("a request needs its reason (--reason)")
    if request.action == "lift":
        return
    if bool(request.person) == bool(request.feed or request.record):
        raise RequestError("name a person (--person) or a record (--feed and --record), not both")
    if request.person and not PERSON_ID.match(request.person):
        raise RequestError(f"{request.person!r} is not a person ID of the spine (P and digits)")
    if not request.person:
        if request.feed not in feeds:
            raise RequestError(f"{request.feed!r} is not a feed of the hub")
        if not request.record:
            raise RequestError("name the record by its key (--record), the key columns joined by |")
        parts = request.record.split("|")
        if len(parts) != len(feeds[request.feed].key):
            raise RequestError(
                f"a {request.feed} record key has {len(feeds[request.feed].key)} part(s): "
                + "|".join(feeds[request.feed].key)
            )
    if request.action == "rectify":
        if not request.field or request.value is None:
            raise RequestError("a rectification needs --field and --value")
        if request.feed and request.field in feeds[request.feed].key:
            raise RequestError(f"{request.field} is part of the record's key: a record is found "
                               "by its key, so the agency corrects it in a new supply")  # fmt: skip
        allowed = PERSON_FIELDS if request.person else feeds[request.feed].columns
        if request.field not in allowed:
            raise RequestError(
                f"{request.field!r} cannot be rectified here: one of " + ", ".join(allowed)
            )
        if request.field == "dob" or _is_date(feeds.get(request.feed), request.field):
            try:
                dt.date.fromisoformat(request.value)
            except ValueError:
                raise RequestError(f"{request.value!r} is not a date (YYYY-MM-DD)") from None


def _is_date(contract, column: str) -> bool:
    return bool(contract) and any(f.name == column and f.type == "date" for f in contract.fields)


class Register:
    """The register file at `path`; appends are serialised across processes by a lock."""

    def __init__(self, path: Path):
        self.path = path

    def requests(self) -> list[Request]:
        if not self.path.exists():
            return []
        with open(self.path, encoding="utf-8") as f:
            return [Request(**json.loads(line)) for line in f if line.strip()]

    def add(self, feeds: dict, **fields) -> Request:
        """Register a request (checked first) and return it with its ID."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.path.with_name(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            existing = self.requests()
            now = dt.datetime.now(dt.UTC).replace(microsecond=0)
            request = Request(id=f"RQ{len(existing) + 1:05d}", at=now.isoformat(), **fields)
            check(request, feeds)
            if request.action == "lift":
                lifted = lifted_by(request, active(existing))
                if not lifted:
                    raise RequestError("nothing to lift: no restriction in force names it")
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as f:
                f.write(json.dumps(asdict(request), sort_keys=True) + "\n")
                f.flush()
                os.fsync(f.fileno())
        return request


def lifted_by(lift: Request, requests: list[Request]) -> list[Request]:
    """The restrictions in force that a lift ends: the one it names (`lifts`), or every one of
    the person or record it names."""
    return [
        r
        for r in requests
        if r.action == "restrict"
        and (
            r.id == lift.lifts
            if lift.lifts
            else (
                r.person == lift.person
                if lift.person
                else (r.feed, r.record) == (lift.feed, lift.record)
            )
        )
    ]


def active(requests: list[Request]) -> list[Request]:
    """The requests in force, in order: every erasure and rectification, and each restriction
    until a later lift ends it."""
    held: list[Request] = []
    for r in requests:
        if r.action == "lift":
            ended = {e.id for e in lifted_by(r, held)}
            held = [h for h in held if h.id not in ended]
        else:
            held.append(r)
    return held
