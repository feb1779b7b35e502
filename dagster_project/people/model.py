"""The Splink model of the person spine: what it compares, how it is trained, and the versioned
JSON it is kept in (`data/models/person/<version>.json`), so monthly refreshes reuse one model
and a retrain is a deliberate act."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import splink.comparison_level_library as cll
import splink.comparison_library as cl
import sqlglot
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink.blocking_analysis import count_comparisons_from_blocking_rules
from splink.internals.exceptions import SplinkException
from sqlglot import exp

# Pairs at or above LINK are the same person; pairs from REVIEW up to LINK go to a person.
LINK = 0.999
REVIEW = 0.5

SEED = 20240101

# Splink logs record values in some messages (the hub's logs never carry personal data), and
# its warnings about untrained levels are in the model file for whoever needs them.
logging.getLogger("splink").setLevel(logging.ERROR)


class _CustomComparison(cl.CustomComparison):
    """A CustomComparison that keeps its description: Splink 5.0.0's stores the one it is given
    but writes its own class name into the settings instead."""

    def create_description(self) -> str:
        return self._description or super().create_description()


# Address words compared as sets: all the same words, or most of them (the shared words at least
# 0.6 of the distinct words on both sides). No library level compares two lists as sets.
SAME_WORDS = (
    "list_has_all(address_tokens_l, address_tokens_r) and "
    "list_has_all(address_tokens_r, address_tokens_l)"
)
MOST_WORDS = (
    "len(list_intersect(address_tokens_l, address_tokens_r)) >= "
    "0.6 * len(list_distinct(list_concat(address_tokens_l, address_tokens_r)))"
)

# UK postcodes are kept with their space and others without (features.py): a UK postcode and
# one from elsewhere are two ways of writing the place, not a disagreement.
OTHER_KINDS_OF_POSTCODE = "contains(postcode_l, ' ') <> contains(postcode_r, ' ')"

# Splink's levels know no date parts, and this one compares one side's month with the other's day.
DAY_MONTH_SWAPPED = (
    "year(date_of_birth_l) = year(date_of_birth_r) and "
    "month(date_of_birth_l) = day(date_of_birth_r) and "
    "day(date_of_birth_l) = month(date_of_birth_r)"
)

# An age stands for the birth dates it allows (features.py: born_from to born_to); where one
# side has only an age, the other's date or age fitting it is the evidence.
AGE_FITS = "born_from_l <= born_to_r and born_from_r <= born_to_l"


def comparisons() -> list:
    """The comparisons, each level in the order Splink tries them (the first that holds wins)."""
    return [
        _CustomComparison(
            output_column_name="forename",
            comparison_description="First name: exact (common names count for less), "
            "nickname, typo (close, or one character apart), written as the surname (names "
            "swapped)",
            comparison_levels=[
                cll.NullLevel("forename"),
                cll.ExactMatchLevel("forename", term_frequency_adjustments=True),
                cll.ArrayIntersectLevel("forename_formal").configure(
                    label_for_charts="same formal name (nickname)"
                ),
                cll.JaroWinklerLevel("forename", 0.92),
                # one slip in a short name ("Amy", "Any") is far from 0.92 Jaro-Winkler
                cll.DamerauLevenshteinLevel("forename", 1),
                # one direction only: the surname comparison checks the other
                cll.ColumnsReversedLevel("forename", "surname"),
                cll.JaroWinklerLevel("forename", 0.8),
                cll.ElseLevel(),
            ],
        ),
        _CustomComparison(
            output_column_name="surname",
            comparison_description="Surname: exact (common names count for less), typo (close, "
            "or one character apart), one part of a double-barrelled name, written as the "
            "first name (names swapped)",
            comparison_levels=[
                cll.NullLevel("surname"),
                cll.ExactMatchLevel("surname", term_frequency_adjustments=True),
                cll.JaroWinklerLevel("surname", 0.92),
                cll.DamerauLevenshteinLevel("surname", 1),
                cll.ArrayIntersectLevel("surname_tokens").configure(
                    label_for_charts="shares a part (double-barrelled)"
                ),
                cll.ColumnsReversedLevel("surname", "forename"),
                cll.ElseLevel(),
            ],
        ),
        _CustomComparison(
            output_column_name="date_of_birth",
            comparison_description="Date of birth: exact, day and month swapped; where one "
            "side has only an age, the birth dates it allows fit the other side, or birth "
            "years within one",
            comparison_levels=[
                # a birth year (from an age) is something to compare where a date is missing
                cll.And(cll.NullLevel("date_of_birth"), cll.NullLevel("birth_year")),
                cll.ExactMatchLevel("date_of_birth"),
                cll.CustomLevel(DAY_MONTH_SWAPPED, "day and month swapped"),
                cll.And(cll.NullLevel("date_of_birth"), cll.CustomLevel(AGE_FITS)).configure(
                    label_for_charts="birth date fits the age given"
                ),
                cll.And(
                    cll.NullLevel("date_of_birth"), cll.AbsoluteDifferenceLevel("birth_year", 1)
                ).configure(label_for_charts="birth years within one (age)"),
                # a father and son of one name at one address are years apart
                cll.Not(cll.AbsoluteDifferenceLevel("birth_year", 5)).configure(
                    label_for_charts="born more than five years apart"
                ),
                cll.ElseLevel(),
            ],
        ),
        _CustomComparison(
            output_column_name="home",
            comparison_description="Home address and postcode, compared together because "
            "people at one address share both (counting them apart would count a household "
            "twice)",
            comparison_levels=[
                # missing only where one side has neither: a postcode alone, or an address
                # alone, is still something to compare
                cll.CustomLevel(
                    "(postcode_l is null and address_tokens_l is null) or "
                    "(postcode_r is null and address_tokens_r is null)",
                    "missing on either side",
                ).configure(is_null_level=True),
                cll.ExactMatchLevel("uprn").configure(
                    label_for_charts="same UPRN (however the address was written)"
                ),
                cll.And(
                    cll.CustomLevel(SAME_WORDS),
                    cll.Or(
                        cll.ExactMatchLevel("postcode"),
                        cll.NullLevel("postcode"),
                        cll.CustomLevel(OTHER_KINDS_OF_POSTCODE),
                    ),
                ).configure(label_for_charts="same address"),
                cll.And(cll.ExactMatchLevel("postcode"), cll.CustomLevel(MOST_WORDS)).configure(
                    label_for_charts="same postcode, most words"
                ),
                cll.ExactMatchLevel("postcode"),
                cll.CustomLevel(MOST_WORDS, "most address words, postcode differs"),
                cll.ExactMatchLevel("postcode_district"),
                cll.ElseLevel(),
            ],
        ),
        cl.ExactMatch("sex"),
        _CustomComparison(
            output_column_name="agency_ref",
            comparison_description="The agency's own person reference, where both records "
            "come from the same agency",
            comparison_levels=[
                # one agency's reference says nothing about another's
                cll.Or(
                    cll.NullLevel("agency_ref"), cll.Not(cll.ExactMatchLevel("ref_issuer"))
                ).configure(is_null_level=True, label_for_charts="not comparable"),
                cll.ExactMatchLevel("agency_ref"),
                cll.ElseLevel(),
            ],
        ),
    ]


# Evidence no household can explain away: birth years far apart (a father and son of one name
# at one address), or one birth date under first names that differ outright (twins). Such a
# pair is never linked by the model, however strong the rest; it goes to a reviewer.
CONFLICT = """(
    abs(l.birth_year - r.birth_year) > 5
    or (l.date_of_birth = r.date_of_birth
        and jaro_winkler_similarity(l.forename, r.forename) < 0.8
        and len(list_intersect(l.forename_formal, r.forename_formal)) = 0
        and l.forename <> r.surname and l.surname <> r.forename)
)"""


# When a scored pair (a row of scored_sql) is the same person.
LINKED = f"match_probability >= {LINK} and not conflict"


def scored_sql(predictions: str, features: str) -> str:
    """The scored pairs, smaller record id first, with whether they conflict."""
    return f"""
        select p.unique_id_l as record_id_l, p.unique_id_r as record_id_r,
               p.match_probability, p.match_weight, coalesce({CONFLICT}, false) as conflict
        from (select least(unique_id_l, unique_id_r) as unique_id_l,
                     greatest(unique_id_l, unique_id_r) as unique_id_r,
                     match_probability, match_weight from {predictions}) p
        join {features} l on l.unique_id = p.unique_id_l
        join {features} r on r.unique_id = p.unique_id_r
    """


# Every true pair should share at least one of these; each is narrow enough that no block is
# large even at millions of records.
BLOCKING = [
    block_on("agency_ref"),
    block_on("date_of_birth", "substr(surname, 1, 2)"),
    block_on("date_of_birth", "substr(forename_std, 1, 2)"),
    block_on("date_of_birth", "postcode"),
    block_on("forename_std", "surname", "postcode_district"),
    block_on("forename_std", "surname", "address_numbers"),
    # a home with no numbers in it ("Flat D, Heron House"): its words
    block_on("forename_std", "surname", "address_tokens"),
    # birth years from an age are a year out either way: three rules, each an equi-join
    block_on("surname", "birth_year"),
    "l.surname = r.surname and l.birth_year + 1 = r.birth_year",
    "l.surname = r.surname and l.birth_year = r.birth_year + 1",
    block_on("surname", "postcode"),
    block_on("forename_std", "postcode"),
    "l.forename = r.surname and l.surname = r.forename",
]

# Rules that admit almost no false matches, for the prior (what share of pairs match).
DETERMINISTIC = [block_on("agency_ref"), block_on("forename", "surname", "date_of_birth")]
DETERMINISTIC_RECALL = 0.8

# EM runs once per rule, each estimating what its rule does not fix, on a sample of its pairs
# (a million pairs estimate a few dozen parameters well; all of them take minutes).
EM_PAIRS = 1e6
EM_RULES = [block_on("date_of_birth"), block_on("forename_std", "surname"), block_on("postcode")]


def _sql(rule) -> str:
    return rule if isinstance(rule, str) else rule.get_blocking_rule("duckdb").blocking_rule_sql


def _columns(rule) -> set[str]:
    """The feature columns a blocking rule reads."""
    return {c.name for c in sqlglot.parse_one(_sql(rule), read="duckdb").find_all(exp.Column)}


def output_name(comparison) -> str:
    return comparison.get_comparison("duckdb").output_column_name


# The feature columns each comparison reads (features.py), and whether it only asks if they are
# equal: such a comparison learns nothing where no value occurs twice.
INPUTS = {
    "forename": (("forename",), False),
    "surname": (("surname",), False),
    "date_of_birth": (("date_of_birth", "birth_year"), False),
    "home": (("uprn", "postcode", "address_tokens"), False),
    "sex": (("sex",), True),
    "agency_ref": (("agency_ref",), True),
}


def profile(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Why each feature column of `table` cannot be linked on, for the columns that cannot:
    no values, one value throughout, or (for a comparison of equals) no value twice."""
    rules = BLOCKING + DETERMINISTIC + EM_RULES
    columns = sorted({c for cols, _ in INPUTS.values() for c in cols}
                     | {c for r in rules for c in _columns(r)})  # fmt: skip
    parts = ", ".join(f"count({c}), count(distinct {c})" for c in columns)
    row = con.execute(f"select {parts} from {table}").fetchone()
    why = {}
    for c, values, distinct in zip(columns, row[::2], row[1::2], strict=True):
        if not values:
            why[c] = "has no values"
        elif distinct == 1:
            why[c] = "has one value throughout"
        elif distinct == values:
            why[c] = "has no value twice"
    return why


