"""The place matcher's weights learnt from the data, as Splink learns a person model's: each
comparison level's bits are log2(m / u), m how often the level holds between a mention and
the property it means, u between a mention and any property. As in Splink, u comes from
random pairs (`u_by_random_sampling`: a mention and a property drawn at random are all but
never a match) and m by expectation maximisation over the blocks' candidates, a mixture of
the property meant and the others, with the comparisons taken as independent (`em`). EM
alone, u included, diverges here: most mentions have one candidate, so nothing tells the two
classes apart.

`bench place-weights` compares these with the fixed bits of match.WEIGHTS (docs/benchmarks.md
says which the matcher uses, and why)."""

from __future__ import annotations

import math

import duckdb
import numpy as np

from dagster_project.places import match
from dagster_project.places.match import PRIOR, WEIGHTS


def patterns(con: duckdb.DuckDBPyConnection) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The comparisons, each distinct pattern of their levels among the candidates of `pairs`
    (an array of level names, None where a comparison has none) and how many pairs have it."""
    names = list(WEIGHTS)
    cols = ", ".join(f"{c}_level" for c in names)
    rows = con.execute(
        f"select {cols}, count(*) from pairs where not excluded group by all"
    ).fetchall()
    levels = np.array([r[:-1] for r in rows], dtype=object).reshape(len(rows), len(names))
    return names, levels, np.array([r[-1] for r in rows], dtype=float)


def u_by_random_sampling(con: duckdb.DuckDBPyConnection, per_mention: int = 20) -> dict:
    """u of each level: its share among pairs of each mention with `per_mention` properties
    drawn at random (scored into `pairs`, which the caller keeps apart beforehand)."""
    match.score_properties(
        con,
        candidates=f"""
        select m.id, p.uprn from m cross join (
            select uprn from props using sample {per_mention} rows (reservoir, 7)) p""",
    )
    names, levels, counts = patterns(con)
    u = {}
    for j, c in enumerate(names):
        seen = np.array([lvl is not None for lvl in levels[:, j]])
        total = counts[seen].sum()
        # a level no random pair shows is rarer than one in the pairs drawn
        u[c] = {lvl: max(counts[levels[:, j] == lvl].sum(), 0.5) / max(total, 1.0)
                for lvl in WEIGHTS[c]}  # fmt: skip
    return u


def em(
    names: list[str],
    levels: np.ndarray,
    counts: np.ndarray,
    u_fixed: dict | None = None,
    start: dict[str, dict[str, float]] = WEIGHTS,
    prior: float = PRIOR,
    iterations: int = 50,
) -> tuple[dict[str, dict[str, float]], float]:
    """Bits for each level of `start` and the prior (bits), fitted to the patterns, u held at
    `u_fixed` where given; a level no pair has keeps its starting bits, and a comparison a
    pair has no level of says nothing."""
    lam = 1 / (1 + 2**-prior)
    # starting m and u: u spread evenly over a comparison's levels, m = u * 2**bits, both
    # renormalised
    m, u = {}, {}
    for c in names:
        k = len(start[c])
        u[c] = {lvl: 1 / k for lvl in start[c]}
        raw = {lvl: 2.0**b / k for lvl, b in start[c].items()}
        total = sum(raw.values())
        m[c] = {lvl: v / total for lvl, v in raw.items()}
    if u_fixed:
        u = {c: dict(u_fixed[c]) for c in names}
    for _ in range(iterations):
        log_m = np.full(len(counts), math.log(lam))
        log_u = np.full(len(counts), math.log(1 - lam))
        for j, c in enumerate(names):
            for i, lvl in enumerate(levels[:, j]):
                if lvl is not None:
                    log_m[i] += math.log(max(m[c][lvl], 1e-12))
                    log_u[i] += math.log(max(u[c][lvl], 1e-12))
        p = 1 / (1 + np.exp(np.clip(log_u - log_m, -700, 700)))
        matched, other = counts * p, counts * (1 - p)
        lam = min(max(float(matched.sum() / counts.sum()), 1e-6), 1 - 1e-6)
        for j, c in enumerate(names):
            seen = np.array([lvl is not None for lvl in levels[:, j]])
            for lvl in start[c]:
                at = levels[:, j] == lvl
                if at.any():
                    m[c][lvl] = float(matched[at].sum() / max(matched[seen].sum(), 1e-12))
                    if not u_fixed:
                        u[c][lvl] = float(other[at].sum() / max(other[seen].sum(), 1e-12))
    bits = {
        c: {
            lvl: round(math.log2(max(m[c][lvl], 1e-12) / max(u[c][lvl], 1e-12)), 2)
            if (levels[:, j] == lvl).any()
            else start[c][lvl]
            for lvl in start[c]
        }
        for j, c in enumerate(names)
    }
    return bits, round(math.log2(lam / (1 - lam)), 2)
