"""The query service: the one door to Levels 2 and 3, and a door to Level 1 (docs/access.md).

Each request names its user (X-Hub-User) and carries the user's token (Authorization: Bearer);
the service checks the token against its argon2 hash, the request against the access policy,
and the statement against the tier, then runs it in a sandbox of the tier as the grant may see
it. Every request, granted or refused, is written to the audit trail before the answer leaves.
Results of Level 2 and 3 leave only as rows in the answer; a file leaves only through the
airlock (airlock.py), once a checker who is not the requester has approved it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import math
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import duckdb
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request as HttpRequest
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from dagster_project.access import airlock, policy, statements, tokens
from dagster_project.access.audit_log import AuditLog
from dagster_project.access.sandbox import Limits, Sandbox, open_sandbox, table_access
from dagster_project.config import service_url

BODY_BYTES = 1_000_000  # a request larger than this is refused unread
FIELD_LENGTH = 2_000  # characters of a purpose, case, project or comment
QUERIES_AT_ONCE = 2  # sandboxes open at once, each with its memory limit; others wait
TOKEN_MEMORY_SECONDS = 300  # how long a checked token is remembered
CASE_PEOPLE = 50  # people one Level 3 result may be about: a case, not the population
HEADER_BYTES = 512  # an X-Hub-User or Authorization header longer than this is refused unread
CHECKED_HEADERS = (b"x-hub-user", b"authorization")
FAILURES = 10  # failed token checks of one user, or from one address, in WINDOW: then 429
DENIALS_AUDITED = 10  # refusals of strangers from one address in WINDOW that are audited
WINDOW = 60  # seconds
USER_CUT, PATH_CUT = 64, 256  # characters of a stranger's user name and path in the trail
NO_STORE = {"cache-control": "no-store"}  # answers hold Level 2 and 3 rows: never cached


@dataclass
class Settings:
    """Everything the service reads, passed in (cli.py builds it from config.py)."""

    policy: Path
    tokens: Path
    marts: Path
    exports: Path
    manifest: Path
    feeds: set[str]
    trail: AuditLog
    pseudonym_key: bytes
    limits: Limits = field(default_factory=Limits)
    # The review page's files (review_page.py): the spines' decision files it appends to, and
    # the gazetteer its maps are drawn from; without them the page says it is not set up.
    person_decisions: Path | None = None
    place_decisions: Path | None = None
    gazetteer: Path | None = None


class Refusal(Exception):
    def __init__(self, status: int, reason: str, retry: int | None = None):
        super().__init__(reason)
        self.status, self.reason, self.retry = status, reason, retry  # retry: seconds, for 429


class Throttle:
    """`limit` events of one key within `window` seconds hold the key for `window` seconds.
    In this process only, and for at most `keys` keys (the least recently counted forgotten
    first), so a stream of made-up user names cannot grow it without end."""

    def __init__(self, limit: int, window: float = WINDOW, keys: int = 10_000):
        self.limit, self.window, self.keys = limit, window, keys
        self._times: dict[str, deque[float]] = {}  # insertion order: least recent first
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def held(self, key: str) -> int:
        """Whole seconds `key` is still held for; 0 when it is not."""
        with self._lock:
            left = self._until.get(key, 0.0) - time.monotonic()
        return math.ceil(left) if left > 0 else 0

    def add(self, key: str) -> bool:
        """One event of `key`; True when it is the one that starts a hold."""
        now = time.monotonic()
        with self._lock:
            times = self._times.pop(key, None) or deque(maxlen=self.limit)
            times.append(now)
            self._times[key] = times
            while len(self._times) > self.keys:
                del self._times[next(iter(self._times))]
            if len(self._until) > self.keys:
                self._until = {k: t for k, t in self._until.items() if t > now}
            if len(times) < self.limit or now - times[0] > self.window:
                return False
            times.clear()
            self._until[key] = now + self.window
            return True


def cut(value, length: int):
    """A stranger's text as the trail keeps it: at most `length` characters, a cut one marked."""
    if not isinstance(value, str) or len(value) <= length:
        return value
    return value[: length - 1] + "…"


def client_of(http: HttpRequest) -> str:
    return http.client.host if http.client else "unknown"


