"""SceneFacts, the VQA families and rule captions, checked against the raw annotations."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from narrator.caption import RuleCaptioner
from narrator.facts import scene_facts, shard_facts
from narrator.ids import make_id
from narrator.ingest import load_config, read_dataset
from narrator.records import Object, Region, Scene, SceneBundle
from narrator.vqa import VQAEngine
from tests.vqa_checker import Checker, load_raw


def _scene(objects: list[tuple[str, float, float, float, float]]) -> SceneBundle:
    s = Scene(scene_id="s", dataset="d", file_name="s.tif", image_path=None, width=300,
              height=150, gsd_m=2.0, band="X", platform="TerraSAR-X")
    objs = [Object(make_id(i), "s", c, x0, y0, x1, y1) for i, (c, x0, y0, x1, y1)
            in enumerate(objects)]
    regions = [Region("r1", "s", "water", 30000, 0.7), Region("r2", "s", "built-up", 15000, 0.3)]
    return SceneBundle(s, objs, regions)


def test_positions_sizes_and_counts() -> None:
    facts = scene_facts(_scene([("ship", 0, 0, 10, 10), ("ship", 140, 60, 160, 90),
                                ("car", 290, 140, 300, 150), ("car", 99, 49, 101, 51)]),
                        vocabulary=["car", "ship", "tank"])
    cells = [o["cell"] for o in facts["objects"]]
    # a centre on a one-third line, (100, 50) here, belongs to the cell after the line
    assert cells == ["top left", "center", "bottom right", "center"]
    assert [o["grid"] for o in facts["objects"]] == [1, 5, 9, 5]
    assert facts["counts"] == {"car": 2, "ship": 2} and facts["dominant"] is None
    assert facts["absent"] == ["tank"] and facts["present"] == ["car", "ship"]
    assert facts["objects"][1]["size_m"] == [40.0, 60.0]
    assert facts["objects"][0]["size_class"] == "very small"
    assert facts["dominant_land_cover"] == "water"


def test_vqa_answers_match_raw_annotations(example_dir: Path) -> None:
    """Every answer of every style, recomputed by tests/vqa_checker.py from the COCO files,
    the land-cover masks and the GeoTIFFs' transforms (not from SceneFacts)."""
    result = read_dataset(load_config(example_dir))
    facts = shard_facts(result.bundles, result.vocabulary)
    checker = Checker(load_raw(example_dir),
                      {b.scene.scene_id: b.scene.file_name for b in result.bundles})
    answers: Counter[str] = Counter()
    n_rows = 0
    for style in ("generic", "sarlang", "sarchat"):
        rows = VQAEngine(seed=1, style=style).rows_many(facts)
        assert checker.check(rows) == []
        answers.update(r["params"]["answer_key"] for r in rows)
        n_rows += len(rows)
    assert n_rows > 200
    assert answers["yes"] == answers["no"] > 0  # forced negatives balance presence


def test_vqa_is_deterministic_and_seeded(example_dir: Path) -> None:
    result = read_dataset(load_config(example_dir))
    facts = [scene_facts(b, result.vocabulary) for b in result.bundles]
    a = [r for f in facts for r in VQAEngine(seed=5).rows(f)]
    b = [r for f in facts for r in VQAEngine(seed=5).rows(f)]
    c = [r for f in facts for r in VQAEngine(seed=6).rows(f)]
    assert a == b
    assert [r["question"] for r in a] != [r["question"] for r in c]
    assert all(r["template_id"] == f"{r['template_id'].split('.v')[0]}.v{r['template_version']}"
               for r in a)


def test_rule_captions_state_only_facts() -> None:
    facts = scene_facts(_scene([("ship", 0, 0, 10, 10), ("ship", 140, 60, 160, 90),
                                ("harbor", 200, 100, 290, 140)]), vocabulary=["ship", "harbor"])
    concise, detailed = (r["text"] for r in RuleCaptioner().rows(facts))
    # (v2: paraphrases, target sizes and places; GSD worded as pixel spacing)
    assert concise.startswith(("An X-band SAR image over a mostly water area showing two ships",
                               "X-band SAR view of two ships and one harbor over a mostly water",
                               "Two ships and one harbor are visible", "This X-band SAR scene"))
    assert "a ship about 60 m long in the center of the image" in concise
    assert "a harbor about 180 m long" in concise
    assert "TerraSAR-X" in detailed and "pixel spacing of about 2 m" in detailed
    assert "mostly water (70%), with built-up (30%)" in detailed
    assert "The ships are spread over the top left and the center of the image." in detailed
    assert "The harbor is at the bottom right of the image." in detailed
