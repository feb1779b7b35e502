"""The demo's access policy: one user of each role, for trying the service on the demo region.
A partnership writes its own (docs/access.md) and keeps it outside git (HUB_POLICY)."""

from __future__ import annotations

from pathlib import Path

import yaml

from dagster_project.access.private import write_private

USERS = {
    "partner": ("fire", "partner", "level1"),
    "analyst": ("vru", "analyst", "level2"),
    "practitioner": ("police", "practitioner", "level3"),
    "checker": ("vru", "checker", "level1"),
    "admin": ("hub", "admin", "level1"),
    "dpo": ("hub", "dpo", "level1"),  # the data protection officer: subject access, erasure
    "reviewer": ("hub", "reviewer", "level3"),  # settles the spines' queues on /review
}
PROJECT = "violence-2024"
HEADER = "# The demo's access policy (docs/access.md); written by `hub access demo`.\n"


def policy(ends: str) -> dict:
    return {
        "organisations": {
            "police": {
                "name": "Thames Valley Police",
                "signed_isa": "2024-04-01",
                "sees": {"level2": "all", "level3": "all"},
            },
            "vru": {
                "name": "Thames Valley Violence Reduction Unit",
                "signed_isa": "2024-04-01",
                "sees": {"level2": "all"},
            },
            "fire": {"name": "Royal Berkshire Fire and Rescue Service", "signed_isa": None},
            # The hub team keeps the spines right, and their queues pair records of every
            # feed; its admin and dpo reach Level 1 only, whatever it sees.
            "hub": {
                "name": "Partnership Data Hub team",
                "signed_isa": "2024-04-01",
                "sees": {"level3": "all"},
            },
        },  # fmt: skip
        "users": {u: {"organisation": o, "role": r, "tier": t} for u, (o, r, t) in USERS.items()},
        "purposes": {
            "level1": ["strategic_needs_assessment", "partnership_board", "performance"],
            "level2": ["problem_profile", "area_profile", "evaluation"],
            "level3": ["marac", "iom", "ppo_panel", "safeguarding"],
        },
        "withheld": {"level2": [], "level3": []},
        "projects": {
            PROJECT: {
                "purpose": "problem_profile",
                "tier": "level2",
                "users": ["analyst"],
                "feeds": "all",
                "ends": ends,
            },
        },  # fmt: skip
    }


def write(path: Path, ends: str) -> Path:
    """The demo policy at `path`; never over a policy it did not write itself."""
    if path.exists() and not path.read_text().startswith(HEADER):
        raise FileExistsError(f"{path} holds a policy `hub access demo` did not write: kept")
    text = HEADER + yaml.safe_dump(policy(ends), sort_keys=False)
    return write_private(path, text)