class Service:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._policy: policy.Policy | None = None
        self._policy_stamp: tuple | None = None
        self._lock = threading.Lock()
        self._slots = threading.Semaphore(QUERIES_AT_ONCE)
        self._export = threading.Lock()
        self._tokens_stamp, self._remembered = None, {}
        self._failures = Throttle(FAILURES)  # keys "user:<name>" and "address:<address>"
        self._denials = Throttle(DENIALS_AUDITED)  # by address
        self._access = table_access(settings.manifest, settings.feeds)

    # --- policy, reloaded when its file changes; every change audited ---------------------

    def policy(self) -> policy.Policy:
        path = self.settings.policy
        stat = path.stat() if path.exists() else None
        stamp = (stat.st_mtime_ns, stat.st_size) if stat else None
        with self._lock:
            if stamp != self._policy_stamp or self._policy is None:
                self._policy = policy.load(path, self.settings.feeds)  # fails closed
                self._policy_stamp = stamp
                self._note_policy(self._policy)
            return self._policy

    def _note_policy(self, current: policy.Policy) -> None:
        known = self.settings.trail.entries(action="policy_change")
        if not known or known[-1].get("policy") != current.digest:
            self.settings.trail.append(
                {
                    "action": "policy_change",
                    "user": "hub",
                    "policy": current.digest,
                    "outcome": "loaded",
                    "reason": f"{len(current.users)} users, {len(current.organisations)} "
                    f"organisations, {len(current.projects)} projects",
                }
            )

    # --- one request ----------------------------------------------------------------------

    def authenticate(self, http: HttpRequest) -> str:
        user = http.headers.get("x-hub-user", "")
        header = http.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else None
        return self.check_token(user, token, client_of(http))

    def check_token(self, user: str, token: str | None, client: str) -> str:
        """`user`, when `token` is theirs and they are still in the policy; else 401, or 429
        while the user or the client's address has failed too often. The API's headers and the
        review page's login form are checked alike."""
        if not self._verified(user, token, client):
            raise Refusal(401, "unknown user or wrong token")
        if user not in self.policy().users:  # a token outlives its user's removal
            raise Refusal(401, f"{user} is no longer a user of the access policy")
        return user

    def _verified(self, user: str, token: str | None, client: str) -> bool:
        """tokens.verify, remembered for a few minutes by the token's SHA-256: an argon2 check
        costs a quarter of a second and 64 MiB, by design, and a notebook sends many requests.
        Issuing a token (a new token store) forgets every one. A remembered token passes even
        while its user is throttled, so a stranger's bad tokens cannot lock a working user out;
        any other check then waits (429), unknown users' alike, so a 429 names no one."""
        store = self.settings.tokens
        stamp = store.stat().st_mtime_ns if store.exists() else None
        digest = hashlib.sha256(f"{user}\0{token}".encode()).hexdigest()
        with self._lock:
            if stamp != self._tokens_stamp:
                self._tokens_stamp, self._remembered = stamp, {}
            if self._remembered.get(digest, 0) > time.monotonic():
                return True
        keys = (f"user:{user[: tokens.USER_LENGTH]}", f"address:{client}")
        held = max(self._failures.held(key) for key in keys)
        if held:
            raise Refusal(429, f"too many failed token checks: try again in {held} s", held)
        if not tokens.verify(store, user, token):
            for key in keys:
                self._failures.add(key)
            return False
        with self._lock:
            self._remembered[digest] = time.monotonic() + TOKEN_MEMORY_SECONDS
        return True

    def deny(self, entry: dict, client: str) -> None:
        """A refusal of someone the service does not know (no token, a wrong one, no session)
        to the trail, from `client`: its user and path cut to a trail's lengths, and once one
        address has had DENIALS_AUDITED of them in WINDOW, that address's next WINDOW seconds
        of them are not written (the entry that starts it says so), so a script of bad requests
        cannot fill the trail at disk speed."""
        if self._denials.held(client):
            return
        entry = entry | {"user": cut(entry.get("user"), USER_CUT),
                         "path": cut(entry.get("path"), PATH_CUT), "address": client}  # fmt: skip
        if self._denials.add(client):
            entry["reason"] = (f"{entry.get('reason')}; the {DENIALS_AUDITED}th such refusal "
                               f"from this address in {WINDOW} s: its next {WINDOW} s of them "
                               "are not audited")  # fmt: skip
        self.settings.trail.append(entry)

    @staticmethod
    def fields(body: dict) -> dict:
        """The request's fields, each text or absent, and short enough to audit."""
        if body.pop("_oversized", False):
            raise Refusal(413, f"a request is at most {BODY_BYTES:,} bytes")
        for name, value in body.items():
            if value is not None and not isinstance(value, str):
                raise Refusal(400, f"{name} must be text")
            if name != "sql" and value and len(value) > FIELD_LENGTH:
                raise Refusal(400, f"{name} is longer than {FIELD_LENGTH} characters")
        return body

    def grant(self, user: str, body: dict) -> policy.Grant:
        request = policy.Request(
            user, str(body.get("purpose") or ""), body.get("case") or None,
            body.get("project") or None,
        )  # fmt: skip
        try:
            return policy.authorise(self.policy(), request, dt.date.today())
        except policy.Denied as e:
            raise Refusal(403, str(e)) from None

    def sandbox(self, grant: policy.Grant) -> Sandbox:
        try:
            return open_sandbox(grant, self.settings.marts, self._access, self.settings.limits)
        except duckdb.IOException:
            raise Refusal(503, f"{policy.tier_label(grant.tier)} is not published yet") from None

    def statement(self, box: Sandbox, text: str) -> statements.Statement:
        try:
            statement = statements.parse(text, box.tier, box.tables)
            if box.tier == "level3":
                statements.check_person_column(statement, box.schema)
        except statements.Refused as e:
            reason = str(e)
            for table, why in box.hidden.items():
                if re.search(rf"\b{re.escape(table)}\b", text, re.IGNORECASE):
                    reason = f"{reason}; {why}"
            raise Refusal(403, reason) from None
        return statement

    @contextlib.contextmanager
    def slot(self, export: bool):
        """One of the queries that may run at once (each may take its memory limit); an export
        waits for the one export slot first, so a slot is always left for queries."""
        wait = self.settings.limits.seconds
        with contextlib.ExitStack() as held:
            for lock in (self._export, self._slots) if export else (self._slots,):
                if not lock.acquire(timeout=wait):
                    raise Refusal(503, "the service is busy with other requests: try again")
                held.callback(lock.release)
            yield

    @contextlib.contextmanager
    def audited(self, entry: dict):
        """A refusal or failure in the block is written to the trail with `entry`, then
        raised as a Refusal; the block appends its own outcome when it succeeds."""
        try:
            yield
        except Refusal as e:
            self.settings.trail.append(entry | {"outcome": "refused", "reason": e.reason})
            raise
        except (airlock.Refused, policy.PolicyError) as e:
            refusal = Refusal(403 if isinstance(e, airlock.Refused) else 503, str(e))
            self.settings.trail.append(entry | {"outcome": "refused", "reason": refusal.reason})
            raise refusal from None
        except (duckdb.Error, TimeoutError) as e:
            self.settings.trail.append(entry | {"outcome": "refused", "reason": _error(e)})
            raise Refusal(400, _error(e)) from None
        except Exception:  # e.g. a value Python cannot hold: audited all the same
            logging.getLogger(__name__).exception("%s failed", entry["action"])
            self.settings.trail.append(entry | {"outcome": "failed"})
            raise Refusal(500, "the service failed on this request: see its log") from None

    def governed(self, action: str, user: str, body: dict, work) -> dict:
        """Grant, sandbox and statement, then `work(grant, box, statement)`, which gives the
        answer and what the trail adds to the entry; every outcome audited."""
        entry = _entry(action, user, {})
        with self.audited(entry):
            entry |= _entry(action, user, self.fields(body))
            grant = self.grant(user, body)
            entry |= {"organisation": grant.organisation.name, "tier": grant.tier}
            with self.slot(export=action == "export_request"):
                box = self.sandbox(grant)
                try:
                    statement = self.statement(box, str(body.get("sql") or ""))
                    entry["tables"] = list(statement.tables)
                    box.load(list(statement.tables), self.settings.pseudonym_key)
                    answer, outcome = work(grant, box, statement)
                finally:
                    box.close()
        self.settings.trail.append(entry | outcome)
        return answer

    def query(self, user: str, body: dict) -> dict:
        def run(grant, box, statement):
            table, truncated = box.run(statement.sql, self.settings.limits)
            # By position: two columns of one name are two columns.
            columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
            outcome = {"rows": table.num_rows, "outcome": "returned"}
            if grant.tier == "level3" and statements.about_people(statement, box.schema):
                outcome["person_ids"] = _people(table)
            answer = {
                "tier": grant.tier,
                "tables": list(statement.tables),
                "columns": table.column_names,
                "rows": [[_plain(v) for v in row] for row in zip(*columns, strict=True)],
                "truncated": truncated,
            }
            return answer, outcome

        return self.governed("query", user, body, run)

    def export_request(self, user: str, body: dict) -> dict:
        def hold(grant, box, statement):
            fmt = str(body.get("format") or "csv")
            held = airlock.request(
                self.settings.exports, grant, statement, box, self.settings.limits, fmt
            )
            return held, {"export": held["id"], "rows": held["rows"], "outcome": "pending",
                          "reason": held["checks"]}  # fmt: skip

        return self.governed("export_request", user, body, hold)

    def export_review(self, user: str, export_id: str, body: dict) -> dict:
        entry = {"action": "export_review", "user": user, "export": export_id[:40]}
        with self.audited(entry):
            body = self.fields(body)
            reviewer = self.policy().users[user]
            entry["organisation"] = reviewer.organisation
            done = airlock.review(
                self.settings.exports, export_id, reviewer, body.get("decision"),
                str(body.get("comment") or ""),
            )  # fmt: skip
        self.settings.trail.append(
            entry | {"outcome": done["status"], "tier": done["tier"],
                     "project": done.get("project"), "reason": done.get("comment")}
        )  # fmt: skip
        if done["status"] == "approved":
            self.settings.trail.append(
                {"action": "export_write", "user": user, "export": export_id,
                 "tier": done["tier"], "rows": done["rows"], "outcome": "written",
                 "requester": done["user"]}
            )  # fmt: skip
        return done

    def export_fetch(self, user: str, export_id: str) -> tuple[bytes, str]:
        entry = {"action": "export_fetch", "user": user, "export": export_id[:40]}
        with self.audited(entry):
            entry["organisation"] = self.policy().users[user].organisation
            data, name = airlock.fetch(self.settings.exports, export_id, user)
        self.settings.trail.append(entry | {"outcome": "returned"})
        return data, name

    def exports(self, user: str, export_id: str | None = None) -> list[dict]:
        """The exports a user may see (a checker: all of them), each with its checked table's
        first rows, which is what a checker reviews."""
        entry = {"action": "export_list", "user": user, "export": (export_id or "")[:40]}
        with self.audited(entry):
            role = self.policy().users[user].role
            shown = [e | {"preview": airlock.preview(self.settings.exports, e["id"])}
                     for e in airlock.listing(self.settings.exports)
                     if (e["user"] == user or role == "checker")
                     and export_id in (None, e["id"])]  # fmt: skip
        self.settings.trail.append(entry | {"rows": len(shown), "outcome": "returned"})
        return shown


