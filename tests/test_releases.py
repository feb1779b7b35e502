"""Releases as sets, kept and removed: `kill -9` at each named step of a release (staging,
publishing, removing the oldest), each followed by the step run again, and the release a
reader opens checked for its exact content every time; then the releases kept listed, opened
and checked whole from the CLI."""

from __future__ import annotations

import shutil
import textwrap

import pytest
from conftest import Hub, call_hub, run_steps

from dagster_project.config import paths
from dagster_project.platform import warehouse
from dagster_project.tiers import publish

pytestmark = pytest.mark.e2e  # the session's released region

KEPT = 2
# Every step a release tells (publish.Steps), in the order it takes them.
STAGING = ["staged level1", "staged level3", "figures recorded", "record written"]
PUBLISHING = ["publication stamped", "folder renamed", "link made", "link switched",
              "release set aside", "release removed"]  # fmt: skip

# What the staged and published assets do, in a process that can be killed at a step.
RELEASE = textwrap.dedent("""
    import sys
    from dagster_project.config import paths, releases_kept
    from dagster_project.platform import warehouse
    from dagster_project.tiers import publish

    def step(name):
        print(name, flush=True)
        if name == sys.argv[1]:
            sys.stdin.read()  # wait here until killed

    where = paths()
    if sys.argv[2] == "stage":
        with warehouse.connect() as con:
            publish.stage(con, where.staged_marts, step)
    publish.publish(where.staged_marts, where.marts, step)
    publish.prune(where.marts, releases_kept(), set(), step)
""")


@pytest.fixture(scope="module")
def hub(released, tmp_path_factory):
    """A copy of the session's released hub, that keeps two releases."""
    root = tmp_path_factory.mktemp("releases") / "data"
    shutil.copytree(
        released.hub.root, root, symlinks=True, ignore=shutil.ignore_patterns("dagster")
    )
    copy = Hub(root)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HUB_DATA_DIR", str(copy.root))
        env.setenv("HUB_RELEASES_KEPT", str(KEPT))
        yield copy


def _new_marts(release: str) -> None:
    """The marts' release record renamed, as the next `dbt build` of the marts would: the
    rest of each tier is the same build, so every release here must hold the same rows."""
    with warehouse.connect() as con:
        for tier in publish.TIERS:
            con.execute(f"update {tier}.release set release_id = ?", [release])


def _content(folder) -> dict:
    """Each tier's tables (rows and a hash of every row) and the release each says it is."""
    found = {}
    with warehouse.memory() as con:
        for tier in publish.TIERS:
            publish.attach(con, publish.tier_file(folder, tier), tier, tier)
            for (table,) in con.execute(
                "select table_name from duckdb_tables() where database_name = ? order by 1",
                [tier],
            ).fetchall():
                sql = f"select count(*), sum(hash(t)) from {tier}.main.{table} t"
                if table == "release":
                    sql = f"select release_id from {tier}.main.release"
                found[f"{tier}.{table}"] = con.execute(sql).fetchall()
    return found


def _as_published(content: dict, release: str) -> dict:
    return {k: [(release,)] if k.endswith(".release") else v for k, v in content.items()}


@pytest.mark.parametrize("kill_at", STAGING + PUBLISHING)
def test_a_release_killed_at_any_step_is_read_whole_and_published_by_the_next_run(hub, kill_at):
    """A reader sees the release before or the new one, whole, whatever the step; the step
    run again (Dagster's re-execution from the failed step) publishes the new one whole and
    leaves two releases kept and nothing half-done."""
    marts = paths().marts
    before = publish.current(marts)
    expected = _content(before)
    if len(publish.kept(marts)) < KEPT:  # so that every publication removes the oldest
        _new_marts(f"{before.name}a")
        run_steps(RELEASE, "", "stage")
        before = publish.current(marts)
    new = f"{before.name}{STAGING.index(kill_at) if kill_at in STAGING else 9}"
    _new_marts(new)
    begin = "stage" if kill_at in STAGING else "publish"
    if begin == "publish":  # the staged step done, so that the kill is in the published one
        with warehouse.connect() as con:
            publish.stage(con, paths().staged_marts)
    run_steps(RELEASE, kill_at, begin, kill_at=kill_at)

    now = publish.current(marts)
    assert now.name in (before.name, new)
    assert _content(now) == _as_published(expected, now.name), "a reader would mix releases"

    run_steps(RELEASE, "", begin)  # the failed step run again
    now = publish.current(marts)
    assert now.name == new
    assert _content(now) == _as_published(expected, new)
    kept = publish.kept(marts)
    assert [(r.id, r.current) for r in kept] == [(new, True), (before.name, False)]
    assert _content(kept[1].folder) == _as_published(expected, before.name)
    assert sorted(p.name for p in marts.iterdir()) == ["current", "releases"]
    assert sorted(p.name for p in (marts / "releases").iterdir()) == sorted([new, before.name])


def test_the_releases_kept_are_listed_opened_and_checked_whole(hub):
    kept = publish.kept(paths().marts)
    assert len(kept) == KEPT
    listed = call_hub("release", "--list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [f"{kept[0].id}  (current)", kept[1].id]
    with hub.connect(read_only=True) as con:
        (supplies,) = con.execute(
            "select count(*) from ops.supply_register where status = 'loaded'"
        ).fetchone()
    assert f"{supplies} supplies" in lines[0]
    older = kept[1].id
    opened = call_hub("release", "--open", older, "select release_id from level2.release")
    assert opened.returncode == 0 and older in opened.stdout, opened.stderr
    record = call_hub("release", "--open", older)
    assert f'"release_id": "{older}"' in record.stdout and '"supplies"' in record.stdout
    gone = call_hub("release", "--open", "R20000101T000000Z")
    assert gone.returncode == 2 and "is not kept: the releases kept are" in gone.stderr
    checked = call_hub("check")
    assert checked.returncode == 0, checked.stdout
    assert sum(f"releases/{r.id}/" in checked.stdout for r in kept) == KEPT
