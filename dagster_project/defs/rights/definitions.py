"""Retention and data subjects' rights: the two assets every conform and release run starts
with."""

import dagster as dg

from dagster_project.defs.rights.assets import retention_asset, rights_applied


def defs() -> dg.Definitions:
    return dg.Definitions(assets=[retention_asset(), rights_applied])
