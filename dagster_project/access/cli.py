"""`hub serve`, `hub query`, `hub export`, `hub audit` and `hub access`: governed access from
the command line (docs/access.md). Every command but `serve`, `audit` and `access` is a client
of the query service."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

from dagster_project.access.private import write_private
from dagster_project.config import paths, service_url


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from dagster_project.access import settings
    from dagster_project.access.service import Service, app

    pid_file = paths().access / "service.pid"
    if args.stop:
        return _stop(pid_file)
    url = urlparse(service_url())
    service = Service(settings.service())
    service.policy()  # a policy that does not load stops the service here, with its reason
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(str(os.getpid()))
    host, port = args.host or url.hostname, args.port or url.port
    print(f"Query service on http://{host}:{port} (policy {service.settings.policy}); "
          "Ctrl-C or `hub serve --stop` stops it.", flush=True)  # fmt: skip
    try:
        uvicorn.run(app(service), host=host, port=port, log_level="warning", access_log=False)
    finally:
        pid_file.unlink(missing_ok=True)
    return 0


def _stop(pid_file: Path) -> int:
    import signal

    if not pid_file.exists():
        print("No query service is running from this data folder.")
        return 0
    pid = int(pid_file.read_text())
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pid_file.unlink(missing_ok=True)
        print(f"The query service (pid {pid}) had already stopped.")
        return 0
    print(f"Stopped the query service (pid {pid}).")
    return 0


def _client(user: str):
    """A client for `user`; the service started in the background first if none answers here
    (it runs until `hub serve --stop`)."""
    from dagster_project.access.client import Client

    client = Client(user)
    if client.healthy():
        return client
    url = urlparse(client.url)
    if url.hostname not in ("127.0.0.1", "localhost"):
        raise ConnectionError(f"no query service at {client.url}: ask its operators")
    log = paths().access / "service.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("hub")), "serve"],
            stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    for _ in range(120):
        if client.healthy():
            print(f"Started the query service at {client.url} (pid {process.pid}, log {log}); "
                  "`hub serve --stop` stops it.", file=sys.stderr)  # fmt: skip
            return client
        if process.poll() is not None:
            raise ConnectionError(f"the query service did not start: see {log}")
        time.sleep(0.5)
    raise ConnectionError(f"the query service did not answer within 60 s: see {log}")


def _refusals(work):
    """The service's refusal as one line on stderr and exit code 1."""
    from dagster_project.access.client import Refused

    def run(args):
        try:
            return work(args)
        except Refused as e:
            print(f"hub {args.command}: refused: {e.reason}", file=sys.stderr)
            return 1
        except ConnectionError as e:
            print(f"hub {args.command}: {e}", file=sys.stderr)
            return 1

    return run


@_refusals
def _query(args: argparse.Namespace) -> int:
    frame = _client(args.user).query(
        args.sql, purpose=args.purpose, case=args.case, project=args.project
    )
    print(frame.to_string(index=False, max_rows=args.max_rows) if len(frame.columns) else "")
    more = " (more rows than the service returns at once)" if frame.attrs["truncated"] else ""
    print(f"{len(frame):,} rows{more} from {', '.join(frame.attrs['tables']) or 'no table'}")
    return 0


NEEDS = {"request": ("sql",), "review": ("id",), "show": ("id",), "get": ("id", "out")}


@_refusals
def _export(args: argparse.Namespace) -> int:
    missing = [f"--{n}" if n != "id" else "the export's id" for n in NEEDS.get(args.action, ())
               if not getattr(args, n)]  # fmt: skip
    if missing:
        raise ValueError(f"export {args.action} needs {' and '.join(missing)}")
    client = _client(args.user)
    if args.action == "request":
        done = client.export_request(args.sql, purpose=args.purpose, project=args.project,
                                     fmt=args.format)  # fmt: skip
        print(f"Export {done['id']} is waiting for a checker: {done['checks']}")
        print(f"  a checker reviews it: hub export review {done['id']} --user <checker> "
              "--approve (or --reject)")  # fmt: skip
        return 0
    if args.action == "review":
        decision = "approve" if args.approve else "reject" if args.reject else None
        done = client.export_review(args.id, decision, args.comment or "")
        print(f"Export {done['id']} {done['status']} by {done['reviewer']}.")
        if done["status"] == "approved":
            print(f"  its requester fetches it: hub export get {done['id']} --user "
                  f"{done['user']} --out {done['file']}")  # fmt: skip
        return 0
    if args.action == "get":
        data = client.export_file(args.id)
        write_private(Path(args.out), data)
        print(f"Wrote {args.out} ({len(data):,} bytes)")
        return 0
    for e in client.exports(args.id if args.action == "show" else None):
        print(f"{e['id']}  {e['status']:9} {e['user']:12} {e.get('project') or '':16} "
              f"{e['checks']}\n  {e['statement']}")  # fmt: skip
        if args.action == "show":
            import pandas as pd

            table = pd.DataFrame(e["preview"]["rows"], columns=e["preview"]["columns"])
            print(table.to_string(index=False))
    return 0


