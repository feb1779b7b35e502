"""The clerical review page: the spines' review queues (Level 3) in a browser, for users with
the reviewer role, behind the query service's tokens, policy and audit trail (docs/access.md,
"The review page").

A browser cannot send the API's bearer token, so a reviewer gives it once to a login form and
gets a session: a random id in a cookie (HttpOnly, SameSite=Strict, Path=/review), the session
itself kept in this process only, ending after a while idle, after a working day, at logout,
and when the user's token is reissued or their role changes. Every form carries a CSRF token:
the login form a signed one that nothing stores (so showing the form costs the service
nothing), the others their session's. Each pair or mention shown and each decision is written
to the audit trail before the page leaves, a decision before it is written to the spines'
decision files (review_queue.py).

Pages are self-contained: no script, no fonts, no tiles, nothing fetched from anywhere; the map
is an SVG drawn here from the gazetteer's coordinates.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import html
import logging
import math
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl

import duckdb
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request as HttpRequest
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from dagster_project.access import policy, review_queue, tokens
from dagster_project.access.review_queue import Decided, Gazetteer, Point, QueueError
from dagster_project.access.service import (
    FIELD_LENGTH,
    PATH_CUT,
    USER_CUT,
    Refusal,
    Service,
    client_of,
    cut,
)
from dagster_project.people import review

COOKIE = "hub_review"
LOGIN_COOKIE = "hub_review_login"  # the login form's nonce, which its CSRF token signs
LOGIN_SECONDS = 600  # a login form's CSRF token is good for this long
IDLE_SECONDS = 30 * 60  # a reviewer's session ends after this long without a request
LIFETIME_SECONDS = 8 * 3600  # and after a working day whatever happens
SESSIONS = 1_000  # reviewers' sessions at once: a login beyond it is refused, none evicted
SESSIONS_PER_USER = 5  # a reviewer's own oldest session ends at their next login beyond it
FORM_BYTES = 16_000  # a form larger than this is refused unread
HEADERS = {
    "cache-control": "no-store",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
PERSON_FIELDS = (  # label, the queue's column without its _l / _r
    ("feed", "source"),
    ("record", "person_record_id"),
    ("forename", "forename"),
    ("surname", "surname"),
    ("date of birth", "date_of_birth"),
    ("sex", "sex"),
    ("address", "address"),
    ("postcode", "postcode"),
)
NONE_OF_THESE = "none"


class ItemNumber(Convertor[int]):
    """`{n:item}`: an item's number, at most 9 digits. Starlette's `int` took any number of
    digits, and Python refuses to read one of 4,301 or more: a 500 before any page code ran."""

    regex = "[0-9]{1,9}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("item", ItemNumber())


# --- the login form's CSRF tokens -----------------------------------------------------------


class LoginForms:
    """The login form's CSRF tokens, kept nowhere: `expiry.nonce.mac`, the MAC an HMAC-SHA256
    under a secret of this process over the expiry and the nonce. Every form shown used to be
    a stored session, and a script showing the form a thousand times pushed every reviewer's
    session out. The nonce is also the form's cookie, so a token fetched by another browser
    (an attacker's, to log a reviewer in as themselves) is no use without it."""

    def __init__(self):
        self._secret = secrets.token_bytes(32)

    def _mac(self, expiry: str, nonce: str) -> str:
        return hmac.new(self._secret, f"{expiry}.{nonce}".encode(), hashlib.sha256).hexdigest()

    def new(self) -> tuple[str, str]:
        """A nonce for the cookie and the token for the form."""
        nonce, expiry = secrets.token_urlsafe(16), str(int(time.monotonic()) + LOGIN_SECONDS)
        return nonce, f"{expiry}.{nonce}.{self._mac(expiry, nonce)}"

    def check(self, token: str, nonce: str | None) -> None:
        expiry, _, rest = token.partition(".")
        signed, _, mac = rest.partition(".")
        genuine = hmac.compare_digest(mac.encode(), self._mac(expiry, signed).encode())
        ours = hmac.compare_digest(signed.encode(), (nonce or "").encode())
        if not (genuine and ours and expiry.isdigit() and int(expiry) >= time.monotonic()):
            raise Refusal(403, "the form's CSRF token is missing or wrong: open the page again")


# --- sessions -------------------------------------------------------------------------------


@dataclass
class Session:
    user: str
    csrf: str
    started: float
    seen: float
    token_hash: str | None  # the user's token hash at login: a new token ends the session


class Sessions:
    """Reviewers' sessions by the SHA-256 of their id, in this process only: a restart logs
    everyone out, and nothing on disk holds a live session. Only a login with a reviewer's
    token makes one, so no stranger can push a reviewer's session out: beyond SESSIONS a login
    is refused, and beyond SESSIONS_PER_USER only the same reviewer's oldest session ends."""

    def __init__(self):
        self._held: dict[str, Session] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(sid: str) -> str:
        return hashlib.sha256(sid.encode()).hexdigest()

    def new(self, user: str, token_hash: str | None) -> str:
        sid, now = secrets.token_urlsafe(32), time.monotonic()
        session = Session(user, secrets.token_urlsafe(32), now, now, token_hash)
        with self._lock:
            self._forget_expired(now)
            own = sorted((k for k, s in self._held.items() if s.user == user),
                         key=lambda k: self._held[k].started)  # fmt: skip
            for key in own[: max(len(own) - SESSIONS_PER_USER + 1, 0)]:
                del self._held[key]
            if len(self._held) >= SESSIONS:
                raise Refusal(503, f"{SESSIONS:,} reviewers are logged in, the most the page "
                                   "holds: try again when one has logged out")  # fmt: skip
            self._held[self._key(sid)] = session
        return sid

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        now = time.monotonic()
        with self._lock:
            session = self._held.get(self._key(sid))
            if session is None or _expired(session, now):
                self._held.pop(self._key(sid), None)
                return None
            session.seen = now
            return session

    def drop(self, sid: str | None) -> None:
        with self._lock:
            self._held.pop(self._key(sid or ""), None)

    def _forget_expired(self, now: float) -> None:
        for key in [k for k, s in self._held.items() if _expired(s, now)]:
            del self._held[key]


def _expired(session: Session, now: float) -> bool:
    return now - session.seen > IDLE_SECONDS or now - session.started > LIFETIME_SECONDS


def _cookie(sid: str, name: str = COOKIE, path: str = "/review") -> str:
    """A cookie for this browser session only (no Max-Age): the server ends the session."""
    return f"{name}={sid}; HttpOnly; SameSite=Strict; Path={path}"


def _gone() -> str:
    return f"{COOKIE}=; HttpOnly; SameSite=Strict; Path=/review; Max-Age=0"


# --- one request ----------------------------------------------------------------------------


class LoginNeeded(Exception):
    """No live session: a page asked for is answered with the login form."""


@dataclass
class Reviewer:
    sid: str
    session: Session
    grant: policy.Grant

    @property
    def user(self) -> str:
        return self.grant.user.name


class ReviewPage:
    """The page's work over one Service: who is asking, the queues, the decisions."""

    def __init__(self, service: Service):
        self.service = service
        self.sessions = Sessions()
        self.forms = LoginForms()
        self.gazetteer = Gazetteer(service.settings.gazetteer)

    @property
    def trail(self):
        return self.service.settings.trail

    def _token_hash(self, user: str) -> str | None:
        return tokens.hashes(self.service.settings.tokens).get(user)

    def reviewer(self, http: HttpRequest, entry: dict) -> Reviewer:
        """The session's reviewer, checked again on every request against the token store and
        the policy (which may have changed since login)."""
        sid = http.cookies.get(COOKIE)
        session = self.sessions.get(sid)
        if session is None:
            raise LoginNeeded
        if session.token_hash != self._token_hash(session.user):
            self.sessions.drop(sid)
            raise LoginNeeded  # the token was reissued: the session it opened ends with it
        http.state.known = True  # a reviewer's refusals are always audited
        entry["user"] = session.user
        grant = self.grant(session.user, entry)
        return Reviewer(sid, session, grant)

    def grant(self, user: str, entry: dict) -> policy.Grant:
        current = self.service.policy()
        try:
            grant = policy.authorise_review(current, user)
        except policy.Denied as e:
            if user in current.users:  # the refusal's organisation, for the trail
                entry["organisation"] = current.users[user].organisation
            raise Refusal(403, str(e)) from None
        entry |= {"organisation": grant.organisation.name, "tier": grant.tier,
                  "purpose": grant.purpose}  # fmt: skip
        return grant

    @staticmethod
    def check_csrf(session: Session | None, form: dict) -> None:
        given = form.get("csrf") or ""
        if session is None or not hmac.compare_digest(given.encode(), session.csrf.encode()):
            raise Refusal(403, "the form's CSRF token is missing or wrong: open the page again")

    @contextlib.contextmanager
    def queues(self, grant: policy.Grant):
        """Level 3's queues as `grant` sees them, in one of the service's query slots."""
        settings = self.service.settings
        with self.service.slot(export=False):
            try:
                with review_queue.open_queues(
                    settings.marts, grant, self.service._access, settings.limits
                ) as queues:
                    yield queues
            except duckdb.IOException:
                raise Refusal(503, "Level 3 is not published yet") from None
            except QueueError as e:
                raise Refusal(503, str(e)) from None

    def files(self):
        settings = self.service.settings
        if settings.person_decisions is None or settings.place_decisions is None:
            raise Refusal(503, "the review page has no decision files configured")
        return settings.person_decisions, settings.place_decisions

    def decided(self):
        person, place = self.files()
        try:
            return review_queue.decided_pairs(person), review_queue.decided_mentions(place)
        except review.DecisionsError as e:
            raise Refusal(503, f"a decisions file does not read: {e}") from None


def _nth(items: list, n: int, what: str):
    if not 1 <= n <= len(items):
        raise Refusal(404, f"there is no {what} {n} in this release's queue ({len(items)})")
    return items[n - 1]


def _next(items: list, decided, n: int) -> int | None:
    """The first item after the n-th not yet decided, from the start again after the last."""
    order = list(range(n + 1, len(items) + 1)) + list(range(1, n + 1))
    return next((i for i in order if items[i - 1] not in decided), None)


def _form_field(form: dict, name: str) -> str:
    value = form.get(name) or ""
    if len(value) > FIELD_LENGTH:
        raise Refusal(400, f"{name} is longer than {FIELD_LENGTH} characters")
    return value


# --- the pages' work ------------------------------------------------------------------------


def login_form(page: ReviewPage, http: HttpRequest, form: dict, entry: dict) -> Response:
    if page.sessions.get(http.cookies.get(COOKIE)) is not None:
        return _redirect("/review")
    nonce, csrf = page.forms.new()
    return _html(_login_html(csrf), cookie=_cookie(nonce, LOGIN_COOKIE, "/review/login"))


def login(page: ReviewPage, http: HttpRequest, form: dict, entry: dict) -> Response:
    page.forms.check(form.get("csrf") or "", http.cookies.get(LOGIN_COOKIE))
    user = _form_field(form, "user").strip()
    entry["user"] = cut(user, USER_CUT)
    page.service.check_token(user, form.get("token") or None, client_of(http))  # as the API
    http.state.known = True
    page.grant(user, entry)
    old = http.cookies.get(COOKIE)
    page.sessions.drop(old)  # a new id at login: a session id known before is worth nothing
    sid = page.sessions.new(user, page._token_hash(user))
    page.trail.append(entry | {"outcome": "granted"})
    return _redirect("/review", cookie=_cookie(sid))


def logout(page: ReviewPage, http: HttpRequest, form: dict, entry: dict) -> Response:
    sid = http.cookies.get(COOKIE)
    session = page.sessions.get(sid)
    if session is not None:
        http.state.known = True  # a reviewer's refusals are always audited
        entry["user"] = session.user
    page.check_csrf(session, form)
    page.sessions.drop(sid)
    page.trail.append(entry | {"outcome": "logged out"})
    return _redirect("/review/login", cookie=_gone())


def queue(page: ReviewPage, http: HttpRequest, form: dict, entry: dict) -> Response:
    who = page.reviewer(http, entry)
    pairs_decided, mentions_decided = page.decided()
    with page.queues(who.grant) as queues:
        release, pairs, mentions = queues.release(), queues.pairs(), queues.mentions()
    counts = {
        "person": _counts(pairs, pairs_decided),
        "place": _counts(mentions, mentions_decided),
    }
    return _html(_queue_html(release, counts, who))


def _counts(items: list, decided) -> dict:
    waiting = [i for i, item in enumerate(items, start=1) if item not in decided]
    return {"queued": len(items), "decided": len(items) - len(waiting), "waiting": len(waiting),
            "first": waiting[0] if waiting else None}  # fmt: skip


def person_view(page: ReviewPage, http: HttpRequest, form: dict, entry: dict) -> Response:
    who = page.reviewer(http, entry)
    n = http.path_params["n"]
    pairs_decided, _ = page.decided()
    with page.queues(who.grant) as queues:
        release, pairs = queues.release(), queues.pairs()
        left, right = _nth(pairs, n, "person pair")
        row = queues.pair(left, right)
    page.trail.append(entry | {"release": release, "item": f"person/{n}",
                               "person_records": [left, right], "outcome": "returned"})  # fmt: skip
    decided = pairs_decided.get((left, right))
    return _html(_person_html(n, len(pairs), row, decided, who))


def person_decision(page: ReviewPage, http: HttpRequest, form: dict, entry: dict) -> Response:
    who = page.reviewer(http, entry)
    page.check_csrf(who.session, form)
    n = http.path_params["n"]
    person_file, _ = page.files()
    with page.queues(who.grant) as queues:
        release, pairs = queues.release(), queues.pairs()
        shown = _nth(pairs, n, "person pair")
    entry |= {"release": release, "item": f"person/{n}", "person_records": list(shown)}
    if (form.get("left"), form.get("right")) != shown:
        raise Refusal(409, "this item is another pair since a new release: open it again")
    decision = form.get("decision")
    if decision not in (review.MATCH, review.NOT_A_MATCH):
        raise Refusal(400, f"a decision is '{review.MATCH}' or '{review.NOT_A_MATCH}'")
    rows = review_queue.person_rows(*shown, decision == review.MATCH)
    entry["decision"] = decision
    _record(page, entry, person_file, review.PERSON, rows, who.user, _form_field(form, "note"))
    decided, _ = page.decided()
    following = _next(pairs, decided, n)
    return _redirect(f"/review/person/{following}" if following else "/review")


def place_view(page: ReviewPage, http: HttpRequest, form: dict, entry: dict) -> Response:
    who = page.reviewer(http, entry)
    n = http.path_params["n"]
    _, mentions_decided = page.decided()
    with page.queues(who.grant) as queues:
        release, mentions = queues.release(), queues.mentions()
        mention = _nth(mentions, n, "place mention")
        rows = queues.candidates(mention)
    candidates = [r["candidate"] for r in rows]
    page.trail.append(entry | {"release": release, "item": f"place/{n}",
                               "place_record_id": mention, "candidates": candidates,
                               "outcome": "returned"})  # fmt: skip
    points = page.gazetteer.points(candidates, rows[0]["postcode"])
    decided = mentions_decided.get(mention)
    return _html(_place_html(n, len(mentions), rows, points, decided, who))


def place_decision(page: ReviewPage, http: HttpRequest, form: dict, entry: dict) -> Response:
    who = page.reviewer(http, entry)
    page.check_csrf(who.session, form)
    n = http.path_params["n"]
    _, place_file = page.files()
    with page.queues(who.grant) as queues:
        release, mentions = queues.release(), queues.mentions()
        mention = _nth(mentions, n, "place mention")
        candidates = [r["candidate"] for r in queues.candidates(mention)]
    entry |= {"release": release, "item": f"place/{n}", "place_record_id": mention}
    if form.get("mention") != mention:
        raise Refusal(409, "this item is another mention since a new release: open it again")
    chosen = form.get("candidate")
    if chosen != NONE_OF_THESE and chosen not in candidates:
        raise Refusal(400, "choose one of the mention's candidates, or none of these")
    chosen = None if chosen == NONE_OF_THESE else chosen
    note = _form_field(form, "note")
    try:
        rows = review_queue.place_rows(place_file, mention, chosen, candidates)
    except review.DecisionsError as e:
        raise Refusal(503, f"the decision was not recorded: {e}") from None
    entry |= {"candidate": chosen or "none of these",
              "decision": review.MATCH if chosen else review.NOT_A_MATCH}  # fmt: skip
    _record(page, entry, place_file, review.PLACE, rows, who.user, note)
    _, decided = page.decided()
    following = _next(mentions, decided, n)
    return _redirect(f"/review/place/{following}" if following else "/review")


def _record(page: ReviewPage, entry: dict, path, keys, rows, reviewer: str, note: str) -> None:
    """A decision audited, then written: the file never holds a decision the trail does not. A
    write that fails after its entry is refused (503), and the refusal audited after it; a
    decision the file already holds, with the same note (a form sent twice), is audited as
    `unchanged` and answered as if recorded, but not written again."""
    try:
        same = review_queue.unchanged(path, keys, rows, note)
    except review.DecisionsError as e:
        raise Refusal(503, f"the decision was not recorded: {e}") from None
    page.trail.append(entry | {"outcome": "unchanged" if same else "recorded"})
    if same:
        return
    try:
        review_queue.append(path, keys, rows, reviewer, note)
    except (review.DecisionsError, OSError) as e:
        raise Refusal(503, f"the decision was audited but not written to its file: {e}") from None


# --- HTTP -----------------------------------------------------------------------------------


def _html(
    body: str, status: int = 200, cookie: str | None = None, headers: dict | None = None
) -> Response:
    response = HTMLResponse(body, status_code=status, headers=HEADERS | (headers or {}))
    if cookie:
        response.headers.append("set-cookie", cookie)
    return response


def _redirect(path: str, cookie: str | None = None) -> Response:
    response = RedirectResponse(path, status_code=303, headers=HEADERS)
    if cookie:
        response.headers.append("set-cookie", cookie)
    return response


async def _form(http: HttpRequest) -> dict:
    """An url-encoded form's fields (the first of each name), or {} when it is not one."""
    raw = b""
    async for chunk in http.stream():
        raw += chunk
        if len(raw) > FORM_BYTES:
            return {"_oversized": "yes"}
    if not http.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    try:
        fields = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return {}
    form: dict[str, str] = {}
    for name, value in fields:
        form.setdefault(name, value)
    return form


def routes(service: Service) -> list[Route]:
    page = ReviewPage(service)

    def refused(http: HttpRequest, entry: dict, refusal: Refusal) -> Response:
        """The refusal audited (a stranger's through the service's throttle: Service.deny)
        and shown."""
        entry = entry | {"outcome": "refused", "reason": refusal.reason}
        if getattr(http.state, "known", False):
            page.trail.append(entry)
        else:
            page.service.deny(entry, client_of(http))
        retry = {"retry-after": str(refusal.retry)} if refusal.retry else None
        return _html(_error_html(refusal), refusal.status, headers=retry)

    def answer(action: str, work, http: HttpRequest, form: dict) -> Response:
        entry = {"action": action, "user": None, "path": cut(http.url.path, PATH_CUT)}
        try:
            if form.pop("_oversized", None):
                raise Refusal(413, f"a form is at most {FORM_BYTES:,} bytes")
            return work(page, http, form, entry)
        except LoginNeeded:
            if http.method == "GET":
                return _redirect("/review/login")
            return refused(http, entry, Refusal(401, "log in first: the session is missing "
                                                     "or has ended"))  # fmt: skip
        except Refusal as e:
            return refused(http, entry, e)
        except policy.PolicyError:
            return refused(http, entry, Refusal(503, "the access policy is not valid"))
        except Exception:  # logged by the server; the page names no internals
            logging.getLogger(__name__).exception("%s failed", action)
            page.trail.append(entry | {"outcome": "failed"})
            return _html(_error_html(Refusal(500, "the review page failed: see its log")), 500)

    def endpoint(action: str, work):
        async def run(http: HttpRequest):
            form = await _form(http) if http.method == "POST" else {}
            return await run_in_threadpool(answer, action, work, http, form)

        return run

    decide_person = endpoint("review_decision", person_decision)
    decide_place = endpoint("review_decision", place_decision)
    return [
        Route("/review", endpoint("review_queue", queue), methods=["GET"]),
        Route("/review/login", endpoint("review_login", login_form), methods=["GET"]),
        Route("/review/login", endpoint("review_login", login), methods=["POST"]),
        Route("/review/logout", endpoint("review_logout", logout), methods=["POST"]),
        Route("/review/person/{n:item}", endpoint("review_view", person_view), methods=["GET"]),
        Route("/review/person/{n:item}", decide_person, methods=["POST"]),
        Route("/review/place/{n:item}", endpoint("review_view", place_view), methods=["GET"]),
        Route("/review/place/{n:item}", decide_place, methods=["POST"]),
    ]


# --- HTML -----------------------------------------------------------------------------------

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1b1b1b; background: #f6f6f4; }
header { background: #1d3557; color: #fff; padding: .6em 1.2em; display: flex;
         align-items: center; gap: 1em; }
header a { color: #fff; } header .who { margin-left: auto; }
main { max-width: 1100px; margin: 1.2em auto; padding: 0 1.2em; }
h1 { font-size: 1.35em; margin: .2em 0 .6em; }
table { border-collapse: collapse; background: #fff; margin: .6em 0 1em; }
th, td { border: 1px solid #ccc; padding: .35em .6em; text-align: left; vertical-align: top; }
th { background: #eceae4; }
tr.differs td { background: #fff3cd; }
.note { color: #555; } .refused { color: #8b0000; }
form.inline { display: inline; }
button { font: inherit; padding: .35em .9em; margin: .2em .3em .2em 0; cursor: pointer; }
button.match { background: #2a7d2e; color: #fff; border: 1px solid #1d5a20; }
button.nomatch { background: #a4281b; color: #fff; border: 1px solid #7a1d13; }
textarea { width: 100%; max-width: 40em; font: inherit; }
label { display: block; margin: .5em 0 .2em; }
input[type=text], input[type=password] { font: inherit; width: 22em; padding: .3em; }
nav.items a { margin-right: 1em; }
svg { background: #fff; border: 1px solid #ccc; }
"""


def e(value) -> str:
    """Any value as HTML text: escaped, quotes too, so it is safe in an attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def _page(title: str, body: str, who: Reviewer | None = None) -> str:
    logout = ""
    if who is not None:
        logout = (
            f'<span class="who">{e(who.user)} ({e(who.grant.organisation.title)})</span>'
            '<form class="inline" method="post" action="/review/logout">'
            f'<input type="hidden" name="csrf" value="{e(who.session.csrf)}">'
            "<button>log out</button></form>"
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)} · clerical review</title><style>{STYLE}</style></head><body>"
        f'<header><a href="/review">Clerical review</a>{logout}</header>'
        f"<main>{body}</main></body></html>"
    )


def _login_html(csrf: str) -> str:
    return _page("Log in", (
        "<h1>Log in to clerical review</h1>"
        '<form method="post" action="/review/login" autocomplete="off">'
        f'<input type="hidden" name="csrf" value="{e(csrf)}">'
        '<label for="user">user name</label><input type="text" id="user" name="user">'
        '<label for="token">token</label>'
        '<input type="password" id="token" name="token">'
        '<p class="note">Your token is the one <code>hub access token --user &lt;you&gt;</code> '
        "issued (your file <code>tokens/&lt;you&gt;.token</code>). It is checked once, here; "
        "the page then keeps a session.</p><button>log in</button></form>"
    ))  # fmt: skip


def _error_html(refusal: Refusal) -> str:
    return _page(
        "Refused",
        f"<h1>Refused ({refusal.status})</h1>"
        f'<p class="refused">{e(refusal.reason)}</p>'
        '<p><a href="/review">the queue</a> · <a href="/review/login">log in</a></p>',
    )


def _queue_html(release: str, counts: dict, who: Reviewer) -> str:
    rows = []
    for kind, label in (("person", "person pairs"), ("place", "place mentions")):
        c = counts[kind]
        start = (f'<a id="{kind}-next" href="/review/{kind}/{c["first"]}">review the next '
                 f"({c['first']})</a>" if c["first"] else "all decided")  # fmt: skip
        rows.append(
            f'<tr><th>{label}</th><td id="{kind}-queued">{c["queued"]}</td>'
            f'<td id="{kind}-decided">{c["decided"]}</td>'
            f'<td id="{kind}-waiting">{c["waiting"]}</td><td>{start}</td></tr>'
        )
    return _page("The queue", (
        "<h1>The review queues</h1>"
        f"<p>Release <code>{e(release)}</code>; the feeds your organisation sees at Level 3."
        " A decision is honoured from the spines' next run; the queues change at the next "
        "release.</p><table><tr><th></th><th>queued</th><th>decided since</th>"
        f"<th>waiting</th><th></th></tr>{''.join(rows)}</table>"
        '<p class="note">Each pair and mention you open, and each decision, is written to the '
        "audit trail (purpose: clerical review).</p>"
    ), who)  # fmt: skip


def _nav(kind: str, n: int, total: int) -> str:
    links = ['<a href="/review">the queue</a>']
    if n > 1:
        links.append(f'<a href="/review/{kind}/{n - 1}">previous</a>')
    if n < total:
        links.append(f'<a href="/review/{kind}/{n + 1}">next</a>')
    return f'<nav class="items">{"".join(links)}</nav>'


def _decided_note(text: str | None) -> str:
    return f'<p id="decided"><strong>Decided:</strong> {e(text)}.</p>' if text else ""


def _decision_text(decided: Decided) -> str:
    """A decision as the file holds it: what, by whom and when, and its note."""
    what = review.MATCH if decided.match else review.NOT_A_MATCH
    by = f" by {decided.reviewer}" if decided.reviewer else ""
    on = f" on {decided.on}" if decided.on else ""
    note = f" (note: {decided.note})" if decided.note else ""
    return f"{what}{by}{on}{note}"


def _differs(a, b) -> bool:
    def norm(v):
        return " ".join(str(v).split()).casefold() if v is not None else None

    return norm(a) != norm(b)


def _person_html(n: int, total: int, row: dict, decided: Decided | None, who: Reviewer) -> str:
    cells = []
    for label, column in PERSON_FIELDS:
        left, right = row.get(f"{column}_l"), row.get(f"{column}_r")
        differs = column != "person_record_id" and _differs(left, right)
        mark = " ≠" if differs else ""
        cells.append(f'<tr class="{"differs" if differs else "agrees"}"><th>{e(label)}{mark}'
                     f"</th><td>{e(left)}</td><td>{e(right)}</td></tr>")  # fmt: skip
    probability, weight = row.get("match_probability"), row.get("match_weight")
    decided_text = None if decided is None else f"{_decision_text(decided)}; a new one replaces it"
    return _page(f"Person pair {n}", (
        f"<h1>Person pair {n} of {total}</h1>{_nav('person', n, total)}"
        f"{_decided_note(decided_text)}"
        f"<table><tr><th></th><th>left record</th><th>right record</th></tr>{''.join(cells)}"
        "</table><p><strong>The model:</strong> match probability "
        f"<span id=\"probability\">{e(_number(probability, 4))}</span>, match weight "
        f"{e(_number(weight, 2))} (queued by run <code>{e(row.get('queued_by_run'))}</code>). "
        "Rows marked ≠ are where the two records differ; the queue does not hold the model's "
        "comparison levels.</p>"
        '<form method="post">'
        f'<input type="hidden" name="csrf" value="{e(who.session.csrf)}">'
        f'<input type="hidden" name="left" value="{e(row["person_record_id_l"])}">'
        f'<input type="hidden" name="right" value="{e(row["person_record_id_r"])}">'
        '<label for="note">note (optional; kept in the decisions file)</label>'
        '<textarea id="note" name="note" rows="2" maxlength="500"></textarea><p>'
        f'<button class="match" name="decision" value="{e(review.MATCH)}">match</button>'
        f'<button class="nomatch" name="decision" value="{e(review.NOT_A_MATCH)}">not a match'
        "</button></p></form>"
    ), who)  # fmt: skip


def _number(value, places: int) -> str:
    return "—" if value is None else f"{value:.{places}f}"


def _place_html(
    n: int, total: int, rows: list[dict], points: dict[str, Point], decided, who: Reviewer
) -> str:
    first = rows[0]
    choices = []
    for r in rows:
        found = "" if r["candidate"] in points else " (not in the gazetteer: not on the map)"
        choices.append(
            f"<tr><td>{e(r['rank'])}</td><td><code>{e(r['candidate'])}</code></td>"
            f"<td>{e(r['candidate_address'])}{e(found)}</td><td>{e(_number(r['score'], 3))}</td>"
            f'<td><button class="match" name="candidate" value="{e(r["candidate"])}">'
            "this is the place</button></td></tr>"
        )
    decided_text = (
        None
        if decided is None
        else "; ".join(f"{c} {_decision_text(d)}" for c, d in sorted(decided.items()))
        + "; a new decision replaces these"
    )
    located = (
        "the mention is drawn at its postcode's centre"
        if "postcode" in points
        else "the mention has no postcode the gazetteer knows, so it is not on the map"
    )
    return _page(f"Place mention {n}", (
        f"<h1>Place mention {n} of {total}</h1>{_nav('place', n, total)}"
        f"{_decided_note(decided_text)}"
        f"<table><tr><th>mention</th><td>{e(first['mention'])}</td></tr>"
        f"<tr><th>postcode</th><td>{e(first['postcode'])}</td></tr>"
        f"<tr><th>what it is</th><td>{e(first['kind'])}, in {e(first['source_feed'])}</td></tr>"
        f"<tr><th>why it waits</th><td>{e(first['reason'])}</td></tr>"
        f"<tr><th>record</th><td><code>{e(first['place_record_id'])}</code></td></tr></table>"
        f"{_map_svg(rows, points)}<p class=\"note\">North is up; {e(located)}.</p>"
        '<form method="post">'
        f'<input type="hidden" name="csrf" value="{e(who.session.csrf)}">'
        f'<input type="hidden" name="mention" value="{e(first["place_record_id"])}">'
        "<table><tr><th>rank</th><th>candidate</th><th>address</th><th>score</th><th></th></tr>"
        f"{''.join(choices)}</table>"
        '<label for="note">note (optional; kept in the decisions file)</label>'
        '<textarea id="note" name="note" rows="2" maxlength="500"></textarea><p>'
        f'<button class="nomatch" name="candidate" value="{NONE_OF_THESE}">none of these'
        "</button></p></form>"
    ), who)  # fmt: skip


# --- the map --------------------------------------------------------------------------------

WIDTH, HEIGHT, PAD = 640, 400, 56
SMALLEST_SPAN = 60.0  # metres: points closer than this are not blown up to fill the map


def _map_svg(rows: list[dict], points: dict[str, Point]) -> str:
    """The candidates (numbered by rank) and the mention's postcode centre on a plain grid,
    in metres of the British National Grid, scaled to their extent, north up."""
    shown = list(points.values())
    if not shown:
        return '<p class="note">No candidate is in the gazetteer: no map.</p>'
    xs, ys = [p.easting for p in shown], [p.northing for p in shown]
    cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    span_x = max(max(xs) - min(xs), SMALLEST_SPAN)
    span_y = max(max(ys) - min(ys), SMALLEST_SPAN)
    scale = min((WIDTH - 2 * PAD) / span_x, (HEIGHT - 2 * PAD) / span_y)

    def at(p: Point) -> tuple[float, float]:
        return WIDTH / 2 + (p.easting - cx) * scale, HEIGHT / 2 - (p.northing - cy) * scale

    marks = []
    if "postcode" in points:
        x, y = at(points["postcode"])
        marks.append(
            f'<g data-mark="mention"><path d="M{x - 8:.1f},{y:.1f} L{x:.1f},{y - 8:.1f} '
            f'L{x + 8:.1f},{y:.1f} L{x:.1f},{y + 8:.1f} Z" fill="#e9a23b" stroke="#6b4a12"/>'
            f'<text x="{x + 11:.1f}" y="{y + 16:.1f}" font-size="12">mention (postcode centre)'
            "</text></g>"
        )
    for r in rows:
        if r["candidate"] not in points:
            continue
        x, y = at(points[r["candidate"]])
        marks.append(
            f'<g data-mark="candidate"><circle cx="{x:.1f}" cy="{y:.1f}" r="9" fill="#1d3557"/>'
            f'<text x="{x:.1f}" y="{y + 4:.1f}" font-size="11" fill="#fff" '
            f'text-anchor="middle">{e(r["rank"])}</text>'
            f'<text x="{x + 12:.1f}" y="{y - 8:.1f}" font-size="12">{e(r["candidate"])}</text>'
            f"<title>{e(r['candidate_address'])}</title></g>"
        )
    return (
        f'<svg width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        'aria-label="the candidates and the mention on a map">'
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fbfbf8"/>'
        f"{_scale_bar(scale)}"
        f'<text x="{WIDTH - 24}" y="24" font-size="14" text-anchor="middle">N ↑</text>'
        f"{''.join(marks)}</svg>"
    )


def _scale_bar(scale: float) -> str:
    """A bar of a round length near a fifth of the map's width."""
    target = WIDTH / 5 / scale
    metres = min((s * 10**k for k in range(0, 6) for s in (1, 2, 5)),
                 key=lambda m: abs(math.log(m / target)))  # fmt: skip
    length = metres * scale
    label = f"{metres / 1000:g} km" if metres >= 1000 else f"{metres:g} m"
    y = HEIGHT - 18
    return (
        f'<line x1="16" y1="{y}" x2="{16 + length:.1f}" y2="{y}" stroke="#333" '
        'stroke-width="3"/>'
        f'<text x="16" y="{y - 7}" font-size="12">{e(label)}</text>'
    )
