"""One Dagster asset per feed contract (`raw/<feed>`), partitioned by month and grouped by
agency, with the gate as a blocking asset check: a refused supply fails the check, so nothing
downstream of that month runs."""

import functools
import warnings

import dagster as dg

from dagster_project.config import paths
from dagster_project.contracts.model import Contract, load_contracts
from dagster_project.defs.partitions import monthly
from dagster_project.defs.resources import WarehouseResource
from dagster_project.ingest.load import Status, ingest

GATE = "gate"


def asset_key(contract: Contract) -> dg.AssetKey:
    return dg.AssetKey(["raw", contract.name])


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
    )  # fmt: skip
    def _feed(context: dg.AssetExecutionContext, duckdb: WarehouseResource):
        period = context.partition_key[:7]
        outcome = ingest(
            c,
            period,
            duckdb.get_connection,
            paths(),
            on_stage=lambda stage: context.log.debug(f"append {stage}"),
        )
        for warning in outcome.warnings:
            context.log.warning(f"{c.name} {period}: {warning}")
        if outcome.status in (Status.MISSING, Status.CHANGING):
            raise dg.Failure(description=outcome.sentence)
        log = context.log.info if outcome.passed else context.log.error
        log(outcome.sentence)
        metadata = {
            "status": outcome.status.value,
            "rows": outcome.rows,
            "supply_id": outcome.supply_id or "",
            **{f"{stage}_seconds": round(s, 3) for stage, s in outcome.seconds.items()},
        }
        if outcome.quarantine_path:
            metadata["quarantine"] = dg.MetadataValue.path(str(outcome.quarantine_path))
        check = dg.AssetCheckResult(
            check_name=GATE,
            passed=outcome.passed,
            severity=dg.AssetCheckSeverity.ERROR,
            description=outcome.sentence,
            metadata={"failed": [f"{f.rule}: {f.observed}" for f in outcome.gate_result.failures]}
            if outcome.gate_result
            else {},
        )
        return dg.MaterializeResult(metadata=metadata, check_results=[check])

    return _feed


@functools.cache
def feed_assets() -> tuple[dg.AssetsDefinition, ...]:
    return tuple(feed_asset(c) for c in load_contracts().values())
