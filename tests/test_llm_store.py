"""Journals, the call snapshot, folding into llm_calls, and SAR quicklooks."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from narrator.llm import cache as llm_cache
from narrator.errors import InputError, StoreError
from narrator.llm.cache import CallCache, Snapshot
from narrator.llm.journal import JournalWriter, journal_path, leftover_journals, read_journal
from narrator.llm.quicklook import quicklook_data_url, quicklook_png, stretch, to_db
from narrator.store import Store
from tests.conftest import SHARED_DATA


def _row(key: str, status: str = "succeeded", text: str = '{"a": 1}') -> dict[str, Any]:
    return {"call_key": key, "model": "openai:m", "prompt_id": "p", "prompt_hash": "h",
            "request": {"body": {"messages": []}}, "status": status,
            "response": {"choices": [{"message": {"content": text}, "finish_reason": "stop"}]}
            if status != "error" else None,
            "parsed": None, "error": None if status != "error" else "HTTP 503",
            "finish_reason": "stop", "latency_s": 0.1, "prompt_tokens": 5,
            "completion_tokens": 2, "created_at": "2026-01-01T00:00:00+00:00"}


def test_journal_survives_a_line_cut_short(tmp_path: Path) -> None:
    path = journal_path(tmp_path / "n.duckdb", "shard/0")
    assert path.name == "shard_0.jsonl"
    with JournalWriter(path) as w:
        w.write(_row("a" * 32))
    with open(path, "a") as f:
        f.write('{"call_key": "bbbb", "mod')  # a SIGKILL in the middle of a write
    with JournalWriter(path) as w:  # a retried task appends to the same journal
        w.write(_row("c" * 32))
    assert [r["call_key"] for r in read_journal(path)] == ["a" * 32, "c" * 32]
    assert leftover_journals(tmp_path / "n.duckdb") == [path]


def test_fold_snapshot_and_cache_lookups(tmp_path: Path) -> None:
    db = tmp_path / "n.duckdb"
    keys = [f"{i:032x}" for i in range(50)]
    with JournalWriter(journal_path(db, "s1")) as w:
        for k in keys[:40]:
            w.write(_row(k))
    with JournalWriter(journal_path(db, "s2")) as w:
        for k in keys[40:]:
            w.write(_row(k, "error"))
        w.write(_row(keys[0], "error"))  # a later error row must not replace a success
    with Store(db) as store:
        snapshot = llm_cache.prepare(store)  # replays both journals, deletes them
        assert leftover_journals(db) == []
        assert llm_cache.call_counts(store) == {"succeeded": 40, "error": 10}
        llm_cache.upsert_calls(store, [_row(keys[45])])  # a rerun made it: success replaces error
        assert llm_cache.call_counts(store) == {"succeeded": 41, "error": 9}
        with store.transaction(), pytest.raises(StoreError, match="outside a transaction"):
            llm_cache.fold_journals(store, [])
        row = store.query("SELECT request, created_at FROM llm_calls LIMIT 1")[0]
        assert row["request"] == {"body": {"messages": []}} and row["created_at"].year == 2026
    snap = Snapshot(snapshot)
    assert len(snap) == 40 and snap.get(keys[39])["response"]["choices"]
    assert snap.get(keys[45]) is None and snap.get("f" * 32) is None
    cache = CallCache(snapshot)
    cache.add(_row("e" * 32, "error"))
    assert cache.get(keys[3]) is not None and cache.get("e" * 32) is None


def test_empty_snapshot(tmp_path: Path) -> None:
    with Store(tmp_path / "n.duckdb") as store:
        path = llm_cache.prepare(store)
    assert CallCache(path).get("0" * 32) is None and len(CallCache(path)) == 0


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def _png_pixels(png: bytes) -> np.ndarray:
    width, height = _png_size(png)
    idat = png[png.index(b"IDAT") + 4:png.index(b"IEND") - 8]
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, width + 1)
    return rows[:, 1:]


def test_quicklook_of_amplitude_geotiff_is_bounded_stretched_and_cached(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    amp = (rng.gamma(1.0, 20.0, (300, 500)) + 1).astype(np.uint16)
    amp[100:110, 200:210] = 4000  # a bright target
    path = tmp_path / "scene.tif"
    with rasterio.open(path, "w", driver="GTiff", width=500, height=300, count=1,
                       dtype="uint16", crs="EPSG:32633",
                       transform=from_origin(500000, 4000000, 1, 1)) as dst:
        dst.write(amp, 1)
    cache = tmp_path / "ql"
    png = quicklook_png(path, max_size=128, cache_dir=cache)
    assert _png_size(png) == (128, 77)
    pixels = _png_pixels(png)
    assert pixels.min() == 0 and pixels.max() == 255 and 60 < pixels.mean() < 200
    assert pixels[26:28, 51:53].min() == 255  # the target stays bright
    assert len(list(cache.glob("*.png"))) == 1
    path.write_bytes(b"not a tiff any more")  # a changed file is not served from the cache
    with pytest.raises(InputError, match="cannot read"):
        quicklook_png(path, max_size=128, cache_dir=cache)
    with pytest.raises(InputError, match="no image"):
        quicklook_data_url(tmp_path / "missing.tif")


def test_db_input_and_constant_images() -> None:
    db = np.array([[-25.0, -5.0], [-15.0, np.nan]])
    assert np.array_equal(to_db(db, "auto")[:, 0], db[:, 0])  # negative floats: dB already
    assert to_db(np.array([[10.0]]), "amplitude")[0, 0] == pytest.approx(20.0)
    assert to_db(np.array([[10.0]]), "intensity")[0, 0] == pytest.approx(10.0)
    assert set(np.unique(stretch(np.full((4, 4), 3.0)))) == {128}
    assert stretch(np.full((2, 2), np.nan)).max() == 0


@pytest.mark.skipif(not (SHARED_DATA / "sen1floods11").exists(), reason="no shared data")
def test_quicklook_of_real_sentinel1_db_chip(tmp_path: Path) -> None:
    chip = next((SHARED_DATA / "sen1floods11" / "sample" / "S1").glob("*_S1Hand.tif"))
    url = quicklook_data_url(chip, max_size=256, cache_dir=tmp_path)
    import base64

    png = base64.b64decode(url.split(",", 1)[1])
    assert _png_size(png) == (256, 256) and _png_pixels(png).std() > 20
