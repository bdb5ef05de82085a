"""Fine types (SAR-AIRcraft's class names in a generated fixture) in identification answers,
and catch-all classes ("other") never used as a noun or a reference object."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from narrator.caption.rules import RuleCaptioner
from narrator.facts import shard_facts
from narrator.ingest import load_config, read_dataset
from narrator.vqa import VQAEngine, VQAOptions
from tests.vqa_checker import Checker, load_raw
from tests.vqa_scenes import write_fine_scenes

#: "other" as a noun or reference: "an other", "the other", "any others", "Is the other ..."
OTHER_NOUN = re.compile(r"\bothers?\b(?! types?\b)", re.I)


def _generate(root: Path, class_map: str | None) -> tuple[list[dict], list[str], Checker]:
    write_fine_scenes(root, class_map=class_map)
    result = read_dataset(load_config(root))
    facts = shard_facts(result.bundles, result.vocabulary)
    files = {b.scene.scene_id: b.scene.file_name for b in result.bundles}
    rows = []
    for style in ("generic", "sarlang", "sarchat"):
        rows += VQAEngine(style=style, options=VQAOptions(max_answer_share=1.0)).rows_many(facts)
    captions = [c["text"] for f in facts for c in RuleCaptioner().rows(f)]
    return rows, captions, Checker(load_raw(root), files)


def _texts(rows: list[dict], captions: list[str]) -> list[str]:
    return [t for r in rows for t in (r["question"], r["answer"])] + captions


@pytest.mark.parametrize("class_map", ["sar-aircraft", None])
def test_catch_all_is_never_a_noun(tmp_path: Path, class_map: str | None) -> None:
    rows, captions, checker = _generate(tmp_path / "d", class_map)
    assert checker.check(rows) == []
    bad = [t for t in _texts(rows, captions) if OTHER_NOUN.search(t.replace("another", ""))]
    assert bad == []
    assert any("of another type" in t or "of other types" in t for t in _texts(rows, captions))


def test_fine_types_in_identification_answers(tmp_path: Path) -> None:
    rows, captions, checker = _generate(tmp_path / "d", "sar-aircraft")
    assert any("aircraft of type Boeing 787" in c for c in captions)
    assert checker.check(rows) == []
    ident = [r for r in rows if r["task"] in ("region_class", "dominant_class")]
    fine = [r for r in ident if r["params"].get("answer_key") == "fine"]
    assert len(fine) >= 0.2 * len(ident), (len(fine), len(ident))
    assert any("Boeing 787" in r["answer"] for r in fine)
    assert any("aircraft of another type" in r["answer"] for r in fine)


def test_balancing_keeps_fine_types_and_caps_every_answer(tmp_path: Path) -> None:
    """With balancing on, fine-type answers stay (each type is its own answer) and no
    family of more than a few rows has one answer over 60% of its rows."""
    write_fine_scenes(tmp_path / "d")
    result = read_dataset(load_config(tmp_path / "d"))
    rows = VQAEngine().rows_many(shard_facts(result.bundles, result.vocabulary))
    fine = [r for r in rows if r["params"].get("answer_key") == "fine"]
    assert len({r["answer"] for r in fine}) == 7  # six types and the catch-all
    by_family: dict[str, list[str]] = {}
    for r in rows:
        if r["params"]["answer_key"] not in ("yes", "no"):
            by_family.setdefault(r["template_id"], []).append(r["answer"])
    for family, answers in by_family.items():
        top = max(answers.count(a) for a in set(answers))
        assert len(answers) < 3 or top <= 0.6 * len(answers), family


def test_count_per_fine_type(tmp_path: Path) -> None:
    """'How many A330 aircraft are there in the image?': answered per fine type, checked by
    the independent checker from the raw class names, balanced like the other families, and
    never asked about the catch-all type."""
    rows, _, checker = _generate(tmp_path / "d", "sar-aircraft")
    fine_counts = [r for r in rows if r["template_id"].startswith("count_fine")]
    assert fine_counts and checker.check(fine_counts) == []
    assert {r["params"]["fine_type"] for r in fine_counts} >= {"A330", "Boeing 787"}
    assert all("other" not in r["params"]["fine_type"].lower() for r in fine_counts)
    assert any(r["question"].startswith("How many Boeing 787 aircraft") for r in fine_counts)
    write_fine_scenes(tmp_path / "b")
    result = read_dataset(load_config(tmp_path / "b"))
    rows = VQAEngine().rows_many(shard_facts(result.bundles, result.vocabulary))
    balanced = [r["answer"] for r in rows if r["template_id"].startswith("count_fine")]
    assert balanced
    assert max(balanced.count(a) for a in set(balanced)) <= 0.6 * len(balanced)