def _entry(action: str, user: str, body: dict) -> dict:
    return {
        "action": action,
        "user": user,
        "purpose": body.get("purpose"),
        "case": body.get("case"),
        "project": body.get("project"),
        "statement": body.get("sql"),
    }


def _people(table) -> list[str]:
    """The people a Level 3 result is about, for the audit trail: its one column `person_id`
    (so spelt: an attacker's `"PERSON_ID"` and a second `person_id` hid whose data it was), on
    every row, and few enough for a case."""
    named = [i for i, c in enumerate(table.column_names) if c.lower() == "person_id"]
    if len(named) != 1 or table.column_names[named[0]] != "person_id":
        raise Refusal(403, "a Level 3 result about people has one column named person_id")
    values = table.column(named[0]).to_pylist()
    if None in values:
        raise Refusal(403, "every row of a Level 3 result about people has its person_id")
    people = sorted(set(values))
    if len(people) > CASE_PEOPLE:
        raise Refusal(
            # never the number itself: a count of people is Level 1's, and exact counts of
            # ranges of person IDs would find the IDs that erasures and merges took away
            403, f"a case looks up its people: this result is about more than {CASE_PEOPLE}; "
            "narrow it",
        )  # fmt: skip
    return people


def _plain(value):
    """A value as JSON carries it: dates and times in ISO 8601, decimals as numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN or infinity
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.date | dt.time | dt.datetime):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def _error(error: Exception) -> str:
    """DuckDB's message without the values it quotes: a conversion error can quote a value of
    a row the grant's filter would have removed."""
    first = str(error).strip().splitlines()[0]
    return re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", first)


