"""What the review page (review_page.py) reads and writes: the spines' review queues as Level 3
publishes them, the decision files every later spine run honours, and the gazetteer points its
maps are drawn from.

The queues are read from the published Level 3 file, attached read-only with its key as the
sandbox attaches it, never from the warehouse (which the service does not open); only the page's
own fixed statements run on that connection, with the grant's feeds as parameters. Decisions
are appended in the spines' own format (people/review.py), so a reviewer in a browser and one
editing the CSV by hand write the same lines.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import fcntl
import io
import os
import re
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from dagster_project.access.policy import Grant
from dagster_project.access.sandbox import Limits, TableAccess
from dagster_project.people import review
from dagster_project.places.spine import CANDIDATES
from dagster_project.platform import warehouse
from dagster_project.tiers import publish

TIER = "level3"
ALIAS = "review_source"  # the attached Level 3 file
PERSON_QUEUE, PLACE_QUEUE = "person_review_queue", "place_review_queue"
NOTE_LENGTH = 500  # characters of a reviewer's note
# A cell a spreadsheet would run as a formula (the airlock's rule): the file is one a person
# opens and edits.
FORMULA = re.compile(r"^[=+\-@\t\r]")
INVISIBLE = {"Cc", "Cf"}  # controls and format characters (NUL, U+200B, U+FEFF): hid a formula
Row = tuple[str, str, str]  # a decisions file's two keys and its decision


class QueueError(RuntimeError):
    """The queues cannot be read as the grant may see them: the message says why."""


@dataclass
class Queues:
    """The review queues of one Level 3 release, as one grant may see them: only rows whose
    every feed column names a feed the grant allows."""

    con: duckdb.DuckDBPyConnection
    feeds: list[str]
    access: dict[tuple[str, str], TableAccess]

    def _filtered(self, table: str) -> str:
        rules = self.access.get((TIER, table))
        if rules is None or not rules.feed_columns:
            # As the sandbox: a table the dbt project does not describe is shown to no one.
            raise QueueError(f"{table} has no feed columns in the dbt project: not shown")
        checks = " and ".join(f'list_contains($feeds, "{c}")' for c in rules.feed_columns)
        return f"(select * from {ALIAS}.main.{table} where {checks})"

    def _rows(self, sql: str, **params) -> list[dict]:
        cursor = self.con.execute(sql, {"feeds": self.feeds, **params})
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def release(self) -> str:
        return self.con.execute(f"select release_id from {ALIAS}.main.release").fetchone()[0]

    def pairs(self) -> list[tuple[str, str]]:
        """Every queued pair, in a fixed order: /review/person/{n} is the n-th."""
        rows = self._rows(f"select person_record_id_l as l, person_record_id_r as r from "
                          f"{self._filtered(PERSON_QUEUE)} order by l, r")  # fmt: skip
        return [(row["l"], row["r"]) for row in rows]

    def pair(self, left: str, right: str) -> dict:
        [row] = self._rows(
            f"select * from {self._filtered(PERSON_QUEUE)} where person_record_id_l = $l "
            "and person_record_id_r = $r", l=left, r=right,
        )  # fmt: skip
        return row

    def mentions(self) -> list[str]:
        """Every queued place mention, in a fixed order: /review/place/{n} is the n-th."""
        rows = self._rows(f"select distinct place_record_id as m from "
                          f"{self._filtered(PLACE_QUEUE)} order by m")  # fmt: skip
        return [row["m"] for row in rows]

    def candidates(self, mention: str) -> list[dict]:
        """The mention's rows, one per candidate, best first."""
        return self._rows(f"select * from {self._filtered(PLACE_QUEUE)} "
                          "where place_record_id = $m order by rank", m=mention)  # fmt: skip


@contextlib.contextmanager
def open_queues(
    marts: Path, grant: Grant, access: dict[tuple[str, str], TableAccess], limits: Limits
) -> Iterator[Queues]:
    """Level 3's queues for `grant`, attached read-only with the tier's key, which the page
    never shows; the sandbox's limits (memory, one thread, no spill files) hold here too."""
    con = duckdb.connect(config={**warehouse.CONFIG, "temp_directory": ""})
    try:
        con.execute(f"set memory_limit = {warehouse.quote(limits.memory)}")
        con.execute("set threads = 1")
        publish.attach(con, publish.published(marts, TIER), TIER, ALIAS)
        con.execute("set enable_external_access = false")
        con.execute("set lock_configuration = true")
        yield Queues(con, sorted(grant.feeds), access)
    finally:
        con.close()


# --- the decision files ---------------------------------------------------------------------

_writing = threading.Lock()


@dataclass(frozen=True)
class Decided:
    """The latest line of a pair (or of a mention and a candidate) in a decisions file."""

    match: bool
    reviewer: str
    on: str  # decided_on, as the file holds it
    note: str


def latest(path: Path, keys: tuple[str, str]) -> dict[tuple[str, str], Decided]:
    """Each key's latest line, once review.read has found the whole file sound (a person pair in
    the spine's order)."""
    review.read(path, keys)
    if not path.exists():
        return {}
    with path.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    out = {}
    for row in rows:
        left, right = ((row[k] or "").strip() for k in keys)
        key = review.pair(left, right) if keys == review.PERSON else (left, right)
        out[key] = Decided((row["decision"] or "").strip().lower() == review.MATCH,
                           row.get("reviewer") or "", row.get("decided_on") or "",
                           row.get("note") or "")  # fmt: skip
    return out


def decided_pairs(path: Path) -> dict[tuple[str, str], Decided]:
    """Each decided person pair (in the spine's order) and its latest decision."""
    return latest(path, review.PERSON)


