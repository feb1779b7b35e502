"""Subject access (UK GDPR Article 15): find a person through the spine with its own
probabilistic model, and write their pack: every record about them as delivered, what each
tier derives from them, every rights request about them, and every audit entry in which their
data was returned (who, organisation, when, purpose).

No Dagster here: the caller passes a workspace (the warehouse attached as `wh`), the tiers
and the audit entries."""

from __future__ import annotations

import datetime as dt
import html
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
from splink import DuckDBAPI

from dagster_project.access.private import write_private
from dagster_project.contracts.model import Contract
from dagster_project.people import features, model, spine
from dagster_project.rights import honour

# The entries of the trail that show a person's data leaving the hub, and what they record.
DISCLOSED = ("returned", "approved", "written")
PACK = "pack.json"  # whose pack a folder is
ENTRY_COLUMNS = (
    "seq",
    "time",
    "user",
    "organisation",
    "action",
    "tier",
    "purpose",
    "case",
    "project",
    "outcome",
    "rows",
    "reason",
)


@dataclass(frozen=True)
class Candidate:
    person_id: str
    probability: float  # the model's match probability of the best record of theirs
    matching: int  # their records the subject's details match
    records: int  # all their records
    feeds: str  # every feed their records are in


def candidates(
    con: duckdb.DuckDBPyConnection,
    models: Path,
    forename: str,
    surname: str,
    dob: dt.date,
    postcode: str | None = None,
) -> list[Candidate]:
    """The spine's people who may be the subject, best first: the subject's details scored
    against every record of the spine with the person model (its blocking rules, comparisons
    and term frequencies), each person by their best record at the review threshold or above."""
    path = model.latest(models)
    if path is None:
        raise ValueError("no person model yet: the spine has not run (hub conform)")
    con.execute(
        "create or replace table subject as select 'subject' as record_id, 'subject_access' "
        "as source, ?::varchar as forename, ?::varchar as surname, ?::date as date_of_birth, "
        "?::varchar as postcode, null::varchar as address, null::varchar as sex, "
        "null::varchar as agency_ref, null::integer as age, null::varchar as period, "
        "null::bigint as uprn",
        [forename, surname, dob, postcode],
    )
    features.prepare(con, "subject", "subject_features")
    con.execute("create or replace table person_features as select * from wh.spine.person_features")
    api = DuckDBAPI(con)
    linker = spine.linker(con, api, model.load(path)["splink"])
    scored = linker.inference.predict_between(
        api.register("subject_features"),
        api.register("person_features"),
        threshold_match_probability=model.REVIEW,
    )
    rows = con.execute(f"""
        with best as (
            select p.person_id, max(s.match_probability) as probability,
                   count(distinct p.person_record_id) as matching
            from {scored.physical_name} s
            join wh.spine.person_ids p on p.person_record_id in (s.unique_id_l, s.unique_id_r)
            group by 1
        )
        select b.person_id, b.probability, b.matching, count(*),
               string_agg(distinct p.source_feed, ', ' order by p.source_feed)
        from best b join wh.spine.person_ids p using (person_id)
        group by all order by b.probability desc, b.person_id
    """).fetchall()
    return [Candidate(*r) for r in rows]


def unique(found: list[Candidate]) -> Candidate | None:
    """The one candidate the officer need not choose: linked at the spine's own threshold,
    with nobody else even worth reviewing."""
    if len(found) == 1 and found[0].probability >= model.LINK:
        return found[0]
    return None


