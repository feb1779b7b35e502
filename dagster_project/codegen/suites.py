"""What `hub suites` writes: one Great Expectations suite per feed, in `expectations/<feed>.json`.

A suite starts from its contract (`hub suites` writes the baseline) and then belongs to the
people who run the hub: they may tighten, loosen or add expectations by editing the file.
Regeneration only ever adds the contract's rules that a suite lacks (a new column, say); it never
changes or removes what is there. A rule listed in the suite's `meta.disabled_rules` is never
added back.

Each baseline expectation carries `meta.rule`, its contract rule, and `meta.why`, in words.
Values only known per supply are suite parameters: `records` (from supply.yml) and
`in_period_<column>` (a pattern matching dates of the supply's month in that column's format).
"""

from __future__ import annotations

import json
from pathlib import Path

from dagster_project.config import suites_dir
from dagster_project.contracts.model import EARLIEST, MONTH_END, Contract, codes, plausible
from dagster_project.ingest.suites import date_format, parameter, path_for, period_parameter, window

POSTCODE = r"^(?i:[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2})$"
POSTCODE_THRESHOLD = 0.95  # share of postcodes that must look like postcodes
INTEGER_DIGITS = 9  # staging casts whole numbers to INTEGER, which holds every 9-digit one


def _expectation(rule: str, why: str, type_: str, **kwargs) -> dict:
    return {"type": type_, "kwargs": kwargs, "meta": {"rule": rule, "why": why}}


def _in_words(bound: str) -> str:
    return {MONTH_END: "the end of the supply's month", EARLIEST: "1900"}.get(bound, bound)


def plausibility(contract: Contract, f) -> list[dict]:
    """A date column's plausible bounds (contracts.model.plausible), compared as dates."""
    out = []
    earliest, latest = window(contract, f)
    if earliest or latest:
        words = " and ".join(
            [f"not before {_in_words(earliest)}"] * bool(earliest)
            + [f"not after {_in_words(latest)}"] * bool(latest)
        )
        out.append(_expectation(
            f"window:{f.name}", f"{f.name} is {words}", "expect_column_values_to_be_between",
            column=f.name, min_value={"$PARAMETER": parameter("earliest", f.name)},
            max_value={"$PARAMETER": parameter("latest", f.name)}))  # fmt: skip
    before, after = plausible(contract, f)
    for bound, later, earlier in ((before, f.name, before), (after, after, f.name)):
        if bound and bound not in (earliest, latest):  # another date column
            out.append(_expectation(
                f"order:{earlier}:{later}", f"{earlier} is not after {later}",
                "expect_column_pair_values_a_to_be_greater_than_b", column_A=later,
                column_B=earlier, or_equal=True,
                ignore_row_if="either_value_is_missing"))  # fmt: skip
    for e in out:
        e["meta"]["frame"] = "dates"
    return out