def app(service: Service) -> Starlette:
    """The HTTP routes over `service`. Each request's body is read here, then its work runs in
    a thread of the pool, so a slow query holds no other request."""
    from dagster_project.access import review_page  # it builds on this module's Service

    def handle(work):
        def endpoint(http: HttpRequest):
            denial = {"action": "denial", "user": http.headers.get("x-hub-user"),
                      "outcome": "refused", "path": http.url.path}  # fmt: skip
            try:
                user = service.authenticate(http)
                return work(user, http)
            except Refusal as e:
                if e.status in (401, 429):  # who asks is not known: see Service.deny
                    service.deny(denial | {"reason": e.reason}, client_of(http))
                return _refused(e)
            except policy.PolicyError as e:
                service.deny(denial | {"reason": "the access policy is not valid"},
                             client_of(http))  # fmt: skip
                return _json({"refused": f"the access policy is not valid: {e}"}, 503)
            except Exception:  # logged by the server; the answer names no internals
                logging.getLogger(__name__).exception("request to %s failed", http.url.path)
                return _json({"refused": "the service failed: see its log"}, 500)

        return endpoint

    async def body_of(http: HttpRequest) -> dict:
        raw = b""
        async for chunk in http.stream():
            raw += chunk
            if len(raw) > BODY_BYTES:
                return {"_oversized": True}
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        return body if isinstance(body, dict) else {}

    def json_endpoint(work):
        inner = handle(work)

        async def endpoint(http: HttpRequest):
            http.state.body = await body_of(http)
            return await run_in_threadpool(inner, http)

        return endpoint

    def query(user, http):
        return _json(service.query(user, http.state.body))

    def export_request(user, http):
        return _json(service.export_request(user, http.state.body))

    def export_review(user, http):
        return _json(service.export_review(user, http.path_params["export"], http.state.body))

    def export_fetch(user, http):
        data, name = service.export_fetch(user, http.path_params["export"])
        return Response(
            data, headers=NO_STORE | {"content-disposition": f'attachment; filename="{name}"'},
            media_type="application/octet-stream",
        )  # fmt: skip

    def exports(user, http):
        return _json(service.exports(user, http.path_params.get("export")))

    async def health(http: HttpRequest):  # on the event loop: busy worker threads do not slow it
        return _json({"status": "ok"})

    async def not_routed(http: HttpRequest, error: HTTPException):  # 404, 405: no route
        return _unrouted(http.url.path, error.status_code, error.detail, review_page.HEADERS)

    application = Starlette(
        routes=[
            *review_page.routes(service),
            Route("/health", health),
            Route("/query", json_endpoint(query), methods=["POST"]),
            Route("/exports", json_endpoint(exports), methods=["GET"]),
            Route("/exports", json_endpoint(export_request), methods=["POST"]),
            Route("/exports/{export}", json_endpoint(exports), methods=["GET"]),
            Route("/exports/{export}/review", json_endpoint(export_review), methods=["POST"]),
            Route("/exports/{export}/file", json_endpoint(export_fetch), methods=["GET"]),
        ],
        middleware=[
            # A page another site's name resolves to (DNS rebinding) is not answered.
            Middleware(TrustedHostMiddleware, allowed_hosts=hosts(), www_redirect=False),
            Middleware(Guard, page_headers=review_page.HEADERS),
        ],
        exception_handlers={HTTPException: not_routed},
    )
    application.router.redirect_slashes = False  # its redirects named whatever Host was sent
    return application


