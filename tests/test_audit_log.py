"""The hash-chained, head-sealed audit trail (access/audit_log.py) on real files: every kind of
tampering is caught at the right line, and appends from several processes keep one chain."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import multiprocessing
import shutil
import stat
import threading
from pathlib import Path

import pytest

from dagster_project.access.audit_log import (
    GENESIS,
    AuditError,
    AuditLog,
    canonical,
    entry_hash,
)

KEY = b"audit key for tests only"


def query(n: int, **more) -> dict:
    return {
        "action": "query",
        "user": f"analyst{n % 3}",
        "organisation": "police",
        "tier": 2,
        "purpose": "monthly problem profile",
        "statement": f"select count(*) from events where n = {n}",
        "tables": ["events"],
        "rows": n,
        "person_ids": [f"P{n:04d}"],
        "outcome": "allowed",
        **more,
    }


@pytest.fixture(scope="module")
def original(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("audit") / "audit"
    log = AuditLog(folder, KEY)
    for n in range(1, 11):
        log.append(query(n))
    return folder


@pytest.fixture
def copy(original, tmp_path) -> AuditLog:
    """A fresh copy of the 10-entry log, for one test to tamper with."""
    folder = tmp_path / "audit"
    shutil.copytree(original, folder)
    return AuditLog(folder, KEY)


def lines(log: AuditLog) -> list[str]:
    return log.log_path.read_text().splitlines(keepends=True)


def write(log: AuditLog, rows: list[str]) -> None:
    log.log_path.write_text("".join(rows))


def broken_at(log: AuditLog, line: int) -> str:
    check = log.verify()
    assert not check.ok
    assert check.first_broken == line, check.reason
    return check.reason


def test_append_and_read_back(tmp_path):
    log = AuditLog(tmp_path / "audit", KEY)
    first = log.append(query(1))
    second = log.append({"action": "denial", "user": "analyst9", "reason": "no purpose given"})
    assert (first["seq"], second["seq"]) == (1, 2)
    assert first["prev"] == GENESIS and second["prev"] == first["hash"]
    without_hash = {k: v for k, v in first.items() if k != "hash"}
    assert first["hash"] == hashlib.sha256(canonical(without_hash).encode()).hexdigest()
    assert dt.datetime.fromisoformat(first["time"]).utcoffset() == dt.timedelta(0)
    assert len(first["time"].split(".")[1]) == len("123456+00:00")  # microseconds always
    assert log.entries() == [first, second]
    assert json.loads(log.log_path.read_text().splitlines()[0]) == first
    head = json.loads(log.head_path.read_text())
    assert head["seq"] == 2 and head["hash"] == second["hash"]
    check = log.verify()
    assert check.ok and check.entries == 2 and check.first_broken is None


def test_a_new_instance_and_an_empty_folder(tmp_path):
    assert AuditLog(tmp_path / "none", KEY).verify().ok
    (tmp_path / "empty").mkdir()
    check = AuditLog(tmp_path / "empty", KEY).verify()
    assert check.ok and check.entries == 0
    AuditLog(tmp_path / "empty", KEY).append(query(1))
    assert AuditLog(tmp_path / "empty", KEY).append(query(2))["seq"] == 2  # read from disk


def test_an_untouched_log_verifies(copy):
    check = copy.verify()
    assert check.ok and check.entries == 10 and check.first_broken is None
    assert "10 entries" in check.reason


def test_a_changed_field(copy):
    rows = lines(copy)
    entry = json.loads(rows[6])
    entry["rows"] = 0
    rows[6] = canonical(entry) + "\n"
    write(copy, rows)
    assert broken_at(copy, 7) == (
        "entry 7 (line 7) was changed: its hash does not match its contents"
    )


def test_a_changed_field_with_its_hash_recomputed(copy):
    rows = lines(copy)
    entry = json.loads(rows[6])
    entry["user"] = "someone else"
    entry["hash"] = entry_hash(entry)
    rows[6] = canonical(entry) + "\n"
    write(copy, rows)
    assert "entry 8 (line 8) does not follow entry 7" in broken_at(copy, 8)


def test_a_respaced_line_with_the_same_contents(copy):
    rows = lines(copy)
    rows[2] = json.dumps(json.loads(rows[2])) + "\n"  # same values, different text
    write(copy, rows)
    assert "not the form the hub writes" in broken_at(copy, 3)


def test_a_deleted_line(copy):
    rows = lines(copy)
    del rows[4]
    write(copy, rows)
    assert broken_at(copy, 5) == (
        "line 5 holds entry 6: entry 5 was deleted or entries were reordered"
    )


def test_two_lines_swapped(copy):
    rows = lines(copy)
    rows[3], rows[4] = rows[4], rows[3]
    write(copy, rows)
    assert "line 4 holds entry 5" in broken_at(copy, 4)


def test_a_forged_line_inserted(copy):
    rows = lines(copy)
    forged = {**json.loads(rows[4]), "user": "nobody", "prev": "f" * 64}
    forged["hash"] = entry_hash(forged)
    rows.insert(4, canonical(forged) + "\n")
    write(copy, rows)
    assert "does not follow entry 4" in broken_at(copy, 5)


def test_the_last_line_cut(copy):
    write(copy, lines(copy)[:-1])
    assert broken_at(copy, 10) == (
        "the log ends at entry 9 but its sealed head says entry 10: "
        "entries were removed from the end"
    )


def test_the_last_three_lines_cut(copy):
    write(copy, lines(copy)[:-3])
    assert "ends at entry 7" in broken_at(copy, 8)


def test_the_head_lowered_to_match_a_cut_log(copy):
    rows = lines(copy)[:-3]
    write(copy, rows)
    head = json.loads(copy.head_path.read_text())
    head.update(seq=7, hash=json.loads(rows[-1])["hash"])  # keeps the old seal
    copy.head_path.write_text(json.dumps(head))
    assert broken_at(copy, 8).startswith("the head's seal does not match")


def test_a_head_sealed_with_another_key(copy):
    check = AuditLog(copy.folder, b"another key").verify()
    assert not check.ok and check.reason.startswith("the head's seal does not match")


def test_the_head_deleted(copy):
    copy.head_path.unlink()
    assert "head.json is missing" in broken_at(copy, 11)
    with pytest.raises(AuditError, match="head.json is missing"):
        copy.append(query(11))  # rather than fork the chain
    assert len(lines(copy)) == 10


def test_the_log_emptied(copy):
    write(copy, [])
    assert "the log is empty" in broken_at(copy, 1)


def test_a_line_that_is_not_json(copy):
    rows = lines(copy)
    rows[2] = rows[2][:40] + "\n"
    write(copy, rows)
    assert broken_at(copy, 3) == "line 3 is not valid JSON"


def test_appends_refuse_a_tampered_tail(copy):
    write(copy, lines(copy)[:-1])
    with pytest.raises(AuditError, match="not entry 10"):
        copy.append(query(11))
    rows = lines(copy)
    rows[-1] = rows[-1].rstrip("\n")  # an interrupted append leaves no line end
    write(copy, rows)
    with pytest.raises(AuditError):
        copy.append(query(11))


def test_entries_past_the_head(copy):
    rows = lines(copy)
    extra = {**json.loads(rows[-1]), "seq": 11, "prev": json.loads(rows[-1])["hash"]}
    extra["hash"] = entry_hash(extra)
    write(copy, [*rows, canonical(extra) + "\n"])
    assert "goes on past entry 10" in broken_at(copy, 11)


def _append_many(folder: str, count: int, worker: int, start) -> None:
    start.wait()
    log = AuditLog(Path(folder), KEY)
    for n in range(count):
        log.append({"action": "query", "user": f"worker{worker}", "rows": n})


def test_appends_from_two_processes_keep_one_chain(tmp_path):
    folder = tmp_path / "audit"
    context = multiprocessing.get_context("fork")
    start = context.Event()
    workers = [
        context.Process(target=_append_many, args=(str(folder), 50, w, start)) for w in (1, 2)
    ]
    for w in workers:
        w.start()
    start.set()
    for w in workers:
        w.join(30)
        assert w.exitcode == 0
    log = AuditLog(folder, KEY)
    check = log.verify()
    assert check.ok and check.entries == 100, check.reason
    assert [e["seq"] for e in log.entries()] == list(range(1, 101))
    for w in (1, 2):
        assert [e["rows"] for e in log.entries(user=f"worker{w}")] == list(range(50))


def test_appends_from_threads_keep_one_chain(tmp_path):
    log = AuditLog(tmp_path / "audit", KEY)
    threads = [
        threading.Thread(target=lambda: [log.append(query(n)) for n in range(20)]) for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check = log.verify()
    assert check.ok and check.entries == 60


def test_file_modes(tmp_path):
    folder = tmp_path / "deep" / "audit"
    log = AuditLog(folder, KEY)
    log.append(query(1))
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in ("log.jsonl", "head.json", ".lock"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name
    assert sorted(p.name for p in folder.iterdir()) == [".lock", "head.json", "log.jsonl"]


@pytest.mark.parametrize(
    "entry",
    [
        {"action": "key_rotation", "key": "abc"},
        {"action": "query", "Password": "hunter2"},
        {"action": "query", "detail": {"token": "abc"}},
        {"action": "query", "seq": 5},
        {"action": "query", "hash": "0" * 64},
        {"action": "query", "when": dt.date(2024, 1, 1)},  # not JSON
        {"action": "query", "rows": float("nan")},
        {"user": "no action"},
    ],
)
def test_refused_entries(tmp_path, entry):
    log = AuditLog(tmp_path / "audit", KEY)
    with pytest.raises(ValueError):
        log.append(entry)
    assert log.entries() == []


def test_names_that_only_contain_key_are_allowed(tmp_path):
    log = AuditLog(tmp_path / "audit", KEY)
    entry = log.append({"action": "key_rotation", "key_name": "pseudonym", "project_key_id": 3})
    assert entry["key_name"] == "pseudonym"


def test_filters(tmp_path):
    days = iter(dt.datetime(2024, 3, d, 23, 59, 59, 999999, tzinfo=dt.UTC) for d in (1, 2, 2, 3, 5))
    log = AuditLog(tmp_path / "audit", KEY, clock=lambda: next(days))
    log.append(query(1, person_ids=["P1", "P2"]))
    log.append(query(2, person_ids=["P2"], tier=3))
    log.append(query(3, person_ids=[]))
    log.append({"action": "denial", "user": "analyst0", "tier": 3, "reason": "no case"})
    log.append(query(4, user="dpo"))

    def seqs(**filters) -> list[int]:
        return [e["seq"] for e in log.entries(**filters)]

    assert seqs() == [1, 2, 3, 4, 5]
    assert seqs(user="analyst0") == [3, 4]
    assert seqs(person="P2") == [1, 2]
    assert seqs(tier=3) == [2, 4] == seqs(tier="3")
    assert seqs(action="denial") == [4]
    assert seqs(since="2024-03-02") == [2, 3, 4, 5]
    assert seqs(until=dt.date(2024, 3, 2)) == [1, 2, 3]
    assert seqs(since=dt.date(2024, 3, 2), until="2024-03-03") == [2, 3, 4]
    assert seqs(user="analyst0", since="2024-03-03") == [4]
    assert log.verify().ok


def test_rekey(copy):
    new = copy.rekey(b"the new audit key")
    assert new.verify().ok and not copy.verify().ok
    assert new.append({"action": "key_rotation", "key_name": "audit"})["seq"] == 11
    write(new, lines(new)[:-2])
    with pytest.raises(AuditError, match="broken trail"):
        new.rekey(b"yet another key")
