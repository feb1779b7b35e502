"""Each user's token for the query service: issued once, kept by the hub only as an argon2 hash
(the service can check a token but never give one back), readable by the hub's account only."""

from __future__ import annotations

import fcntl
import functools
import json
import os
import secrets
import threading
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from dagster_project.access.private import write_private

_HASHER = PasswordHasher()
TOKEN_LENGTH = 128  # an issued token is token_urlsafe(32), 43 characters: a longer one is not
USER_LENGTH = 64  # the policy's longest user name (policy.NAME)
CHECKS_AT_ONCE = 2  # each argon2 check takes 64 MiB: 48 at once took the service to 1.9 GB
_checking = threading.BoundedSemaphore(CHECKS_AT_ONCE)


def hashes(store: Path) -> dict[str, str]:
    return json.loads(store.read_text()) if store.exists() else {}


def issue(store: Path, user: str) -> str:
    """A new token for `user`, replacing any earlier one; only its hash is kept in `store`
    (under a lock: two issues at once must not lose one)."""
    token = secrets.token_urlsafe(32)
    store.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(os.open(store.with_name(".tokens.lock"), os.O_RDWR | os.O_CREAT, 0o600)) as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        write_private(store, json.dumps(hashes(store) | {user: _HASHER.hash(token)}, indent=1))
    return token


@functools.cache
def _stand_in() -> str:
    return _HASHER.hash(secrets.token_urlsafe(32))


def verify(store: Path, user: str, token: str | None) -> bool:
    """Whether `token` is `user`'s. An unknown user's check costs what a known user's does, so
    the time of a refusal does not tell which user names exist. What cannot be a token is
    refused before any check, and only CHECKS_AT_ONCE checks run at once (the others wait), so
    the memory that bad tokens can take is bounded."""
    if not token or len(token) > TOKEN_LENGTH or len(user) > USER_LENGTH:
        return False  # refused for its shape alone, whoever the user: this names no one
    known = hashes(store).get(user)
    with _checking:
        try:
            return _HASHER.verify(known or _stand_in(), token) and bool(known)
        except (VerificationError, InvalidHashError):
            return False


def save_for_user(folder: Path, user: str, token: str) -> Path:
    """The token in the user's own file (`tokens/<user>.token`, owner-only), where `hub query
    --user` finds it when HUB_TOKEN is not set."""
    path = folder / f"{user}.token"
    write_private(path, token + "\n")
    return path