def baseline(contract: Contract) -> list[dict]:
    """The expectations a feed's contract implies, in a stable order."""
    c = contract
    out = [
        _expectation("columns", "the columns are exactly the contract's",
                     "expect_table_columns_to_match_set", column_set=c.columns, exact_match=True),
        _expectation("records", "the file holds as many records as supply.yml says",
                     "expect_table_row_count_to_equal", value={"$PARAMETER": "records"}),
    ]  # fmt: skip
    if len(c.key) == 1:
        out.append(
            _expectation(
                "key",
                f"{c.key[0]} identifies a record within a supply",
                "expect_column_values_to_be_unique",
                column=c.key[0],
            )
        )
    else:
        out.append(
            _expectation(
                "key",
                f"{' + '.join(c.key)} identify a record within a supply",
                "expect_compound_columns_to_be_unique",
                column_list=list(c.key),
            )
        )
    for f in c.fields:
        if f.required or f.name in c.key:
            out.append(
                _expectation(
                    f"required:{f.name}",
                    f"{f.name} is never blank",
                    "expect_column_values_to_not_be_null",
                    column=f.name,
                )
            )
        if f.type in ("code", "flag"):
            out.append(
                _expectation(
                    f"codes:{f.name}",
                    f"{f.name} holds codes of {f.value_set}",
                    "expect_column_values_to_be_in_set",
                    column=f.name,
                    value_set=codes(f.value_set),
                )
            )
        if f.type == "date":
            fmt = date_format(c, f)
            out.append(
                _expectation(
                    f"dates:{f.name}",
                    f"{f.name} holds dates written {fmt}",
                    "expect_column_values_to_match_strftime_format",
                    column=f.name,
                    strftime_format=fmt,
                )
            )
        if f.type == "date":
            out += plausibility(c, f)
        if f.concept == "event.date":
            out.append(
                _expectation(
                    f"in_period:{f.name}",
                    f"{f.name} falls in the month the supply covers",
                    "expect_column_values_to_match_regex",
                    column=f.name,
                    regex={"$PARAMETER": period_parameter(f.name)},
                )
            )
        if f.type == "time":
            out.append(
                _expectation(
                    f"times:{f.name}",
                    f"{f.name} holds times written {c.file.time_format}",
                    "expect_column_values_to_match_strftime_format",
                    column=f.name,
                    strftime_format=c.file.time_format,
                )
            )
        if f.type == "integer":
            out.append(
                _expectation(
                    f"integers:{f.name}",
                    f"{f.name} holds whole numbers, not negative",
                    "expect_column_values_to_match_regex",
                    column=f.name,
                    regex=r"^[0-9]+$",
                )
            )
            out.append(  # a longer number passes the rule above and is NULL in staging
                _expectation(
                    f"range:{f.name}",
                    f"{f.name} fits staging's whole-number type (at most {INTEGER_DIGITS} digits)",
                    "expect_column_value_lengths_to_be_between",
                    column=f.name,
                    max_value=INTEGER_DIGITS,
                )
            )
        if f.attribute == "postcode":
            share = f.options.get("postcode_threshold", POSTCODE_THRESHOLD)
            out.append(
                _expectation(
                    f"postcodes:{f.name}",
                    f"at least {share:.0%} of {f.name} look like postcodes",
                    "expect_column_values_to_match_regex",
                    column=f.name,
                    regex=POSTCODE,
                    mostly=share,
                )
            )
    return out


def new_suite(contract: Contract) -> dict:
    return {
        "name": contract.name,
        "expectations": baseline(contract),
        "meta": {
            "about": f"The gate on each monthly supply of {contract.dataset} "
                     f"({contract.agency_name}). Generated from dagster_project/contracts/feeds/"
                     f"{contract.name}.yml, then owned by people: edit freely; `hub suites` "
                     "only adds rules the contract gains. List a rule in disabled_rules to "
                     "keep it out.",
            "disabled_rules": [],
        },
    }  # fmt: skip


def update(contract: Contract, suite: dict) -> tuple[dict, list[str]]:
    """Add the contract rules a suite lacks; returns the suite and the rules added."""
    have = {e.get("meta", {}).get("rule") for e in suite.get("expectations", [])}
    disabled = set(suite.get("meta", {}).get("disabled_rules", []))
    added = [e for e in baseline(contract) if e["meta"]["rule"] not in have | disabled]
    return {**suite, "expectations": [*suite.get("expectations", []), *added]}, [
        e["meta"]["rule"] for e in added
    ]


def write_all(
    contracts: dict[str, Contract], directory: Path | None = None, check: bool = False
) -> dict[str, list[str]]:
    """Create missing suites and add missing rules; with check, only report what would change."""
    directory = directory or suites_dir()
    changes: dict[str, list[str]] = {}
    for name, contract in contracts.items():
        path = path_for(name, directory)
        if path.exists():
            suite, added = update(contract, json.loads(path.read_text(encoding="utf-8")))
        else:
            suite, added = new_suite(contract), ["(new suite)"]
        if added:
            changes[name] = added
            if not check:
                directory.mkdir(parents=True, exist_ok=True)
                path.write_text(
                    json.dumps(suite, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
                )
    return changes
