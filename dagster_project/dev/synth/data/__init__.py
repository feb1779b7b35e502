"""Reference data the synthetic region draws from (names, places)."""

import functools
from importlib import resources

import yaml


@functools.cache
def load_data(name: str) -> dict:
    with (resources.files(__package__) / f"{name}.yml").open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)
