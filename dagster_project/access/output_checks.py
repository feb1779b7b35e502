"""The disclosure checks of the output airlock: what an aggregate export may show before a second
person reviews it (docs/disclosure-control.md, docs/access.md).

An analyst's query over Level 2 comes here as its rows before grouping, one per contributing
record, with the columns it groups by and the aggregates it asks for. `check` groups them and
applies the hub's Level 1 rules to every cell, the NHS Digital small-number rule as OpenSAFELY
applies it to its outputs:

- a group of fewer than 8 records is withheld whole: grouped by enough columns, a group's keys
  alone would be one record;
- a count (of rows, or of distinct values such as people) from 1 to 7 is suppressed (NULL); every
  other count is rounded to the nearest 5; a 0 is shown as 0; so is a sum of whole numbers,
  which is a count of something (exclusions, arrests), but rounded in steps of 5 of its
  largest contribution, so that dividing by that value does not give back the exact count;
- a sum, mean or median is suppressed when fewer than 8 records contribute to it (`threshold`),
  or when a few records dominate it: the largest 2 make up 90 % of the total or more (`dominance
  (n-k)`), or the total less the largest two is under 10 % of the largest (`dominance (p-ratio)`).

The checks are the AI-SDC's output checker, acro, given the hub's parameters (acro's defaults,
but a threshold of 8 instead of 10 and zeros not disclosive); see `_acro_cells` for what acro
does and what this module does itself, and why.

What the table cannot give away by itself: it has no margins or totals, so a suppressed cell is
not the difference of two published ones. What it can give away together with another export
(the same query with one more WHERE, a wider group, last month's export) is for the reviewer
who approves it: differencing between exports is not checked here.
"""

from __future__ import annotations

import functools
import logging
import warnings
from dataclasses import dataclass, field
from types import ModuleType

import numpy as np
import pandas as pd

THRESHOLD = 8  # a cell needs at least this many records (or distinct values, for counts)
ROUND_BASE = 5  # published counts are rounded to the nearest multiple of this
NK_N, NK_K = 2, 0.90  # N-K rule: the largest NK_N contributions make up NK_K of the total
P_RATIO = 0.10  # p-ratio rule: total less the largest two is at least P_RATIO of the largest

COUNTS = ("count", "count_distinct")
STATISTICS = ("sum", "mean", "median")
FUNCTIONS = COUNTS + STATISTICS

OK = "ok"
REASONS = ("threshold", "dominance (n-k)", "dominance (p-ratio)")  # in precedence order
# acro's name for the check that flagged a cell -> the hub's reason
_ACRO_REASON = {
    "MinimumThresholdCheck": "threshold",
    "NKCheck": "dominance (n-k)",
    "PPercentCheck": "dominance (p-ratio)",
}
# acro hands pandas numpy functions (np.sum, np.max) where pandas wants names, and pandas answers
# every such call with a FutureWarning about its own future; only those raised from acro's code
# are hidden (acro itself would hide every FutureWarning in the process, see `_acro`).
warnings.filterwarnings("ignore", category=FutureWarning, module=r"acro(\.|$)")

# Checks acro runs that never flag a cell with the hub's parameters (zeros are not disclosive;
# linked tables are left to the reviewer); any other name fails closed in `_reason`.
_ACRO_ALWAYS_PASS = {"PresenceOfZeroCheck", "RequiredZeroCheck", "PresenceOfLinkedTableCheck"}