def _audit(args: argparse.Namespace) -> int:
    from dagster_project.access import settings

    trail = settings.trail()
    if args.action == "verify":
        result = trail.verify()
        print(("ok: " if result.ok else "BROKEN: ") + result.reason
              + f" ({result.entries:,} entries in {trail.log_path})")  # fmt: skip
        return 0 if result.ok else 1
    entries = trail.entries(
        user=args.user, person=args.person, tier=args.tier, action=args.action_name,
        since=args.since, until=args.until,
    )  # fmt: skip
    for e in entries:
        if args.json:
            print(json.dumps(e))  # ASCII, so no control character reaches the terminal
            continue
        e = {k: _printable(v) if isinstance(v, str) else v for k, v in e.items()}
        context = e.get("case") or e.get("project") or ""
        print(f"{e['seq']:>6} {e['time'][:19]} {e.get('user') or '-':12} "
              f"{e.get('organisation') or '-':8} {e['action']:15} {e.get('tier') or '-':7} "
              f"{e.get('purpose') or '-':20} {context:16} {e.get('outcome') or '-':9} "
              f"{e.get('rows', '')!s:>6} {e.get('reason') or ''}")  # fmt: skip
    print(f"{len(entries):,} entries")
    return 0


def _printable(text: str) -> str:
    """`text` with control and format characters (bidirectional overrides among them) shown as
    escapes: a statement in the trail reads as it was sent, not as it would render."""
    import unicodedata

    return "".join(
        f"\\u{ord(c):04x}" if unicodedata.category(c) in ("Cc", "Cf") else c for c in text
    )


def _access(args: argparse.Namespace) -> int:
    from dagster_project.access import demo, policy, settings, tokens
    from dagster_project.access.client import token_file
    from dagster_project.contracts.model import load_contracts

    where = paths()
    store = where.access / "tokens.json"
    if args.action == "demo":
        ends = (dt.date.today() + dt.timedelta(days=365)).isoformat()
        path = demo.write(where.policy, ends)
        users = list(demo.USERS)
    else:
        path = where.policy
        users = [args.user] if args.user else []
    loaded = policy.load(path, set(load_contracts()))
    if args.action == "check":
        print(f"{path}: {len(loaded.organisations)} organisations, {len(loaded.users)} users, "
              f"{len(loaded.projects)} projects: valid")  # fmt: skip
        return 0
    trail = settings.trail()
    for user in users:
        if user not in loaded.users:
            raise ValueError(f"{user!r} is not a user of {path}")
        saved = tokens.save_for_user(token_file(user).parent, user, tokens.issue(store, user))
        trail.append({"action": "token_issued", "user": "hub", "subject": user,
                      "outcome": "issued"})  # fmt: skip
        print(f"{user}: token in {saved} (readable by you only)")
    if args.action == "demo":
        print(
            f"Demo policy in {path}; start the service with `hub serve`, or let `hub query` "
            "start it."
        )
    return 0


def add_parsers(sub) -> None:
    s = sub.add_parser("serve", help="run the query service (the door to Levels 2 and 3)")
    s.add_argument("--host", help="default: HUB_SERVICE_URL's host, 127.0.0.1")
    s.add_argument("--port", type=int, help="default: HUB_SERVICE_URL's port, 8765")
    s.add_argument("--stop", action="store_true", help="stop the service started from here")
    s.set_defaults(func=_serve)

    def who(p, purpose=True):
        p.add_argument("--user", required=True, help="your user name in the access policy")
        if purpose:
            p.add_argument("--purpose", required=True, help="a purpose the policy allows")
            p.add_argument("--project", help="the project (Level 2, or Level 1)")

    q = sub.add_parser("query", help="a governed query through the query service")
    who(q)
    q.add_argument("--case", help="the case reference (Level 3: MARAC, IOM, PPO, safeguarding)")
    q.add_argument("--max-rows", type=int, default=50, help="rows to print at most")
    q.add_argument("sql", help='e.g. "select district_name, count(*) from events group by 1"')
    q.set_defaults(func=_query)

    e = sub.add_parser("export", help="take a result out through the airlock")
    e.add_argument("action", choices=["request", "list", "show", "review", "get"])
    e.add_argument("id", nargs="?", help="the export (show, review, get)")
    e.add_argument("--user", required=True)
    e.add_argument("--purpose")
    e.add_argument("--project")
    e.add_argument("--format", default="csv", choices=["csv", "parquet"])
    e.add_argument("--sql", help="the aggregate statement to export (request)")
    e.add_argument("--approve", action="store_true")
    e.add_argument("--reject", action="store_true")
    e.add_argument("--comment")
    e.add_argument("--out", help="where to write the approved file (get)")
    e.set_defaults(func=_export)

    a = sub.add_parser("audit", help="verify or read the audit trail of governed access")
    a.add_argument("action", choices=["verify", "show"])
    a.add_argument("--user")
    a.add_argument("--person", help="a person ID: every request that returned their data")
    a.add_argument("--tier", choices=["level1", "level2", "level3"])
    a.add_argument("--action-name", dest="action_name", help="query, denial, export_request ...")
    a.add_argument("--since", help="YYYY-MM-DD")
    a.add_argument("--until", help="YYYY-MM-DD")
    a.add_argument("--json", action="store_true", help="one JSON object per entry")
    a.set_defaults(func=_audit)

    c = sub.add_parser("access", help="the access policy: write the demo one, issue tokens")
    c.add_argument("action", choices=["demo", "check", "token"])
    c.add_argument("--user", help="the user to issue a new token to (token)")
    c.set_defaults(func=_access)
