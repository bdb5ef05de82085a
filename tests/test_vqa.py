"""The VQA engine, checked by tests/vqa_checker.py against the raw annotations."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from narrator.errors import ConfigError
from narrator.facts import shard_facts
from narrator.ingest import load_config, read_dataset
from narrator.vqa import TASKS, VQAEngine, VQAOptions, load_templates, yes_no_balance
from narrator.vqa.engine import _normalised
from tests.vqa_checker import Checker, load_raw
from tests.vqa_scenes import write_scenes


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """150 edge-case scenes: raw files, their facts (in shards of 37) and a checker."""
    root = write_scenes(tmp_path_factory.mktemp("vqa") / "data", n_scenes=150, seed=5)
    result = read_dataset(load_config(root))
    facts = []
    for i in range(0, len(result.bundles), 37):
        facts += shard_facts(result.bundles[i:i + 37], result.vocabulary)
    files = {b.scene.scene_id: b.scene.file_name for b in result.bundles}
    return {"root": root, "facts": facts, "checker": Checker(load_raw(root), files),
            "vocabulary": result.vocabulary}


def _rows(facts: list[dict], **kwargs: Any) -> list[dict[str, Any]]:
    options = kwargs.pop("options", None) or VQAOptions()
    return VQAEngine(options=options, **kwargs).rows_many(facts)


@pytest.mark.parametrize("style", ["generic", "sarlang", "sarchat"])
def test_checker_finds_no_wrong_answer(generated: dict, style: str) -> None:
    # geo/metadata families need georeferenced rasters (tests/test_texts_real.py), counts per
    # fine type a fine-typed dataset (tests/test_fine_types.py)
    families = {f.id for f in load_templates().families.values()
                if style in f.styles and f.task not in ("geo", "metadata")
                and f.id != "count_fine"}
    seen: Counter[str] = Counter()
    for seed, class_list in ((0, False), (1, True), (2, False)):
        # balancing off: it drops the fixture's one-location geo families (tested below)
        rows = _rows(generated["facts"], seed=seed, style=style,
                     options=VQAOptions(class_list=class_list, max_answer_share=1.0))
        assert generated["checker"].check(rows) == []
        seen.update(r["template_id"].rsplit(".v", 1)[0] for r in rows)
    # every family of the style was exercised, so the zero above covers all of them
    assert {f for f in families if seen[f] >= 3} == families, seen


def test_checker_catches_wrong_answers(generated: dict) -> None:
    """Give rows the answer of another row of the same family: the checker flags them."""
    rng = random.Random(0)
    for style in ("generic", "sarchat"):
        rows = _rows(generated["facts"], seed=3, style=style)
        by_family: dict[str, list[dict]] = {}
        for r in rows:
            by_family.setdefault(r["template_id"], []).append(r)
        flagged: Counter[str] = Counter()
        mutated = []
        for tid, group in by_family.items():
            for r in group:
                others = [o["answer"] for o in group if o["answer"] != r["answer"]]
                if others:
                    mutated.append(r | {"answer": rng.choice(others)})
        errors = generated["checker"].check(mutated)
        for e in errors:
            flagged[e.split(" ", 1)[0]] += 1
        assert len(errors) >= 0.97 * len(mutated)
        assert set(flagged) == {r["template_id"] for r in mutated}


def test_yes_no_balance_and_forced_negatives(generated: dict) -> None:
    for style in ("generic", "sarlang", "sarchat"):
        rows = _rows(generated["facts"], seed=4, style=style)
        balance = yes_no_balance(rows)
        assert balance["yes"] > 50 and 0.45 <= balance["yes_share"] <= 0.55, balance
        no_cats = {r["params"]["category"] for r in rows if r["params"]["answer_key"] == "no"}
        assert len(no_cats) >= 4  # negatives drawn from many absent categories


def test_rows_carry_task_params_and_template(generated: dict) -> None:
    templates = load_templates()
    for r in _rows(generated["facts"][:40], seed=0, style="sarchat"):
        family = templates.families[r["template_id"].rsplit(".v", 1)[0]]
        assert r["task"] == family.task and r["task"] in TASKS
        assert r["template_id"] == f"{family.id}.v{family.version}"
        assert r["template_version"] == family.version and r["style"] == "sarchat"
        assert json.loads(json.dumps(r["params"])) == r["params"] and "answer_key" in r["params"]


def test_same_seed_same_rows_other_seed_other_rows(generated: dict) -> None:
    facts = generated["facts"][:60]
    a, b = _rows(facts, seed=7), _rows(facts, seed=7)
    c = _rows(facts, seed=8)
    assert a == b
    assert [r["question"] for r in a] != [r["question"] for r in c]
    assert len({r["qa_id"] for r in a}) == len(a)


def test_caps_quotas_and_no_repeated_questions(generated: dict) -> None:
    options = VQAOptions.from_overrides({"max_per_scene": 7, "quota.presence": 2,
                                         "quota.count": 1})
    rows = _rows(generated["facts"], seed=1, options=options)
    per_scene = Counter(r["scene_id"] for r in rows)
    per_task = Counter((r["scene_id"], r["task"]) for r in rows)
    assert max(per_scene.values()) == 7
    assert max(n for (_, t), n in per_task.items() if t == "presence") == 2
    assert max(n for (_, t), n in per_task.items() if t == "count") == 1
    default = _rows(generated["facts"], seed=1)
    assert max(Counter(r["scene_id"] for r in default).values()) <= 12
    for scene in per_scene:
        questions = [_normalised(r["question"]) for r in default if r["scene_id"] == scene]
        assert len(questions) == len(set(questions))
    # geo and metadata tasks need georeferenced rasters (tests/test_texts_real.py)
    assert len(Counter(r["task"] for r in default)) == len(TASKS) - 2


def test_class_list_prefix(generated: dict) -> None:
    rows = _rows(generated["facts"][:5], style="sarlang", options=VQAOptions(class_list=True))
    vocab = ", ".join(generated["vocabulary"])
    assert all(r["question"].startswith(f"The classes are: {vocab}. ") for r in rows)


def test_target_filters_are_configurable(generated: dict) -> None:
    def referred(options: VQAOptions) -> int:
        rows = _rows(generated["facts"], seed=2, options=options)
        return sum(r["task"] in ("region_class", "grounding", "position") for r in rows)

    assert referred(VQAOptions(min_rel_area=1.0)) == 0
    assert referred(VQAOptions()) > referred(VQAOptions(min_side_px=12.0)) > 0
    wide = VQAOptions(allow_border=True, max_aspect=1e9)
    facts = generated["facts"]
    border = {o["object_id"] for f in facts for o in f["objects"] if o["border"]}
    ids = {r["params"].get("object_id") for r in _rows(facts, seed=2, options=wide)}
    assert ids & border  # allowed now, never by default
    assert not {r["params"].get("object_id") for r in _rows(facts, seed=2)} & border


def test_bad_options_and_templates_raise_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown vqa option"):
        VQAOptions.from_overrides({"nope": 1})
    with pytest.raises(ConfigError, match="unknown task"):
        VQAOptions.from_overrides({"quota.weather": 1})
    with pytest.raises(ConfigError, match="unknown style"):
        VQAEngine(style="fancy")
    (tmp_path / "bad.yaml").write_text(
        "families:\n  x:\n    task: presence\n    version: 1\n    answer: presence\n"
        "    questions: ['Is there {colour}?']\n    answers: {default: 'Yes.'}\n")
    # the slots a family may use are its answer function's (no global list)
    with pytest.raises(ConfigError, match=r"bad\.yaml: family x.*'presence'.*style generic\)"
                                          r".*question uses slot \{colour\}"):
        load_templates(tmp_path)
    (tmp_path / "bad.yaml").write_text(
        "families:\n  x:\n    task: weather\n    version: 1\n"
        "    questions: ['Is it raining?']\n    answers: {default: 'No.'}\n")
    with pytest.raises(ConfigError, match="not one of"):
        load_templates(tmp_path)


def test_near_duplicates_and_presence_without_negatives(generated: dict) -> None:
    facts = generated["facts"]
    options = VQAOptions.from_overrides({"max_per_scene": 60, "quota.dominant_class": 2})
    rows = _rows(facts, seed=0, options=options)
    main = Counter(r["scene_id"] for r in rows if r["task"] == "dominant_class")
    # the main category is asked once per scene, plainly or with candidates, never both
    assert max(main.values()) == 1
    assert len(main) == sum(1 for f in facts if f["dominant"])
    full = {f["scene_id"] for f in facts if not f["absent"] and f["present"]}
    assert full  # scenes holding every category: no forced negative, so no presence at all
    assert not [r for r in rows if r["scene_id"] in full and r["task"] == "presence"]
