"""The strategic profile: Level 1 drawn for the boards and the strategic needs assessment of the
Serious Violence Duty. It reads Level 1 alone (the published file, every partner's), so the page
can go wherever Level 1 goes: trends per measure, the change on the year before, maps by ward
and LSOA, the highest risk factors per district, and the disclosure-control note.

Only published cells are drawn. A year's figure for an area adds up its published monthly
counts; where a month of it is suppressed the figure is a lower bound, and the map and tables
say so (hatched, and "at least")."""

from __future__ import annotations

import html
import json
from pathlib import Path

import duckdb
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.collections import PatchCollection
from matplotlib.patches import PathPatch
from matplotlib.path import Path as MplPath

from dagster_project.reports import page

# Mapped when Level 1 holds them: violence against the person first (the Duty's concern), then
# the measure most counted in most partnerships.
MAPPED = (
    "crime: violence with injury",
    "crime: knife-enabled",
    "anti-social behaviour (police incidents)",
)
TOP_FACTORS = 3
ANY_FACTOR = "any risk factor"  # Level 1's total of the factors, not a factor of its own


def read(level1: Path) -> dict[str, pd.DataFrame]:
    """Level 1's tables that the profile draws (the release's row among them)."""
    if not level1.is_file():
        raise FileNotFoundError(f"{level1}: no Level 1 published yet (`hub release` first)")
    with duckdb.connect(str(level1), read_only=True) as con:
        tables = {t for (t,) in con.execute("select table_name from duckdb_tables()").fetchall()}
        frames = {
            t: con.table(t).df() for t in ("strategic_profile", "risk_factor_rates", "release")
        }
        frames["boundaries"] = (
            con.table("area_boundaries").df()
            if "area_boundaries" in tables
            else pd.DataFrame(columns=["geography", "area_code", "area_name", "geometry"])
        )
    return frames


def year_totals(profile: pd.DataFrame, geography: str) -> pd.DataFrame:
    """Per area and measure over the last twelve months held: the sum of the published counts,
    the months of them suppressed (then the sum is a lower bound), and the same a year before
    with the months of it Level 1 holds at all."""
    months = sorted(profile["month"].unique())[-12:]
    cells = profile[(profile["geography"] == geography) & profile["month"].isin(months)]
    grouped = cells.groupby(["area_code", "area_name", "measure"], dropna=False)
    totals = grouped.agg(
        count=("count", lambda c: int(c.fillna(0).sum())),
        suppressed_months=("suppression", lambda s: int(s.notna().sum())),
        previous=("count_previous_year", lambda c: int(c.fillna(0).sum())),
        previous_suppressed=("suppression_previous_year", lambda s: int(s.notna().sum())),
        previous_published=("count_previous_year", lambda c: int(c.notna().sum())),
    ).reset_index()
    totals["months"] = len(months)
    totals["previous_months"] = totals["previous_published"] + totals["previous_suppressed"]
    return totals


def change_table(profile: pd.DataFrame) -> pd.DataFrame:
    """The partnership's last twelve months against the twelve before, per measure. A year
    before that Level 1 holds only in part is "not held"; a change is given only between two
    whole years with no suppressed month and a count the year before."""
    totals = year_totals(profile, "partnership")

    def shown(count: int, suppressed: int) -> str:
        return f"at least {count:,}" if suppressed else f"{count:,}"

    def before(row) -> str:
        if row.previous_months < 12:
            return "not held" if not row.previous_months else f"{row.previous_months} months held"
        return shown(row.previous, row.previous_suppressed)

    def change(row) -> str:
        whole = row.months == row.previous_months == 12
        if not whole or row.suppressed_months or row.previous_suppressed or not row.previous:
            return "not known"
        return f"{(row.count - row.previous) / row.previous:+.0%}"

    rows = [
        {
            "measure": r.measure,
            f"last {r.months} months": shown(r.count, r.suppressed_months),
            "the 12 months before": before(r),
            "change": change(r),
        }
        for r in totals.itertuples()
    ]
    return pd.DataFrame(rows).sort_values("measure") if rows else pd.DataFrame()