def hosts() -> list[str]:
    """The names the service answers to: its own (HUB_SERVICE_URL's) and this machine's."""
    return sorted({urlparse(service_url()).hostname or "127.0.0.1", "127.0.0.1", "localhost"})


def _json(data, status: int = 200, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=NO_STORE | (headers or {}))


def _refused(refusal: Refusal) -> JSONResponse:
    retry = {"retry-after": str(refusal.retry)} if refusal.retry else None
    return _json({"refused": refusal.reason}, refusal.status, retry)


def _unrouted(path: str, status: int, reason: str, page_headers: dict[str, str]) -> Response:
    """An answer of no route's: plain text with the review page's headers on its paths."""
    if path.startswith("/review"):
        return PlainTextResponse(reason, status, headers=page_headers)
    return _json({"refused": reason}, status)


class Guard:
    """Around every route: refuses an X-Hub-User or Authorization header too long to be one
    (400, before anything is audited), and answers what no route caught (a failure in route
    matching, say) with a plain 500 that names no internals, with the review page's security
    headers on its paths."""

    def __init__(self, app, page_headers: dict[str, str]):
        self.app, self.page_headers = app, page_headers

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for name, value in scope["headers"]:
            if name in CHECKED_HEADERS and len(value) > HEADER_BYTES:
                reason = f"the {name.decode()} header is longer than {HEADER_BYTES} bytes"
                answer = _unrouted(scope["path"], 400, reason, self.page_headers)
                return await answer(scope, receive, send)
        started = False

        async def sending(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:
            if started:
                raise  # too late for an answer of its own
            logging.getLogger(__name__).exception("%s failed", cut(scope["path"], PATH_CUT))
            reason = "the service failed: see its log"
            failed = _unrouted(scope["path"], 500, reason, self.page_headers)
            await failed(scope, receive, send)
