"""The airlock's disclosure checks and its writing-out, on small hand-made tables.

acro is imported on the first check (about 1.5 s on top of pandas); each check then takes a few
hundredths of a second.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dagster_project.access.output_checks import Checked, Measure, check
from dagster_project.access.outputs import neutralise, write

COUNT = Measure("n", "count", None)

# output_checks hides pandas' FutureWarnings about acro's calls with a filter set on import, but
# pytest imports test modules inside its own warnings context and drops the filter after.
pytestmark = pytest.mark.filterwarnings(r"ignore::FutureWarning:acro\.")


def groups(sizes: dict[str, int]) -> pd.DataFrame:
    """One row per record: `sizes[ward]` records in each ward, each a different person."""
    wards = [w for w, n in sizes.items() for _ in range(n)]
    return pd.DataFrame({"ward": wards, "person": range(len(wards))})


def cell(checked: Checked, ward: str, column: str):
    row = checked.table.index[checked.table["ward"] == ward][0]
    return checked.table.at[row, column], checked.reasons.at[row, column]


# --- counts --------------------------------------------------------------------------------


def test_counts_are_suppressed_from_1_to_7_and_rounded_to_5_otherwise():
    # Every group has at least 8 records (a smaller one is withheld whole, see below); the people
    # in them vary: "a" is 8 records of 1 person, "b" of 7 people, "z" of none (no person).
    people = {"a": 1, "b": 7, "c": 8, "d": 12, "e": 13, "f": 10, "g": 9, "z": 0}
    wards, persons = [], []
    for ward, n in people.items():
        wards += [ward] * max(n, 8)
        persons += [f"{ward}{i % n}" if n else None for i in range(max(n, 8))]
    rows = pd.DataFrame({"ward": wards, "person": persons})
    checked = check(rows, ["ward"], [Measure("people", "count_distinct", "person")])
    shown = dict(zip(checked.table["ward"], checked.table["people"], strict=True))
    assert shown == {"a": pd.NA, "b": pd.NA, "c": 10, "d": 10, "e": 15, "f": 10, "g": 10, "z": 0}
    assert list(checked.reasons["people"]) == ["threshold"] * 2 + ["ok"] * 6
    assert checked.table["people"].dtype == "Int64"
    assert checked.withheld == 0
    # Ties: an integer count is never halfway between two multiples of 5 (12 -> 10, 13 -> 15),
    # so "nearest 5" needs no tie rule here; see the next test for what acro would do.


def test_acro_rounds_halfway_to_the_even_multiple():
    """acro rounds count/5 with numpy, halves to even: 12.5 -> 10 and 17.5 -> 20. Whole counts
    never reach a half with a base of 5; with an even base (10) they would: 15 -> 20, 25 -> 20."""
    from acro.table_utils import round_table

    rounded = round_table(pd.DataFrame({"x": [12.5, 17.5, 12.0, 13.0]}), 5)
    assert list(rounded["x"]) == [10, 20, 10, 15]
    assert list(round_table(pd.DataFrame({"x": [15, 25]}), 10)["x"]) == [20, 20]


def test_a_count_of_rows_and_of_zero_rows():
    # a group of 1 record is withheld, so a count of rows shown by group is at least 8
    checked = check(groups({"a": 1, "c": 8, "e": 13}), ["ward"], [COUNT])
    assert checked.table["ward"].tolist() == ["c", "e"] and checked.withheld == 1
    assert checked.table["n"].tolist() == [10, 15]
    # no key: the whole table is one group, never withheld; a small one is suppressed ...
    small = check(groups({"a": 3}), [], [COUNT])
    assert small.table["n"].tolist() == [pd.NA] and small.reasons["n"].tolist() == ["threshold"]
    assert small.withheld == 0
    # ... and an empty one counts 0 (zeros are not disclosive)
    empty = check(groups({}), [], [COUNT])
    assert empty.table["n"].tolist() == [0] and empty.reasons["n"].tolist() == ["ok"]


def test_count_distinct_counts_people_not_records():
    rows = pd.DataFrame({"ward": ["a"] * 10, "person": [1, 2, 3] * 3 + [None]})
    checked = check(rows, ["ward"], [COUNT, Measure("people", "count_distinct", "person")])
    assert cell(checked, "a", "n") == (10, "ok")  # 10 records, shown rounded
    value, reason = cell(checked, "a", "people")  # but 3 people: suppressed
    assert value is pd.NA and reason == "threshold"


# --- sums, means, medians ------------------------------------------------------------------


def test_a_sum_of_7_records_is_suppressed_for_the_threshold():
    # "a" has 8 records (so it is shown) but only 7 values: the 8th is NULL and does not count
    rows = pd.DataFrame({"ward": ["a"] * 8 + ["b"] * 8, "v": [10.5] * 7 + [None] + [10.5] * 8})
    checked = check(rows, ["ward"], [Measure("total", "sum", "v")])
    value, reason = cell(checked, "a", "total")
    assert value is pd.NA and reason == "threshold"
    assert cell(checked, "b", "total") == (84.0, "ok")


def test_a_sum_one_record_dominates_is_suppressed_for_dominance():
    # 8 records, one 95 % of the total: N-K fails (and p-ratio, which N-K subsumes here)
    rows = pd.DataFrame({"ward": ["a"] * 8 + ["b"] * 8, "v": [950.0] + [50 / 7] * 7 + [10.0] * 8})
    checked = check(rows, ["ward"], [Measure("total", "sum", "v"), Measure("avg", "mean", "v")])
    assert checked.table.loc[0, ["total", "avg"]].isna().all()
    assert checked.reasons.loc[0].tolist() == ["dominance (n-k)"] * 2
    assert checked.reasons.loc[1].tolist() == ["ok", "ok"]
    assert checked.suppressed == {"dominance (n-k)": 2}


def test_a_median_is_checked_for_dominance_too():
    # acro checks a median for the threshold only; the hub adds the sum's dominance check
    rows = pd.DataFrame({"ward": ["a"] * 8, "v": [5000.0] + [1.0] * 7})
    checked = check(rows, ["ward"], [Measure("med", "median", "v")])
    assert cell(checked, "a", "med")[1] == "dominance (n-k)"


def test_a_negative_value_in_one_group_does_not_switch_off_dominance_in_the_others():
    # acro alone, seeing the negative in "a", would pass the dominated "b"
    rows = pd.DataFrame(
        {
            "ward": ["a"] * 10 + ["b"] * 10 + ["c"] * 10,
            "v": [-1.0] + [5] * 9 + [1000.0] + [1] * 9 + [3] * 10,
        }
    )
    checked = check(rows, ["ward"], [Measure("total", "sum", "v")])
    assert checked.reasons["total"].tolist() == ["dominance (n-k)", "dominance (n-k)", "ok"]
    assert checked.table["total"].tolist() == [pd.NA, pd.NA, 30]


def test_only_records_with_a_value_contribute():
    rows = pd.DataFrame({"ward": ["a"] * 10, "v": [2.0] * 7 + [None] * 3})
    checked = check(rows, ["ward"], [COUNT, Measure("avg", "mean", "v")])
    assert cell(checked, "a", "n") == (10, "ok")
    assert cell(checked, "a", "avg")[1] == "threshold"  # 7 values, not 10 records


def test_nullable_and_decimal_columns_are_checked_as_numbers():
    # acro would take a nullable Int64 column (or Decimals) for non-numeric and pass dominance
    big = pd.array([5000] + [1] * 7 + [None], dtype="Int64")
    decimals = [Decimal("5000.5")] + [Decimal("1.25")] * 7 + [None]
    rows = pd.DataFrame({"ward": ["a"] * 9, "v": big, "d": decimals})
    checked = check(rows, ["ward"], [Measure("total", "sum", "v"), Measure("dec", "mean", "d")])
    assert checked.reasons.loc[0].tolist() == ["dominance (n-k)"] * 2


def test_a_sum_of_whole_numbers_is_published_like_a_count():
    # 8 records in each ward, summing to 36, 5 (five 1s), 8 and 1000; whole floats count too
    rows = pd.DataFrame(
        {
            "ward": [w for w in "abcd" for _ in range(8)],
            "v": np.r_[np.arange(1, 9), [1] * 5 + [0] * 3, [1] * 8, [125] * 8],
        }
    )
    for column in (rows["v"], rows["v"].astype(float)):
        checked = check(rows.assign(v=column), ["ward"], [Measure("total", "sum", "v")])
        assert checked.table["total"].dtype == "Int64"
        # in steps of 5 of the largest contribution: 36 by 40s, 8 by 5s, 1000 by 625s
        assert checked.table["total"].tolist() == [40, pd.NA, 10, 1250]
        assert checked.reasons["total"].tolist() == ["ok", "threshold", "ok", "ok"]
        assert checked.suppressed == {"threshold": 1} and checked.rounded == 3


def test_the_indicator_hidden_in_a_sum_is_no_more_exact_than_its_count():
    """The red team's export: `sum(100 + case when knife then 1 else 0 end)` by ward, whose
    groups are large and even enough to pass the threshold and dominance. Less 100 per record,
    an exact sum would be the exact count of knife crimes, however small."""
    knives = {"a": (20, 3), "b": (13, 1), "c": (8, 7), "d": (30, 12)}  # ward: (records, knives)
    wards = [w for w, (n, _) in knives.items() for _ in range(n)]
    knife = [int(i < k) for n, k in knives.values() for i in range(n)]
    rows = pd.DataFrame({"ward": wards, "knife": knife}).assign(v=lambda r: 100 + r["knife"])
    checked = check(rows, ["ward"], [COUNT, Measure("total", "sum", "v")])
    assert checked.reasons["total"].tolist() == ["ok"] * 4  # threshold and dominance pass
    assert checked.table["total"].dtype == "Int64"
    for ward, (n, k) in knives.items():
        total, _ = cell(checked, ward, "total")
        # rounded in steps of 5 x 101, the largest contribution
        assert total % 505 == 0 and abs(total - (100 * n + k)) <= 505 / 2
        assert total - 100 * n != k  # the small count no longer falls out
    assert checked.table["total"].tolist() == [2020, 1515, 1010, 3030]

    # and the indicator summed alone is suppressed from 1 to 7, as its count would be; ("b",
    # with one knife, is dominated by its single 1)
    alone = check(rows, ["ward"], [Measure("knives", "sum", "knife")])
    assert alone.table["knives"].tolist() == [pd.NA, pd.NA, pd.NA, 10]
    assert alone.reasons["knives"].tolist() == ["threshold", "dominance (n-k)", "threshold", "ok"]


def test_a_sum_of_fractions_is_published_unrounded():
    rows = pd.DataFrame({"ward": ["a"] * 8, "v": [1.25] * 7 + [3.5]})
    checked = check(rows, ["ward"], [Measure("total", "sum", "v")])
    assert checked.table["total"].dtype == "Float64"
    assert cell(checked, "a", "total") == (12.25, "ok")
    assert checked.rounded == 0
    assert checked.summary() == "1 cell: none suppressed, no counts rounded."


def test_a_sum_of_one_repeated_value_does_not_give_back_its_count():
    """Found by an attacker: eight records of hour 20 sum to 160, which rounded to 5 and
    divided by 20 gave back the exact 8; two such exports differing by a WHERE gave exact
    small counts."""
    rows = pd.DataFrame({"hour": [20] * 8 + [6] * 51 + [7] * 103}).assign(ward=lambda r: r.hour)
    checked = check(rows, ["ward"], [Measure("total", "sum", "hour"), COUNT])
    for hour, records in ((20, 8), (6, 51), (7, 103)):
        total, _ = cell(checked, hour, "total")
        assert total % (5 * hour) == 0  # in steps of five records' worth
        assert round(total / hour) != records or records % 5 == 0


# --- the table -----------------------------------------------------------------------------


def test_keys_are_kept_in_order_null_keys_included():
    rows = pd.DataFrame(
        {
            "ward": ["b"] * 9 + ["a"] * 2 + [None] * 8 + ['x") | (ward == "y'] * 8,
            "month": [1] * 9 + [2] * 2 + [3] * 8 + [4] * 8,
        }
    )
    checked = check(rows, ["ward", "month"], [COUNT])
    assert checked.table.columns.tolist() == ["ward", "month", "n"]
    # ("a", 2) has 2 records: withheld
    assert checked.table["ward"].tolist() == ["b", 'x") | (ward == "y', None]
    assert checked.table["month"].tolist() == [1, 4, 3]
    assert checked.table["month"].dtype == rows["month"].dtype
    assert checked.table["n"].tolist() == [10, 10, 10]
    assert checked.reasons.index.tolist() == checked.table.index.tolist() == [0, 1, 2]
    assert checked.withheld == 1


def test_keys_without_measures_list_the_groups_of_8_records_or_more():
    checked = check(groups({"a": 8, "b": 9, "c": 2}), ["ward"], [])
    assert checked.table["ward"].tolist() == ["a", "b"] and checked.cells == 0
    assert checked.summary() == (
        "0 cells: none suppressed, no counts rounded; groups of fewer than 8 records withheld."
    )


def test_a_group_of_7_records_is_withheld_and_one_of_8_shown():
    checked = check(groups({"a": 7, "b": 8}), ["ward"], [COUNT])
    assert checked.table["ward"].tolist() == ["b"] and checked.table["n"].tolist() == [10]
    assert checked.reasons["n"].tolist() == ["ok"]
    assert checked.withheld == 1 and checked.cells == 1 and checked.suppressed == {}
    assert checked.summary() == (
        "1 cell: none suppressed, 1 count rounded to 5; groups of fewer than 8 records withheld."
    )
    # the groups are counted by records, not by what a measure sees: 8 records are shown even
    # when only 3 have a value, and the value is then suppressed
    rows = groups({"a": 7, "b": 8, "c": 1}).assign(v=[1.5] * 7 + [1.5] * 3 + [None] * 5 + [1.5])
    checked = check(rows, ["ward"], [Measure("total", "sum", "v")])
    assert checked.table["ward"].tolist() == ["b"]
    value, reason = cell(checked, "b", "total")
    assert value is pd.NA and reason == "threshold"
    assert checked.summary() == (
        "1 cell: 1 suppressed (1 threshold), no counts rounded; "
        "groups of fewer than 8 records withheld."
    )


def test_an_export_of_one_record_per_group_shows_nothing():
    # grouped by enough columns, every group is a record, and its keys would publish it
    rows = groups({"a": 5, "b": 9}).assign(day=lambda r: r["person"] % 3)
    checked = check(rows, ["ward", "person", "day"], [COUNT])
    assert checked.table.empty and checked.reasons.empty
    assert checked.table.columns.tolist() == ["ward", "person", "day", "n"]
    assert checked.withheld == 14 and checked.cells == 0


def test_the_summary_sentence():
    # "a": 8 records but 3 values; "d": 5 records, withheld
    v = [1.5] * 3 + [None] * 5 + [1.5] * 8 + [150.5] + [1.5] * 19 + [1.5] * 5
    rows = pd.DataFrame({"ward": ["a"] * 8 + ["b"] * 8 + ["c"] * 20 + ["d"] * 5, "v": v})
    checked = check(rows, ["ward"], [COUNT, Measure("total", "sum", "v")])
    assert checked.cells == 6 and checked.withheld == 1
    assert checked.suppressed == {"threshold": 1} and checked.rounded == 3
    assert checked.summary() == (
        "6 cells: 1 suppressed (1 threshold), 3 counts rounded to 5; "
        "groups of fewer than 8 records withheld."
    )
    one = check(groups({"a": 8}), [], [COUNT])
    assert one.summary() == "1 cell: none suppressed, 1 count rounded to 5."
    small = check(groups({"a": 3}), [], [COUNT])  # no key: one group, not withheld however small
    assert small.summary() == "1 cell: 1 suppressed (1 threshold), no counts rounded."


def test_the_summary_names_every_reason():
    # "a": 8 records, 3 values (threshold); "b": one 900 (dominance); "c": 20 ones, summing to
    # a whole 20 (rounded like a count); "d": 2 records, withheld
    v = [1.0] * 3 + [None] * 5 + [1.0] * 7 + [900.0] + [1.0] * 20 + [1.0] * 2
    rows = pd.DataFrame({"ward": ["a"] * 8 + ["b"] * 8 + ["c"] * 20 + ["d"] * 2, "v": v})
    distinct = Measure("values", "count_distinct", "v")  # 1, 2 and 1 distinct values
    checked = check(rows, ["ward"], [COUNT, Measure("total", "sum", "v"), distinct])
    assert checked.summary() == (
        "9 cells: 5 suppressed (4 threshold, 1 dominance (n-k)), 4 counts rounded to 5; "
        "groups of fewer than 8 records withheld."
    )


def test_nothing_printed_and_no_file_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    check(groups({"a": 3, "b": 9}).assign(v=1.0), ["ward"], [COUNT, Measure("s", "sum", "v")])
    assert capsys.readouterr().out == ""
    assert os.listdir(tmp_path) == []


def test_acro_leaves_the_process_as_it_found_it(tmp_path):
    """In a fresh process (acro configures logging and warnings when imported): no output on
    stdout, no file in the working directory, the root logger and FutureWarnings untouched."""
    script = """
