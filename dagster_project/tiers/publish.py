"""Publishing a release: each tier's schema of the warehouse (built by the dbt marts) is
written to a new file in `marts/.next`, checked there, and only then published as one set:
the folder is renamed to `marts/releases/<release id>` and the link `marts/current` is
switched to it, each step atomic. A reader resolves `current` once (`current()`) and opens
every tier from that folder, so it never sees Level 1 of one release beside Level 2 of
another; an open connection keeps reading its release whatever is published or removed
meanwhile (a removed file lives on until its last reader closes it).

The last HUB_RELEASES_KEPT releases are kept, each with `release.json`, what it was built
from; older ones are removed when a release is published, and so is every kept release built
before an erasure or restriction that the new one honours (docs/rights.md)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from dagster_project.contracts.model import load_contracts
from dagster_project.platform import warehouse
from dagster_project.rights import retention
from dagster_project.tiers import disclosure, privacy

TIERS = ("level1", "level2", "level3")
RECORD = "release.json"  # what a release was built from, in its folder
CURRENT = "current"  # the link to the release published last, in `marts`
WITHDRAWING = ("erase", "restrict")  # requests that take people out of every later release
Steps = Callable[[str], None]  # told each step as it is done (the fault tests kill at one)
ENCRYPTED = {"level3": "level3"}  # tier -> the key it is encrypted with (keys.py)
# Release figures that are shares (the others are counts).
SHARES = {"level2_unique_share", "level2_neighbour_attack", "level2_neighbour_attack_two_events"}


@dataclass(frozen=True)
class Tier:
    name: str
    path: Path
    tables: dict[str, int]  # table -> rows


def tier_file(folder: Path, tier: str) -> Path:
    """A tier's file in a release's folder (the current one, a kept one, or the staged one)."""
    return folder / f"{tier}.duckdb"


def current(marts: Path) -> Path:
    """The folder of the release published last, resolved now: open every tier from what this
    returns, so that all of them are of one release. Before any release, a folder that does
    not exist."""
    return (marts / CURRENT).resolve()


def published(marts: Path, tier: str) -> Path:
    """A tier's file in the current release, for a reader of that tier alone (a reader of
    several resolves `current` once)."""
    return tier_file(current(marts), tier)


def attach(
    con: duckdb.DuckDBPyConnection, path: Path, tier: str, alias: str, read_only: bool = True
) -> None:
    """A tier's file under `alias`, with its key if the tier is encrypted."""
    if tier in ENCRYPTED:
        warehouse.attach(con, path, alias, ENCRYPTED[tier], read_only=read_only)
    else:
        mode = " (READ_ONLY)" if read_only else ""
        con.execute(f"ATTACH {warehouse.quote(str(path))} AS {alias}{mode}")


def _tables(con: duckdb.DuckDBPyConnection, database: str, schema: str) -> list[str]:
    return [r[0] for r in con.execute(
        "select table_name from duckdb_tables() where database_name = ? and schema_name = ? "
        "order by table_name", [database, schema]).fetchall()]  # fmt: skip


def _copy_comments(con, table: str, source: str, target: str) -> None:
    """The documentation dbt wrote on each table and column travels with it, so an analyst
    finds it in the file (`select comment from duckdb_columns()`)."""
    (comment,) = con.execute(
        "select comment from duckdb_tables() where database_name = ? and schema_name = ? "
        "and table_name = ?", [warehouse.ALIAS, source, table]).fetchone()  # fmt: skip
    if comment:
        con.execute(f"comment on table {target}.main.{table} is {warehouse.quote(comment)}")
    for column, text in con.execute(
        "select column_name, comment from duckdb_columns() where database_name = ? "
        "and schema_name = ? and table_name = ? and comment is not null",
        [warehouse.ALIAS, source, table]).fetchall():  # fmt: skip
        con.execute(
            f'comment on column {target}.main.{table}."{column}" is {warehouse.quote(text)}'
        )


