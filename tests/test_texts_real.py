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
