"""process_shard output is byte-identical to the code before the per-shard optimisation.

The digests below were computed by the pre-optimisation code (commit 04a0319, with
``tests/shard_scenes.py`` as it is here), then recomputed once for the intended text changes
of issue 18 (balanced VQA, fine types, outlined shapes, caption paraphrases); a change that alters any row of any part (the
facts text, its hash, a VQA row's id, text or params, a caption) fails here. Rows are
dumped with their key order and exact float reprs, so a reordered dict or a float written
differently counts as a change.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from narrator.pipeline import GenerateConfig, process_shard
from tests.shard_scenes import VOCABULARY, make_bundles

CONFIGS = {
    "generic": GenerateConfig(),
    "sarlang": GenerateConfig(style="sarlang", class_list=True, seed=1),
    "sarchat": GenerateConfig(style="sarchat", seed=3),
    "options": GenerateConfig(seed=5, families=("presence", "count", "position", "grounding",
                                                "area", "land_under", "describe"),
                              vqa_options=(("max_per_scene", 30), ("quota.presence", 6),
                                           ("allow_border", True))),
}

GOLDEN = {
    "generic": {
        "scene_ids": "579291b0a03f3f6a863bd99a89ffc875",
        "facts": "fbbe257d2636f2378da34efbb12c088f",
        "vqa": "720a689f15c4d82cb1340e6a98c1b337",
        "captions": "df66aef31c77596e47ff52ee53c62e70",
        "candidates": "cae66941d9efbd404e4d88758ea67670",
        "rest": "bfba9950dd5ca63fef9d5e998ab80ccb",
        "n_vqa": "1266",
    },
    "sarlang": {
        "scene_ids": "579291b0a03f3f6a863bd99a89ffc875",
        "facts": "fbbe257d2636f2378da34efbb12c088f",
        "vqa": "42a3f904a13030a6253be32e20780ffc",
        "captions": "df66aef31c77596e47ff52ee53c62e70",
        "candidates": "cae66941d9efbd404e4d88758ea67670",
        "rest": "bfba9950dd5ca63fef9d5e998ab80ccb",
        "n_vqa": "1277",
    },
    "sarchat": {
        "scene_ids": "579291b0a03f3f6a863bd99a89ffc875",
        "facts": "fbbe257d2636f2378da34efbb12c088f",
        "vqa": "bad00202578fc1704d0b8a83a0202896",
        "captions": "df66aef31c77596e47ff52ee53c62e70",
        "candidates": "cae66941d9efbd404e4d88758ea67670",
        "rest": "bfba9950dd5ca63fef9d5e998ab80ccb",
        "n_vqa": "1256",
    },
    "options": {
        "scene_ids": "579291b0a03f3f6a863bd99a89ffc875",
        "facts": "fbbe257d2636f2378da34efbb12c088f",
        "vqa": "0f966f3cb5f188be48eac5430e5d66c1",
        "captions": "df66aef31c77596e47ff52ee53c62e70",
        "candidates": "cae66941d9efbd404e4d88758ea67670",
        "rest": "bfba9950dd5ca63fef9d5e998ab80ccb",
        "n_vqa": "897",
    },
}


def _digest(rows: Any) -> str:
    h = hashlib.blake2b(digest_size=16)
    for row in rows:
        h.update(json.dumps(row, ensure_ascii=False).encode())
        h.update(b"\n")
    return h.hexdigest()


def shard_digests(config: GenerateConfig) -> dict[str, str]:
    """Digest of every part of the ShardResults of the fixture, cut into uneven shards."""
    bundles = make_bundles()
    shards = [bundles[:1], bundles[1:50], [], bundles[50:]]
    results = [process_shard(s, VOCABULARY, config) for s in shards]
    out = {part: _digest(row for r in results for row in getattr(r, part))
           for part in ("scene_ids", "facts", "vqa", "captions", "candidates")}
    out["rest"] = _digest([[r.content_hashes, r.llm, r.journal, r.caption_outcomes]
                           for r in results])
    out["n_vqa"] = str(sum(len(r.vqa) for r in results))
    return out


def test_fixture_covers_the_edge_cases() -> None:
    bundles = make_bundles()
    sizes = {len(b.objects) for b in bundles}
    objs = [o for b in bundles for o in b.objects]
    assert {0, 1} <= sizes and max(sizes) > 60
    assert any(b.scene.gsd_m is None for b in bundles)
    assert any(b.scene.gsd_m is not None for b in bundles)
    assert any(r.geom_wkb for b in bundles for r in b.regions)
    assert any(r.geom_wkb is None for b in bundles for r in b.regions)
    assert any(o.poly_wkb for o in objs) and any(o.angle is not None for o in objs)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_process_shard_output_unchanged(name: str) -> None:
    assert shard_digests(CONFIGS[name]) == GOLDEN[name]


if __name__ == "__main__":  # prints the digests of the code checked out (to fill GOLDEN)
    print(json.dumps({name: shard_digests(c) for name, c in CONFIGS.items()}, indent=1))
