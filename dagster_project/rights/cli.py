"""`hub rights`, `hub sar` and `hub retention`: data subjects' rights and retention from the
command line (docs/rights.md). Each is an officer's command (the access policy's `admin` or
`dpo` role), run on the hub's own machine, and each is audited."""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from dagster_project.config import paths, retention_as_of

OFFICERS = ("admin", "dpo")  # the roles that may act on a data subject's rights


def _officer(user: str, trail, doing: str):
    """The policy's user `user`, if an officer; else refused, and the refusal audited."""
    from dagster_project.access import policy
    from dagster_project.contracts.model import load_contracts

    found = policy.load(paths().policy, set(load_contracts())).users.get(user)
    if found is None or found.role not in OFFICERS:
        reason = f"{user!r} is not an officer of the access policy (roles {' or '.join(OFFICERS)})"
        trail.append(
            {
                "action": "denial",
                "user": user,
                "subject": doing,
                "outcome": "refused",
                "reason": reason,
            }
        )
        raise PermissionError(reason)
    return found


def _read_only():
    """An in-memory connection with the warehouse attached read-only as `wh`."""
    from dagster_project.platform import warehouse

    con = warehouse.memory()
    warehouse.attach(con, paths().warehouse, "wh", "warehouse", read_only=True)
    return con


def _register():
    from dagster_project.rights.register import Register

    return Register(paths().rights / "requests.jsonl")


def _request(args: argparse.Namespace) -> int:
    from dagster_project.access import settings
    from dagster_project.contracts.model import load_contracts

    trail = settings.trail()
    officer = _officer(args.user, trail, f"rights {args.action}")
    fields = {
        "action": args.action,
        "reason": args.reason or "",
        "user": args.user,
        "person": args.person,
        "feed": args.feed,
        "record": args.record,
        "field": args.field,
        "value": args.value,
        "lifts": args.request,
    }
    request = _register().add(load_contracts(), **fields)
    trail.append(
        {
            "action": "rights_request",
            "user": args.user,
            "organisation": officer.organisation,
            "subject": request.action,
            "request": request.id,
            "outcome": "registered",
            "reason": request.reason,
            "feed": request.feed,
            "record": request.record,
            **({"person_ids": [request.person]} if request.person else {}),
        }
    )
    print(f"{request.id}: {request.action} of {request.target} registered.")
    print(
        "  It reaches the archive, the spine and every tier at the next release "
        "(`hub release`, or the monthly run); `hub rights list` shows how far it has gone."
    )
    return 0


def _list(args: argparse.Namespace) -> int:
    from dagster_project.access import settings
    from dagster_project.rights.propagation import describe

    trail = settings.trail()
    officer = _officer(args.user, trail, "rights list")
    register = _register().requests()
    if args.request and args.request not in {r.id for r in register}:
        print(f"No request {args.request}.", file=sys.stderr)
        return 1
    with _read_only() as con:
        lines = describe(con, register, trail, args.request)
    shown = [r.id for r in register if args.request in (None, r.id)]
    trail.append({"action": "rights_list", "user": args.user, "outcome": "shown",
                  "organisation": officer.organisation, "requests": shown})  # fmt: skip
    print("\n".join(lines) or "No requests.")
    return 0


def _corrections(args: argparse.Namespace) -> int:
    """The corrections in force of one feed (or every feed), as CSV, for the agency that supplies
    it: each record key, the column, the corrected value and the request."""
    from dagster_project.access import settings

    trail = settings.trail()
    officer = _officer(args.user, trail, "rights corrections")
    with _read_only() as con:
        frame = con.execute(
            "select feed, record_key, column_name, value, request_id from wh.ops.corrections "
            "where $feed is null or feed = $feed order by all", {"feed": args.feed}
        ).df()  # fmt: skip
    trail.append({"action": "rights_corrections", "user": args.user, "outcome": "shown",
                  "organisation": officer.organisation, "feed": args.feed,
                  "rows": len(frame)})  # fmt: skip
    print(frame.to_csv(index=False), end="")
    return 0


