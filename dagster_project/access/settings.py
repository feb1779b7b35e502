"""The access objects the hub's configuration implies: its audit trail and the service's
settings. The one place where config.py and keys.py meet the access code, which takes
everything as arguments."""

from __future__ import annotations

from dagster_project.access.audit_log import AuditLog
from dagster_project.access.sandbox import Limits
from dagster_project.access.service import Settings
from dagster_project.config import dbt_dir, paths, query_limits
from dagster_project.platform import keys


def trail() -> AuditLog:
    return AuditLog(paths().audit, keys.key("audit").encode())


def service() -> Settings:
    from dagster_project.contracts.model import load_contracts
    from dagster_project.platform import dbt

    where, project = paths(), dbt_dir()
    manifest = dbt.parse_if_stale(project / "target" / "manifest.json", project, project)
    return Settings(
        policy=where.policy,
        tokens=where.access / "tokens.json",
        marts=where.marts,
        exports=where.exports,
        manifest=manifest,
        feeds=set(load_contracts()),
        trail=trail(),
        pseudonym_key=keys.key("pseudonym").encode(),
        limits=Limits(*query_limits()),
        person_decisions=where.person_decisions,
        place_decisions=where.place_decisions,
        gazetteer=where.reference / "gazetteer.csv",
    )