@dataclass(frozen=True)
class Plan:
    """What a model of one table compares, blocks and trains on, from what its columns hold."""

    comparisons: list
    blocking: list
    deterministic: list
    em_rules: list
    pairs: dict[str, int]  # each blocking rule's SQL: the pairs it adds to the rules before it
    left_out: list[str]  # what was left out, and why, one sentence each
    prior: float | None = None  # set only when no deterministic rule finds a pair


def pairs_added(con: duckdb.DuckDBPyConnection, table: str, rules: list) -> list[int]:
    """The pairs each rule adds to those of the rules before it, counted exactly."""
    records = count_comparisons_from_blocking_rules(
        DuckDBAPI(con).register(table), blocking_rules=rules, link_type="dedupe_only",
        record_sample_proportion=1.0,
    )  # fmt: skip
    return [int(r["marginal_comparison_count"]) for r in records]


def plan(con: duckdb.DuckDBPyConnection, table: str) -> Plan:
    """The comparisons, blocking rules and training sessions that the records in `table`
    (features.prepare's output) can support; what cannot, left out with the reason. Raises
    ValueError when there is too little to link on."""
    why = profile(con, table)
    left_out, compared = [], []
    for c in comparisons():
        columns, equals_only = INPUTS[output_name(c)]
        unusable = {
            col: why[col]
            for col in columns
            if col in why and (equals_only or why[col] != "has no value twice")
        }
        if len(unusable) == len(columns):
            reasons = "; ".join(f"{col} {r}" for col, r in unusable.items())
            left_out.append(f"comparison {output_name(c)}: {reasons}")
        else:
            compared.append(c)
    names = {output_name(c) for c in compared}
    if not names & {"forename", "surname"}:
        raise ValueError(
            "too little to link on: no first names or surnames (columns forename and surname, "
            "or one column name)"
        )

    def usable(kind: str, rules: list) -> list:
        kept = []
        for rule in rules:
            columns = _columns(rule)
            empty = [c for c in columns if why.get(c) in ("has no values", "has no value twice")]
            constant = [c for c in columns if why.get(c) == "has one value throughout"]
            if empty:
                reasons = ", ".join(f"{c} {why[c]}" for c in empty)
                left_out.append(f"{kind} {_sql(rule)}: {reasons}, so it finds no pairs")
            elif len(constant) == len(columns):
                left_out.append(
                    f"{kind} {_sql(rule)}: {', '.join(constant)} has one value throughout, "
                    "which would pair every record with every other"
                )
            else:
                kept.append(rule)
        return kept

    blocking = usable("blocking rule", BLOCKING)
    if not blocking:
        raise ValueError("too little to link on: no blocking rule can find a pair of records")
    pairs = dict(zip(map(_sql, blocking), pairs_added(con, table, blocking), strict=True))
    em_rules = []
    for rule in usable("training session on", EM_RULES):
        if pairs_added(con, table, [rule])[0]:
            em_rules.append(rule)
        else:
            left_out.append(f"training session on {_sql(rule)}: no pairs to train on")
    deterministic = [
        r for r in usable("deterministic rule", DETERMINISTIC) if pairs_added(con, table, [r])[0]
    ]
    prior = None
    if not deterministic:
        n = con.execute(f"select count(*) from {table}").fetchone()[0]
        prior = 1 / max(n - 1, 1)
        left_out.append(
            "the prior from deterministic rules: none finds a pair, so one match per record "
            f"is assumed ({prior:.3g})"
        )
    return Plan(compared, blocking, deterministic, em_rules, pairs, left_out, prior)


