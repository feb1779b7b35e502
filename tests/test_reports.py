"""The strategic profile's arithmetic on Level 1 cells: only what Level 1 publishes, a year
with a suppressed month a lower bound, a change only between two whole published years."""

from __future__ import annotations

import pandas as pd

from dagster_project.reports.strategic import change_table, top_risk_factors, year_totals


def _cells(months: list[str], counts: list, previous: list, measure: str = "theft"):
    return pd.DataFrame(
        {
            "month": months,
            "geography": "partnership",
            "area_code": "all",
            "area_name": "Partnership",
            "measure": measure,
            "count": counts,
            "suppression": ["primary" if c is None else None for c in counts],
            "count_previous_year": [p if p != "s" else None for p in previous],
            "suppression_previous_year": ["primary" if p == "s" else None for p in previous],
        }
    )


MONTHS = [f"2024-{m:02d}" for m in range(1, 13)]


def test_a_year_with_a_suppressed_month_is_at_least_its_published_sum():
    profile = _cells(MONTHS, [10] * 11 + [None], [None] * 12)
    [row] = year_totals(profile, "partnership").itertuples()
    assert (row.count, row.suppressed_months, row.previous_months) == (110, 1, 0)
    [shown] = change_table(profile).to_dict("records")
    assert shown == {"measure": "theft", "last 12 months": "at least 110",
                     "the 12 months before": "not held", "change": "not known"}  # fmt: skip


def test_a_change_only_between_two_whole_published_years():
    whole = _cells(MONTHS, [15] * 12, [10] * 12)
    [shown] = change_table(whole).to_dict("records")
    assert (shown["the 12 months before"], shown["change"]) == ("120", "+50%")
    part = _cells(MONTHS, [15] * 12, [None] * 6 + [10] * 6)  # a year before held in part
    [shown] = change_table(part).to_dict("records")
    assert (shown["the 12 months before"], shown["change"]) == ("6 months held", "not known")
    hidden = _cells(MONTHS, [15] * 12, ["s"] + [10] * 11)  # a month of it suppressed
    [shown] = change_table(hidden).to_dict("records")
    assert (shown["the 12 months before"], shown["change"]) == ("at least 110", "not known")


def test_only_the_last_twelve_months_count_and_no_month_gives_no_table():
    months = [f"2023-{m:02d}" for m in range(7, 13)] + MONTHS
    profile = _cells(months, [100] * 6 + [1] * 12, [None] * 18)
    [row] = year_totals(profile, "partnership").itertuples()
    assert (row.count, row.months) == (12, 12)
    assert change_table(profile.iloc[0:0]).empty


def test_the_top_risk_factors_leave_out_the_total_and_unpublished_rates():
    rates = pd.DataFrame(
        {
            "geography": "district",
            "area_name": "Oxford",
            "risk_factor": ["any risk factor", "victim of crime", "offending", "drugs", "rare"],
            "people": [100, 50, 30, 20, None],
            "rate_per_1000": [80.0, 40.0, 24.0, 16.0, None],
        }
    )
    top = top_risk_factors(rates)
    assert top["risk_factor"].tolist() == ["victim of crime", "offending", "drugs"]


def test_the_scorecard_page_shows_record_counts_by_level1s_rule():
    from dagster_project.reports.scorecard import published

    assert [published(n) for n in (None, 0, 1, 7, 8, 12, 13, 1234.4)] == [
        "", "0", "fewer than 8", "fewer than 8", "10", "10", "15", "1,235"
    ]  # fmt: skip


def test_only_changed_scorecard_rows_are_observed_again():
    from dagster_project.reports.scorecard import COLUMNS, changed

    before = pd.DataFrame([{c: None for c in COLUMNS} | {"feed": f, "month": "2024-01",
                           "overall_rag": "green"} for f in ("asb", "ppo")])  # fmt: skip
    now = before.copy()
    now.loc[1, "overall_rag"] = "red"
    extra = now.iloc[[0]].assign(month="2024-02")
    fresh = changed(pd.concat([now, extra], ignore_index=True), before)
    assert list(zip(fresh["feed"], fresh["month"], strict=True)) == [
        ("ppo", "2024-01"), ("asb", "2024-02")]  # fmt: skip
    assert len(changed(before, pd.DataFrame(columns=list(COLUMNS)))) == 2
