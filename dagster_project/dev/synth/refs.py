"""Agency references for people: each agency numbers the same person differently, stably
within the agency, and no reference reveals the true person ID. A keyed permutation (a small
Feistel network, cycle-walked into range) maps a person's index to a number; without the
region's seed the mapping cannot be undone."""

from __future__ import annotations

import hashlib

import numpy as np

SPACE = 9_000_000  # references are 1,000,000 .. 9,999,999
HALF_BITS = 12  # the network permutes 24-bit numbers; values >= SPACE walk on
ROUNDS = 4


def _keys(seed: int, scope: str) -> list[int]:
    digest = hashlib.blake2b(f"{seed}/{scope}".encode(), digest_size=4 * ROUNDS).digest()
    return [int.from_bytes(digest[4 * i : 4 * i + 4], "little") for i in range(ROUNDS)]


def _feistel(x: np.ndarray, keys: list[int]) -> np.ndarray:
    mask = np.uint64((1 << HALF_BITS) - 1)
    left, right = x >> np.uint64(HALF_BITS), x & mask
    for k in keys:
        mixed = ((right * np.uint64(0x9E3779B1)) ^ np.uint64(k)) >> np.uint64(5)
        left, right = right, left ^ (mixed & mask)
    return (left << np.uint64(HALF_BITS)) | right


def permute(index: np.ndarray, seed: int, scope: str) -> np.ndarray:
    """A bijection of 0..SPACE-1 onto itself, different for every (seed, scope)."""
    keys = _keys(seed, scope)
    y = _feistel(np.asarray(index, dtype=np.uint64), keys)
    out_of_range = y >= SPACE
    while out_of_range.any():
        y[out_of_range] = _feistel(y[out_of_range], keys)
        out_of_range = y >= SPACE
    return y


def agency_refs(seed: int, scope: str, fmt: str, person_index: np.ndarray) -> list[str]:
    nums = permute(person_index, seed, scope) + 1_000_000
    return [fmt.format(num=int(x)) for x in nums]