@dataclass(frozen=True)
class Measure:
    """One aggregate column of an export, named `name`: `function` of `column`.

    "count" counts rows (`column` None); "count_distinct" counts the distinct non-null values of
    `column` (distinct people, say); "sum", "mean" and "median" summarise a numeric `column`.
    Min, max and other order statistics are refused: each publishes one record's value.
    """

    name: str
    function: str
    column: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"a measure needs a name, not {self.name!r}")
        if self.function not in FUNCTIONS:
            raise ValueError(
                f"measure {self.name!r}: the airlock does not publish {self.function!r}; it "
                f"publishes {', '.join(FUNCTIONS)} (min, max and other order statistics are "
                "refused because each publishes one record's value)"
            )
        if self.function == "count" and self.column is not None:
            raise ValueError(
                f"measure {self.name!r}: count counts rows and takes no column; use "
                f"count_distinct to count the distinct values of {self.column!r}"
            )
        if self.function != "count" and not self.column:
            raise ValueError(f"measure {self.name!r}: {self.function} needs a column")


@dataclass(frozen=True)
class Checked:
    """An export after the rules: `table` (the `by` columns, then one column per measure),
    `reasons` (a reason per measure cell: "ok" or one of REASONS), the number of measure
    `cells`, the cells `suppressed` for each reason, and the counts `rounded` (every published
    count cell and sum of whole numbers, a 0 included, has been rounded to ROUND_BASE)."""

    table: pd.DataFrame
    cells: int
    suppressed: dict[str, int]
    rounded: int
    reasons: pd.DataFrame = field(repr=False)
    withheld: int = 0  # groups of fewer than THRESHOLD records, left out whole

    def summary(self) -> str:
        """One sentence for the reviewer, e.g. "12 cells: 3 suppressed (2 threshold, 1 dominance
        (n-k)), 9 counts rounded to 5." """
        total = sum(self.suppressed.values())
        if total:
            parts = ", ".join(f"{n} {reason}" for reason, n in self.suppressed.items())
            suppressed = f"{total} suppressed ({parts})"
        else:
            suppressed = "none suppressed"
        if self.rounded:
            rounded = f"{_plural(self.rounded, 'count')} rounded to {ROUND_BASE}"
        else:
            rounded = "no counts rounded"
        # Not how many: grouped by random(), that number was an exact count of records.
        withheld = f"; groups of fewer than {THRESHOLD} records withheld" if self.withheld else ""
        return f"{_plural(self.cells, 'cell')}: {suppressed}, {rounded}{withheld}."


def check(rows: pd.DataFrame, by: list[str], measures: list[Measure]) -> Checked:
    """Group `rows` (one per contributing record) by `by` and compute `measures`, with the hub's
    rules applied to every cell. One row per group of THRESHOLD records or more, in the order
    of the keys (NULL keys last); smaller groups are withheld whole (`Checked.withheld`).
    A sum of whole numbers is published as a count is. The statement's shape (statements.
    aggregate) keeps each aggregate's argument a column as stored, so an expression cannot
    turn a count into a fractional sum that escapes this.

    Records without a value do not contribute to a sum, mean or median. A cell with a negative
    contribution is suppressed as "dominance (n-k)": acro does not define dominance there and
    flags it. Refuses (ValueError) an export with neither keys nor measures, a column missing
    from `rows`, repeated names, and a sum, mean or median of a column that is not numeric
    (booleans included).
    """
    by, measures = list(by), list(measures)
    _refuse_malformed(rows, by, measures)

    if by:
        # Group ids stand in for the keys everywhere acro sees them: NULL keys, odd types and
        # labels with quotes in them stay out of acro's tables and redaction queries, and a
        # product of several key columns is never expanded into empty combinations.
        grouped = rows.groupby(by, dropna=False, sort=True, observed=True)
        group = grouped.ngroup().to_numpy()
        first = ~pd.Series(group).duplicated().to_numpy()
        keys = rows.loc[first, by].iloc[np.argsort(group[first], kind="stable")]
        keys = keys.reset_index(drop=True)
        groups = len(keys)
    else:
        group = np.zeros(len(rows), dtype=np.int64)  # one group, the whole table, even if empty
        keys = pd.DataFrame(index=pd.RangeIndex(1))
        groups = 1

    values: dict[str, pd.Series] = {}
    reasons: dict[str, pd.Series] = {}
    for measure in measures:
        values[measure.name], reasons[measure.name] = _measure(rows, group, groups, measure)

    table = pd.concat([keys, pd.DataFrame(values, index=keys.index)], axis=1)
    why = pd.DataFrame(reasons, index=keys.index, columns=[m.name for m in measures], dtype=object)
    # A group of fewer than THRESHOLD records is withheld whole: its keys alone would be a
    # record (group by enough columns and every group is one event).
    keep = np.bincount(group, minlength=groups) >= THRESHOLD if by else np.ones(1, bool)
    table, why = table[keep].reset_index(drop=True), why[keep].reset_index(drop=True)
    flat = why.to_numpy().ravel()
    suppressed = {r: int((flat == r).sum()) for r in REASONS if (flat == r).any()}
    counted = [m.name for m in measures if str(table[m.name].dtype) == "Int64"]
    rounded = int((why[counted] == OK).to_numpy().sum()) if counted else 0
    return Checked(table, int(flat.size), suppressed, rounded, why, int((~keep).sum()))


