"""The screener against narrator's own text and the agreed caption semantics (README
"Screening"): every rule caption and templated answer passes on the bundled example and on the
shared real samples; quantities, regions, sizes, metadata, tone and degenerate text are judged
as documented; one vocabulary file serves templates, class maps and the screener."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from narrator.caption import RuleCaptioner
from narrator.caption.hcot import screen_output
from narrator.example import write_example
from narrator.facts import scene_facts
from narrator.ingest import load_config, read_dataset
from narrator.ingest.classmap import builtin_class_maps, canonical_categories, load_class_map
from narrator.pipeline import GenerateConfig, shared_engine
from narrator.screen import Policy, screen_text
from narrator.screen.vocab import default_vocabulary
from narrator.text import default_vocabulary as template_vocabulary
from tests.conftest import SHARED_DATA

ANSWERS = Policy(fluency=False)  # a templated answer may be one word ("Yes.", "3")


def _facts(config_path: Path, fmt: str | None = None, limit: int | None = None,
           class_map: str | None = None) -> list[dict[str, Any]]:
    result = read_dataset(load_config(config_path, fmt, class_map=class_map))
    bundles = result.bundles[:limit] if limit else result.bundles
    return [scene_facts(b, result.vocabulary) for b in bundles]


def _assert_own_text_passes(scenes: list[dict[str, Any]]) -> int:
    captioner = RuleCaptioner()
    cfg = GenerateConfig()
    engine = shared_engine(cfg.families, cfg.seed, cfg.style, cfg.vqa())
    checked = 0
    for facts in scenes:
        for row in captioner.rows(facts):
            verdict = screen_text(row["text"], facts)
            assert verdict.ok, (row["text"], verdict.violations)
            checked += 1
        for row in engine.rows(facts):
            verdict = screen_text(row["answer"], facts, policy=ANSWERS)
            assert verdict.ok, (row["question"], row["answer"], verdict.violations)
            checked += 1
    return checked


def test_rule_captions_and_templated_answers_pass_on_the_example(tmp_path: Path) -> None:
    root = write_example(tmp_path / "ex", n_scenes=25, size=256, seed=7)
    assert _assert_own_text_passes(_facts(root)) > 25 * 10


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data is absent")
def test_rule_captions_and_templated_answers_pass_on_the_shared_real_samples(
        tmp_path: Path) -> None:
    hrsid = SHARED_DATA / "hrsid"
    scenes = _facts(hrsid / "modified_hrsid_annotations/inshore/inshore_test.json", "coco")
    scenes += _facts(hrsid / "modified_hrsid_annotations/offshore/offshore_train.json", "coco",
                     40)
    s1f = SHARED_DATA / "sen1floods11"
    (tmp_path / "s1").mkdir()
    (tmp_path / "s1" / "narrator.yaml").write_text(
        f"name: sen1floods11\nformat: masks\nimages: {s1f / 'sample' / 'S1'}\n"
        f"class_map: sen1floods11\nmasks:\n  dir: {s1f / 'sample' / 'Labels'}\n"
        "  pattern: '{stem}_LabelHand.tif'\n  image_pattern: '{stem}_S1Hand'\n")
    scenes += _facts(tmp_path / "s1")
    scenes += _facts(SHARED_DATA / "umbra" / "files", "images")
    assert any(s["land_cover"] for s in scenes) and max(s["total"] for s in scenes) > 20
    assert _assert_own_text_passes(scenes) > 100 * 10


def _scene(objects: list[tuple[str, float, float, float]], geo: dict | None = None,
           land: dict | None = None, size: int = 1000) -> dict[str, Any]:
    """Facts with objects (category, centre x, centre y as fractions, box side in px)."""
    objs = []
    for cat, fx, fy, side in objects:
        cx, cy = fx * size, fy * size
        objs.append({"category": cat, "center": [cx, cy], "fine_type": None,
                     "box": [cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2],
                     "rel_area": side * side / size ** 2})
    counts: dict[str, int] = {}
    for o in objs:
        counts[o["category"]] = counts.get(o["category"], 0) + 1
    return {"size": [size, size], "objects": objs, "counts": counts, "total": len(objs),
            "land_cover": land or {}, "geo": geo or {}}


#: five ships: four in the lower half (two of them in the bottom-left corner), one top right
FIVE = _scene([("ship", 0.1, 0.9, 20), ("ship", 0.2, 0.8, 20), ("ship", 0.6, 0.7, 30),
               ("ship", 0.45, 0.62, 20), ("ship", 0.85, 0.15, 260)],
              geo={"platform": "Sentinel-1A", "band": "C", "polarization": "VV VH",
                   "gsd_m": 10.0}, land={"water": 0.7, "built-up": 0.3})


@pytest.mark.parametrize(("text", "ok"), [
    ("Five ships are visible.", True),
    ("Several ships are visible.", True),           # 3-7
    ("A dozen ships are visible.", False),          # 12
    ("A few ships are visible.", False),            # 2-4
    ("More than four ships are visible.", True),
    ("About six ships are visible.", True),          # 6 +- 1
    ("At least seven ships are visible.", False),
    ("A large vessel and four smaller ones.", True),  # subgroups add up
    ("A large vessel and three smaller ones.", False),
    ("Four ships lie in the lower half.", True),     # scoped count
    ("Three ships lie in the lower half.", False),
    ("No ships lie in the upper-left quadrant.", True),
    ("No ships lie in the upper half.", False),      # scoped absence
    ("The upper-left quadrant is empty.", True),
    ("All five ships lie in the lower half.", False),  # group claim: every member
    ("Most of the ships lie in the lower half.", True),
    ("Two ships sit in the bottom-left corner.", True),
    ("A large ship sits in the top-right corner.", True),  # 6.8% of the image
    ("The largest ship sits in the lower left.", False),
    ("A ship of about 900 m.", False),
    ("A 2600 m long ship lies in the top right.", True),  # 260 px x 10 m
    ("Sentinel-1 C-band VV image at 10 m resolution.", True),
    ("TerraSAR-X image.", False),
    ("HH-polarized image.", False),
    ("The scene is mostly water.", True),
    ("The scene is mostly built-up.", False),
    ("Patches of vegetation.", False),               # a class the scene does not have
    ("Bright white returns on dark water.", True),   # tone
    ("White hulls on blue water.", False),           # colour of surfaces
    ("Radar penetrates cloud cover, so the ships are visible.", True),
    ("Shadows cast by the late-afternoon sun.", False),
    ("Five ships near Rotterdam.", False),           # no location known: unsupported
    ("Five aircraft are parked.", False),
])
def test_semantics(text: str, ok: bool) -> None:
    verdict = screen_text(text, FIVE)
    assert verdict.ok == ok, [(v.type, v.text, v.expected) for v in verdict.violations]


def test_unsupported_metadata_and_places_are_reported_as_such() -> None:
    bare = _scene([("ship", 0.5, 0.5, 20)])
    verdict = screen_text("A Sentinel-1 VV image of one ship off the coast of Rotterdam.", bare)
    assert {v.type for v in verdict.violations} == {"unsupported_metadata", "unsupported_place"}
    assert {o.claim.kind for o in verdict.unsupported} >= {"platform", "polarization", "place"}
    placed = dict(bare, geo={"place": "Port of Rotterdam", "country": "Netherlands"})
    assert screen_text("One ship off the coast of Rotterdam.", placed).ok
    assert not screen_text("One ship off the coast of Shanghai.", placed).ok


def test_degenerate_text_has_its_own_violation_type() -> None:
    salad = ", ".join(["car, ship"] * 150)
    for text in (salad, "ship", "ship, car, tank, bridge, harbor, ship, car, tank, bridge, "
                                "harbor, ship, car"):
        types = {v.type for v in screen_text(text, FIVE).violations}
        assert "degenerate_text" in types, text


def test_field_text_is_context_and_missing_salient_counts_once() -> None:
    rng = random.Random(0)
    facts = _scene([("ship", rng.random(), rng.random(), 10) for _ in range(3)])
    output = {"concise": "A SAR image of the sea.", "detailed": "Calm, dark water.",
              "fields": {"buildings": "dense buildings along the shore", "water": "none",
                         "terrain": "JSON fields describe the scene"}, "target": None}
    _, violations = screen_output(output, facts)
    # the field words are context: only the unnamed ships count, for the pair and for the
    # detailed caption that must name them itself
    assert sorted(v.type for v in violations) == ["missing_main_category", "missing_salient"]


def test_one_vocabulary_for_templates_class_maps_and_screener() -> None:
    vocab = default_vocabulary()
    nouns = template_vocabulary()
    for cat in set(canonical_categories().values()):
        for word in (nouns[cat].singular, nouns[cat].plural):
            assert cat in vocab.categories_of(word), (cat, word)
    for name in builtin_class_maps():
        cmap = load_class_map(name)
        for entry in cmap.entries.values():
            if entry.fine_type:
                assert entry.fine_type in vocab.fine_category, (name, entry)
    assert canonical_categories().get("harbour") == "harbor"  # an alias in vocabulary.yaml
