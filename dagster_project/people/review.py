"""Clerical review: pairs the model is unsure of wait in `spine.review_queue`; a reviewer's
decisions live in a CSV file a person can edit (`data/review/person_decisions.csv`), and every
later run honours them: "match" forces the link, "not a match" forbids it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

COLUMNS = ("person_record_id_l", "person_record_id_r", "decision", "reviewer", "decided_on",
           "note")  # fmt: skip
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


def ensure_file(path: Path) -> None:
    """An empty decisions file with its header, so a reviewer knows where to write."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerow(COLUMNS)


def read(path: Path) -> list[Decision]:
    """Every decision in the file, the last one winning where a pair is decided twice."""
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
        header = rows[0].keys() if rows else set()
    missing = [c for c in COLUMNS[:3] if rows and c not in header]
    if missing:
        raise DecisionsError(f"{path}: missing column(s) {', '.join(missing)}")
    decided: dict[tuple[str, str], bool] = {}
    for line, row in enumerate(rows, start=2):
        left, right = (
            (row["person_record_id_l"] or "").strip(),
            (row["person_record_id_r"] or "").strip(),
        )
        decision = (row["decision"] or "").strip().lower()
        if not left or not right or left == right:
            raise DecisionsError(f"{path} line {line}: two different person record ids needed")
        if decision not in (MATCH, NOT_A_MATCH):
            raise DecisionsError(
                f"{path} line {line}: decision must be '{MATCH}' or '{NOT_A_MATCH}', "
                f"not {decision!r}"
            )
        decided[pair(left, right)] = decision == MATCH
    return [Decision(a, b, m) for (a, b), m in decided.items()]