def write_pack(
    con: duckdb.DuckDBPyConnection,
    person_id: str,
    contracts: dict[str, Contract],
    tiers: dict[str, int],
    entries: list[dict],
    requests: list,
    folder: Path,
    request_id: str,
) -> dict[str, int]:
    """The pack in `folder`: index.html and a CSV for each feed holding records of theirs, their
    tiers, their rights requests and the audit entries naming them. Returns rows per file."""
    honour.name_person(con, person_id, "wh.")
    written: dict[str, int] = {}
    for name, contract in contracts.items():
        if not honour.exists(con, "raw", name):
            continue
        frame = con.execute(
            f'select r.*, named.roles as _roles from wh.raw."{name}" r join named '
            f"on named.record_id = r._supply_id || '#' || r._row_number order by all"
        ).df()
        if len(frame):
            frame = _theirs_only(frame, contract)
            written[f"records_{name}.csv"] = _csv(folder / f"records_{name}.csv", frame)
    derived = pd.DataFrame(list(tiers.items()), columns=["where", "rows"])
    written["held_in.csv"] = _csv(folder / "held_in.csv", derived)
    disclosures = pd.DataFrame(
        [{k: e.get(k) for k in ENTRY_COLUMNS} for e in entries], columns=list(ENTRY_COLUMNS)
    )
    written["audit_entries.csv"] = _csv(folder / "audit_entries.csv", disclosures)
    asked = pd.DataFrame([vars(r) for r in requests]) if requests else pd.DataFrame()
    written["rights_requests.csv"] = _csv(folder / "rights_requests.csv", asked)
    write_private(
        folder / PACK,
        json.dumps(
            {"person_id": person_id, "request": request_id, "written": dt.date.today().isoformat()}
        ),
    )
    write_private(
        folder / "index.html",
        _html(person_id, request_id, written, derived, disclosures, contracts),
    )
    return written


def _theirs_only(frame: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """A feed's rows as delivered, less what they say of anyone else: a record naming a victim
    and an offender shows the subject's columns and the event's, and the other person's
    columns blank (their data is theirs to ask for)."""
    frame = frame.copy()
    for role in contract.roles:
        columns = [f.name for f in contract.fields_for(role)]
        someone_else = ~frame["_roles"].apply(lambda roles, r=role: r in list(roles))
        frame.loc[someone_else, columns] = None
    return frame.drop(columns="_roles")


def remove_packs(
    folder: Path, person_ids: set[str] = frozenset(), written_before: dt.date | None = None
) -> int:
    """Delete the subject access packs under `folder` of the people given (erased: a copy of
    their records must not outlive the erasure) and those written before `written_before`
    (retention); returns how many went."""
    removed = 0
    for meta in folder.glob(f"*/{PACK}"):
        pack = json.loads(meta.read_text())
        written = dt.date.fromisoformat(pack["written"]) if "written" in pack else None
        stale = written_before is not None and (written is None or written < written_before)
        if pack.get("person_id") in person_ids or stale:
            shutil.rmtree(meta.parent)
            removed += 1
    return removed


def _csv(path: Path, frame: pd.DataFrame) -> int:
    write_private(path, frame.to_csv(index=False))
    return len(frame)


def _html(person_id, request_id, written, derived, disclosures, contracts) -> str:
    """One page with no script, style sheet or font from anywhere: it opens offline."""

    def table(frame: pd.DataFrame) -> str:
        return (
            frame.to_html(index=False, escape=True, na_rep="", border=0)
            if len(frame)
            else ("<p>None.</p>")
        )

    feeds = [
        (f"{contracts[n[8:-4]].dataset} ({contracts[n[8:-4]].agency_name})", n, rows)
        for n, rows in written.items()
        if n.startswith("records_")
    ]
    returned = (
        disclosures[disclosures["outcome"].isin(DISCLOSED)] if len(disclosures) else (disclosures)
    )
    items = "".join(
        f"<li>{html.escape(d)}: {rows:,} record(s), in <code>{html.escape(n)}</code></li>"
        for d, n, rows in feeds
    )
    now = dt.datetime.now(dt.UTC).strftime("%d %B %Y %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Subject access {html.escape(request_id)}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}
table{{border-collapse:collapse}}td,th{{border:1px solid #999;padding:.2em .5em}}</style></head>
<body>
<h1>Subject access request {html.escape(request_id)}</h1>
<p>Person {html.escape(person_id)} of the partnership's person spine; written {now}.</p>
<h2>Records held about them, as each agency delivered them</h2>
<ul>{items or "<li>None.</li>"}</ul>
<h2>Where the hub holds data derived from them</h2>
{table(derived)}
<p>Level 1 holds counts only: their events are among its counts, never a row of theirs.</p>
<h2>Who received their data</h2>
<p>Every request of the governed query service that returned their data (Level 3 results
name the people they return).</p>
{table(returned)}
<p>All {len(disclosures)} audit entries naming them are in <code>audit_entries.csv</code>.</p>
<h2>Their rights requests</h2>
<p>In <code>rights_requests.csv</code>.</p>
</body></html>
"""