def _refuse_malformed(rows: pd.DataFrame, by: list[str], measures: list[Measure]) -> None:
    if not by and not measures:
        raise ValueError("an export needs columns to group by or measures: it has neither")
    missing = [c for c in by if c not in rows.columns]
    missing += [m.column for m in measures if m.column is not None and m.column not in rows]
    if missing:
        raise ValueError(f"columns missing from the rows: {', '.join(dict.fromkeys(missing))}")
    names = by + [m.name for m in measures]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"names used more than once in the export: {', '.join(repeated)}")
    for m in measures:
        if m.function in STATISTICS and _numbers(rows[m.column]) is None:
            raise ValueError(
                f"measure {m.name!r}: {m.function} needs a numeric column, and {m.column!r} "
                f"is {rows[m.column].dtype}"
            )


def _numbers(column: pd.Series) -> np.ndarray | None:
    """`column` as float64 with NaN for NULL, or None when it does not hold numbers.

    Always plain float64: acro's dominance checks take the largest values only of a numpy
    integer or float column; for any other (objects, such as the Decimals a DuckDB DECIMAL
    arrives as) they take the largest two as 0, and every cell passes; a nullable Int64 makes
    acro fail. A boolean is refused: its sum or mean is a count in disguise and would escape
    the count rules.
    """
    if pd.api.types.is_bool_dtype(column):
        return None
    if not pd.api.types.is_numeric_dtype(column):
        numeric = ("decimal", "integer", "floating", "mixed-integer-float", "empty")
        if column.dtype != object or pd.api.types.infer_dtype(column) not in numeric:
            return None
    return column.to_numpy(dtype=np.float64, na_value=np.nan)


