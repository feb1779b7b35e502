"""The spines: the person model and person IDs, the gazetteer and place matches, their checks,
and the person spine's on-demand jobs."""

import dagster as dg

from dagster_project.defs.spine import people, places
from dagster_project.defs.spine.jobs import relink_job, retrain_job


def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[
            people.person_model, people.person_ids, people.every_record_has_one_id,
            people.links_agree_with_the_truth, places.gazetteer_table, places.place_matches,
            places.every_mention_has_one_outcome, places.places_agree_with_the_truth,
        ],
        jobs=[relink_job(), retrain_job()],
    )  # fmt: skip
