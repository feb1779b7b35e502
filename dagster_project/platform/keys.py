"""The hub's secrets: the warehouse's and Level 3's encryption keys, the key of the Level 2
pseudonyms (and of each project's, derived from it) and the key that seals the audit trail.
Each comes from the environment (HUB_<NAME>_KEY) or from a file of the secrets folder
(config.secrets_dir()), never from code or configuration in git, and is never logged: only its
fingerprint is."""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from pathlib import Path

from dagster_project.config import key_from_environment, key_variable, secrets_dir

NAMES = ("warehouse", "level3", "pseudonym", "audit")


class MissingKey(RuntimeError):
    """A key that is missing or kept where others can read it."""


def key_file(name: str) -> Path:
    return secrets_dir() / f"{name}.key"


def key(name: str) -> str:
    if name not in NAMES:
        raise ValueError(f"unknown key {name!r}: the hub's keys are {', '.join(NAMES)}")
    if value := key_from_environment(name):
        return value
    path = key_file(name)
    if not path.exists():
        raise MissingKey(
            f"no {name} key: set {key_variable(name)} or run `hub keys` to create {path}"
        )
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise MissingKey(f"{path} can be read by others: `chmod 600 {path}` before it is used")
    value = path.read_text().strip()
    if not value:
        raise MissingKey(f"{path} is empty")
    return value


def fingerprint(name: str) -> str:
    """Which key is in use, safe to publish: it changes when the key is rotated and says
    nothing about the key itself."""
    digest = hashlib.sha256(b"partnership-data-hub fingerprint\0" + key(name).encode())
    return digest.hexdigest()[:12]


def ensure() -> list[Path]:
    """Create every key that neither the environment nor the secrets folder holds, readable by
    its owner only; return the files created. An existing key is never replaced: rotating one
    is a deliberate act (docs/keys.md)."""
    folder = secrets_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    created = []
    for name in NAMES:
        path = key_file(name)
        if key_from_environment(name) or path.exists():
            continue
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
        created.append(path)
    return created
