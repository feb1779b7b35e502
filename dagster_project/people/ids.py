"""Person IDs that stay put: the rules that decide which ID a cluster of records carries.

Pure functions over plain Python values, so each rule is tested on its own. IDs are minted
in sequence (P000000001, P000000002 ...), so the older of two IDs is the smaller.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

PREFIX = "P"
WIDTH = 9


def format_id(n: int) -> str:
    return f"{PREFIX}{n:0{WIDTH}d}"


def id_number(person_id: str) -> int:
    return int(person_id[len(PREFIX) :])


class Minter:
    """Hands out IDs after the largest one already used."""

    def __init__(self, used: Iterable[str]):
        self.last = max((id_number(p) for p in used), default=0)

    def __call__(self) -> str:
        self.last += 1
        return format_id(self.last)


def components(nodes: Iterable, edges: Iterable[tuple]) -> dict:
    """Connected components: node -> the smallest node of its component."""
    parent: dict = {n: n for n in nodes}

    def find(x):
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:  # path compression keeps later finds short
            parent[x], x = root, parent[x]
        return root

    for a, b in edges:
        parent.setdefault(a, a)
        parent.setdefault(b, b)
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {n: find(n) for n in parent}


@dataclass(frozen=True)
class Change:
    """One person ID given up for another, and why (for person_id_history)."""

    old_id: str | None
    new_id: str | None
    reason: str
    records: int = 0  # how many records carried old_id, where known


def assign_incremental(
    new_records: Iterable[str],
    links: Iterable[tuple[str, str]],
    existing: dict[str, str],
    mint: Minter,
) -> tuple[dict[str, str], list[Change]]:
    """IDs for new records, given links among them and to existing records.

    `existing` maps the existing records among the links to their IDs. A new record joins
    the ID of the existing cluster it links to; one that bridges several existing clusters
    merges them under the oldest ID. Returns the ID of every new record, and the merges (for
    the caller to apply to every record of the merged IDs).
    """
    new_records = list(new_records)
    # Existing clusters enter the graph as one node each, so a refresh never re-clusters them.
    node = {r: ("id", existing[r]) if r in existing else ("record", r) for r in new_records}
    edges = []
    for a, b in links:
        na = ("id", existing[a]) if a in existing else ("record", a)
        nb = ("id", existing[b]) if b in existing else ("record", b)
        edges.append((na, nb))
    groups: dict = defaultdict(list)
    for n, root in components(node.values(), edges).items():
        groups[root].append(n)

    assigned: dict[str, str] = {}
    changes: list[Change] = []
    for group in groups.values():
        ids = sorted((v for k, v in group if k == "id"), key=id_number)
        target = ids[0] if ids else mint()
        for old in ids[1:]:
            changes.append(Change(old, target, "merged: a new record links the two"))
        assigned.update({v: target for k, v in group if k == "record"})
    return assigned, changes


def split(
    members: list[str], links: Iterable[tuple[str, str]], person_id: str, mint: Minter
) -> tuple[dict[str, str], list[Change]]:
    """A cluster re-formed from its remaining links (after a 'not a match' decision): the
    largest part keeps the ID (ties to the part holding the earliest record), the others get
    new ones."""
    parts: dict = defaultdict(list)
    for record, root in components(members, links).items():
        parts[root].append(record)
    ordered = sorted(parts.values(), key=lambda p: (-len(p), min(p)))
    assigned = {r: person_id for r in ordered[0]}
    changes = []
    for part in ordered[1:]:
        new = mint()
        assigned.update({r: new for r in part})
        changes.append(Change(person_id, new, "split: a reviewer ruled a link out", len(part)))
    return assigned, changes


def map_to_previous(
    clusters: dict[str, str], previous: dict[str, str], mint: Minter
) -> tuple[dict[str, str], list[Change]]:
    """IDs for a full re-link: each new cluster takes the previous ID it shares most records
    with (each previous ID going to one cluster at most, larger overlaps first, older IDs
    winning ties); clusters left over get new IDs. Returns record -> ID and every change."""
    overlap = Counter((cluster, previous[r]) for r, cluster in clusters.items() if r in previous)
    ranked = sorted(overlap.items(), key=lambda kv: (-kv[1], id_number(kv[0][1]), kv[0][0]))
    id_of: dict[str, str] = {}
    taken: set[str] = set()
    for (cluster, pid), _ in ranked:
        if cluster not in id_of and pid not in taken:
            id_of[cluster] = pid
            taken.add(pid)
    for cluster in sorted(set(clusters.values()) - set(id_of)):
        id_of[cluster] = mint()

    assigned = {r: id_of[c] for r, c in clusters.items()}
    moved = Counter((previous[r], assigned[r]) for r in clusters if r in previous
                    and previous[r] != assigned[r])  # fmt: skip
    changes = [Change(old, new, "re-link: records moved", n) for (old, new), n in moved.items()]
    retired = set(previous.values()) - taken
    held = Counter(previous.values())
    changes += [
        Change(p, None, "re-link: no cluster kept this ID", held[p]) for p in sorted(retired)
    ]
    return assigned, changes


def keep_returning(
    assigned: dict[str, str], returning: dict[str, str], held: set[str]
) -> dict[str, str]:
    """New records given new IDs, with each cluster made only of records coming back (a
    restriction lifted, docs/rights.md) given back the ID those records had, when they all had
    the same one and nobody holds it now. `returning`: record -> its ID before; `held`: the IDs
    the spine's other records hold."""
    clusters: dict[str, list[str]] = defaultdict(list)
    for record, pid in assigned.items():
        clusters[pid].append(record)
    out = dict(assigned)
    for pid, records in clusters.items():
        before = {returning.get(r) for r in records}
        if pid in held or len(before) != 1 or None in before or (old := before.pop()) in held:
            continue
        out.update(dict.fromkeys(records, old))
    return out
