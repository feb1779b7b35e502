"""The pages people look at, as Dagster assets: the strategic profile after every release (it
reads the published Level 1 file alone), the data-quality scorecard and the linkage report after
every conform (docs/reports.md). Each is one self-contained HTML file under data/reports/."""

import dagster as dg

from dagster_project.access.private import write_private
from dagster_project.config import paths
from dagster_project.contracts.model import load_contracts
from dagster_project.defs.automation import after_upstream
from dagster_project.defs.ingest.assets import asset_key
from dagster_project.defs.partitions import monthly
from dagster_project.defs.resources import WarehouseResource
from dagster_project.defs.spine.people import IDS
from dagster_project.defs.spine.places import PLACE_MATCHES
from dagster_project.defs.tiers.assets import PUBLISHED
from dagster_project.people import model
from dagster_project.reports import scorecard
from dagster_project.reports.linkage import linkage_report
from dagster_project.reports.strategic import strategic_profile
from dagster_project.tiers import publish

STRATEGIC = dg.AssetKey(["reports", "strategic_profile"])
LINKAGE = dg.AssetKey(["reports", "linkage"])
DATA_QUALITY = dg.AssetKey(["reports", "data_quality"])


def written(name: str, page: str) -> dg.MaterializeResult:
    where = paths()
    path = write_private(where.reports / name, page)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(where.shown(str(path))),
            "bytes": len(page.encode()),
        }
    )


@dg.asset(
    key=STRATEGIC, group_name="reports", deps=[PUBLISHED], kinds={"html"},
    automation_condition=after_upstream(),
    description="data/reports/strategic_profile.html: Level 1 as the boards read it (trends, "
                "the year before, maps by ward and LSOA, risk factors per district, the "
                "disclosure note), from the published level1.duckdb alone.",
)  # fmt: skip
def strategic_profile_page() -> dg.MaterializeResult:
    return written(
        "strategic_profile.html", strategic_profile(publish.published(paths().marts, "level1"))
    )


@dg.asset(
    key=LINKAGE, group_name="reports", deps=[IDS, PLACE_MATCHES], kinds={"html"},
    automation_condition=after_upstream(),
    description="data/reports/linkage.html: how the person spine links (match weights, the "
                "model's m and u, cluster sizes, people across agencies, review queues and, "
                "with the synthetic truth, precision and recall). Aggregates only.",
)  # fmt: skip
def linkage_page(duckdb: WarehouseResource) -> dg.MaterializeResult:
    where = paths()
    saved = model.latest(where.person_models)
    with duckdb.get_connection() as con:
        html = linkage_report(
            con, model.load(saved) if saved else None, where.person_decisions,
            where.place_decisions,
        )  # fmt: skip
    return written("linkage.html", html)


@dg.asset(
    key=DATA_QUALITY, group_name="reports", deps=[IDS, PLACE_MATCHES], kinds={"duckdb", "html"},
    automation_condition=after_upstream(),
    description="The data-quality scorecard per feed and month by the Home Office guidance's "
                "four qualities (section 4.2.3), red, amber or green: ops.data_quality, "
                "data/reports/data_quality.html, and each feed month's figures observed on "
                "its raw asset.",
)  # fmt: skip
def data_quality_page(
    context: dg.AssetExecutionContext, duckdb: WarehouseResource
) -> dg.MaterializeResult:
    contracts = load_contracts()
    with duckdb.get_connection() as con:
        frame = scorecard.scorecard(con, contracts)
        fresh = scorecard.changed(frame, scorecard.previous(con))
        scorecard.write(con, frame)
    held = set(monthly().get_partition_keys())
    for row in fresh[fresh["month"].isin(held)].itertuples():
        # An observation, not a materialization: the feed's month shows its scorecard
        # without setting anything downstream of it off again.
        context.log_event(
            dg.AssetObservation(
                asset_key=asset_key(contracts[row.feed]),
                partition=row.month,
                metadata=scorecard.feed_metadata(frame, row.feed, row.month),
            )
        )
    result = written("data_quality.html", scorecard.html(frame))
    ratings = frame["overall_rag"].value_counts().to_dict()
    return dg.MaterializeResult(metadata={**result.metadata, **{
        f"feed months {r}": int(ratings.get(r, 0)) for r in scorecard.RATINGS}})  # fmt: skip
