"""Screening: claim extraction and checks against SceneFacts; `narrator screen`."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from narrator.caption import RuleCaptioner
from narrator.cli import cli
from narrator.example import write_example
from narrator.facts import scene_facts
from narrator.ingest import load_config, read_dataset
from narrator.generate import commit_result
from narrator.pipeline import GenerateConfig, process_shard
from narrator.screen import extract_claims, screen_text
from narrator.store import Store
from narrator.text import number_word


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    root = write_example(tmp_path_factory.mktemp("screen") / "d", n_scenes=30, size=192, seed=3)
    result = read_dataset(load_config(root))
    return [scene_facts(b, result.vocabulary) for b in result.bundles]


def test_every_rule_caption_passes_screening(scenes: list[dict]) -> None:
    captioner = RuleCaptioner()
    n = 0
    for facts in scenes:
        for row in captioner.rows(facts):
            verdict = screen_text(row["text"], facts)
            assert verdict.ok, (row["text"], verdict.violations)
            assert verdict.claims  # the screener did read something in every caption
            n += 1
    assert n == 60


def _first_count(facts: dict) -> tuple[str, int]:
    return sorted(facts["counts"].items())[0]


def test_injected_errors_are_found_with_their_type_and_span(scenes: list[dict]) -> None:
    rng = random.Random(0)
    captioner = RuleCaptioner()
    checked = 0
    for facts in scenes:
        if not facts["counts"] or not facts["absent"]:
            continue
        text = captioner.detailed_caption(facts)
        cat, n = _first_count(facts)
        noun = captioner.vocab[cat]
        said = f"{number_word(n)} {noun.singular if n == 1 else noun.plural}"
        wrong_n = n + rng.randint(1, 3)
        wrong = f"{number_word(wrong_n)} {noun.plural}"
        absent = captioner.vocab[facts["absent"][0]].plural
        cases = {
            "wrong_count": text.replace(said, wrong, 1),
            "absent_category": text + f" Several {absent} are also visible.",
            "colour_word": text + " The water looks dark blue.",
            "optical_phrase": text + " Clouds cover part of the scene.",
        }
        for kind, bad in cases.items():
            verdict = screen_text(bad, facts)
            types = {v.type for v in verdict.violations}
            assert kind in types, (kind, bad, verdict.violations)
            hit = next(v for v in verdict.violations if v.type == kind)
            assert bad[hit.span[0]:hit.span[1]] == hit.text
        checked += 1
    assert checked >= 10


def test_positions_land_cover_and_sensor_are_checked() -> None:
    facts = {
        "counts": {"ship": 1}, "size": [300, 300],
        "objects": [{"category": "ship", "center": [40.0, 50.0], "box": [30, 45, 50, 55],
                     "rel_area": 200 / 90000}],
        "land_cover": {"water": 0.8, "built-up": 0.2}, "dominant_land_cover": "water",
        "geo": {"band": "C", "polarization": "VV+VH", "platform": "Sentinel-1A", "gsd_m": 10.0},
    }
    good = ("A Sentinel-1 C-band VH image at 10 m resolution: the ship lies at the top left "
            "of the image, and the scene is mostly water (80%).")
    assert screen_text(good, facts).ok
    bad = ("A TerraSAR-X X-band HH image at 1 m resolution: the ship lies at the bottom right "
           "of the image, and the scene is mostly built-up (60%).")
    types = [v.type for v in screen_text(bad, facts).violations]
    assert types.count("wrong_sensor") == 3 and "wrong_resolution" in types
    assert "wrong_position" in types and types.count("wrong_land_cover") >= 2


def test_negations_and_vague_counts() -> None:
    facts = {"counts": {"ship": 4}, "objects": [], "land_cover": {}, "geo": {}}
    assert screen_text("Several ships and no aircraft are visible.", facts).ok
    assert not screen_text("A few ships and two aircraft.", facts).ok
    kinds = {(c.kind, c.subject, c.value) for c in extract_claims("There are no aircraft.")}
    assert ("count", "aircraft", (0, 0, None)) in kinds
    assert not any(k == "present" for k, _, _ in kinds)


def _db_with_facts(tmp_path: Path) -> tuple[Path, list[dict]]:
    root = write_example(tmp_path / "d", n_scenes=4, size=128, seed=8)
    result = read_dataset(load_config(root))
    shard = process_shard(result.bundles, result.vocabulary, GenerateConfig())
    db = tmp_path / "n.duckdb"
    with Store(db) as store:
        store.write_ingest("d", result.bundles, [])
        commit_result(store, shard, "cfg")
    return db, [json.loads(f["facts"]) for f in shard.facts]


def test_screen_command_writes_a_verdict_per_line(tmp_path: Path) -> None:
    db, facts = _db_with_facts(tmp_path)
    good = RuleCaptioner().concise_caption(facts[0])
    lines = [{"scene_id": facts[0]["scene_id"], "text": good},
             {"image": Path(facts[1]["scene_id"]).name, "text": "A green field."},
             {"image": "unknown.tif", "text": "x"}]
    captions = tmp_path / "caps.jsonl"
    captions.write_text("\n".join(json.dumps(x) for x in lines) + "\n{broken\n")
    out = tmp_path / "verdicts.jsonl"
    result = CliRunner().invoke(cli, ["screen", "--db", str(db), "--captions", str(captions),
                                      "--out", str(out)])
    assert result.exit_code == 1, result.output
    verdicts = [json.loads(x) for x in out.read_text().splitlines()]
    assert [v["line"] for v in verdicts] == [1, 2, 3, 4]
    assert verdicts[0]["status"] == "accepted"
    assert verdicts[1]["status"] == "rejected"
    assert "colour_word" in {v["type"] for v in verdicts[1]["violations"]}
    assert [v["status"] for v in verdicts[2:]] == ["unusable", "unusable"]
