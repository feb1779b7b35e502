"""One Dagster asset per feed contract (`raw/<feed>`), partitioned by month and grouped by
agency, with the gate as a blocking asset check. A refused supply fails the check and the month
(a failed partition, its run failing with the reason), so nothing downstream of it runs; an
unchanged one passes the check and materializes nothing."""

import functools
import warnings

import dagster as dg
from pydantic import Field

from dagster_project.config import paths
from dagster_project.contracts.model import Contract, load_contracts
from dagster_project.defs.partitions import monthly
from dagster_project.defs.resources import WarehouseResource
from dagster_project.ingest.load import Status, ingest

GATE = "gate"
REFUSED = "refused"  # the metadata that marks a run's failure as the gate's refusal


class FeedConfig(dg.Config):
    accept_shrink: bool = Field(
        default=False,
        description="Load a replacement even if it removes more of the month than "
        "HUB_SHRINK_SHARE allows: an engineer's decision, once the agency confirms it.",
    )


def asset_key(contract: Contract) -> dg.AssetKey:
    return dg.AssetKey(["raw", contract.name])


def op_name(contract: Contract) -> str:
    """The feed asset's op, as run config names it."""
    return asset_key(contract).to_python_identifier()


def _description(c: Contract) -> str:
    return (
        f"{c.dataset}, supplied monthly by {c.agency_name} (Home Office guidance, "
        f"Information sharing for community safety, section {c.section}). "
        f"{c.description} Appended to raw.{c.name} after its expectation suite passes."
    )


def gate_spec(contract: Contract) -> dg.AssetCheckSpec:
    with warnings.catch_warnings():  # partitioned checks are in preview; we want the gate per month
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return dg.AssetCheckSpec(
            GATE, asset=asset_key(contract), blocking=True, partitions_def=monthly(),
            description=f"The supply meets expectations/{contract.name}.json (Great "
                        "Expectations); if not it is quarantined and the archive is untouched.",
        )  # fmt: skip


def feed_asset(contract: Contract) -> dg.AssetsDefinition:
    c = contract

    @dg.asset(
        key=asset_key(c),
        group_name=c.agency,
        partitions_def=monthly(),
        description=_description(c),
        kinds={"duckdb", "python"},
        metadata={
            "classification": c.classification,
            "guidance_classification": c.guidance_classification,
            "legal_basis": c.legal_basis,
            "retention": c.retention.text,
            "delivery_day": c.delivery_day,
            "contract": f"dagster_project/contracts/feeds/{c.name}.yml",
            "suite": f"expectations/{c.name}.json",
            "dagster/column_schema": dg.TableSchema(columns=[
                dg.TableColumn(f.name, "VARCHAR", description=f.meaning) for f in c.fields]),
        },
        check_specs=[gate_spec(c)],
        output_required=False,  # an unchanged supply materializes nothing
    )  # fmt: skip
    def _feed(context: dg.AssetExecutionContext, duckdb: WarehouseResource, config: FeedConfig):
        period, where = context.partition_key, paths()
        outcome = ingest(
            c,
            period,
            duckdb.get_connection,
            where,
            on_stage=lambda stage: context.log.debug(f"append {stage}"),
            accept_shrink=config.accept_shrink,
        )
        for warning in outcome.warnings:
            context.log.warning(f"{c.name} {period}: {warning}")
        if outcome.status in (Status.MISSING, Status.CHANGING, Status.HELD):
            raise dg.Failure(description=outcome.sentence, allow_retries=False)
        check = dg.AssetCheckResult(
            check_name=GATE,
            passed=outcome.passed,
            severity=dg.AssetCheckSeverity.ERROR,
            description=outcome.sentence,
            metadata={"failed": [f"{f.rule}: {f.observed}" for f in outcome.gate_result.failures]}
            if outcome.gate_result
            else {},
        )
        if outcome.status == Status.QUARANTINED:
            # Not materialized: the month is a failed partition, and the run's failure is the
            # sentence that says why and whom to ask.
            yield check
            raise dg.Failure(
                description=outcome.sentence,
                metadata={REFUSED: True, "quarantine": where.shown(str(outcome.quarantine_path))},
                allow_retries=False,
            )
        context.log.info(outcome.sentence)
        if outcome.status == Status.UNCHANGED:
            # Nothing new: no materialization, so nothing downstream runs again and the
            # month keeps the metadata of the supply it holds.
            yield check
            return
        yield dg.MaterializeResult(
            metadata={
                "status": outcome.status.value,
                "rows": outcome.rows,
                "supply_id": outcome.supply_id or "",
                **(
                    {"records_before": outcome.records_before}
                    if outcome.records_before is not None
                    else {}
                ),  # fmt: skip
                **{f"{stage}_seconds": round(s, 3) for stage, s in outcome.seconds.items()},
            },
            check_results=[check],
        )

    return _feed


@functools.cache
def feed_assets() -> tuple[dg.AssetsDefinition, ...]:
    return tuple(feed_asset(c) for c in load_contracts().values())
