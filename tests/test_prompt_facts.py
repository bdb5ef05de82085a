"""Facts rendered for prompts stay bounded in size and keep every count and position."""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from narrator.caption.hcot import _facts_text
from narrator.caption.promptfacts import MAX_LISTED, MAX_RELATION_EXAMPLES, prompt_facts
from narrator.facts import scene_facts
from narrator.ids import make_id
from narrator.llm.prompts import load_prompt
from narrator.llm.server import estimate_tokens
from narrator.records import Object, Scene, SceneBundle

HRSID = Path(__file__).resolve().parents[2] / "shared" / "data" / "hrsid" / \
    "modified_hrsid_annotations" / "inshore" / "inshore_test.json"


def _scene(sid: str, boxes: list[tuple[str, float, float, float, float]],
           size: int = 800) -> SceneBundle:
    scene = Scene(scene_id=sid, dataset="d", file_name=f"{sid}.tif", image_path=None,
                  width=size, height=size, gsd_m=1.5)
    return SceneBundle(scene, [Object(make_id(sid, i), sid, c, x0, y0, x1, y1)
                               for i, (c, x0, y0, x1, y1) in enumerate(boxes)])


def _random_scene(n: int, seed: int) -> SceneBundle:
    rng = random.Random(seed)
    boxes = []
    for _ in range(n):
        x, y = rng.uniform(0, 760), rng.uniform(0, 760)
        boxes.append((rng.choice(["ship", "ship", "car", "tank"]), x, y,
                      x + rng.uniform(4, 40), y + rng.uniform(4, 40)))
    return _scene(f"s{seed}", boxes)


def _prompt_tokens(facts: dict) -> int:
    return estimate_tokens(load_prompt("hcot").messages(facts=_facts_text(facts), strict=False))


def test_a_59_object_scene_fits_8192_tokens_and_keeps_every_count_and_cell() -> None:
    facts = scene_facts(_random_scene(59, seed=7), ["ship", "car", "tank", "bridge"])
    assert sum(len(v) for v in facts["relations"].values()) > 1000  # quadratic in objects
    full = estimate_tokens([{"role": "user", "content": json.dumps(facts, indent=1)}])
    assert full > 8192  # the full facts would not fit
    shown = prompt_facts(facts)
    assert _prompt_tokens(facts) < 2500 < 8192
    assert len(shown["objects"]) == MAX_LISTED and shown["counts"] == facts["counts"]
    cells: dict[str, Counter[str]] = defaultdict(Counter)
    for o in facts["objects"]:
        cells[o["category"]][o["cell"]] += 1
    assert shown["cells"] == {c: dict(n) for c, n in cells.items()}
    assert {c: sum(n.values()) for c, n in shown["size_classes"].items()} == facts["counts"]
    assert sum(shown["relation_pairs"]["near"].values()) == len(facts["relations"]["near"])
    assert len(shown["relation_examples"]) <= MAX_RELATION_EXAMPLES
    # the rendered block is JSON (tests' responders and people can read it back)
    assert json.loads(_facts_text(facts))["total"] == 59


def test_prompt_size_is_bounded_by_categories_not_objects() -> None:
    sizes = [_prompt_tokens(scene_facts(_random_scene(n, seed=n), ["ship", "car", "tank"]))
             for n in (13, 59, 200)]
    assert max(sizes) < 1.2 * min(sizes)  # 13, 59 and 200 objects: about the same


def test_small_scenes_list_every_object_and_their_relations() -> None:
    facts = scene_facts(_scene("a", [("ship", 10, 10, 60, 30), ("ship", 70, 12, 120, 32),
                                     ("car", 600, 600, 620, 610)]), ["ship", "car"])
    shown = prompt_facts(facts)
    assert len(shown["objects"]) == 3 and "cells" not in shown
    assert [0, "left_of", 1] in shown["relation_examples"]
    assert shown["objects"][0] == {"category": "ship", "cell": "top left",
                                   "size_class": "very small", "size_m": shown["objects"][0][
                                       "size_m"], "shape": "wide"}


@pytest.mark.skipif(not HRSID.exists(), reason="shared/data/hrsid is not here")
def test_every_hrsid_inshore_test_scene_fits_8192_tokens() -> None:
    data = json.loads(HRSID.read_text())
    boxes: dict[int, list] = defaultdict(list)
    for a in data["annotations"]:
        x, y, w, h = a["bbox"]
        boxes[a["image_id"]].append(("ship", x, y, x + max(w, 1), y + max(h, 1)))
    sizes = {iid: _prompt_tokens(scene_facts(_scene(str(iid), b), ["ship"]))
             for iid, b in boxes.items()}
    assert len(sizes) > 200 and max(len(b) for b in boxes.values()) >= 59
    assert max(sizes.values()) < 8192 and max(sizes.values()) < 2 * min(sizes.values())
