"""Texts of the shared real samples as a user drops them (skipped when the data is absent):
Sen1Floods11's label raster gives water-share texts, Umbra's bare GeoTIFF metadata and geo
texts, and no text says "no annotated targets"."""

from __future__ import annotations

import pytest

from narrator.caption.rules import RuleCaptioner
from narrator.facts import shard_facts
from narrator.ingest import load_config, read_dataset
from narrator.vqa import VQAEngine
from tests.conftest import REPO

DATA = REPO.parent / "shared" / "data"
if not DATA.is_dir():
    DATA = __import__("pathlib").Path("/work/shared/data")


def _texts(name: str) -> tuple[str, list[str], dict]:
    folder = DATA / name
    if not folder.is_dir():
        pytest.skip(f"{folder} absent")
    result = read_dataset(load_config(folder))
    facts = shard_facts(result.bundles, result.vocabulary)
    rows = VQAEngine().rows_many(facts)
    caps = [c["text"] for f in facts for c in RuleCaptioner().rows(f)]
    return result.format, [f"{r['question']} {r['answer']}" for r in rows] + caps, facts[0]


def test_sen1floods11_label_raster_gives_water_share() -> None:
    fmt, texts, facts = _texts("sen1floods11")
    assert fmt == "masks"
    assert round(facts["land_cover"]["water"] * 100) == 27  # 70,035 of 262,045 valid pixels
    assert facts["geo"]["polarization"] == "VV+VH" and facts["geo"]["country"] == "Spain"
    assert any("27% covered by water" in t for t in texts)
    assert any("pixel spacing" in t for t in texts)
    assert not any("no annotated targets" in t or "resolution" in t for t in texts)


def test_umbra_bare_geotiff_gives_geo_texts() -> None:
    fmt, texts, facts = _texts("umbra")
    assert fmt == "images"
    geo = facts["geo"]
    assert geo["country"] == "Vanuatu" and geo["admin_region"] == "Tafea"
    assert 500 <= geo["island_km2"] <= 700  # Tanna: about 550 km2
    assert any("Vanuatu" in t for t in texts)
    assert not any("no annotated targets" in t for t in texts)
    # the 1.2 km clip of Mount Yasur's crater is land; the sea is about 3 km east of it
    assert geo["surface"] == "land" and 2 <= geo["coast_km"] <= 4
    assert any("land area near the sea, about 3 km from the coast" in t for t in texts)
    assert any("The sea lies outside the image, about 3 km" in t for t in texts)
    assert not any("land and sea" in t.lower() for t in texts)


def test_umbra_coast_answers_match_an_independent_recount() -> None:
    """The coast distance and 'land near the sea' answers, recomputed by the checker from
    the raster centre (tests/vqa_checks.py), not from SceneFacts."""
    folder = DATA / "umbra"
    if not folder.is_dir():
        pytest.skip(f"{folder} absent")
    from types import SimpleNamespace

    from tests.vqa_checker import Checker

    result = read_dataset(load_config(folder))
    facts = shard_facts(result.bundles, result.vocabulary)
    rows = VQAEngine().rows_many(facts)
    scene = SimpleNamespace(center=(facts[0]["geo"]["center_lon"], facts[0]["geo"]["center_lat"]))
    checker = Checker({}, {})
    coast = [r for r in rows if r["task"] == "geo" and r["template_id"].startswith(
        ("coast", "surface"))]
    assert len(coast) == 2
    assert [checker._coast(r, scene, r["params"]) if r["template_id"].startswith("coast")
            else checker._surface(r, scene, r["params"]) for r in coast] == [None, None]
    wrong = dict(coast[0], answer="About 9 km; the scene is land near the sea.")
    assert checker._coast(wrong, scene, wrong["params"]) is not None