import logging, warnings
import pandas as pd
from dagster_project.access.output_checks import Measure, check
rows = pd.DataFrame({"ward": ["a"] * 3 + ["b"] * 9, "v": [1.0] * 12})
check(rows, ["ward"], [Measure("n", "count"), Measure("s", "sum", "v")])
root = logging.getLogger()
ignored = [f for f in warnings.filters if f[0] == "ignore" and f[2] is FutureWarning]
assert not root.handlers and root.level == logging.WARNING, (root.handlers, root.level)
assert all(f[3] is not None for f in ignored), ignored  # only acro's own, by module
assert logging.getLogger("acro").level == logging.WARNING
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""
    assert os.listdir(tmp_path) == []


# --- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize("function", ["max", "min", "std", "mode", "first"])
def test_functions_that_publish_a_record_are_refused(function):
    with pytest.raises(ValueError, match=f"'{function}'.*count, count_distinct, sum, mean, median"):
        Measure("x", function, "v")


def test_malformed_exports_are_refused():
    rows = groups({"a": 8}).assign(v=1.0, flag=True, name="x")
    with pytest.raises(ValueError, match="neither"):
        check(rows, [], [])
    with pytest.raises(ValueError, match="missing from the rows: district"):
        check(rows, ["district"], [COUNT])
    with pytest.raises(ValueError, match="missing from the rows: age"):
        check(rows, ["ward"], [Measure("avg", "mean", "age")])
    with pytest.raises(ValueError, match="more than once"):
        check(rows, ["ward"], [COUNT, Measure("n", "sum", "v")])
    with pytest.raises(ValueError, match="numeric column"):
        check(rows, ["ward"], [Measure("s", "sum", "name")])
    with pytest.raises(ValueError, match="numeric column"):
        check(rows, ["ward"], [Measure("s", "sum", "flag")])  # a count in disguise
    with pytest.raises(ValueError, match="takes no column"):
        Measure("n", "count", "person")
    with pytest.raises(ValueError, match="needs a column"):
        Measure("s", "sum", None)


