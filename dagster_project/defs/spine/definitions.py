"""The spines: the person model and person IDs, the gazetteer and place matches, their checks,
and the person spine's on-demand jobs."""

import dagster as dg

from dagster_project.defs.spine import people, places
from dagster_project.defs.spine.jobs import relink_job, retrain_job


def written_beside(main: dg.AssetKey, group: str, tables: tuple[str, ...]) -> list[dg.AssetSpec]:
    """The tables an asset writes beside its own, as the marts read them: in its group and
    downstream of it, so the lineage shows where they come from."""
    return [
        dg.AssetSpec(["spine", t], group_name=group, deps=[main],
                     description=f"Written by {main.to_user_string()} with each run.")
        for t in tables
    ]  # fmt: skip


def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[
            people.person_model, people.person_ids, people.every_record_has_one_id,
            people.links_agree_with_the_truth, places.gazetteer_table, places.place_matches,
            places.every_mention_has_one_outcome, places.places_agree_with_the_truth,
            *written_beside(people.IDS, "spine", ("runs", "review_queue")),
            *written_beside(places.PLACE_MATCHES, "places", ("event_locations",
                                                              "place_review_queue")),
        ],
        jobs=[relink_job(), retrain_job()],
    )  # fmt: skip
