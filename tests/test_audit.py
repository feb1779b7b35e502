"""The exact Level 1 disclosure audit (tiers/audit.py) on hand-made cells: what an intruder can
solve for, and the suppressions that stop it."""

from __future__ import annotations

from dagster_project.tiers.audit import Cell, audit, bounds, protect, protected

G = ("2024-01", "knife crime")


def cells(tree: dict[str, tuple[str | None, int | None]], row: str = "") -> list[Cell]:
    """{area: (parent, published value)} -> cells of one group."""
    return [Cell(G, area, parent, value, row) for area, (parent, value) in tree.items()]


def ranges(cs: list[Cell]) -> dict[str, tuple[int, int]]:
    result = audit(cs)
    return {cs[i].area: r for i, r in result.ranges.items()}


def test_what_a_published_value_says_of_the_truth():
    assert bounds(0) == (0, 0)  # zeros are exact
    assert bounds(10) == (8, 12)  # rounded to 5, and never 1 to 7
    assert bounds(25) == (23, 27)
    assert bounds(None)[0] == 1  # a suppressed count is not 0
    assert protected(1, 8) and protected(4, 8)
    assert not protected(1, 7)  # might be small: shown to be 1 to 7
    assert not protected(8, 11)  # pinned to four values


def test_a_suppressed_part_of_a_published_total_is_solved_for():
    # D = 10 (8..12), W2 = 10 (8..12): W1 = D - W2 is at most 4
    cs = cells({"D": (None, 10), "W1": ("D", None), "W2": ("D", 10)})
    assert ranges(cs) == {"W1": (1, 4)}
    assert audit(cs).exposed


def test_seven_suppressed_parts_of_a_small_total_are_each_exactly_one():
    # the district is known to be 8 (10 of a partnership of 20 less a ward of 10 ... here
    # directly: a ward whose total is pinned to 7 by its district and sibling)
    tree = {"P": (None, 15), "W1": ("P", None), "W2": ("P", 10)}
    tree |= {f"L{k}": ("W1", None) for k in range(7)}
    cs = cells(tree)
    found = ranges(cs)
    assert found["W1"] == (7, 9)  # 15 less 10: 3 to 9, and at least 7 parts of at least 1
    assert all(found[f"L{k}"] == (1, 3) for k in range(7))


def test_protect_hides_the_smallest_sibling_and_then_every_range_is_wide():
    # W1 = D - W2 - W3: at most 37 - 8 - 23 = 6, so a small count
    cs = cells({"D": (None, 35), "W1": ("D", None), "W2": ("D", 10), "W3": ("D", 25)})
    assert ranges(cs) == {"W1": (1, 6)}
    done, result, added = protect(cs)
    assert added >= 1 and not result.exposed
    hidden = {c.area for c in done if c.suppressed}
    assert "W2" in hidden  # the smallest published sibling goes first
    assert all(protected(lo, hi) for lo, hi in result.ranges.values())


def test_protect_climbs_the_area_tree_when_an_equation_has_nothing_left_to_hide():
    tree = {"P": (None, 15), "W1": ("P", None), "W2": ("P", 10)}
    tree |= {f"L{k}": ("W1", None) for k in range(7)}
    done, result, added = protect(cells(tree))
    assert not result.exposed and added >= 1
    assert any(c.area == "W2" and c.suppressed for c in done)


def test_a_one_to_one_area_level_spreads_what_is_solved_for_and_is_protected_with_it():
    # a ward with one LSOA: whatever the ward's total gives away, the LSOA's gives too
    cs = cells({"D": (None, 10), "W1": ("D", None), "W2": ("D", 10), "L1": ("W1", None)})
    assert ranges(cs) == {"W1": (1, 4), "L1": (1, 4)}
    done, result, _ = protect(cs)
    assert not result.exposed
    assert {c.area for c in done if c.suppressed} == {"W1", "W2", "L1"}


def test_zeros_are_never_hidden_to_protect_another_cell():
    cs = cells({"D": (None, 10), "W1": ("D", None), "W2": ("D", 0), "W3": ("D", 10)})
    done, result, _ = protect(cs)
    assert not result.exposed
    assert next(c for c in done if c.area == "W2").value == 0


def test_a_row_that_is_part_of_another_bounds_it():
    # repeat victims are among victims: a suppressed repeat count under a published victim
    # count of 10 is at most 12, and a suppressed victim count is at least the repeat one
    cs = [*cells({"D": (None, 10)}, "victim"), *cells({"D": (None, None)}, "repeat")]
    result = audit(cs, at_most=[("repeat", "victim")])
    (only,) = result.ranges.values()
    assert only == (1, 12)