# --- writing out ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+44", "'+44"),
        ("-x", "'-x"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tX", "'\tX"),
        ("\rX", "'\rX"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        ("", ""),
        (-3, -3),
        (-2.5, -2.5),
        (None, None),
    ],
)
def test_neutralise(value, expected):
    assert neutralise(value) == expected
    assert neutralise(neutralise(value)) == expected  # the airlock writes a table twice


def export() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ward": ['=HYPERLINK("http://x")', "plain", "-3", None],
            "change": [-3, 4, -5, 0],
            "n": pd.array([10, pd.NA, 15, 0], dtype="Int64"),
            "=cmd": [1.5, -2.0, None, 0.0],
        }
    )


def test_write_csv(tmp_path):
    path = write(export(), tmp_path / "export.csv", "csv")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    back = pd.read_csv(path, keep_default_na=False)
    assert back.columns.tolist() == ["ward", "change", "n", "'=cmd"]
    assert back["ward"].tolist() == ['\'=HYPERLINK("http://x")', "plain", "'-3", ""]
    assert back["change"].tolist() == [-3, 4, -5, 0]  # numbers are left alone
    assert path.read_text().splitlines()[2] == "plain,4,,-2.0"  # NULL is an empty cell


def test_write_parquet(tmp_path):
    path = write(export(), tmp_path / "export.parquet", "parquet")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    back = pd.read_parquet(path)
    assert back["ward"].tolist() == ['\'=HYPERLINK("http://x")', "plain", "'-3", None]
    assert back["change"].tolist() == [-3, 4, -5, 0]
    assert back["n"].dtype == "Int64" and back["n"].isna().tolist() == [False, True, False, False]


