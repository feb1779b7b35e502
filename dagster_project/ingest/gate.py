"""The gate: a feed's expectation suite (Great Expectations 1.x) run on a supply before it may
touch the archive. GE validates the supply as a DataFrame (it cannot validate DuckDB through
SQLAlchemy: duckdb-engine returns no rows to its metric queries).

Exact duplicate rows (a record supplied twice, byte for byte) are loaded as delivered and
counted, but the suite sees each distinct row once: the key check then refuses only
conflicting duplicates, two different records under one reference."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from dagster_project.ingest import suites
from dagster_project.ingest.supplies import Supply


@dataclass
class Failure:
    rule: str
    why: str
    observed: str  # counts only, never values: this text reaches logs and Dagster metadata

    @property
    def sentence(self) -> str:
        if self.rule in ("columns", "records"):
            return self.observed
        return f"{self.why}, but {self.observed}"


@dataclass
class GateResult:
    success: bool
    failures: list[Failure]
    checked: int  # expectations evaluated
    exact_duplicates: int
    result: dict  # the full GE validation result, for the quarantine report only

    def summary(self) -> str:
        if self.success:
            return f"all {self.checked} expectations met"
        more = len(self.failures) - 1
        tail = f" (and {more} other check{'s' if more > 1 else ''} failed)" if more else ""
        return f"{self.failures[0].sentence}{tail}"


@functools.cache
def _batch_definition():
    import great_expectations as gx  # slow to import; only the gate needs it
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("supplies").add_dataframe_asset("supply")
    return asset.add_batch_definition_whole_dataframe("whole supply")


def _suite(definition: dict, expectations: list[dict]):
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    suite = ExpectationSuite(name=definition["name"], meta=definition.get("meta", {}))
    for e in expectations:
        suite.add_expectation_configuration(
            ExpectationConfiguration(type=e["type"], kwargs=e["kwargs"], meta=e.get("meta", {}))
        )
    return suite


def _raised(info: dict | None) -> bool:
    """GE 1.x reports an exception on the expectation or on any of its metrics."""
    info = info or {}
    return bool(info.get("raised_exception")) or any(
        isinstance(v, dict) and v.get("raised_exception") for v in info.values()
    )


def _observed(r: dict) -> str:
    """What a failed expectation found, in counts and contract column names only: this text
    reaches logs, so it never repeats what the file holds."""
    config, res = r["expectation_config"], r.get("result") or {}
    kwargs = config["kwargs"]
    if _raised(r.get("exception_info")):
        return f"{kwargs.get('column', 'the table')} could not be checked (is the column missing?)"
    if res.get("unexpected_count") is not None:
        return f"{res['unexpected_count']:,} of {res.get('element_count', 0):,} rows do not"
    if config["type"] == "expect_table_columns_to_match_set":
        mismatched = res.get("details", {}).get("mismatched", {})
        missing, extra = mismatched.get("missing", []), mismatched.get("unexpected", [])
        parts = [f"missing {', '.join(map(repr, missing))}"] if missing else []
        if extra:  # their names stay in validation.json: a headerless file would show data
            parts.append(f"{len(extra)} column{'s' if len(extra) > 1 else ''} not in the contract")
        return "the columns differ from the contract's: " + "; ".join(parts)
    return "not met"


def trimmed_keys(frame, key: tuple[str, ...] | list[str]):
    """The frame with its key columns stripped of surrounding spaces, as staging reads them:
    "43/1 " and "43/1" are one key, so two records under them are a conflicting duplicate."""
    present = [k for k in key if k in frame.columns]  # a missing column is the columns rule's
    if not present:
        return frame
    return frame.assign(**{k: frame[k].str.strip() for k in present})


def validate(supply: Supply, suite: dict | None = None) -> GateResult:
    contract = supply.contract
    suite = suite or suites.load(contract.name)
    frame = supply.frame
    distinct = trimmed_keys(frame.drop_duplicates(ignore_index=True), contract.key)
    copies = len(frame) - len(distinct)
    params = suites.parameters(contract, supply.period, int(supply.metadata["records"]) - copies)
    # Dates are compared as dates (`meta.frame: dates`), everything else seen as delivered.
    dated = [e.get("meta", {}).get("frame") == "dates" for e in suite["expectations"]]
    text = [e for e, d in zip(suite["expectations"], dated, strict=True) if not d]
    batches = [(distinct, _suite(suite, text))]
    if any(dated):
        on_dates = [e for e, d in zip(suite["expectations"], dated, strict=True) if d]
        batches.append((suites.as_dates(distinct, contract), _suite(suite, on_dates)))

    def run(result_format: str) -> list:
        return [
            _batch_definition()
            .get_batch(batch_parameters={"dataframe": f})
            .validate(e, expectation_parameters=params, result_format=result_format)
            for f, e in batches
        ]

    # Most supplies pass: answer yes or no first, and gather the details only for a refusal.
    quick = run("BOOLEAN_ONLY")
    if all(q.success for q in quick):
        return GateResult(True, [], sum(len(q.results) for q in quick), copies, {"success": True})
    parts = [r.to_json_dict() for r in run("SUMMARY")]
    result = {**parts[0], "results": [r for p in parts for r in p["results"]], "success": False}
    order = {e["meta"].get("rule", ""): i for i, e in enumerate(suite["expectations"])}
    failures = []
    for r in result["results"]:
        if r["success"]:
            continue
        config = r["expectation_config"]
        meta = config.get("meta") or {}
        failures.append(
            Failure(
                meta.get("rule", config["type"]),
                meta.get("why", config["type"]),
                _observed(r),
            )
        )
        if failures[-1].rule == "records":  # say it in the supply's own numbers
            failures[-1].observed = (
                f"the file holds {len(frame):,} records but supply.yml "
                f"says {supply.metadata['records']:,}"
            )
    failures.sort(key=lambda f: order.get(f.rule, len(order)))
    return GateResult(not failures, failures, len(result["results"]), copies, result)
