"""The person linkage report: how the person spine links records, for the data engineer who
looks after it. One self-contained HTML page (page.py) of aggregates only: the match weights of
the scored pairs against the spine's thresholds, the model's weight per comparison level, the
sizes of the clusters and how many agencies and feeds each person spans, the review queues and
decisions, and, where the synthetic region's truth exists, precision and recall.

The charts are drawn with matplotlib as inline SVG. Splink draws its own (match_weights_chart
and the rest) with altair: shown in a page those need the Vega JavaScript from a CDN, or the
vl-convert package to render them, and the hub's closed network has neither; matplotlib's SVG
opens offline exactly as written.

Every function reads the warehouse through `con`, a connection with the warehouse as its
default catalog (`warehouse.connect(read_only=True)`), and never a record's values: no name,
date of birth, address, record key or person ID reaches the page.
"""

from __future__ import annotations

import html
import math
from pathlib import Path

import duckdb
import matplotlib.pyplot as plt
import pandas as pd
from splink import SettingsCreator

from dagster_project.people import model as person_model
from dagster_project.people import review
from dagster_project.reports import page

TITLE = "Person linkage"
CLUSTER_BANDS = ((1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (6, 10), (11, 20), (21, 50))
SPREAD_BANDS = ("1", "2", "3", "4 or more")
OVERALL_SCOPES = ("all records", "records with a name or date of birth")
# The counts spine.evaluation keeps as doubles (they come from sums of cell sizes).
COUNTS = ("true_positives", "false_positives", "false_negatives")
RATES = ("precision", "recall", "f1")


def weight_of(probability: float) -> float:
    """The match weight Splink gives a match probability (log2 of the odds)."""
    return math.log2(probability / (1 - probability))


def thresholds() -> dict[str, float]:
    """The spine's thresholds (people/model.py) as match weights: at or above `link` a pair is
    the same person (unless its evidence conflicts); from `review` up to it, a person decides."""
    return {"link": weight_of(person_model.LINK), "review": weight_of(person_model.REVIEW)}


def _has(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    found = con.execute(
        "select count(*) from duckdb_tables() where database_name = current_database() "
        "and schema_name = 'spine' and table_name = ?",
        [table],
    ).fetchone()
    return found[0] > 0


def _scalar(con: duckdb.DuckDBPyConnection, sql: str):
    return con.execute(sql).fetchone()[0]


# --- the scored pairs ----------------------------------------------------------------------

# A run's own table of scored pairs stays in its workspace; the warehouse keeps them as the
# model's links and the queued pairs, less the links a reviewer ruled out and the queued pairs
# a reviewer decided.
HELD_PAIRS = """
    select match_weight, match_probability, 'link' as held from spine.person_links
    where basis = 'model'
    union all
    select match_weight, match_probability, 'queued' from spine.review_queue
"""


def pairs_held(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The pairs the spine holds, by what it made of them."""
    return con.execute(f"""
        select 'linked by the model' as pairs, count(*) as count
        from spine.person_links where basis = 'model'
        union all select 'linked by a reviewer', count(*)
        from spine.person_links where basis = 'reviewer'
        union all select 'waiting for review', count(*) from spine.review_queue
        union all select 'waiting for review, at or above the link threshold (conflicting)',
                         count(*)
        from spine.review_queue where match_probability >= {person_model.LINK}
    """).df()


def weight_histogram(con: duckdb.DuckDBPyConnection, width: float = 1.0) -> pd.DataFrame:
    """The model's scored pairs held in the spine, counted in match-weight bins of `width`:
    `links` and `queued` per bin starting at `weight_from`."""
    return con.execute(
        f"""
        select floor(match_weight / $w) * $w as weight_from,
               count(*) filter (held = 'link') as links,
               count(*) filter (held = 'queued') as queued
        from ({HELD_PAIRS}) where match_weight is not null
        group by 1 order by 1
        """,
        {"w": width},
    ).df()


def _histogram_chart(bins: pd.DataFrame, width: float) -> str:
    fig, ax = plt.subplots(figsize=(9, 3.6))
    centres = bins["weight_from"] + width / 2
    ax.bar(centres, bins["links"], width=width * 0.95, color=page.PALETTE[0], label="linked")
    ax.bar(
        centres,
        bins["queued"],
        width=width * 0.95,
        bottom=bins["links"],
        color=page.PALETTE[1],
        label="waiting for review",
    )
    top = max(1, int((bins["links"] + bins["queued"]).max()))
    for name, weight in thresholds().items():
        ax.axvline(weight, color="#1f2328", linestyle="--", linewidth=1)
        ax.text(weight, top * 1.02, f" {name} threshold ({weight:.1f})", fontsize=8, va="bottom")
    ax.set_ylim(0, top * 1.15)
    ax.set_xlabel("match weight (log2 of the odds that the pair is one person)")
    ax.set_ylabel("pairs")
    ax.legend(frameon=False, loc="upper right")
    ax.spines[["top", "right"]].set_visible(False)
    return page.svg(fig)


# --- the model -----------------------------------------------------------------------------


def _splink_settings(splink_model: dict) -> dict:
    """The Splink settings from the hub's model file (model.load) or a bare Splink model."""
    return splink_model.get("splink", splink_model)


def _estimated(saved_level: dict) -> str:
    """Where a level's m and u come from: training, or Splink (its default for a probability
    training never estimated; 1e-6 for one it marked as never observed)."""
    missing = [k[0] for k in ("m_probability", "u_probability") if saved_level.get(k) is None]
    unseen = [k[0] for k in ("m_probability", "u_probability")
              if isinstance(saved_level.get(k), str)]  # fmt: skip
    parts = [f"Splink's default {' and '.join(missing)}"] if missing else []
    parts += [f"{' and '.join(unseen)} never observed"] if unseen else []
    return "; ".join(parts) or "trained"


def level_weights(splink_model: dict) -> pd.DataFrame:
    """Per comparison level (the null levels left out: they weigh nothing), its m and u
    probabilities, its match weight log2(m/u), and where they came from. A level training never
    estimated is scored with Splink's default for its place in the comparison; the
    probabilities are read from Splink's own settings object, so the weights are the ones it
    scores with."""
    settings = _splink_settings(splink_model)
    built = SettingsCreator.from_path_or_dict(settings).get_settings("duckdb")
    rows = []
    for saved, comparison in zip(settings["comparisons"], built.comparisons, strict=True):
        levels = zip(saved["comparison_levels"], comparison.comparison_levels, strict=True)
        for saved_level, level in levels:
            if level.is_null_level:
                continue
            m, u = level.m_probability, level.u_probability
            rows.append({
                "comparison": comparison.output_column_name,
                "level": level.label_for_charts,
                "m probability": m,
                "u probability": u,
                "match weight": math.log2(m / u),
                "from": _estimated(saved_level),
                "term frequency adjusted": "yes" if saved_level.get("tf_adjustment_column") else "",
            })  # fmt: skip
    return pd.DataFrame(rows)


def prior_weight(splink_model: dict) -> float:
    """The weight every pair starts from: the odds that two records picked at random match."""
    return weight_of(_splink_settings(splink_model)["probability_two_random_records_match"])


def _levels_chart(levels: pd.DataFrame, prior: float) -> str:
    """Like Splink's match_weights_chart: the prior, then each comparison's levels."""
    groups = [
        (
            "prior",
            pd.DataFrame(
                {"level": ["two records at random"], "match weight": [prior], "from": ["trained"]}
            ),
        )
    ]
    groups += list(levels.groupby("comparison", sort=False))
    fig, axes = plt.subplots(
        len(groups),
        1,
        sharex=True,
        figsize=(9, 0.32 * (len(levels) + 1) + 0.45 * len(groups)),
        gridspec_kw={"height_ratios": [len(g) for _, g in groups]},
    )
    for ax, (name, group) in zip(axes, groups, strict=True):
        weights = group["match weight"]
        bars = ax.barh(
            range(len(group)),
            weights,
            height=0.7,
            color=[page.PALETTE[0] if w >= 0 else page.PALETTE[3] for w in weights],
            hatch=["" if f == "trained" else "//" for f in group["from"]],
            edgecolor="white",
        )
        ax.bar_label(bars, fmt="%.1f", padding=2, fontsize=7)
        ax.set_yticks(range(len(group)), group["level"], fontsize=8)
        ax.invert_yaxis()
        ax.set_title(name, loc="left", fontsize=9, fontweight="bold")
        ax.axvline(0, color="#59636e", linewidth=0.8)
        ax.margins(x=0.08)  # room for the labels of the longest bars
        ax.spines[["top", "right"]].set_visible(False)
    axes[-1].set_xlabel("match weight, log2(m / u); hatched: Splink's default, not trained")
    return page.svg(fig)


# --- persons -------------------------------------------------------------------------------


def cluster_sizes(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Persons by how many records they hold, in bands, and the records in each band."""
    bands = " ".join(
        f"when n <= {hi} then '{lo}' " if lo == hi else f"when n <= {hi} then '{lo}-{hi}' "
        for lo, hi in CLUSTER_BANDS
    )
    last = CLUSTER_BANDS[-1][1]
    return con.execute(f"""
        select case {bands} else 'more than {last}' end as "records per person",
               count(*) as persons, sum(n)::bigint as records
        from (select count(*) as n from spine.person_ids group by person_id)
        group by 1 order by min(n)
    """).df()


def agency_spread(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Persons by how many agencies, and how many feeds, their records come from (1, 2, 3, 4
    or more): a person known to several agencies is what the spine is for."""
    top = len(SPREAD_BANDS)
    bands = ", ".join(f"('{b}', {i})" for i, b in enumerate(SPREAD_BANDS, 1))
    return con.execute(f"""
        with per_person as (
            select least(count(distinct agency), {top}) as agencies,
                   least(count(distinct source_feed), {top}) as feeds
            from spine.person_ids group by person_id),
        bands(band, n) as (values {bands}),
        by_agency as (select agencies as n, count(*) as persons from per_person group by 1),
        by_feed as (select feeds as n, count(*) as persons from per_person group by 1)
        select band as "in how many", coalesce(a.persons, 0) as "persons (agencies)",
               coalesce(f.persons, 0) as "persons (feeds)"
        from bands left join by_agency a using (n) left join by_feed f using (n)
        order by n
    """).df()


def _bars_chart(frame: pd.DataFrame, x: str, ys: list[str], xlabel: str) -> str:
    """Bars of `ys` side by side over the categories in column `x`, each labelled."""
    fig, ax = plt.subplots(figsize=(7, 3.2))
    width = 0.8 / len(ys)
    for i, y in enumerate(ys):
        positions = [p + (i - (len(ys) - 1) / 2) * width for p in range(len(frame))]
        bars = ax.bar(positions, frame[y], width=width, color=page.PALETTE[i], label=y)
        ax.bar_label(bars, fmt="{:,.0f}", padding=2, fontsize=7)
    ax.set_xticks(range(len(frame)), frame[x])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("persons")
    if len(ys) > 1:
        ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return page.svg(fig)


# --- review --------------------------------------------------------------------------------


def review_queues(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """What waits for a reviewer: person pairs, and place mentions with their candidates."""
    rows = [("person", "pairs", _scalar(con, "select count(*) from spine.review_queue"))]
    if _has(con, "place_review_queue"):
        mentions, candidates = con.execute(
            "select count(distinct place_record_id), count(*) from spine.place_review_queue"
        ).fetchone()
        rows += [("place", "mentions", mentions), ("place", "candidates shown", candidates)]
    return pd.DataFrame(rows, columns=["queue", "waiting", "count"])


def decisions(
    con: duckdb.DuckDBPyConnection,
    person_decisions: Path | None = None,
    place_decisions: Path | None = None,
) -> pd.DataFrame:
    """The reviewers' decisions: what the warehouse shows of them (links and place matches a
    reviewer made), and, given the decisions files, every decision in them."""
    rows = [
        (
            "person",
            "links made by a reviewer's 'match' (warehouse)",
            _scalar(con, "select count(*) from spine.person_links where basis = 'reviewer'"),
        )
    ]
    if _has(con, "place_matches"):
        clerical = "select count(*) from spine.place_matches where method = 'clerical'"
        rows.append(("place", "mentions matched by a reviewer (warehouse)", _scalar(con, clerical)))
    for kind, path, keys in (
        ("person", person_decisions, review.PERSON),
        ("place", place_decisions, review.PLACE),
    ):
        if path is not None:
            found = review.read(path, keys)
            matched = sum(d.match for d in found)
            rows.append((kind, f"'{review.MATCH}' in the decisions file", matched))
            rows.append(
                (kind, f"'{review.NOT_A_MATCH}' in the decisions file", len(found) - matched)
            )
    return pd.DataFrame(rows, columns=["spine", "decisions", "count"])


# --- against the truth ---------------------------------------------------------------------


def evaluation(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    """The latest evaluation in spine.evaluation (empty frames where the truth never was):
    `overall`, `by feed pair` and `by error`. Each evaluation appends its rows and none is ever
    deleted, so the last appended (highest rowid) is the latest, whether or not a spine run of
    the same run ID exists."""
    counts = ", ".join(f"{c}::bigint as {c}" for c in COUNTS)
    frame = con.execute(f"""
        select scope, feed_a, feed_b, error, {counts}, {", ".join(RATES)}
        from spine.evaluation
        where run_id = (select run_id from spine.evaluation order by rowid desc limit 1)
        order by scope, feed_a, feed_b, error
    """).df()
    figures = [*COUNTS, *RATES]
    overall = frame[frame["scope"].isin(OVERALL_SCOPES)]
    overall = overall.sort_values("scope", key=lambda s: s.map(OVERALL_SCOPES.index))
    return {
        "overall": overall[["scope", *figures]],
        "by feed pair": frame[frame["scope"] == "feed pair"][["feed_a", "feed_b", *figures]],
        "by error": frame[frame["scope"] == "error"][["error", *figures]],
    }


def evaluations_held(con: duckdb.DuckDBPyConnection) -> int:
    return _scalar(con, "select count(distinct run_id) from spine.evaluation")


# --- the page ------------------------------------------------------------------------------


def _table(frame: pd.DataFrame, formats: dict[str, str] | None = None) -> str:
    """page.table with floats written to a fixed format (rates to four places unless
    `formats` says otherwise) and right-aligned; object cells, so no row's integers are
    turned into floats by a float beside them."""
    formats = formats or {}
    shown = frame.reset_index(drop=True).astype(object)
    classes = {}
    for column in frame.columns:
        if pd.api.types.is_float_dtype(frame[column]):
            fmt = formats.get(column, "{:.4f}")
            shown[column] = ["" if pd.isna(v) else fmt.format(v) for v in frame[column]]
            classes[column] = pd.Series(["n"] * len(frame))
    return page.table(shown, classes)


def _p(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"


def _latest_run(con: duckdb.DuckDBPyConnection) -> str:
    run = con.execute(
        "select kind, started_at, records, persons from spine.runs order by started_at desc limit 1"
    ).fetchone()
    if run is None:
        return "the person spine has not run yet"
    kind, started, records, persons = run
    return (
        f"person spine after its {kind} run of {started:%d %B %Y %H:%M} UTC: "
        f"{records:,} person records, {persons:,} persons"
    )


HOW_TO_READ = """
<div class='note'><p><strong>How to read this.</strong> A <em>match weight</em> is Splink's
evidence that two records are one person, in bits: log2 of the odds. Every pair starts from the
prior (two records picked at random) and each comparison adds its level's weight, log2(m/u),
where m is how often the level holds between records of one person and u how often between
records of different people. The spine links a pair at or above the link threshold (unless
its evidence conflicts: birth years far apart, or one birth date under different first names),
and queues it for a reviewer from the review threshold up. Exact name levels are adjusted by
how common the name is: the bar is their average. A hatched bar is a level training never
estimated, scored with Splink's default weight; more data, or a change to the comparison,
trains it.</p>
<p>Clusters of many records are where a wrong link would do most harm: look at the largest
bands first. Persons in two or more agencies are the spine's purpose; a sudden change in them
from one run to the next means a feed or the model changed. A long review queue means the
thresholds, or a feed's data, need a look. Precision and recall are pairwise, against the
synthetic region's truth only (a partnership's own data has none): precision is the share of
linked pairs that are one person, recall the share of true pairs linked; by error type, the
pairs in which at least one record carries that error.</p></div>
"""


def _pairs_section(con: duckdb.DuckDBPyConnection, width: float = 1.0) -> list[str]:
    bins = weight_histogram(con, width)
    link, queue = thresholds()["link"], thresholds()["review"]
    out = ["<h2>The scored pairs</h2>"]
    if bins.empty:
        return [*out, _p("No pair has been scored at or above the review threshold.")]
    caption = (
        f"Pairs the model scored at or above the review threshold, by match weight: "
        f"linked at {link:.1f} or more (probability {person_model.LINK}), queued for a "
        f"reviewer from {queue:.1f} (probability {person_model.REVIEW}). Links a reviewer "
        "ruled out, and queued pairs a reviewer decided, are no longer held."
    )
    out += [page.figure(_histogram_chart(bins, width), caption), _table(pairs_held(con))]
    return out


def _model_section(splink_model: dict | None) -> list[str]:
    out = ["<h2>The model: weight of each comparison level</h2>"]
    if splink_model is None:
        return [*out, _p("No model was given, so its weights are not shown.")]
    levels = level_weights(splink_model)
    version = splink_model.get("version")
    made = f"Model {version}, trained {splink_model.get('trained_at', '')}. " if version else ""
    chart = _levels_chart(levels, prior_weight(splink_model))
    caption = (
        f"{made}Match weight per comparison level, as in Splink's match weights chart: a pair "
        f"starts at the prior ({prior_weight(splink_model):.2f}) and adds one level of each "
        "comparison (null levels weigh nothing and are left out)."
    )
    probabilities = {"m probability": "{:.3g}", "u probability": "{:.3g}", "match weight": "{:.2f}"}
    return [*out, page.figure(chart, caption), _table(levels, probabilities)]


def _persons_section(con: duckdb.DuckDBPyConnection) -> list[str]:
    sizes, spread = cluster_sizes(con), agency_spread(con)
    return [
        "<h2>Persons and their records</h2>",
        page.figure(
            _bars_chart(sizes, "records per person", ["persons"], "records per person"),
            "Persons by the number of records the spine gives them.",
        ),
        _table(sizes),
        page.figure(
            _bars_chart(
                spread,
                "in how many",
                ["persons (agencies)", "persons (feeds)"],
                "agencies or feeds a person's records come from",
            ),
            "Persons by how many agencies, and how many feeds, hold a record of them.",
        ),
        _table(spread),
    ]


def _review_section(con, person_decisions: Path | None, place_decisions: Path | None) -> list:
    files = "" if person_decisions or place_decisions else " (the decisions files were not read)"
    return [
        "<h2>Clerical review</h2>",
        _table(review_queues(con)),
        _p(f"Decisions recorded{files}:"),
        _table(decisions(con, person_decisions, place_decisions)),
    ]


def _truth_section(con: duckdb.DuckDBPyConnection) -> list[str]:
    out = ["<h2>Against the synthetic truth</h2>"]
    held = evaluations_held(con)
    if not held:
        return [*out, _p("No evaluation is held: there is no truth to measure against here.")]
    figures = evaluation(con)
    out.append(_p(f"The latest of {held:,} evaluations held, in pairs of records."))
    for name in ("overall", "by error", "by feed pair"):
        out += [f"<h3>{html.escape(name.capitalize())}</h3>", _table(figures[name])]
    return out


def linkage_report(
    con: duckdb.DuckDBPyConnection,
    model: dict | None,
    person_decisions: Path | None = None,
    place_decisions: Path | None = None,
) -> str:
    """The linkage report as one HTML page. `con`: the warehouse as its default catalog;
    `model`: the person model as model.load reads it (or its bare Splink settings), or None;
    the decisions files, if given, are counted too."""
    if not _has(con, "person_ids"):
        return page.page(TITLE, "the person spine has not run yet", [HOW_TO_READ])
    body = [
        HOW_TO_READ,
        *_pairs_section(con),
        *_model_section(model),
        *_persons_section(con),
        *_review_section(con, person_decisions, place_decisions),
        *_truth_section(con),
    ]
    return page.page(TITLE, _latest_run(con), body)
