"""The hub's audit trail: every query, export request and review, release, denial, key rotation
and policy change, appended by the governed query service, the CLI and Dagster runs.

Why: the Data Protection Act 2018 section 62 requires logs of the consultation and disclosure
of personal data that show the justification, the date and time and, so far as possible, who
consulted or disclosed it (and to whom), and those logs are only worth anything if they cannot
be quietly changed. So the trail is tamper-evident:

- `log.jsonl` is a hash chain: each line is one entry, in canonical JSON, holding its `seq`
  (1, 2, 3 ...), the `prev` hash of the entry before it and its own `hash` (SHA-256 of the
  entry without `hash`). Editing, deleting, reordering or inserting a line breaks the chain at
  that line.
- A chain alone cannot show that entries were cut from its end (what is left is still a valid
  chain), so `head.json` records the last entry's seq and hash, sealed with an HMAC under the
  hub's audit key. Cutting the log, or lowering the head to match, breaks the seal.

`AuditLog.verify()` checks all of this and names the first broken entry in a sentence a data
protection officer can read. Reading (`entries`) does not verify.

Limitation: whoever holds the audit key can rewrite the whole log and reseal its head, and
nothing inside the folder can show it. The key is held by the hub only (never by analysts or
in git), and a copy of `head.json` (its seq, hash and seal) should be kept outside the hub,
for example in each release's sign-off, so that a rewritten history can be compared against
it.

Appends are serialised across threads and processes by an exclusive `flock` on `.lock`; each
append reads the head and the log's last line from disk (another process may have appended),
appends and fsyncs the line, and only then replaces the head atomically. An append refuses,
rather than forks the chain, when the head and the log's last entry disagree.

No Dagster and no keys are read here: the caller passes the folder and the key."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GENESIS = "0" * 64  # the `prev` of entry 1
RESERVED = frozenset({"seq", "time", "prev", "hash"})
SECRET_NAMES = frozenset({"token", "secret", "password", "key"})
LOG = "log.jsonl"
HEAD = "head.json"
LOCK = ".lock"


class AuditError(RuntimeError):
    """The trail cannot be appended to without forking or hiding a break: run `hub audit
    verify`."""


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int  # lines in the log
    first_broken: int | None  # 1-based line; entries + 1 when entries are missing at the end
    reason: str


def canonical(value: Any) -> str:
    """The one JSON text of a value: hashes are taken of this text, so it must not vary."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def entry_hash(entry: Mapping[str, Any]) -> str:
    return hashlib.sha256(
        canonical({k: v for k, v in entry.items() if k != "hash"}).encode()
    ).hexdigest()


def seal(key: bytes, seq: int, digest: str) -> str:
    return hmac.new(key, f"{seq}:{digest}".encode(), hashlib.sha256).hexdigest()


