"""Deterministic content-hash ids, so that a rerun upserts instead of duplicating."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: the same value always gives the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def make_id(*parts: Any, length: int = 16) -> str:
    """Hash ``parts`` into a short hex id (blake2b; stable across runs and machines)."""
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(canonical_json(part).encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()[:length]


def text_hash(text: str, length: int = 16) -> str:
    """Hash of an already canonical text (what ``make_id`` gives for one part, but cheaper)."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()[:length]


def stable_seed(*parts: Any) -> int:
    """A 63-bit integer seed derived from ``parts`` (independent of PYTHONHASHSEED)."""
    return int(make_id(*parts), 16) & ((1 << 63) - 1)