def stage(
    con: duckdb.DuckDBPyConnection, folder: Path, on_step: Steps = lambda step: None
) -> list[Tier]:
    """Write every tier's tables from the warehouse (`con`, as its default catalog) to a new
    file each, in `folder`: Level 1 suppressed until the exact audit passes, and the release's
    disclosure figures in every tier's release record."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for tier in TIERS:
        path = tier_file(folder, tier)
        for leftover in (path, path.with_suffix(".duckdb.wal")):
            leftover.unlink(missing_ok=True)
        attach(con, path, tier, f"next_{tier}", read_only=False)
        tables = {}
        for table in _tables(con, warehouse.ALIAS, tier):
            con.execute(f"create table next_{tier}.main.{table} as "
                        f"select * from {warehouse.ALIAS}.{tier}.{table} "
                        f"order by {_order(con, tier, table)}")  # fmt: skip
            _copy_comments(con, table, tier, f"next_{tier}")
            tables[table] = con.execute(
                f"select count(*) from next_{tier}.main.{table}").fetchone()[0]  # fmt: skip
        out.append(Tier(tier, path, tables))
        on_step(f"staged {tier}")
    level2 = privacy.measure(con, "next_level2", "next_level3",
                             *privacy.warehouse_relations(warehouse.ALIAS))  # fmt: skip
    figures = _protect_level1(con, "next_level1") | level2.record()
    # What retention has left: the oldest month of each feed the archive holds.
    figures["oldest_month_held"] = json.dumps(retention.oldest_months(con, load_contracts()))
    for tier in TIERS:
        _record(con, f"next_{tier}", figures)
    on_step("figures recorded")
    record = _built_from(con, "next_level1") | {
        "tables": {t.name: t.tables for t in out}}  # fmt: skip
    for tier in TIERS:
        con.execute(f"checkpoint next_{tier}")
        con.execute(f"detach next_{tier}")
    _write_json(folder / RECORD, record)
    on_step("record written")
    return out


def _built_from(con: duckdb.DuckDBPyConnection, level1: str) -> dict:
    """What a release is built from: its months, each feed's supply of each month (by its id
    and checksum), and the data subjects' requests the warehouse had applied."""
    release, built, first, last, key_id = con.execute(
        f"select release_id, built_at, first_month, last_month, pseudonym_key_id "
        f"from {level1}.main.release").fetchone()  # fmt: skip
    supplies = con.execute(
        f"select feed, period, supply_id, file_sha256, records_read "
        f"from {warehouse.ALIAS}.ops.supply_register where status = 'loaded' "
        "and period between ? and ? order by feed, period", [first, last]).fetchall()  # fmt: skip
    applied = con.execute(
        f"select distinct request_id from {warehouse.ALIAS}.ops.rights_resolved order by 1"
    ).fetchall()
    return {
        "release_id": release,
        "built_at": f"{built:%Y-%m-%dT%H:%M:%S}Z",
        "first_month": first,
        "last_month": last,
        "pseudonym_key_id": key_id,
        "supplies": [
            dict(zip(("feed", "month", "supply_id", "sha256", "records"), s, strict=True))
            for s in supplies
        ],  # fmt: skip
        "requests_applied": [r for (r,) in applied],
    }


def _write_json(path: Path, data: dict) -> None:
    """Written whole or not at all: a kill leaves the old file or none."""
    part = path.with_name(f".{path.name}.part")
    part.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(part, path)


def _order(con: duckdb.DuckDBPyConnection, tier: str, table: str) -> str:
    """Rows stored in an order that carries nothing: by their keyed pseudonyms where they have
    them (never by the agencies' references the hub's IDs hold), else by every column."""
    columns = [
        r[0]
        for r in con.execute(
            "select column_name from duckdb_columns() where database_name = ? and schema_name = ? "
            "and table_name = ? order by column_index",
            [warehouse.ALIAS, tier, table],
        ).fetchall()
    ]
    keys = [c for c in ("person_key", "event_key") if c in columns]
    return ", ".join(keys) if keys else "all"


def _protect_level1(con: duckdb.DuckDBPyConnection, database: str) -> dict[str, int]:
    """Level 1 suppressed further until the exact audit passes; its figures."""
    cells = added = 0
    spans, reaches = [], []
    for t in disclosure.TABLES:
        result, more = disclosure.protect_table(con, f"{database}.main.{t.name}", t)
        cells, added = cells + result.cells, added + more
        spans += [s] if (s := result.smallest_span) is not None else []
        reaches += [r] if (r := result.smallest_reach) is not None else []
    return {
        "level1_cells_audited": cells,
        "level1_suppressions_added": added,
        "level1_smallest_range": min(spans, default=0),
        "level1_smallest_reach": min(reaches, default=0),
    }


def _record(con: duckdb.DuckDBPyConnection, database: str, figures: dict) -> None:
    """The release's disclosure figures, in the release record of every tier."""
    for name, value in figures.items():
        kind = "varchar" if isinstance(value, str) else "double" if name in SHARES else "integer"
        con.execute(f"alter table {database}.main.release add column {name} {kind}")
        con.execute(f"update {database}.main.release set {name} = ?", [value])


def publish(staged: Path, marts: Path, on_step: Steps = lambda step: None) -> Path:
    """The checked release in `staged` made the current one, as a set: its folder renamed into
    `releases`, then `current` pointed at it. Run again after a kill, it finishes what the
    killed run began. Returns the release's folder."""
    releases = marts / "releases"
    releases.mkdir(parents=True, exist_ok=True)
    _adopt_unfoldered(marts, releases)
    if not staged.exists():
        # Renamed by a run killed before it switched the link (or published whole already):
        # the newest release kept is the one this step was to publish.
        newest = kept(marts)
        if not newest:
            raise FileNotFoundError(f"{staged}: no release staged to publish (hub release)")
        _point(marts, newest[0].folder, on_step)
        return newest[0].folder
    record = json.loads((staged / RECORD).read_text())
    folder = releases / record["release_id"]
    if folder.exists():
        # Published already, by a run killed before it finished: the marts are the same build
        # (the release id is theirs), so the staged copy is the same release, and is dropped.
        shutil.rmtree(staged)
    else:
        record["published_at"] = f"{dt.datetime.now(dt.UTC):%Y-%m-%dT%H:%M:%S}Z"
        _write_json(staged / RECORD, record)
        on_step("publication stamped")
        os.rename(staged, folder)  # one step: a folder appears whole, or not at all
        on_step("folder renamed")
    _point(marts, folder, on_step)
    return folder


