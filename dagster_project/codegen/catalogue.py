"""The catalogue (`make docs`): dbt's docs site of the hub's models, seeds and sources (whose
descriptions come from the feed contracts), as one page that opens with no network at all, the
way police and council networks are closed.

dbt 1.11's page is one file with its scripts and styles inline, but it is not offline as
shipped: it loads Snowplow's tracker from a CDN when the manifest says usage stats are on, asks
for a favicon at a path that is never written, and reads manifest.json and catalog.json with
requests a browser refuses on file://. So dbt writes the manifest and catalog, and `site`
writes the page itself: both inlined (as `dbt docs generate --static` does), the tracker and
the favicon taken out, and then no external reference may remain.

The catalog (each table's columns and types) is read from the warehouse, so the catalogue is
built after `make demo`: without it dbt could list only the columns the YAML declares, and a
column the warehouse has but no one described would go unseen.

Then the catalogue is checked: every model, seed and source, and every column of them, has a
description, and every published table (level1, level2, level3) its meta.tier and
meta.classification, both also tags, which dbt docs' search finds (it does not search meta):
searching `level2` or `pseudonymised` lists that tier's or classification's tables."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import textwrap
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from dagster_project.config import dbt_dir, paths
from dagster_project.platform import dbt

TIERS = ("level1", "level2", "level3")
DOCUMENTED = ("model", "seed")  # and sources

# What in dbt's page would reach off the machine or fail offline: (what, text, replacement,
# times found), each of which must be found as often as said, so a dbt upgrade that changes the
# page stops the build instead of shipping something unchecked.
PATCHES = (
    ("the usage tracker (Snowplow)", "!0===e.track&&r.turn_on_tracking()", "!1", 1),
    ("the tracker's script, on a CDN", '"//d1fc8wv8zag5ca.cloudfront.net/2.9.0/sp.js"', '""', 1),
    (
        "the favicon, at a path dbt never writes",
        """<link rel="shortcut icon" href="${require('./assets/favicons/favicon.ico')}"/>""",
        '<link rel="icon" href="data:,"/>',
        1,
    ),
    # The tree's icons: before AngularJS fills in `{{ ... }}` the browser fetches the template
    # text as a file; set by AngularJS (ng-attr-) the attribute holds only the icon's #id.
    ("the tree's icons", 'xlink:href="{{ getIcon', 'ng-attr-href="{{ getIcon', 4),
)
INLINE = ('"MANIFEST.JSON INLINE DATA"', '"CATALOG.JSON INLINE DATA"')
# an absolute or protocol-relative URL follows, to a host other than this one (AngularJS sets
# an anchor's href to http://[::1] to learn how the browser parses URLs: nothing is fetched)
_URL = r"""\s*["']?\s*(?:https?:)?//(?!(?:localhost|127\.0\.0\.1|\[::1\])(?:[:/"']|$))"""
EXTERNAL = re.compile(
    rf"""(?:\b(?:src|href|srcset|action|poster)\s*=|\burl\(|@import(?:\s+url\()?|\.src\s*=){_URL}"""
    r"""|["']//[a-z0-9-]+(?:\.[a-z0-9-]+)+/"""  # a protocol-relative URL in a script
    r"""|!\[[^\]]*\]\(\s*(?:https?:)?//""",  # an image in a description's Markdown
    re.IGNORECASE,
)


class NoWarehouse(Exception):
    pass


@dataclass(frozen=True)
class Problem:
    file: str  # where the missing text belongs
    table: str
    what: str


class Incomplete(Exception):
    """The site is written, but what it documents falls short."""

    def __init__(self, index: Path, problems: list[Problem]):
        self.index, self.problems = index, problems
        super().__init__(report(problems))


def build(out: Path | None = None) -> Path:
    """The catalogue written to `out` (default: data/catalogue/), its page returned; raises
    Incomplete (the site written all the same) when anything lacks its description or
    classification, NoWarehouse when there is nothing to read the tables from."""
    out = (out or paths().root / "catalogue").absolute()
    warehouse = paths().warehouse
    if not warehouse.exists():
        raise NoWarehouse(
            f"No warehouse at {warehouse}: the catalogue reads each table's columns from it. "
            "Run `make demo` (or hub refresh, conform and release) first."
        )
    out.mkdir(parents=True, exist_ok=True)
    target = out / ".dbt"  # dbt's own files; kept, so the next build parses only what changed
    # Not compiled: compiling runs the models' introspective queries on the warehouse and
    # writes what they read into the page. Uncompiled, docs generate writes no manifest (nor,
    # with --static, its page), so parse writes the manifest and `site` the page.
    _dbt("parse", target=target)
    _dbt("docs", "generate", "--no-compile", target=target)
    manifest, catalog = (_read(target / name) for name in ("manifest.json", "catalog.json"))
    index = out / "index.html"
    index.write_text(site((target / "index.html").read_text("utf-8"), manifest, catalog), "utf-8")
    problems = [*undescribed(manifest, catalog), *unclassified(manifest, catalog)]
    if problems:
        raise Incomplete(index, problems)
    return index


def _dbt(*command: str, target: Path) -> None:
    """The hub's dbt, with its profile (the plugin opens the encrypted warehouse), its files in
    `target`: never dbt/target, which Dagster reads."""
    env = {
        **os.environ,
        "HUB_DATA_DIR": str(paths().root),
        # dbt itself would send usage stats to dbt Labs as it runs: a closed network refuses
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }
    project = str(dbt_dir())
    args = [str(dbt.executable()), *command, "--quiet", "--project-dir", project,
            "--profiles-dir", project, "--target-path", str(target),
            "--log-path", str(target / "logs")]  # fmt: skip
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"dbt {' '.join(command)} failed:\n{done.stdout}{done.stderr}")