def trends(profile: pd.DataFrame) -> str:
    """Small multiples: each measure's partnership count per month; a suppressed month is a
    cross on the axis, not a zero."""
    cells = profile[profile["geography"] == "partnership"].sort_values("month")
    measures = sorted(cells["measure"].unique())
    if not measures:
        return "<p>No month is published yet.</p>"
    columns = 4
    rows = -(-len(measures) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(13, 2.3 * rows), squeeze=False)
    for ax, measure in zip(axes.flat, measures, strict=False):
        m = cells[cells["measure"] == measure]
        ax.plot(m["month"], m["count"], color=page.PALETTE[0], marker="o", markersize=3)
        hidden = m[m["suppression"].notna()]
        ax.scatter(hidden["month"], [0] * len(hidden), marker="x", color=page.PALETTE[3], s=18)
        ax.set_title(measure, fontsize=9)
        ax.set_ylim(bottom=0)
        ax.tick_params(labelsize=7)
        ax.set_xticks(m["month"].iloc[:: max(1, len(m) // 4)])
    for ax in list(axes.flat)[len(measures) :]:
        ax.axis("off")
    fig.tight_layout()
    return page.svg(fig)


def _patches(geometry: str) -> list[PathPatch]:
    """One patch per polygon, its holes cut out (an enclave is another area's to colour)."""
    shape = json.loads(geometry)
    polygons = shape["coordinates"] if shape["type"] == "MultiPolygon" else [shape["coordinates"]]
    patches = []
    for rings in polygons:
        vertices, codes = [], []
        for ring in rings:
            vertices += [*ring, ring[0]]
            codes += [MplPath.MOVETO] + [MplPath.LINETO] * (len(ring) - 1) + [MplPath.CLOSEPOLY]
        patches.append(PathPatch(MplPath(vertices, codes)))
    return patches


def choropleth(boundaries: pd.DataFrame, totals: pd.DataFrame, measure: str, geography: str):
    """One map of `measure` over the last year by area; areas with a suppressed month hatched."""
    areas = boundaries[boundaries["geography"] == geography]
    values = totals[totals["measure"] == measure].set_index("area_code")
    fig, ax = plt.subplots(figsize=(6.2, 5.2))
    patches, shades, hatched = [], [], []
    for area in areas.itertuples():
        for patch in _patches(area.geometry):
            patches.append(patch)
            shades.append(values["count"].get(area.area_code, 0))
            hatched.append(values["suppressed_months"].get(area.area_code, 0) > 0)
    drawn = PatchCollection(patches, cmap="Blues", edgecolor="#59636e", linewidth=0.4)
    drawn.set_array(pd.Series(shades, dtype=float))
    drawn.set_clim(0, max([*shades, 5]))  # counts start at 0; a map of nothing is all pale
    ax.add_collection(drawn)
    for patch, hatch in zip(patches, hatched, strict=True):
        if hatch:
            ax.add_patch(PathPatch(patch.get_path(), fill=False, hatch="///",
                                   edgecolor="#8c959f", linewidth=0))  # fmt: skip
    ax.autoscale_view()
    ax.set_aspect("equal")
    ax.axis("off")
    fig.colorbar(drawn, ax=ax, shrink=0.7, label="events, last 12 months")
    ax.set_title(f"{measure}, by {geography}", fontsize=10)
    return page.svg(fig)


def top_risk_factors(rates: pd.DataFrame) -> pd.DataFrame:
    districts = rates[
        (rates["geography"] == "district")
        & rates["rate_per_1000"].notna()
        & (rates["risk_factor"] != ANY_FACTOR)
    ]
    top = (
        districts.sort_values("rate_per_1000", ascending=False)
        .groupby("area_name", sort=True)
        .head(TOP_FACTORS)
        .sort_values(["area_name", "rate_per_1000"], ascending=[True, False])
    )
    return top[["area_name", "risk_factor", "people", "rate_per_1000"]].rename(
        columns={"area_name": "district", "rate_per_1000": "per 1,000 residents"}
    )


def disclosure_note(release: pd.Series) -> str:
    return (
        "<div class='note'><p>Every count here is a Level 1 cell, under the partnership's "
        "disclosure control: a count of 1 to 7 is suppressed, and so is any cell that, with a "
        "total and its other parts, would give a suppressed one away; every other count is "
        "rounded to the nearest 5, totals from unrounded counts. A year's figure adds up the "
        'published months, so where a month is suppressed it is a lower bound ("at least"; '
        "hatched on the maps).</p>"
        f"<p>This release ({html.escape(str(release['release_id']))}, "
        f"{html.escape(str(release['first_month']))} to {html.escape(str(release['last_month']))}"
        f") holds {int(release['level1_cells']):,} cells, of which "
        f"{int(release['cells_suppressed_primary']):,} are suppressed as small and "
        f"{int(release['cells_suppressed_secondary']):,} to protect them; an exact audit of "
        f"{int(release['level1_cells_audited']):,} cells found no suppressed cell that can be "
        "worked out from the rest.</p></div>"
    )


def strategic_profile(level1: Path) -> str:
    """The profile of the Level 1 file at `level1`, as one self-contained page."""
    frames = read(level1)
    profile, boundaries = frames["strategic_profile"], frames["boundaries"]
    release = frames["release"].iloc[0]
    body = [
        disclosure_note(release),
        "<h2>The year against the year before</h2>",
        page.table(change_table(profile)),
        "<h2>Trends</h2>",
        page.figure(
            trends(profile),
            "Each measure for the whole partnership, by month; a cross marks a month suppressed.",
        ),  # fmt: skip
        "<h2>Maps</h2>",
    ]
    measures = [m for m in MAPPED if m in set(profile["measure"])]
    if boundaries.empty:
        body.append("<p>No area boundaries were published with this release (docs/gazetteer.md, "
                    "\"Area boundaries\").</p>")  # fmt: skip
    for geography in ("ward", "lsoa"):
        totals = year_totals(profile, geography)
        for measure in measures if not boundaries.empty else ():
            body.append(
                page.figure(
                    choropleth(boundaries, totals, measure, geography),
                    f"{measure} over the last 12 months by {geography}; hatched where a month "
                    "is suppressed, so the figure is at least that.",
                )
            )
    body += [
        "<h2>The highest risk factors per district</h2>",
        page.table(top_risk_factors(frames["risk_factor_rates"])),
    ]
    return page.page(
        "Strategic profile",
        f"Level 1, release {release['release_id']}, {release['first_month']} to "
        f"{release['last_month']}",
        body,
    )