def decided_mentions(path: Path) -> dict[str, dict[str, Decided]]:
    """Each place mention with a decision, and its candidates' latest decisions."""
    out: dict[str, dict[str, Decided]] = {}
    for (mention, candidate), decided in latest(path, review.PLACE).items():
        out.setdefault(mention, {})[candidate] = decided
    return out


def person_rows(left: str, right: str, match: bool) -> list[Row]:
    """One line: the pair (in the spine's order), `match` or `not a match`."""
    return [(*review.pair(left, right), _decision(match))]


def place_rows(path: Path, mention: str, chosen: str | None, shown: list[str]) -> list[Row]:
    """The chosen candidate a `match` and every other candidate `not a match` (the shown ones
    and any the file matched before): two matches for one mention would give it two places.
    `chosen` None is "none of these": every shown candidate `not a match`."""
    for candidate in {*shown, *([chosen] if chosen else [])}:
        kind, _, number = candidate.partition(":")
        if kind not in CANDIDATES or not number.isdigit():
            raise review.DecisionsError(f"{candidate!r} is not 'uprn:<UPRN>' or 'usrn:<USRN>'")
    earlier = [c for c, d in decided_mentions(path).get(mention, {}).items() if d.match]
    others = sorted({*shown, *earlier} - {chosen})
    rows = [(mention, c, _decision(False)) for c in others]
    if chosen:
        rows.append((mention, chosen, _decision(True)))
    return rows


def unchanged(path: Path, keys: tuple[str, str], rows: list[Row], note: str) -> bool:
    """Whether the file's latest lines already say `rows`, with the same note: a form sent
    again (or by a script, many times a second) adds nothing, so it is not written again."""
    held = latest(path, keys)
    return all(
        (d := held.get((left, right))) is not None
        and d.match == (decision == review.MATCH)
        and d.note == _note(note)
        for left, right, decision in rows
    )


def append(path: Path, keys: tuple[str, str], rows: list[Row], reviewer: str, note: str) -> None:
    """The rows appended to the decisions file in one write, under a lock, after the file is
    read whole: a file broken by hand is refused (its reason named), never appended to; the
    spine would refuse it anyway. Rows the file already holds (`unchanged`) are not written."""
    review.ensure_file(path, keys)
    today = dt.date.today().isoformat()
    text = io.StringIO()
    # the writer ensure_file uses, so hand-written and browser-written lines look alike
    csv.writer(text).writerows((*row, reviewer, today, _note(note)) for row in rows)
    with _writing, open(path, "a", newline="", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        if unchanged(path, keys, rows, note):  # checked again here: two posts at once
            return
        # one write of whole lines: a spine run reading meanwhile sees all of them or none
        os.write(fh.fileno(), text.getvalue().encode("utf-8"))


def _decision(match: bool) -> str:
    return review.MATCH if match else review.NOT_A_MATCH


def _note(note: str) -> str:
    """The note on one line, without the invisible characters that would put something before
    a formula's `=` (a spreadsheet ignores them; the formula check would not)."""
    shown = "".join(c for c in note if c.isspace() or unicodedata.category(c) not in INVISIBLE)
    one_line = " ".join(shown.split())[:NOTE_LENGTH]
    return "'" + one_line if FORMULA.match(one_line) else one_line


# --- the gazetteer's points, for the maps ---------------------------------------------------


@dataclass(frozen=True)
class Point:
    easting: float
    northing: float


class Gazetteer:
    """The gazetteer's properties, streets and postcodes as points (British National Grid),
    loaded once into memory and again when the file changes. The Level 3 queue carries no
    coordinates; the gazetteer holds properties, not anyone's data."""

    def __init__(self, path: Path | None):
        self.path = path
        self._lock = threading.Lock()
        self._stamp: int | None = None
        self._con: duckdb.DuckDBPyConnection | None = None

    def _loaded(self) -> duckdb.DuckDBPyConnection | None:
        if self.path is None or not self.path.exists():
            return None
        stamp = self.path.stat().st_mtime_ns
        if stamp != self._stamp or self._con is None:
            con = duckdb.connect(config=warehouse.CONFIG)
            con.execute(
                "create table gaz as select uprn::bigint as uprn, usrn::bigint as usrn, postcode,"
                " easting::double as e, northing::double as n from read_csv("
                f"{warehouse.quote(str(self.path))}, header = true, all_varchar = true)"
            )
            con.execute("set enable_external_access = false")
            if self._con is not None:
                self._con.close()
            self._con, self._stamp = con, stamp
        return self._con

    def points(self, candidates: list[str], postcode: str | None) -> dict[str, Point]:
        """Each candidate's point ('uprn:…' the property, 'usrn:…' the middle of its
        properties) and the postcode's centre (under 'postcode'), where the gazetteer has them."""
        with self._lock:
            con = self._loaded()
            if con is None:
                return {}
            out = {}
            for candidate in candidates:
                kind, _, number = candidate.partition(":")
                if kind in CANDIDATES and number.isdigit():
                    out[candidate] = _centre(con, kind, int(number))
            if postcode:
                out["postcode"] = _centre(con, "postcode", postcode)
        return {k: v for k, v in out.items() if v is not None}


def _centre(con: duckdb.DuckDBPyConnection, column: str, value) -> Point | None:
    e, n = con.execute(
        f"select avg(e), avg(n) from gaz where {column} = ?", [value]
    ).fetchone()  # column is one of uprn, usrn, postcode: never a request's text
    return None if e is None else Point(e, n)