def _read(path: Path) -> dict:
    return json.loads(path.read_text("utf-8"))


def site(page: str, manifest: dict, catalog: dict) -> str:
    """dbt's docs page with the manifest and catalog inlined and nothing left that reaches
    off the machine."""
    for what, text, replacement, times in PATCHES:
        if page.count(text) != times:
            raise RuntimeError(f"dbt's docs page has changed: {what} not as expected; check it")
        page = page.replace(text, replacement)
    manifest = {**manifest, "metadata": {**manifest["metadata"],
                                         "send_anonymous_usage_stats": False}}  # fmt: skip
    for placeholder, data in zip(INLINE, (manifest, catalog), strict=True):
        if page.count(placeholder) != 1:
            raise RuntimeError(f"dbt's docs page has changed: no {placeholder} to replace")
        page = page.replace(placeholder, _inline(data))
    if found := external_references(page):
        raise RuntimeError(f"the catalogue would reach off the machine: {found}")
    return page


def _inline(data: dict) -> str:
    # JSON in a script: "</script>" in a description would end the script early
    return json.dumps(data).replace("</", "<\\/")


def external_references(page: str) -> list[str]:
    """Every reference in the page a browser would fetch from another machine: a URL in src,
    href, url() or @import, a protocol-relative URL in a script, an image in Markdown."""
    return sorted({m.group(0) for m in EXTERNAL.finditer(page)})


def documented(manifest: dict) -> dict[str, dict]:
    """Every model, seed and source of the project, by unique id."""
    nodes = {k: n for k, n in manifest["nodes"].items() if n["resource_type"] in DOCUMENTED}
    return {**nodes, **manifest["sources"]}


def _file(node: dict) -> str:
    """Where a node's descriptions are written (its properties file, else its own file)."""
    patch = node.get("patch_path") or ""
    return "dbt/" + (patch.split("://", 1)[-1] if patch else node["original_file_path"])


def _table(node: dict) -> str:
    name = node.get("identifier") if node["resource_type"] == "source" else node.get("alias")
    return f"{node['schema']}.{name or node['name']} ({node['name']})"