def test_write_refuses_an_unknown_format_and_an_existing_file(tmp_path):
    with pytest.raises(ValueError, match="csv or parquet"):
        write(export(), tmp_path / "export.xlsx", "xlsx")
    assert not (tmp_path / "export.xlsx").exists()
    (tmp_path / "taken.csv").write_text("someone else's")
    with pytest.raises(FileExistsError):
        write(export(), tmp_path / "taken.csv", "csv")
    assert (tmp_path / "taken.csv").read_text() == "someone else's"


def test_a_checked_table_writes_out(tmp_path):
    # "b": 8 records of one person, whose count is suppressed; "c": 2 records, withheld
    rows = pd.DataFrame(
        {"ward": ["=a"] * 9 + ["b"] * 8 + ["c"] * 2, "person": [*range(9)] + [1] * 10}
    )
    checked = check(rows, ["ward"], [COUNT, Measure("people", "count_distinct", "person")])
    back = pd.read_csv(write(checked.table, tmp_path / "t.csv", "csv"))
    assert back["ward"].tolist() == ["'=a", "b"] and back["n"].tolist() == [10, 10]
    assert back["people"].isna().tolist() == [False, True]


def test_a_mean_of_whole_numbers_is_the_published_sum_over_the_published_count():
    """Found by an attacker: an exact mean beside a rounded count gave the exact group size
    (the one near the count where mean x size is whole), and so the exact sum."""
    rows = pd.DataFrame(
        {"area": ["a"] * 23 + ["b"] * 327, "stops": [1] * 12 + [0] * 11 + [1] * 4 + [0] * 323}
    )
    checked = check(rows, ["area"], [Measure("n", "count"), Measure("mean", "mean", "stops")])
    by_area = checked.table.set_index("area")
    assert by_area.loc["a", "n"] == 25 and by_area.loc["a", "mean"] == pytest.approx(10 / 25)
    assert pd.isna(by_area.loc["b", "mean"])  # a sum of 4: suppressed, and so its mean
    assert checked.reasons.set_index(checked.table["area"]).loc["b", "mean"] == "threshold"
