"""Deterministic content-hash ids, so that a rerun upserts instead of duplicating."""

from __future__ import annotations

import hashlib
import json
from json.encoder import encode_basestring
from typing import Any

_DUMPS_ARGS: dict[str, Any] = {"sort_keys": True, "separators": (",", ":"),
                               "ensure_ascii": False, "default": str}
try:  # the C encoder json.dumps builds on every call with these settings, built once
    from json.encoder import c_make_encoder as _c_make_encoder
except ImportError:  # pragma: no cover - CPython always has _json
    _c_make_encoder = None
_ENCODER = (_c_make_encoder(None, str, encode_basestring, None, ":", ",", True, False, True)
            if _c_make_encoder is not None else None)


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: the same value always gives the same text.

    The text of ``json.dumps(value, sort_keys=True, separators=(",", ":"),
    ensure_ascii=False, default=str)``, from one reused C encoder (tests/test_fast_paths.py
    checks the two agree); only a self-containing value fails differently (RecursionError).
    """
    if type(value) is str:
        return encode_basestring(value)
    if _ENCODER is None:  # pragma: no cover
        return json.dumps(value, **_DUMPS_ARGS)
    return "".join(_ENCODER(value, 0))


def _part(part: Any) -> str:
    kind = type(part)
    if kind is str:
        return encode_basestring(part)
    if kind is int:
        return int.__repr__(part)
    return canonical_json(part)


def make_id(*parts: Any, length: int = 16) -> str:
    """Hash ``parts`` into a short hex id (blake2b; stable across runs and machines): each
    part's canonical JSON followed by a 0x1f byte."""
    text = "".join([_part(p) + "\x1f" for p in parts])
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()[:length]


def text_id(text: str, length: int = 16) -> str:
    """``make_id(text)`` for one string part, with the least work (VQA row ids)."""
    return hashlib.blake2b((encode_basestring(text) + "\x1f").encode("utf-8"),
                           digest_size=16).hexdigest()[:length]


def text_hash(text: str, length: int = 16) -> str:
    """Hash of an already canonical text (what ``make_id`` gives for one part, but cheaper)."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()[:length]


def stable_seed(*parts: Any) -> int:
    """A 63-bit integer seed derived from ``parts`` (independent of PYTHONHASHSEED)."""
    return int(make_id(*parts), 16) & ((1 << 63) - 1)
