"""The exact disclosure audit of Level 1, from the intruder's side: what can be worked out about
each suppressed cell from everything the release publishes (docs/disclosure-control.md).

The intruder knows how the cells were made. Every count is a whole number of at least 0; a
published 0 is exact; a published count is the true one rounded to the nearest 5, so it is
within 2 of the truth, and it is at least 8 (1 to 7 are never published); a suppressed count
is at least 1 (zeros are published, and a zero is never suppressed to protect another cell);
and an area's count is the sum of its parts' counts (a district of its wards, a ward of its
LSOAs). Some tables add what the intruder knows of one row against another in the same area
(`at_most`: people who were victims twice are among those who were victims at all).

For each suppressed cell the audit solves two integer programmes (HiGHS, through
`scipy.optimize.milp`): the smallest and the largest count the cell can have under all of that.
A cell is protected when its largest feasible count is at least 8 (it cannot be shown to be a
small count) and its range spans at least 5 values (it cannot be pinned down). `protect` adds
suppressions until every cell is: each time, it hides the smallest published non-zero part of
the equation that exposes a cell (or, with none left, the total itself), and audits again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_matrix

SMALL = 7  # counts from 1 to SMALL are suppressed
ROUNDING = 5  # every other count is published rounded to the nearest ROUNDING
REACH = SMALL + 1  # a suppressed cell's largest feasible count reaches at least this
SPAN = 5  # and its feasible range holds at least this many values
UNBOUNDED = 10**7  # a count no area reaches


@dataclass(frozen=True)
class Cell:
    """One published cell: its `group` (what it counts, e.g. month and measure), its area and
    the area its count is part of, and the published count (None when suppressed)."""

    group: tuple
    area: str
    parent: str | None
    value: int | None
    row: str = ""  # within a group and area, which row (e.g. the risk factor), for `at_most`

    @property
    def suppressed(self) -> bool:
        return self.value is None


@dataclass
class Audit:
    cells: int = 0
    ranges: dict[int, tuple[int, int]] = field(default_factory=dict)  # cell index -> (lo, hi)

    @property
    def exposed(self) -> list[int]:
        return [i for i, (lo, hi) in self.ranges.items() if not protected(lo, hi)]

    @property
    def smallest_span(self) -> int | None:
        spans = [hi - lo + 1 for lo, hi in self.ranges.values()]
        return min(spans) if spans else None

    @property
    def smallest_reach(self) -> int | None:
        return min((hi for _, hi in self.ranges.values()), default=None)


def protected(lo: int, hi: int) -> bool:
    return hi >= REACH and hi - lo + 1 >= SPAN


def bounds(value: int | None) -> tuple[int, int]:
    """What the intruder knows of one cell's true count from its published value alone."""
    if value is None:
        return 1, UNBOUNDED
    if value == 0:
        return 0, 0
    return max(REACH, value - ROUNDING // 2), value + ROUNDING // 2


def _systems(cells: list[Cell]) -> Iterable[list[int]]:
    """Cells that share no equation are audited apart: one system per group."""
    by_group: dict[tuple, list[int]] = {}
    for i, c in enumerate(cells):
        by_group.setdefault(c.group, []).append(i)
    return by_group.values()


def _constraints(
    cells: list[Cell], members: list[int], at_most: Iterable[tuple[str, str]]
) -> LinearConstraint | None:
    """Each total equals the sum of its parts; each `at_most` row is at most its other row."""
    local = {i: k for k, i in enumerate(members)}
    by_area_row = {(cells[i].area, cells[i].row): i for i in members}
    children: dict[tuple[str, str], list[int]] = {}
    for i in members:
        c = cells[i]
        if c.parent is not None and (c.parent, c.row) in by_area_row:
            children.setdefault((c.parent, c.row), []).append(i)
    rows, lower, upper = [], [], []
    for key, parts in children.items():
        row = {local[by_area_row[key]]: 1.0} | {local[p]: -1.0 for p in parts}
        rows.append(row), lower.append(0.0), upper.append(0.0)
    for small, large in at_most:
        for (area, r), i in by_area_row.items():
            if r == small and (area, large) in by_area_row:
                rows.append({local[i]: 1.0, local[by_area_row[(area, large)]]: -1.0})
                lower.append(-np.inf), upper.append(0.0)
    if not rows:
        return None
    a = lil_matrix((len(rows), len(members)))
    for r, row in enumerate(rows):
        for k, v in row.items():
            a[r, k] = v
    return LinearConstraint(a.tocsr(), lower, upper)


def _solve(objective: np.ndarray, constraint, box: Bounds) -> float | None:
    result = milp(
        objective,
        constraints=[constraint] if constraint is not None else [],
        integrality=np.ones_like(objective),
        bounds=box,
    )
    return result.fun if result.success else None


def _ranges(
    cells: list[Cell], members: list[int], at_most: list, only: set[int] | None = None
) -> dict[int, tuple[int, int]]:
    """The feasible range of each suppressed cell of one system (or of those in `only`)."""
    hidden = [i for i in members if cells[i].suppressed and (only is None or i in only)]
    if not hidden:
        return {}
    constraint = _constraints(cells, members, at_most)
    lo, hi = zip(*(bounds(cells[i].value) for i in members), strict=True)
    box = Bounds(np.array(lo, dtype=float), np.array(hi, dtype=float))
    ranges = {}
    index = {i: k for k, i in enumerate(members)}
    for i in hidden:
        objective = np.zeros(len(members))
        objective[index[i]] = 1.0
        largest = _solve(-objective, constraint, box)
        if largest is None:  # the published cells contradict each other: none is safe
            ranges[i] = (1, 1)
        elif -largest < REACH:  # shown to be small: how small does not matter
            ranges[i] = (1, round(-largest))
        else:
            smallest = _solve(objective, constraint, box)
            ranges[i] = (round(smallest), round(-largest))
    return ranges


def audit(cells: list[Cell], at_most: Iterable[tuple[str, str]] = ()) -> Audit:
    """The feasible range of every suppressed cell (see the module's docstring)."""
    at_most = list(at_most)
    out = Audit(cells=len(cells))
    for members in _systems(cells):
        out.ranges |= _ranges(cells, members, at_most)
    return out


def _next_to_hide(cells: list[Cell], members: list[int], exposed: int) -> int | None:
    """The smallest published non-zero cell sharing an equation with an exposed cell (a
    sibling, the total it is part of, one of its parts), or else with its total, and so on up
    the area tree: hiding it widens the exposed cell's range."""
    same_row = [i for i in members if cells[i].row == cells[exposed].row]
    by_area = {cells[i].area: i for i in same_row}
    at = exposed
    while at is not None:
        c = cells[at]
        for options in (
            [i for i in same_row if cells[i].parent == c.parent and i != at],  # siblings
            [i for i in same_row if cells[i].area == c.parent],  # its total
            [i for i in same_row if cells[i].parent == c.area],  # its parts
        ):
            shown = [i for i in options if cells[i].value]  # published and not 0
            if shown:
                return min(shown, key=lambda i: (cells[i].value, cells[i].area))
        at = by_area.get(c.parent) if c.parent is not None else None
    return None


def protect(
    cells: list[Cell], at_most: Iterable[tuple[str, str]] = ()
) -> tuple[list[Cell], Audit, int]:
    """Suppress more cells until the audit finds every suppressed cell protected; returns the
    cells, the final audit and how many suppressions it added."""
    at_most = list(at_most)
    cells = list(cells)
    out = Audit(cells=len(cells))
    added = 0
    for members in _systems(cells):
        ranges = _ranges(cells, members, at_most)
        while True:
            exposed = {i for i, (lo, hi) in ranges.items() if not protected(lo, hi)}
            hide = {j for i in exposed if (j := _next_to_hide(cells, members, i)) is not None}
            if not hide:
                break
            for j in hide:
                cells[j] = Cell(cells[j].group, cells[j].area, cells[j].parent, None, cells[j].row)
            added += len(hide)
            # Hiding a cell only loosens what the intruder knows, so no protected cell becomes
            # exposed: only the exposed cells and the newly hidden ones need solving again.
            ranges |= _ranges(cells, members, at_most, only=exposed | hide)
        out.ranges |= ranges
    return cells, out, added