def _sar(args: argparse.Namespace) -> int:
    from dagster_project.access import settings
    from dagster_project.contracts.model import load_contracts
    from dagster_project.rights import subject_access
    from dagster_project.rights.propagation import tiers_holding

    trail = settings.trail()
    officer = _officer(args.user, trail, "subject access")
    dob = dt.date.fromisoformat(args.dob)
    where = paths()
    with _read_only() as con:
        if args.person:
            chosen = args.person
        else:
            found = subject_access.candidates(
                con, where.person_models, args.forename, args.surname, dob, args.postcode
            )
            one = subject_access.unique(found)
            if one is None:
                trail.append(
                    {
                        "action": "subject_access",
                        "user": args.user,
                        "organisation": officer.organisation,
                        "outcome": "ambiguous",
                        "candidates": len(found),
                    }
                )
                print(
                    "No one person is certain: the candidates, best first (choose one and "
                    "run again with --person):"
                    if found
                    else "Nobody in the spine matches."
                )
                for c in found:
                    print(
                        f"  {c.person_id}  match probability {c.probability:.4f} "
                        f"({c.matching} of their {c.records} records match; {c.feeds})"
                    )
                return 1 if not found else 3
            chosen = one.person_id
        entry = trail.append(
            {
                "action": "subject_access",
                "user": args.user,
                "organisation": officer.organisation,
                "person_ids": [chosen],
                "outcome": "requested",  # before the pack, so that the pack lists it too
            }
        )
        request_id = f"SAR{entry['seq']:06d}"
        folder = where.rights / "sar" / request_id
        requests = [r for r in _register().requests() if r.person == chosen]
        written = subject_access.write_pack(
            con,
            chosen,
            load_contracts(),
            tiers_holding(con, chosen),
            trail.entries(person=chosen),
            requests,
            folder,
            request_id,
        )
    records = sum(n for f, n in written.items() if f.startswith("records_"))
    print(
        f"{request_id}: person {chosen}: {records:,} record(s) in "
        f"{sum(f.startswith('records_') for f in written)} feed(s), "
        f"{written['audit_entries.csv']:,} audit entries. Pack: {folder}/index.html"
    )
    return 0


def _retention(args: argparse.Namespace) -> int:
    from dagster_project.contracts.model import load_contracts
    from dagster_project.rights import retention

    as_of = dt.date.fromisoformat(args.as_of) if args.as_of else retention_as_of()
    contracts = load_contracts()
    with _read_only() as con:
        con.execute("use wh")
        held = retention.oldest_months(con, contracts)
        print(f"Retention on {as_of} (what the next release destroys; nothing is changed here):")
        print(f"  {'feed':28} {'oldest month':>12} {'rows due':>10} {'undated':>8}  rule")
        for name, c in contracts.items():
            due, undated = retention.due(con, c, as_of) if held[name] else (0, 0)
            print(
                f"  {name:28} {held[name] or '-':>12} {due:>10,} {undated:>8,}  {c.retention.text}"
            )
    return 0


def _refused(work):
    def run(args):
        try:
            return work(args)
        except PermissionError as e:
            print(f"hub {args.command}: refused: {e}", file=sys.stderr)
            return 1

    return run


def add_parsers(sub) -> None:
    r = sub.add_parser(
        "rights",
        help="erase, restrict, lift or rectify a person's or a "
        "record's data, and list the requests (an officer's command)",
    )
    r.add_argument(
        "action", choices=["erase", "restrict", "lift", "rectify", "list", "corrections"]
    )
    r.add_argument("--user", help="you, an officer of the access policy (admin or dpo)")
    r.add_argument("--person", help="a person ID of the spine")
    r.add_argument("--feed", help="with --record: one source record's feed")
    r.add_argument("--record", help="the record's key: its contract's key values joined by |")
    r.add_argument("--request", help="lift: the restriction to end; list: one request")
    r.add_argument(
        "--field",
        help="rectify: a column of the feed (a record), or dob, "
        "surname, first_name, sex, postcode, address (a person)",
    )
    r.add_argument("--value", help="rectify: the correct value (a date as YYYY-MM-DD)")
    r.add_argument("--reason", help="why (the subject's request, the court order ...)")
    r.set_defaults(func=_refused(_rights))

    s = sub.add_parser("sar", help="a subject access request: find the person, write their pack")
    s.add_argument("--user", required=True, help="you, an officer of the access policy")
    s.add_argument("--forename", required=True)
    s.add_argument("--surname", required=True)
    s.add_argument("--dob", required=True, help="date of birth, YYYY-MM-DD")
    s.add_argument("--postcode")
    s.add_argument("--person", help="the candidate chosen, when the search named several")
    s.set_defaults(func=_refused(_sar))

    t = sub.add_parser(
        "retention",
        help="what retention holds and what the next release destroys, per feed (changes nothing)",
    )
    t.add_argument("--as-of", help="YYYY-MM-DD (default HUB_RETENTION_AS_OF, else today)")
    t.set_defaults(func=_retention)


def _rights(args: argparse.Namespace) -> int:
    if not args.user:
        raise ValueError(f"rights {args.action} needs --user (an officer of the access policy)")
    reads = {"list": _list, "corrections": _corrections}
    return reads.get(args.action, _request)(args)