def _measure(
    rows: pd.DataFrame, group: np.ndarray, groups: int, measure: Measure
) -> tuple[pd.Series, pd.Series]:
    """One measure's published values and reasons, indexed by group id 0..groups-1."""
    everyone = pd.RangeIndex(groups)
    if measure.function == "count":
        frame = pd.DataFrame({"group": group, "value": 1})
    elif measure.function == "count_distinct":
        # acro has no distinct count: count the rows left after keeping one per group and value,
        # so acro's threshold sees the number of distinct values (people), not of records.
        frame = pd.DataFrame({"group": group, "key": rows[measure.column].to_numpy()})
        frame = frame.dropna().drop_duplicates().assign(value=1)[["group", "value"]]
    else:
        # Only records with a value contribute; acro would count the others towards the threshold.
        frame = pd.DataFrame({"group": group, "value": _numbers(rows[measure.column])})
        frame = frame.dropna()
    frame = frame.reset_index(drop=True)
    contributors = frame.groupby("group").size().reindex(everyone, fill_value=0)

    if measure.function in COUNTS:
        value, reason = _acro_cells(frame, "count")
        # acro rounds or suppresses a table, not both: it rounds here, and the cells it flags
        # are blanked below. A group absent from acro's table counts 0, shown as 0.
        value = value.reindex(everyone).fillna(0)
        reason = reason.reindex(everyone).fillna(OK)
        published = value.where(reason == OK).round().astype("Int64")
    else:
        value, reason = _acro_statistic(frame, measure.function)
        value = value.reindex(everyone)
        # no contributing record at all: nothing to show, and fewer than THRESHOLD contribute
        reason = reason.reindex(everyone).fillna("threshold")
        published = value.where(reason == OK)
        whole = frame["value"].mod(1).eq(0).all()
        if measure.function in ("sum", "mean") and whole:
            # A sum of whole numbers is a count of something (exclusions, arrests): it is
            # published only as a count would be. Its mean, exact beside a rounded count, gave
            # an attacker the exact group size and sum: it is the published sum over the
            # published number of contributors.
            total, _ = _acro_statistic(frame, "sum")
            total = total.reindex(everyone).where(reason == OK)
            small = total.between(1, THRESHOLD - 1)
            reason = reason.mask(small, "threshold")
            # Rounded in steps of 5 of its largest contribution, not of 5: eight records of
            # 20 sum to 160, and 160 rounded to 5 over 20 gave an attacker the exact 8.
            largest = frame["value"].abs().groupby(frame["group"]).max().reindex(everyone)
            total = _rounded(total.mask(small), largest.clip(lower=1))
            if measure.function == "sum":
                published = total.astype("Int64")
            else:
                published = (total / _rounded(contributors.astype(float))).astype("Float64")
        else:
            published = published.astype("Float64")

    # Not a second check but a tripwire: should acro's parameters or semantics ever drift (a new
    # release, a changed default), a cell of too few records must stop the export, not leave.
    leaked = (reason == OK) & (contributors > 0) & (contributors < THRESHOLD)
    if leaked.any():
        raise RuntimeError(
            f"measure {measure.name!r}: acro passed {int(leaked.sum())} cell(s) of fewer than "
            f"{THRESHOLD} records; refusing the export"
        )
    return published.rename(measure.name), reason.rename(measure.name)


def _rounded(values: pd.Series, unit: pd.Series | float = 1) -> pd.Series:
    """`values` to the nearest multiple of ROUND_BASE units."""
    step = unit * ROUND_BASE
    return (values / step).round() * step


def _acro_statistic(frame: pd.DataFrame, function: str) -> tuple[pd.Series, pd.Series]:
    """A sum, mean or median and its reasons by group, from acro.

    Two workarounds. acro (1.0.2) checks a median for the threshold only (its ontology files a
    median under "position" statistics, without dominance); the hub applies dominance to it
    too, so the median's cells also take the reasons acro gives the sum of the same records.
    And acro, seeing a negative value anywhere in a table, flags the cells holding negatives
    (dominance is not defined there) but then checks no other cell for dominance at all; so
    the groups with a negative record and those without are checked as separate tables.
    """
    negative = frame.loc[frame["value"] < 0, "group"].unique()
    parts = [frame[~frame["group"].isin(negative)], frame[frame["group"].isin(negative)]]
    values, reasons = [], []
    for part in (p for p in parts if len(p)):
        value, reason = _acro_cells(part, function)
        if function == "median":
            _, dominance = _acro_cells(part, "sum")
            reason = _first_reason(reason, dominance)
        values.append(value)
        reasons.append(reason)
    if not values:
        return pd.Series(dtype=float), pd.Series(dtype=object)
    return pd.concat(values).sort_index(), pd.concat(reasons).sort_index()