def _columns(node: dict, built: dict | None) -> dict[str, str]:
    """Column -> description: those declared, and those the warehouse has (matched without
    case: a feed's delivered columns are upper case)."""
    columns = {name.lower(): (c.get("description") or "") for name, c in node["columns"].items()}
    for name in (built or {}).get("columns", {}):
        columns.setdefault(name.lower(), "")
    return columns


def undescribed(manifest: dict, catalog: dict) -> list[Problem]:
    built = {**catalog["nodes"], **catalog["sources"]}
    problems = []
    for key, node in documented(manifest).items():
        where, table = _file(node), _table(node)
        if not (node.get("description") or "").strip():
            problems.append(Problem(where, table, "no description"))
        blank = sorted(c for c, text in _columns(node, built.get(key)).items() if not text.strip())
        if blank:
            many = f"{len(blank)} column{'s' if len(blank) > 1 else ''}"
            problems.append(Problem(where, table, f"no description for {many}: {', '.join(blank)}"))
    return problems


def slug(text: str) -> str:
    """A classification as a tag: 'aggregate, disclosure-controlled' ->
    'aggregate-disclosure-controlled'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def published(manifest: dict) -> dict[str, dict]:
    """The models of the three tiers, by unique id."""
    return {k: n for k, n in documented(manifest).items()
            if n["resource_type"] == "model" and n["schema"] in TIERS}  # fmt: skip


def unclassified(manifest: dict, catalog: dict) -> list[Problem]:
    problems = []
    for key, node in published(manifest).items():
        meta, tags, tier = node["config"].get("meta") or {}, set(node["tags"]), node["schema"]
        wanted_tier = f"Level {tier[-1]}"
        said = []
        if meta.get("tier") != wanted_tier:
            said.append(f"meta.tier is {meta.get('tier')!r}, not {wanted_tier!r}")
        if not str(meta.get("classification") or "").strip():
            said.append("no meta.classification")
        elif slug(meta["classification"]) not in tags:
            said.append(f"no tag {slug(meta['classification'])} (its classification)")
        if tier not in tags:
            said.append(f"no tag {tier} (its tier)")
        if key not in catalog["nodes"]:
            said.append("not in the warehouse: release the tiers (make demo) first")
        problems += [Problem(_file(node), _table(node), s) for s in said]
    return problems


def report(problems: list[Problem]) -> str:
    """The problems by the file each is put right in."""
    by_file: dict[str, list[Problem]] = defaultdict(list)
    for p in problems:
        by_file[p.file].append(p)
    lines = []
    for file in sorted(by_file):
        lines.append(file)
        lines += [textwrap.fill(f"{p.table}: {p.what}", 100, initial_indent="  ",
                                subsequent_indent="      ") for p in by_file[file]]  # fmt: skip
    return "\n".join(lines)


def searchable(manifest: dict) -> dict[str, list[str]]:
    """Tag -> the published tables carrying it: what a search for the tag lists."""
    tags: dict[str, list[str]] = defaultdict(list)
    for node in published(manifest).values():
        for tag in node["tags"]:
            tags[tag].append(f"{node['schema']}.{node['alias']}")
    return dict(sorted(tags.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dagster_project.codegen.catalogue")
    parser.add_argument("--out", type=Path, help="where to write it (default: data/catalogue)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        index = build(args.out)
    except (NoWarehouse, RuntimeError) as e:
        print(e, file=sys.stderr)
        return 1
    except Incomplete as e:
        print(f"The catalogue is written to {e.index}, but it is incomplete:", file=sys.stderr)
        print(e, file=sys.stderr)
        return 1
    manifest = _read(index.parent / ".dbt" / "manifest.json")
    print(f"The catalogue: {index} ({time.monotonic() - started:.0f} s), offline; open it in a "
          "browser. Search a tier or a classification to list its tables:")  # fmt: skip
    for tag, tables in searchable(manifest).items():
        print(f"  {tag}: {', '.join(sorted(tables))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
