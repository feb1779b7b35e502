"""Clerical review: pairs the model is unsure of wait in a queue (`spine.review_queue` for
people, `spine.place_review_queue` for places); a reviewer's decisions live in a CSV file a
person can edit (`data/review/person_decisions.csv`, `place_decisions.csv`), and every later
run honours them: "match" forces the link, "not a match" forbids it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

PERSON = ("person_record_id_l", "person_record_id_r")  # two person records, either order
PLACE = ("place_record_id", "candidate")  # a place mention and a "uprn:…" or "usrn:…"
DETAILS = ("decision", "reviewer", "decided_on", "note")
MATCH, NOT_A_MATCH = "match", "not a match"


class DecisionsError(ValueError):
    pass


@dataclass(frozen=True)
class Decision:
    left: str
    right: str
    match: bool


def pair(a: str, b: str) -> tuple[str, str]:
    """A pair in the order the spine stores it (smaller record id first)."""
    return (a, b) if a < b else (b, a)


def ensure_file(path: Path, keys: tuple[str, str] = PERSON) -> None:
    """An empty decisions file with its header, so a reviewer knows where to write."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerow((*keys, *DETAILS))


def read(path: Path, keys: tuple[str, str] = PERSON) -> list[Decision]:
    """Every decision in the file, the last one winning where a pair is decided twice."""
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
        header = rows[0].keys() if rows else set()
    missing = [c for c in (*keys, "decision") if rows and c not in header]
    if missing:
        raise DecisionsError(f"{path}: missing column(s) {', '.join(missing)}")
    decided: dict[tuple[str, str], bool] = {}
    for line, row in enumerate(rows, start=2):
        left, right = ((row[k] or "").strip() for k in keys)
        decision = (row["decision"] or "").strip().lower()
        if not left or not right or left == right:
            raise DecisionsError(
                f"{path} line {line}: {keys[0]} and {keys[1]} must both be given, and differ"
            )
        if decision not in (MATCH, NOT_A_MATCH):
            raise DecisionsError(
                f"{path} line {line}: decision must be '{MATCH}' or '{NOT_A_MATCH}', "
                f"not {decision!r}"
            )
        decided[pair(left, right) if keys == PERSON else (left, right)] = decision == MATCH
    return [Decision(a, b, m) for (a, b), m in decided.items()]
