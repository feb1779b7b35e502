"""What runs by itself after new supplies: conform, the spines, the marts and the release, each
asset as soon as something upstream has changed and nothing upstream is still being written.
A month's refresh therefore finishes before conform starts, and conform before the release; the
run queue (one run at a time) and the in-process executor keep DuckDB's one writer."""

import dagster as dg


def after_upstream() -> dg.AutomationCondition:
    """Dagster's `eager()` without its two partition rules: these assets are not partitioned,
    and the months no agency has delivered (raw partitions that stay missing) must not hold
    them back."""
    return (
        dg.AutomationCondition.any_deps_updated().since_last_handled()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("after an upstream change, once nothing upstream is in progress")


def once() -> dg.AutomationCondition:
    """Reference tables loaded from a file: by automation only when missing (the conform and
    release jobs load them again each time)."""
    return dg.AutomationCondition.on_missing()


def automation_sensor() -> dg.AutomationConditionSensorDefinition:
    return dg.AutomationConditionSensorDefinition(
        "conform_and_release", target=dg.AssetSelection.all(), minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Conforms, links, matches and releases after new supplies are appended, "
                    "each step once the steps before it have finished.")  # fmt: skip