class AuditLog:
    """The append-only, hash-chained, head-sealed audit trail kept in `folder`.

    `clock` returns the time to stamp on entries (timezone-aware); it defaults to now in UTC
    and exists so that tests can write entries on chosen dates."""

    def __init__(
        self,
        folder: Path,
        key: bytes,
        *,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        if not isinstance(key, bytes) or not key:
            raise ValueError("the audit key must be non-empty bytes: an empty key seals nothing")
        self.folder = Path(folder)
        self._key = key
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._thread_lock = threading.Lock()

    def __repr__(self) -> str:  # never show the key
        return f"AuditLog({str(self.folder)!r})"

    @property
    def log_path(self) -> Path:
        return self.folder / LOG

    @property
    def head_path(self) -> Path:
        return self.folder / HEAD

    # --- appending -------------------------------------------------------------------------

    def append(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        """Add one entry (action, user, organisation, tier, purpose, case, project, statement,
        tables, rows, person_ids, outcome, reason, recipient ...) and return it as stored, with
        its seq, time, prev and hash."""
        record = _checked(entry)
        self._make_folder()
        with self._thread_lock, self._locked(fcntl.LOCK_EX):
            seq, prev = self._tip()
            stored = {**record, "seq": seq + 1, "time": self._now(), "prev": prev}
            stored["hash"] = entry_hash(stored)
            line = canonical(stored) + "\n"
            self._append_line(line.encode())
            self._write_head(seq + 1, stored["hash"])
        return json.loads(line)  # a copy that shares nothing with the caller's objects

    def _now(self) -> str:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the audit clock must return a timezone-aware time")
        # timespec: isoformat() drops the microseconds when they happen to be 0
        return now.astimezone(dt.UTC).isoformat(timespec="microseconds")

    def _tip(self) -> tuple[int, str]:
        """The seq and hash to chain the next entry to, from disk, refusing when the head and
        the log's last line disagree (an interrupted append or tampering: either way, chaining
        on would hide it)."""
        try:
            head = _read_head(self.head_path)
        except ValueError as e:
            raise AuditError(f"{e}: refusing to append. Run `hub audit verify`.") from None
        last = _last_line(self.log_path)
        if head is None:
            if last is None:
                return 0, GENESIS
            raise AuditError(
                f"{self.head_path} is missing but {self.log_path} holds entries: appending now "
                "would fork the chain. Run `hub audit verify`."
            )
        seq, digest, head_seal = head
        if not hmac.compare_digest(head_seal, seal(self._key, seq, digest)):
            raise AuditError(
                f"the seal of {self.head_path} does not match: it was edited or written without "
                "the hub's key. Refusing to append. Run `hub audit verify`."
            )
        if last is None:
            raise AuditError(
                f"{self.log_path} is empty or missing but its sealed head says entry {seq}: "
                "refusing to append. Run `hub audit verify`."
            )
        try:
            if not last.endswith(b"\n"):
                raise ValueError
            tail = json.loads(last, parse_constant=_no_constant)
            tail_ok = (
                isinstance(tail, dict)
                and last == canonical(tail).encode() + b"\n"
                and tail.get("hash") == entry_hash(tail)
                and tail.get("seq") == seq
                and tail.get("hash") == digest
            )
        except ValueError:
            tail_ok = False
        if not tail_ok:
            raise AuditError(
                f"the last line of {self.log_path} is not entry {seq}, which its sealed head "
                "records: an append was interrupted or the log was changed. Refusing to append. "
                "Run `hub audit verify`."
            )
        return seq, digest

    def _make_folder(self) -> None:
        if not self.folder.is_dir():
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(self.folder, 0o700)  # mkdir's mode is cut by the umask

    @contextlib.contextmanager
    def _locked(self, operation: int) -> Iterator[None]:
        fd = _open(self.folder / LOCK, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, operation)
            yield  # closing the descriptor releases the lock
        finally:
            os.close(fd)

    def _append_line(self, line: bytes) -> None:
        fd = _open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)  # durable before the head says it exists
        finally:
            os.close(fd)

    def _write_head(self, seq: int, digest: str) -> None:
        head = {"seq": seq, "hash": digest, "seal": seal(self._key, seq, digest)}
        temporary = self.folder / f".head.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        fd = _open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        try:
            try:
                os.write(fd, (canonical(head) + "\n").encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temporary, self.head_path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        _fsync_folder(self.folder)  # the rename itself must survive a crash

    def rekey(self, new_key: bytes) -> AuditLog:
        """Reseal the head under a new audit key (the hub's key rotation) and return the log
        opened with it. Refuses unless the trail verifies under the current key: resealing a
        broken trail would hide the break. The caller then appends its key_rotation entry."""
        rekeyed = AuditLog(self.folder, new_key, clock=self._clock)
        if not self.folder.is_dir():
            return rekeyed
        with self._thread_lock, self._locked(fcntl.LOCK_EX):
            check = self._verify()
            if not check.ok:
                raise AuditError(f"refusing to reseal a broken trail: {check.reason}")
            head = _read_head(self.head_path)
            if head is not None:
                rekeyed._write_head(head[0], head[1])
        return rekeyed

    # --- verifying -------------------------------------------------------------------------

    def verify(self) -> Verification:
        """Check every line and the sealed head; report the first fault."""
        if not self.folder.is_dir():
            return Verification(True, 0, None, "the audit trail is empty")
        with self._locked(fcntl.LOCK_SH):  # shared: an append half done would look broken
            return self._verify()

    def _verify(self) -> Verification:
        lines = 0
        fault: tuple[int, str] | None = None
        last: dict[str, Any] | None = None
        if self.log_path.exists():
            with open(self.log_path, "rb") as f:
                for lines, raw in enumerate(f, 1):  # counts every line, past a fault too
                    if fault is None:
                        expected_prev = last["hash"] if last else GENESIS
                        entry, problem = _check_line(lines, raw, expected_prev)
                        if problem:
                            fault = (lines, problem)
                        else:
                            last = entry

        def broken(line: int, reason: str) -> Verification:
            return Verification(False, lines, line, reason)

        if fault:
            return broken(*fault)
        end = lines + 1
        try:
            head = _read_head(self.head_path)
        except ValueError as e:
            return broken(end, f"{e}, so entries may have been removed from the end")
        if head is None:
            if last is None:
                return Verification(True, 0, None, "the audit trail is empty")
            return broken(
                end,
                f"the log holds {lines} entries but head.json is missing: it was deleted, so "
                "entries may also have been removed from the end",
            )
        seq, digest, head_seal = head
        if not hmac.compare_digest(head_seal, seal(self._key, seq, digest)):
            return broken(
                end,
                "the head's seal does not match: head.json was edited or written without the "
                "hub's key, so entries may have been removed from the end",
            )
        if last is None:
            return broken(
                1, f"the log is empty but its sealed head says entry {seq}: the log was emptied"
            )
        if last["seq"] < seq:
            return broken(
                end,
                f"the log ends at entry {last['seq']} but its sealed head says entry {seq}: "
                "entries were removed from the end",
            )
        if last["seq"] > seq:
            return broken(
                seq + 1,
                f"the log goes on past entry {seq}, where its sealed head ends: entries "
                f"{seq + 1} to {last['seq']} were added without the hub's key, or an append was "
                "interrupted before it sealed the head",
            )
        if not hmac.compare_digest(last["hash"], digest):
            return broken(
                lines,
                f"entry {seq} is not the entry its sealed head records: the log was rewritten",
            )
        return Verification(
            True, lines, None, f"all {lines} entries are intact and match the sealed head"
        )

    # --- reading ---------------------------------------------------------------------------

    def entries(
        self,
        *,
        user: str | None = None,
        person: str | None = None,
        tier: str | int | None = None,
        action: str | None = None,
        since: dt.date | str | None = None,
        until: dt.date | str | None = None,
    ) -> list[dict[str, Any]]:
        """The entries that match every filter given. `person` matches an entry whose
        `person_ids` holds it; `since` and `until` are dates (or ISO dates), inclusive, compared
        with the entry's UTC date; `tier` is compared as text, so 2 and "2" match alike."""
        if not self.log_path.exists():
            return []
        first, last = _as_date(since), _as_date(until)
        found = []
        with self._locked(fcntl.LOCK_SH), open(self.log_path, "rb") as f:
            for number, raw in enumerate(f, 1):
                try:
                    entry = json.loads(raw)
                except ValueError:
                    raise AuditError(
                        f"line {number} of {self.log_path} is not valid JSON: run `hub audit "
                        "verify`"
                    ) from None
                if user is not None and entry.get("user") != user:
                    continue
                if person is not None and person not in (entry.get("person_ids") or ()):
                    continue
                if tier is not None and str(entry.get("tier")) != str(tier):
                    continue
                if action is not None and entry.get("action") != action:
                    continue
                if first or last:
                    day = dt.datetime.fromisoformat(entry["time"]).astimezone(dt.UTC).date()
                    if (first and day < first) or (last and day > last):
                        continue
                found.append(entry)
        return found


# --- helpers -------------------------------------------------------------------------------


def _checked(entry: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(entry, Mapping):
        raise ValueError("an audit entry is a mapping of field names to values")
    if not isinstance(entry.get("action"), str) or not entry["action"]:
        raise ValueError("an audit entry needs an action, e.g. 'query' or 'denial'")
    reserved = RESERVED & set(entry)
    if reserved:
        raise ValueError(
            f"{', '.join(sorted(reserved))}: set by the audit log itself, not by the caller"
        )
    _no_secrets(entry, "")
    try:
        # a JSON round trip: what is returned and hashed is exactly what verify will read back
        return json.loads(canonical(dict(entry)))
    except (TypeError, ValueError) as e:
        raise ValueError(f"an audit entry must be plain JSON values: {e}") from None


def _no_secrets(value: Any, where: str) -> None:
    if isinstance(value, Mapping):
        for name, inner in value.items():
            if not isinstance(name, str):
                raise ValueError(f"field names must be text, not {name!r}")
            if name.lower() in SECRET_NAMES:
                raise ValueError(
                    f"refusing the field {where}{name!r}: secrets never enter the audit trail"
                )
            _no_secrets(inner, f"{where}{name}.")
    elif isinstance(value, list | tuple):
        for inner in value:
            _no_secrets(inner, where)


def _check_line(
    number: int, raw: bytes, expected_prev: str
) -> tuple[dict[str, Any] | None, str | None]:
    """One line against the chain: (the entry, None), or (None, what is wrong with it)."""
    try:
        entry = json.loads(raw, parse_constant=_no_constant)
    except ValueError:
        return None, f"line {number} is not valid JSON"
    fields = {"seq": int, "time": str, "prev": str, "hash": str}
    if not isinstance(entry, dict) or any(
        not isinstance(entry.get(name), kind) or isinstance(entry.get(name), bool)
        for name, kind in fields.items()
    ):
        return None, f"line {number} is not an audit entry: it lacks a seq, time, prev or hash"
    seq = entry["seq"]
    if seq != number:
        if seq > number:
            how = f"entry {number} was deleted or entries were reordered"
        else:
            how = "entries were reordered or an entry was copied"
        return None, f"line {number} holds entry {seq}: {how}"
    if entry["hash"] != entry_hash(entry):
        return (
            None,
            f"entry {seq} (line {number}) was changed: its hash does not match its contents",
        )
    if raw != canonical(entry).encode() + b"\n":
        return None, (
            f"entry {seq} (line {number}) was changed: its text is not the form the hub writes "
            "(spacing, key order, a repeated field or a cut line end)"
        )
    if entry["prev"] != expected_prev:
        return None, (
            f"entry {seq} (line {number}) does not follow entry {seq - 1}: its prev is not the "
            f"hash of entry {seq - 1}, so an entry was inserted or replaced here"
            if seq > 1
            else f"entry 1 (line {number}) does not start the chain: it was inserted or replaced"
        )
    return entry, None


def _read_head(path: Path) -> tuple[int, str, str] | None:
    """(seq, hash, seal) from head.json, None when there is none; ValueError when it is not a
    head at all."""
    try:
        head = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except ValueError:
        raise ValueError("head.json is not valid JSON") from None
    if not (
        isinstance(head, dict)
        and isinstance(head.get("seq"), int)
        and not isinstance(head.get("seq"), bool)
        and isinstance(head.get("hash"), str)
        and isinstance(head.get("seal"), str)
    ):
        raise ValueError("head.json is not a sealed head: it lacks a seq, hash or seal")
    return head["seq"], head["hash"], head["seal"]


def _last_line(path: Path) -> bytes | None:
    """The log's last line with its line end (if it has one); None when the log is empty."""
    try:
        with open(path, "rb") as f:
            position = f.seek(0, os.SEEK_END)
            tail = b""
            while position > 0:
                step = min(8192, position)
                position -= step
                f.seek(position)
                tail = f.read(step) + tail
                cut = tail.rfind(b"\n", 0, len(tail) - 1)
                if cut != -1:
                    return tail[cut + 1 :]
            return tail or None
    except FileNotFoundError:
        return None


def _open(path: Path, flags: int) -> int:
    fd = os.open(path, flags | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # os.open's mode is cut by the umask, and an old file keeps its own
    except BaseException:
        os.close(fd)
        raise
    return fd


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _as_date(value: dt.date | str | None) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return dt.datetime.fromisoformat(value).date()