def _acro_cells(frame: pd.DataFrame, function: str) -> tuple[pd.Series, pd.Series]:
    """acro's table of `function` of frame.value by frame.group, and each cell's reason.

    What acro does: the table itself (its `pivot_table`), the checks on every cell (threshold,
    N-K and p-ratio dominance, with the parameters above) and, for counts, the rounding (its
    "round" mitigation). What it is not asked to do: suppress. Its "suppress" mitigation deletes
    the flagged cells' records with a pandas query per cell, built from the cells' labels, and
    recomputes the table, which is slow on many cells and cannot be combined with rounding; the
    cells it would delete are exactly the ones its outcome flags, so the caller blanks those.
    """
    if frame.empty:
        return pd.Series(dtype=float), pd.Series(dtype=object)
    session = _session("round" if function == "count" else "none")
    table = session.pivot_table(frame, index=["group"], values="value", aggfunc=function)
    key = session.results.get_keys()[-1]
    outcome = session.results.get(key).outcome
    session.remove_output(key)
    reason = outcome["value"].map(_reason)
    return table["value"], reason


def _reason(flags: str) -> str:
    """The hub's reason for acro's outcome of a cell ("ok", or "NKCheck; PPercentCheck; ")."""
    names = [n.strip() for n in str(flags).split(";") if n.strip() and n.strip() != OK]
    unknown = [n for n in names if n not in _ACRO_REASON and n not in _ACRO_ALWAYS_PASS]
    if unknown:  # fail closed: a check this module does not know is not taken as a pass
        raise RuntimeError(f"acro flagged a cell for {', '.join(unknown)}; refusing the export")
    found = {_ACRO_REASON[n] for n in names if n in _ACRO_REASON}
    # With n=2, k=90 % and p=10 %, a cell failing the p-ratio rule always fails N-K as well (the
    # rest is under 10 % of the largest only if it is under a ninth of the largest two), so
    # "dominance (p-ratio)" shows only if the parameters change.
    return next((r for r in REASONS if r in found), OK)


def _first_reason(*reasons: pd.Series) -> pd.Series:
    """Cell by cell, the first reason in REASONS' order that any of `reasons` gives."""
    order = (*REASONS, OK)
    ranks = pd.concat([r.map(order.index) for r in reasons], axis=1).min(axis=1)
    return ranks.map(dict(enumerate(order)))


def _session(mitigation: str):
    """A fresh acro session (acro keeps every output in it) with the hub's parameters.

    acro reads its parameters from a YAML file inside its own package, so they are set on the
    session: its `sdc_checks` reads the same dict. Nothing is written to disk: acro writes only
    when a session is finalised, which this module never does.
    """
    acro = _acro()
    session = acro.ACRO(mitigation=mitigation, round_base=ROUND_BASE, federated=False)
    session.config.update(
        safe_threshold=THRESHOLD,
        safe_nk_n=NK_N,
        safe_nk_k=NK_K,
        safe_pratio_p=P_RATIO,
        zeros_are_disclosive=False,
        check_missing_values=False,  # records without a value are left out before acro
        safe_round_base=ROUND_BASE,
    )
    session.sdc_checks.risk_appetite = session.config
    return session


@functools.cache
def _acro() -> ModuleType:
    """Import acro (about 1.5 s: statsmodels, matplotlib) on first use, not with this module, and
    without the process-wide changes it makes on import.

    acro calls `logging.basicConfig(level=INFO)`, which would give the host's root logger a
    handler and an INFO level, and `warnings.simplefilter("ignore", FutureWarning)`, which would
    hide every FutureWarning in the process. A handler on the root logger while it imports makes
    the first a no-op, and the warnings filters are restored after it. acro's own loggers are
    set to WARNING unless the host has set them: at DEBUG acro logs its interim tables, the
    unsuppressed counts and sums, which must not reach a log the airlock does not govern. acro
    logs through `logging` only (to the host's handlers, or stderr), never to stdout.
    """
    root = logging.getLogger()
    guard = logging.NullHandler()
    root.addHandler(guard)
    try:
        with warnings.catch_warnings():
            import acro
    finally:
        root.removeHandler(guard)
    for name in ("acro", "acro:records"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)
    return acro


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