def settings(chosen: Plan | None = None) -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=chosen.comparisons if chosen else comparisons(),
        blocking_rules_to_generate_predictions=chosen.blocking if chosen else BLOCKING,
        # estimated in training, unless the plan had to assume it
        probability_two_random_records_match=(chosen and chosen.prior) or 1e-4,
        additional_columns_to_retain=["source"],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


# No level is ever certain: a probability of exactly 0 (a level EM never saw among matches)
# would make one disagreement veto any link, and Splink refuses to score with it.
FLOOR = 1e-6


def _floored(model: dict) -> dict:
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            for key in ("m_probability", "u_probability"):
                if level.get(key) is not None:
                    level[key] = max(level[key], FLOOR)
    return model


@dataclass(frozen=True)
class Trained:
    splink: dict  # the model, as Splink's settings
    steps: list[str]  # the steps taken, for the model file
    plan: Plan


def train(con: duckdb.DuckDBPyConnection, table: str, chosen: Plan | None = None) -> Trained:
    """A model trained on the records in `table` (features.prepare's output), by `chosen`
    (by default, the plan the table supports)."""
    chosen = chosen or plan(con, table)
    api = DuckDBAPI(con)
    linker = Linker(api.register(table), settings(chosen), log_level=None)
    t = linker.training
    steps = [f"left out: {why}" for why in chosen.left_out]
    if chosen.deterministic:
        t.estimate_probability_two_random_records_match(
            chosen.deterministic, recall=DETERMINISTIC_RECALL
        )
        steps.append(f"prior from deterministic rules {[_sql(r) for r in chosen.deterministic]} "
                     f"with assumed recall {DETERMINISTIC_RECALL}")  # fmt: skip
    t.estimate_u_using_random_sampling(max_pairs=5e6, seed=SEED)
    steps.append(f"u by random sampling of up to 5,000,000 pairs (seed {SEED})")
    for rule in chosen.em_rules:
        step = f"m by expectation maximisation on up to {EM_PAIRS:,.0f} pairs where {_sql(rule)}"
        try:
            t.estimate_parameters_using_expectation_maximisation(rule, max_pairs=EM_PAIRS)
        except (SplinkException, ValueError) as e:
            # On little or narrow data a session can find nothing to estimate, or drive a
            # level's m to exactly 0 (which Splink refuses); the other sessions still train.
            step += f" (abandoned: {str(e).splitlines()[0]})"
        steps.append(step)
    steps.append(f"every m and u probability floored at {FLOOR}")
    return Trained(_floored(linker.misc.save_model_to_json()), steps, chosen)


def save(splink_model: dict, directory: Path, extent: dict, steps: list[str]) -> Path:
    """Write the model as `<directory>/<version>.json`, versions ordered by training time."""
    trained = datetime.now(UTC)
    version = trained.strftime("%Y%m%dT%H%M%S%fZ")
    body = {
        "model": "person",
        "version": version,
        "trained_at": trained.isoformat(timespec="seconds"),
        "data_extent": extent,
        "training_steps": steps,
        "link_threshold": LINK,
        "review_threshold": REVIEW,
        "splink": splink_model,
    }
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{version}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(body, indent=2, default=str), encoding="utf-8")
    tmp.replace(path)
    return path


def load(path: Path) -> dict:
    """A model file: the hub's own (with its training record) or a bare Splink model."""
    body = json.loads(path.read_text(encoding="utf-8"))
    if "splink" not in body:
        body = {"model": "person", "version": path.stem, "splink": body}
    return body


def latest(directory: Path) -> Path | None:
    versions = sorted(directory.glob("*.json"))
    return versions[-1] if versions else None
