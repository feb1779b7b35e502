"""How far each request has gone, for the partnership to notify whoever received the data
before (UK GDPR Article 19): which records it named, which tables held them and how many rows,
the release that first left them out, and the audit trail's recipients of the person's data
before then. `con` has the warehouse attached read-only as `wh`."""

from __future__ import annotations

import datetime as dt

import duckdb

from dagster_project.config import paths
from dagster_project.rights import honour
from dagster_project.rights.register import Request, active
from dagster_project.rights.subject_access import DISCLOSED


def _when(entry: dict) -> dt.datetime:
    return dt.datetime.fromisoformat(entry["time"]).astimezone(dt.UTC).replace(tzinfo=None)


def describe(
    con: duckdb.DuckDBPyConnection, register: list[Request], trail, only: str | None = None
) -> list[str]:
    """Lines of the report, a paragraph per request of the register (or only the request
    `only`): identifiers and counts only."""
    in_force = {r.id for r in active(register)}
    requests = [r for r in register if only in (None, r.id)]
    resolved = dict(
        con.execute("select request_id, resolved_at from wh.ops.rights_resolved").fetchall()
    )
    releases = [e for e in trail.entries(action="release") if e.get("outcome") == "published"]
    lines = []
    for r in requests:
        state = (
            "in force"
            if r.id in in_force
            else "lifted"
            if r.action == "restrict"
            else "done"
            if r.action == "lift"
            else "in force"
        )
        lines.append(
            f"{r.id} {r.action} of {r.target}, by {r.user} on {r.at[:16]} ({state}): {r.reason}"
        )
        if r.action == "lift":
            lines.append(f"  ends {r.lifts or 'the restrictions of ' + r.target}")
        if r.id not in resolved:
            lines.append("  not applied yet: the next release applies it")
            continue
        applied = resolved[r.id]
        found = con.execute(
            "select found_by, feed, count(distinct record_key) from wh.ops.rights_records "
            "where request_id = ? and record_key is not null group by all order by all",
            [r.id],
        ).fetchall()
        named = (
            ", ".join(
                f"{feed} {n}" + (" (in a later supply)" if by == "later supply" else "")
                for by, feed, n in found
            )
            or "none held"
        )
        lines.append(f"  applied {applied:%Y-%m-%d %H:%M} UTC; records: {named}")
        log = con.execute(
            "select what, table_name, sum(rows) from wh.ops.rights_log where request_id = ? "
            "group by all order by what, table_name",
            [r.id],
        ).fetchall()
        held = [f"{t} {n:,}" for what, t, n in log if what == "held before" and n]
        erased = [f"{t} {n:,}" for what, t, n in log if what == "erased"]
        if held:
            verb = "corrected in" if r.action == "rectify" else "taken out of"
            lines.append(f"  {verb} (rows when applied): {', '.join(held)}")
        if erased:
            lines.append(f"  erased from the archive: {', '.join(erased)}")
        after = [e for e in releases if _when(e) >= applied]
        lines.append(
            f"  first release after it: {after[0].get('release', after[0]['time'])}"
            if after
            else "  no release since: the next release carries it"
        )
        persons = [
            p
            for (p,) in con.execute(
                "select distinct person_id from wh.ops.rights_records where request_id = ? "
                "and person_id is not null order by 1",
                [r.id],
            ).fetchall()
        ]
        told = _recipients(trail, persons, applied)
        lines.append(
            "  received their data before: "
            + (
                "; ".join(told)
                if told
                else "nobody through the query service (Level 1's counts reach every partner)"
            )
        )
    return lines


def _recipients(trail, persons: list[str], before: dt.datetime) -> list[str]:
    seen = []
    for pid in persons:
        for e in trail.entries(person=pid):
            if e.get("outcome") in DISCLOSED and _when(e) < before:
                context = e.get("case") or e.get("project") or ""
                seen.append(
                    f"{e.get('user')} ({e.get('organisation')}) {e['time'][:16]} "
                    f"{e.get('purpose') or ''} {context}".rstrip()
                )
    return seen


def tiers_holding(con: duckdb.DuckDBPyConnection, person_id: str) -> dict[str, int]:
    """Rows holding a person's data: the warehouse's tables beyond the archive (honour.DERIVED),
    and the Level 3 and Level 2 files (Level 2 by their pseudonym) of every release kept, the
    current one first."""
    from dagster_project.platform import keys, pseudonyms
    from dagster_project.tiers import publish

    honour.name_person(con, person_id, "wh.")
    out = {f"warehouse {t}": n for t, n in honour.holdings(con, "wh.").items()}
    releases = sorted(publish.kept(paths().marts), key=lambda r: not r.current)
    if releases:
        key = pseudonyms.pseudonym(person_id, keys.key("pseudonym").encode())
    for n, release in enumerate(releases):
        which = "" if release.current else f" (kept release {release.id})"
        level3, level2 = f"held_level3_{n}", f"held_level2_{n}"
        publish.attach(con, publish.tier_file(release.folder, "level3"), "level3", level3)
        for table in ("person_single_view", "person_timeline"):
            (rows,) = con.execute(
                f"select count(*) from {level3}.main.{table} where person_id = ?", [person_id]
            ).fetchone()
            out[f"Level 3 {table}{which}"] = rows
        publish.attach(con, publish.tier_file(release.folder, "level2"), "level2", level2)
        (rows,) = con.execute(
            f"select count(*) from {level2}.main.person_factors where person_key = ?", [key]
        ).fetchone()
        out[f"Level 2 person_factors (by pseudonym){which}"] = rows
    return out