def _point(marts: Path, folder: Path, on_step: Steps = lambda step: None) -> None:
    """`current` switched to `folder` in one step: a new link, renamed over the old one."""
    link, pointer = marts / f".{CURRENT}.next", marts / CURRENT
    link.unlink(missing_ok=True)  # left by a publication killed here
    if pointer.is_dir() and not pointer.is_symlink():
        shutil.rmtree(pointer)  # a copy of a release where the link was (a copy that followed it)
    link.symlink_to(folder.relative_to(marts))
    on_step("link made")
    os.replace(link, pointer)
    on_step("link switched")


def _adopt_unfoldered(marts: Path, releases: Path) -> None:
    """The release a hub from before release folders published (marts/level{1,2,3}.duckdb),
    moved into a folder of its own, so it is kept like the others and never read beside
    them. Killed part-way, the next publication moves the rest."""
    part = releases / ".unfoldered.part"
    files = [tier_file(marts, t) for t in TIERS if tier_file(marts, t).is_file()]
    if not files and not part.exists():
        return
    part.mkdir(exist_ok=True)
    for f in files:
        os.replace(f, part / f.name)
    if not all(tier_file(part, t).exists() for t in TIERS):
        return  # never a whole release: left where an engineer can see it
    release = release_id(tier_file(part, "level1"))
    _write_json(part / RECORD, {"release_id": release, "built_from": "not recorded: "
                                "published before releases were kept in folders"})  # fmt: skip
    os.rename(part, releases / release)
    if not (marts / CURRENT).exists():
        _point(marts, releases / release)


def prune(
    marts: Path, keep: int, withdrawing: set[str], on_step: Steps = lambda step: None
) -> dict[str, str]:
    """The kept releases `outdated` names, removed; which and why. Each is first renamed out
    of the kept ones, so a kill part-way never leaves a release that looks whole but is not;
    what a kill leaves is removed here the next time."""
    gone = outdated(kept(marts), keep, withdrawing)
    for release in gone:
        folder = marts / "releases" / release
        os.rename(folder, folder.with_name(f".{release}.removed"))
        on_step("release set aside")
    for leftover in (marts / "releases").glob(".*.removed"):
        shutil.rmtree(leftover)
    on_step("release removed")
    return gone


@dataclass(frozen=True)
class Kept:
    folder: Path
    record: dict
    current: bool

    @property
    def id(self) -> str:
        return self.folder.name


def kept(marts: Path) -> list[Kept]:
    """The releases kept, newest first. A folder being written or removed (its name starts
    with a dot) is none of them."""
    now = current(marts)
    found = []
    for folder in sorted((marts / "releases").glob("R*"), reverse=True):
        if (folder / RECORD).is_file():
            record = json.loads((folder / RECORD).read_text())
            found.append(Kept(folder, record, folder.resolve() == now))
    return found


def outdated(releases: list[Kept], keep: int, withdrawing: set[str]) -> dict[str, str]:
    """Which kept releases (newest first) to remove, and why: those beyond the newest `keep`
    (the current one always stays), and every one that lacks a withdrawing request (an
    erasure or a restriction) the current release has applied."""
    now = next((r for r in releases if r.current), None)
    honoured = set(now.record.get("requests_applied", [])) & withdrawing if now else set()
    out = {}
    for n, r in enumerate(releases):
        if r.current:
            continue
        missing = sorted(honoured - set(r.record.get("requests_applied", [])))
        if missing:
            out[r.id] = f"built before request {', '.join(missing)} was honoured"
        elif n >= keep:
            out[r.id] = f"older than the last {keep} releases"
    return out


def describe(path: Path, tier: str) -> Tier:
    """The tables of a published (or staged) tier file and their row counts."""
    with warehouse.memory() as con:
        attach(con, path, tier, tier)
        tables = {t: con.execute(f"select count(*) from {tier}.main.{t}").fetchone()[0]
                  for t in _tables(con, tier, "main")}  # fmt: skip
    return Tier(tier, path, tables)


def release_id(level1: Path) -> str:
    """The release a Level 1 file holds (its release record's id)."""
    with warehouse.memory() as con:
        attach(con, level1, "level1", "level1")
        return con.execute("select release_id from level1.main.release").fetchone()[0]
