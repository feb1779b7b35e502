"""The clerical review page against the real query service (`hub serve`, a process of its own on
localhost) over the session's released tiers: who may open it, the login form and its session,
the CSRF tokens, the queues as Level 3 holds them, decisions in the spines' own files, the audit
trail, and the page in a real browser.

Records are compared by their ids and counts only: no name or date of birth is printed, so
assertions test membership in a statement of its own (pytest would show a page's text)."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest
import yaml
from browser import Visit, browser, open_page, screenshot
from servers import free_port

from dagster_project.access import demo, tokens
from dagster_project.access.audit_log import AuditLog
from dagster_project.access.client import Client, Refused
from dagster_project.config import Paths
from dagster_project.people import review
from dagster_project.places import spine as place_spine
from dagster_project.platform import keys
from dagster_project.tiers import publish

pytestmark = pytest.mark.e2e  # needs the session's released tiers

PAGES: list[tuple[str, str]] = []  # every page the tests were shown: (path, html)
OUTSIDE = re.compile(r"<script\s[^>]*src|https?://", re.IGNORECASE)
XMLNS = re.compile(r"""xmlns(:\w+)?=["'][^"']*["']""")


class Served:
    def __init__(self, root: Path, url: str, issued: dict[str, str]):
        self.root, self.url, self.tokens = root, url, issued
        self.where = Paths(root)

    def trail(self) -> AuditLog:
        return AuditLog(self.where.audit, keys.key("audit").encode())

    def entries(self, **match) -> list[dict]:
        return [e for e in self.trail().entries() if all(e.get(k) == v for k, v in match.items())]

    def last(self, **match) -> dict:
        found = self.entries(**match)
        assert found, f"no audit entry with {match}"
        return found[-1]

    def browser_session(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, follow_redirects=False, timeout=60)


@pytest.fixture(scope="module")
def served(released, tmp_path_factory):
    """The released tiers and the region's gazetteer (the maps' coordinates) in a data folder
    of their own, the demo policy (one user per role, the reviewer among them) and their
    tokens, and the service started on it."""
    root = tmp_path_factory.mktemp("review") / "data"
    shutil.copytree(released.hub.where.marts, root / "marts", symlinks=True,
                    ignore=shutil.ignore_patterns(".next"))  # fmt: skip
    (root / "reference").mkdir()
    shutil.copy(released.hub.where.reference / "gazetteer.csv", root / "reference")
    where = Paths(root)
    where.policy.parent.mkdir(parents=True)
    where.policy.write_text(yaml.safe_dump(demo.policy("2099-12-31")))
    issued = {u: tokens.issue(where.access / "tokens.json", u) for u in demo.USERS}
    url = f"http://127.0.0.1:{free_port()}"
    env = {**os.environ, "HUB_DATA_DIR": str(root), "HUB_SERVICE_URL": url}
    env.pop("HUB_POLICY", None)
    log = open(root / "service.log", "wb")  # noqa: SIM115 (the process writes it until the end)
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("hub")), "serve"], stdout=log, stderr=log, env=env
    )
    for _ in range(120):
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                break
        assert process.poll() is None, "the service stopped: see its service.log"
        time.sleep(0.5)
    yield Served(root, url, issued)
    process.terminate()
    process.wait(30)
    log.close()


def _level3(served: Served, sql: str, params=()) -> list[tuple]:
    """Level 3 as published, read here with its key, to compare the page with."""
    with duckdb.connect() as con:
        publish.attach(con, publish.published(served.where.marts, "level3"), "level3", "l3")
        return con.execute(sql, list(params)).fetchall()


def _shown(client: httpx.Client, path: str, status: int = 200) -> str:
    """A page, its headers checked, kept for the test that nothing on it reaches off the
    machine."""
    answer = client.get(path)
    assert answer.status_code == status, (path, answer.status_code)
    _check_headers(answer)
    PAGES.append((path, answer.text))
    return answer.text


def _check_headers(answer: httpx.Response) -> None:
    assert answer.headers["cache-control"] == "no-store"
    policy = answer.headers["content-security-policy"]
    for part in ("default-src 'none'", "style-src 'unsafe-inline'", "img-src data:",
                 "form-action 'self'"):  # fmt: skip
        assert part in policy


def _csrf(text: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', text).group(1)


def _field(text: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]+)"', text).group(1)


def _login(served: Served, user: str = "reviewer", token: str | None = None):
    """A client logged in through the form (or refused): the client and the answer."""
    client = served.browser_session()
    form = _shown(client, "/review/login")
    answer = client.post("/review/login", data={
        "csrf": _csrf(form), "user": user,
        "token": served.tokens[user] if token is None else token,
    })  # fmt: skip
    _check_headers(answer)
    return client, answer


def _count(text: str, name: str) -> int:
    return int(re.search(rf'id="{name}">(\d+)<', text).group(1))


def test_a_non_reviewers_token_is_refused_and_the_refusal_audited(served):
    for user in ("practitioner", "admin", "analyst"):
        _, answer = _login(served, user)
        assert answer.status_code == 403, user
        named = "the review page is for users with the reviewer role" in answer.text
        assert named, user
        entry = served.last(action="review_login", user=user)
        assert entry["outcome"] == "refused" and "reviewer role" in entry["reason"]
        assert entry["organisation"] == demo.USERS[user][0]
    # And the reviewer's Level 3 is the page's only: no case lookups through the API.
    reviewer = Client("reviewer", served.tokens["reviewer"], served.url)
    with pytest.raises(Refused, match="reaches Level 3 on the review page only"):
        reviewer.query("select person_id from person_single_view limit 1", purpose="marac",
                       case="MARAC-2024-017")  # fmt: skip
    assert served.last(action="query", user="reviewer")["outcome"] == "refused"


def test_a_bad_token_and_a_missing_csrf_token_are_refused(served):
    _, wrong = _login(served, "reviewer", "not-the-token")
    assert wrong.status_code == 401
    assert served.last(action="review_login", user="reviewer")["reason"] == (
        "unknown user or wrong token")  # fmt: skip
    _, another = _login(served, "reviewer", served.tokens["practitioner"])
    assert another.status_code == 401
    # The login form itself needs its CSRF token.
    client = served.browser_session()
    _shown(client, "/review/login")
    bare = client.post("/review/login", data={"user": "reviewer",
                                              "token": served.tokens["reviewer"]})  # fmt: skip
    assert bare.status_code == 403 and "CSRF" in served.last(action="review_login")["reason"]
    # Logged in, a decision without the session's CSRF token is refused, and nothing written.
    client, answer = _login(served)
    assert answer.status_code == 303 and answer.headers["location"] == "/review"
    page = _shown(client, "/review/person/1")
    before = _decisions_text(served.where.person_decisions)
    form = {"left": _field(page, "left"), "right": _field(page, "right"), "decision": "match"}
    for csrf in (None, "forged"):
        refused = client.post("/review/person/1", data=form | ({"csrf": csrf} if csrf else {}))
        assert refused.status_code == 403
        assert "CSRF" in served.last(action="review_decision", user="reviewer")["reason"]
    assert _decisions_text(served.where.person_decisions) == before
    # Without a session: pages send the browser to the form, decisions are refused.
    stranger = served.browser_session()
    assert stranger.get("/review/person/1").headers["location"] == "/review/login"
    assert stranger.post("/review/person/1", data=form).status_code == 401


def _decisions_text(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def test_the_session_cookie_is_httponly_strict_and_scoped_to_the_page(served):
    client, answer = _login(served)
    cookie = answer.headers["set-cookie"]
    for part in ("HttpOnly", "SameSite=Strict", "Path=/review"):
        assert part in cookie
    token = served.tokens["reviewer"]
    assert token not in cookie and token not in answer.headers.get("location", "")
    queue = _shown(client, "/review")
    logout = client.post("/review/logout", data={"csrf": _csrf(queue)})
    assert logout.status_code == 303 and "Max-Age=0" in logout.headers["set-cookie"]
    assert client.get("/review").headers["location"] == "/review/login"
    assert served.last(action="review_logout")["user"] == "reviewer"


def test_the_reviewer_sees_the_queues_and_records_decisions_in_the_spines_format(served):
    client, _ = _login(served)
    queue = _shown(client, "/review")
    pairs = _level3(served, "select person_record_id_l, person_record_id_r from "
                            "l3.main.person_review_queue order by 1, 2")  # fmt: skip
    mentions = [m for (m,) in _level3(served, "select distinct place_record_id from "
                                              "l3.main.place_review_queue order by 1")]  # fmt: skip
    assert pairs and mentions, "the session's release queues nothing to review"
    assert _count(queue, "person-queued") == _count(queue, "person-waiting") == len(pairs)
    assert _count(queue, "place-queued") == _count(queue, "place-waiting") == len(mentions)

    # One pair, side by side, and what the model said.
    page = _shown(client, "/review/person/1")
    left, right = pairs[0]
    assert (_field(page, "left"), _field(page, "right")) == (left, right)
    [(probability,)] = _level3(served, "select match_probability from "
                                       "l3.main.person_review_queue where person_record_id_l = ? "
                                       "and person_record_id_r = ?", [left, right])  # fmt: skip
    assert re.search(r'id="probability">([\d.]+)<', page).group(1) == f"{probability:.4f}"
    for label in ("feed", "forename", "surname", "date of birth", "sex", "address", "postcode"):
        found = f"<th>{label}" in page
        assert found, label
    viewed = served.last(action="review_view", item="person/1")
    assert viewed["person_records"] == [left, right] and viewed["purpose"] == "clerical review"
    assert viewed["organisation"] == "hub" and viewed["tier"] == "level3"

    decided = client.post("/review/person/1", data={
        "csrf": _csrf(page), "left": left, "right": right, "decision": review.MATCH,
        "note": "=same person",
    })  # fmt: skip
    assert decided.status_code == 303
    assert decided.headers["location"] == ("/review/person/2" if len(pairs) > 1 else "/review")
    assert review.read(served.where.person_decisions) == [review.Decision(left, right, True)]
    with served.where.person_decisions.open(newline="") as fh:
        header, line = fh.read().splitlines()
    assert header.split(",") == [*review.PERSON, *review.DETAILS]
    assert line.split(",")[2:4] == [review.MATCH, "reviewer"]
    assert line.endswith(",'=same person")  # a spreadsheet will not run it as a formula
    recorded = served.last(action="review_decision", outcome="recorded")
    assert recorded["person_records"] == [left, right] and recorded["decision"] == review.MATCH
    assert _count(_shown(client, "/review"), "person-decided") == 1

    # One place mention, its candidates, and a map with one mark per candidate.
    page = _shown(client, "/review/place/1")
    mention = mentions[0]
    candidates = [c for (c,) in _level3(served, "select candidate from "
                                                "l3.main.place_review_queue "
                                                "where place_record_id = ? order by rank",
                                        [mention])]  # fmt: skip
    assert _field(page, "mention") == mention
    [svg] = re.findall(r"<svg\b.*?</svg>", page, re.DOTALL)
    assert svg.count('data-mark="candidate"') == len(candidates)
    assert served.last(action="review_view", item="place/1")["candidates"] == candidates
    decided = client.post("/review/place/1", data={"csrf": _csrf(page), "mention": mention,
                                                   "candidate": "none"})  # fmt: skip
    assert decided.status_code == 303
    read = review.read(served.where.place_decisions, review.PLACE)
    assert sorted(read, key=lambda d: d.right) == [
        review.Decision(mention, c, False) for c in sorted(candidates)]  # fmt: skip
    with duckdb.connect() as con:  # the place spine takes the file as it is
        place_spine._decisions(con, served.where.place_decisions)
        assert con.execute("select count(*) from decisions").fetchone() == (len(candidates),)
    recorded = served.last(action="review_decision", item="place/1")
    assert recorded["candidate"] == "none of these" and recorded["outcome"] == "recorded"
    _shown(client, f"/review/person/{len(pairs) + 1}", status=404)


def test_the_trail_still_verifies_and_holds_no_token(served):
    from conftest import run_hub

    client, _ = _login(served)
    _shown(client, "/review/place/1")
    assert served.entries(action="review_view") and served.entries(action="review_login")
    result = run_hub("audit", "verify", env={**os.environ, "HUB_DATA_DIR": str(served.root)})
    assert result.returncode == 0, result.stdout
    secrets = [keys.key(name) for name in keys.NAMES] + list(served.tokens.values())
    for path in (served.root / "service.log", served.where.audit / "log.jsonl",
                 served.where.person_decisions, served.where.place_decisions):  # fmt: skip
        text = path.read_text(errors="replace")
        leaked = [s for s in secrets if s in text]
        assert not leaked, path.name


def test_no_page_reaches_off_the_machine(served):
    client, _ = _login(served)
    for path in ("/review", "/review/person/1", "/review/place/1"):
        _shown(client, path)
    _shown(client, "/review/person/0", status=404)
    _shown(served.browser_session(), "/review/login")
    for path, text in PAGES:
        outside = OUTSIDE.findall(XMLNS.sub("", text))
        assert not outside, path


def test_a_reviewer_decides_in_a_real_browser(served):
    with browser() as chromium:
        visit = Visit()
        page = open_page(chromium, served.url + "/review", visit)
        assert page.url.endswith("/review/login")
        page.fill("#user", "reviewer")
        page.fill("#token", served.tokens["reviewer"])
        screenshot(page, "review-login")
        page.get_by_role("button", name="log in").click()
        page.wait_for_url(re.compile(r"/review$"))
        screenshot(page, "review-queue")
        total = int(page.locator("#person-queued").inner_text())
        link = page.locator("#person-next")
        n = int(re.search(r"/review/person/(\d+)$", link.get_attribute("href")).group(1))
        link.click()
        page.wait_for_url(re.compile(rf"/review/person/{n}$"))
        screenshot(page, "review-person")
        page.get_by_role("button", name="match", exact=True).click()
        following = f"/review/person/{n + 1}" if n < total else "/review"
        page.wait_for_url(re.compile(re.escape(following) + "$"))
        screenshot(page, "review-person-next")
        page.goto(served.url + "/review/place/1", wait_until="load")
        assert page.locator('svg [data-mark="candidate"]').count() > 0
        screenshot(page, "review-place")
        page.close()
    assert not visit.off_machine, visit.off_machine
    assert not visit.failed, visit.failed
    assert not visit.errors, visit.errors
    decided = review.read(served.where.person_decisions)
    assert len(decided) == 2 and all(d.match for d in decided)
    assert served.last(action="review_decision", item=f"person/{n}")["user"] == "reviewer"


# --- found by a tester with tokens ----------------------------------------------------------
# Each test below comes from an address of its own (all of 127.0.0.0/8 is this machine): the
# page throttles strangers by address, and the tests above all come from 127.0.0.1.


def _from(served: Served, address: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=served.url, follow_redirects=False, timeout=60,
                        transport=transport)  # fmt: skip


def _log_in(client: httpx.Client, served: Served, user: str, token: str) -> httpx.Response:
    form = client.get("/review/login")
    return client.post("/review/login", data={"csrf": _csrf(form.text), "user": user,
                                              "token": token})  # fmt: skip


def test_showing_the_login_form_stores_nothing_and_logs_no_reviewer_out(served):
    reviewer = _from(served, "127.0.0.20")
    assert _log_in(reviewer, served, "reviewer", served.tokens["reviewer"]).status_code == 303
    stranger = _from(served, "127.0.0.21")
    for _ in range(1_050):  # more forms than the old store held sessions: it evicted reviewers
        assert stranger.get("/review/login").status_code == 200
    assert reviewer.get("/review").status_code == 200
    # The form's token is signed, and good only with the cookie it came with.
    csrf = _csrf(stranger.get("/review/login").text)
    expiry, nonce, mac = csrf.split(".")
    login = {"user": "reviewer", "token": served.tokens["reviewer"]}
    elsewhere = _from(served, "127.0.0.21")  # another browser: not the form's cookie
    assert elsewhere.post("/review/login", data=login | {"csrf": csrf}).status_code == 403
    for forged in (f"{int(expiry) + 60}.{nonce}.{mac}", f"{expiry}.{nonce}.{mac[::-1]}"):
        assert stranger.post("/review/login", data=login | {"csrf": forged}).status_code == 403
    assert stranger.post("/review/login", data=login | {"csrf": csrf}).status_code == 303
    # A reviewer's own oldest session ends at their sixth, and no one else's.
    for _ in range(5):
        assert _log_in(_from(served, "127.0.0.20"), served, "reviewer",
                       served.tokens["reviewer"]).status_code == 303  # fmt: skip
    assert reviewer.get("/review").headers["location"] == "/review/login"


def test_failed_logins_are_throttled_by_user_and_by_address(served):
    first, second = _from(served, "127.0.0.22"), _from(served, "127.0.0.23")
    for _ in range(10):
        assert _log_in(first, served, "checker", "not-the-token").status_code == 401
    # Held for a minute: from this address even a right token is not checked ...
    by_address = _log_in(first, served, "partner", served.tokens["partner"])
    assert by_address.status_code == 429 and 0 < int(by_address.headers["retry-after"]) <= 60
    _check_headers(by_address)
    # ... nor for this user from anywhere; other users elsewhere are not held.
    assert _log_in(second, served, "checker", served.tokens["checker"]).status_code == 429
    assert _log_in(second, served, "reviewer", served.tokens["reviewer"]).status_code == 303
    # The ten failures are audited, the refusals while held are not (the tenth says so).
    audited = served.entries(action="review_login", address="127.0.0.22")
    assert len(audited) == 10 and "not audited" in audited[-1]["reason"]


def test_a_strangers_refusals_are_audited_at_most_ten_a_minute_a_reviewers_all(served):
    stranger = _from(served, "127.0.0.24")
    for _ in range(30):
        assert stranger.post("/review/logout", data={"csrf": "x"}).status_code == 403
    assert len(served.entries(action="review_logout", address="127.0.0.24")) == 10
    reviewer = _from(served, "127.0.0.24")
    assert _log_in(reviewer, served, "reviewer", served.tokens["reviewer"]).status_code == 303
    before = len(served.entries(action="review_logout", user="reviewer", outcome="refused"))
    for _ in range(12):
        assert reviewer.post("/review/logout", data={"csrf": "x"}).status_code == 403
    after = len(served.entries(action="review_logout", user="reviewer", outcome="refused"))
    assert after == before + 12


def test_an_item_number_of_thousands_of_digits_is_not_found(served):
    client = _from(served, "127.0.0.25")
    assert _log_in(client, served, "reviewer", served.tokens["reviewer"]).status_code == 303
    for path in ("/review/person/" + "9" * 4_400, "/review/place/" + "1" * 10):
        answer = client.get(path)
        assert answer.status_code == 404 and "Traceback" not in answer.text
        _check_headers(answer)
    _shown(client, "/review/person/999999999", status=404)  # nine digits: the page's own


def test_another_hosts_name_is_refused_and_nothing_redirects_to_it(served):
    client = served.browser_session()
    assert client.get("/review", headers={"host": "evil.example"}).status_code == 400
    assert client.get("/review/", headers={"host": "evil.example"}).status_code == 400
    slash = client.get("/review/")
    assert slash.status_code == 404 and "location" not in slash.headers
    port = served.url.rsplit(":", 1)[1]
    assert client.get("/review/login", headers={"host": f"localhost:{port}"}).status_code == 200


def test_a_decision_sent_again_is_not_written_again_and_the_page_shows_the_last(served):
    client = _from(served, "127.0.0.26")
    logged_in = _log_in(client, served, "reviewer", served.tokens["reviewer"])
    cookie = logged_in.headers["set-cookie"]
    assert "Max-Age" not in cookie and "Expires" not in cookie  # the browser's session only
    page = _shown(client, "/review/person/1")
    lines = _decisions_text(served.where.person_decisions).splitlines()
    # Invisible characters before a formula no longer hide it from the guard.
    form = {"csrf": _csrf(page), "left": _field(page, "left"), "right": _field(page, "right"),
            "decision": review.NOT_A_MATCH, "note": "\ufeff\u200b\x00=1+1 seen twice"}  # fmt: skip
    for _ in range(3):
        assert client.post("/review/person/1", data=form).status_code == 303
    now = _decisions_text(served.where.person_decisions).splitlines()
    assert len(now) == len(lines) + 1 and now[-1].endswith(",'=1+1 seen twice")
    outcomes = [e["outcome"] for e in served.entries(action="review_decision", item="person/1")]
    assert outcomes[-3:] == ["recorded", "unchanged", "unchanged"]
    decided = re.search(r'<p id="decided">(.*?)</p>', _shown(client, "/review/person/1"))
    assert f"not a match by reviewer on {dt.date.today().isoformat()}" in decided.group(1)


def test_a_decision_the_trail_cannot_take_is_not_written(served):
    client = _from(served, "127.0.0.27")
    assert _log_in(client, served, "reviewer", served.tokens["reviewer"]).status_code == 303
    page = _shown(client, "/review/person/1")
    form = {"csrf": _csrf(page), "left": _field(page, "left"), "right": _field(page, "right"),
            "decision": review.MATCH, "note": "audited first"}  # fmt: skip
    before = _decisions_text(served.where.person_decisions)
    head = served.where.audit / "head.json"
    kept = head.read_bytes()
    try:
        head.write_text("not a head")  # the trail refuses to append
        failed = client.post("/review/person/1", data=form)
    finally:
        head.write_bytes(kept)
    assert failed.status_code == 500 and "Traceback" not in failed.text
    _check_headers(failed)  # a failure no page code answered still has the page's headers
    assert _decisions_text(served.where.person_decisions) == before
