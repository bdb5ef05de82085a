"""Exports a trainer can use as they are: generated in one folder, exported and loaded from
another, every split loads with HF ``datasets``, every image opens in PIL as 8-bit, float and
uint16 SAR become visible previews, a missing image is a warning with a count."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from narrator.export import ExportOptions, Filters, export
from narrator.export.images import write_png
from narrator.export.splits import SplitConfig
from narrator.store import Store
from tests.conftest import SHARED_DATA
from tests.test_export import build_db

datasets = pytest.importorskip("datasets")


@pytest.fixture(scope="module")
def moved_db(example_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database built in the example's parent folder from the relative path ``data``
    (its image paths are relative to that folder, as ``narrator generate data`` stores
    them), read from elsewhere by absolute path."""
    here = os.getcwd()
    os.chdir(example_dir.parent)
    try:
        db = build_db(Path("relative.duckdb"), Path(example_dir.name))
        with Store(db, read_only=True) as store:
            stored = store.query("SELECT image_path FROM scenes LIMIT 1")[0]["image_path"]
        assert not Path(stored).is_absolute()
        return example_dir.parent / db
    finally:
        os.chdir(here)


def _export(db: Path, fmt: str, out: Path, **options: object):
    with Store(db, read_only=True) as store:
        return export(store, fmt, out, ExportOptions(**options))  # type: ignore[arg-type]


def _open_8bit(path: str, base: Path) -> None:
    with Image.open(base / path) as img:
        assert img.mode == "L" and np.asarray(img).dtype == np.uint8
        assert np.asarray(img).std() > 5  # not a black or saturated frame


@pytest.mark.parametrize("fmt", ["jsonl", "sharegpt", "llava", "parquet"])
def test_each_split_loads_with_datasets_and_its_images_open(
        fmt: str, moved_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # not the folder generate ran in
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    out = tmp_path / "out" / {"jsonl": "t.jsonl", "parquet": "t.parquet"}.get(fmt, "t")
    result = _export(moved_db, fmt, out, images="png")
    assert result.images_missing == 0 and result.images_written
    files = {p.stem.rsplit("_", 1)[-1]: p for p in out.parent.rglob(f"*{out.suffix or '.json'}")
             if p.name != "dataset_info.json"}
    assert set(files) == {s for s, n in result.splits.items() if n}
    loader = "parquet" if fmt == "parquet" else "json"
    loaded = datasets.load_dataset(loader, data_files={k: str(v) for k, v in files.items()},
                                   cache_dir=str(tmp_path / "hf"))
    assert {k: v.num_rows for k, v in loaded.items()} == \
        {s: n for s, n in result.splits.items() if n}
    column = {"jsonl": "image", "llava": "image"}.get(fmt, "images")
    images = set()
    for split in loaded.values():
        for value in split[column]:
            images.update(value if isinstance(value, list) else [value])
    assert images and all(Path(p).is_absolute() and p.endswith(".png") for p in images)
    for path in images:
        _open_8bit(path, Path("/"))
    if fmt == "jsonl":  # one schema: VQA pairs and captions side by side
        types = {t for split in loaded.values() for t in split["type"]}
        assert types == {"vqa", "caption"}


def test_relative_paths_start_at_the_export_folder(moved_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "sg"
    _export(moved_db, "sharegpt", out, images="png", paths="relative")
    info = json.loads((out / "dataset_info.json").read_text())
    for entry in info.values():
        for record in json.loads((out / entry["file_name"]).read_text()):
            (image,) = record["images"]
            assert image.startswith("images/")
            _open_8bit(image, out)  # LLaMA-Factory: media_dir = dataset_dir = out


def test_sarchat_and_sarlang_images(moved_db: Path, tmp_path: Path) -> None:
    _export(moved_db, "sarlang", tmp_path / "sl", images="png")
    pngs = list((tmp_path / "sl" / "SARimages").glob("*.png"))
    assert pngs
    for path in pngs:
        _open_8bit(str(path), Path("/"))
    _export(moved_db, "sarchat", tmp_path / "sc", images="png", paths="relative")
    train = json.loads((tmp_path / "sc" / "SARChat_total_task_train_modified.json").read_text())
    for record in train:
        _open_8bit(record["images"][0], tmp_path / "sc")


def test_missing_images_are_a_warning_with_a_count(example_dir: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(example_dir.parent)
    db = build_db(tmp_path / "elsewhere.duckdb", Path(example_dir.name))
    monkeypatch.chdir(tmp_path)  # neither here nor beside the database
    result = _export(db, "jsonl", tmp_path / "o.jsonl", single_file=True)
    with Store(db, read_only=True) as store:
        scenes = store.scalar("SELECT count(*) FROM scenes")
    assert result.images_missing == scenes
    assert any(f"{scenes} scene image(s) were not found" in w for w in result.warnings)


def test_float_and_uint16_sar_become_visible_8bit(tmp_path: Path) -> None:
    rasterio = pytest.importorskip("rasterio")
    rng = np.random.default_rng(5)
    linear = rng.gamma(1.0, 0.05, (2, 64, 64)).astype("float32")  # linear power, 2 bands
    linear[:, 20:30, 20:30] *= 50  # a bright target
    amp16 = (rng.gamma(1.0, 300, (1, 64, 64))).astype("uint16")
    amp16[0, :4, :4] = 65535
    for name, arr in (("lin.tif", linear), ("amp16.tif", amp16)):
        src = tmp_path / name
        with rasterio.open(src, "w", driver="GTiff", width=64, height=64, count=arr.shape[0],
                           dtype=arr.dtype) as dst:
            dst.write(arr)
        write_png(src, tmp_path / (name + ".png"))
        with Image.open(tmp_path / (name + ".png")) as img:
            grey = np.asarray(img)
        assert img.mode == "L" and grey.std() > 20
        assert (grey == 255).mean() < 0.1 and (grey == 0).mean() < 0.1  # stretched, not clipped
    dark = np.asarray(Image.open(tmp_path / "lin.tif.png"))
    assert dark[20:30, 20:30].mean() > dark.mean() + 50  # the target stays bright


@pytest.mark.skipif(not (SHARED_DATA / "sen1floods11").exists(), reason="no shared data")
def test_real_sentinel1_db_chip_preview(tmp_path: Path) -> None:
    src = next((SHARED_DATA / "sen1floods11").rglob("*_S1Hand.tif"))
    write_png(src, tmp_path / "s1.png")
    with Image.open(tmp_path / "s1.png") as img:
        grey = np.asarray(img)
    assert img.mode == "L" and grey.shape == (512, 512) and 100 < grey.mean() < 200
    assert grey.std() > 30


@pytest.mark.skipif(not (SHARED_DATA / "sen1floods11").exists(), reason="no shared data")
def test_real_float_scenes_warn_without_png_and_export_8bit_with(tmp_path: Path) -> None:
    """Sen1Floods11's float32 dB chip and int16 label through ingest and export."""
    from narrator.ingest import load_config, read_dataset

    config = load_config(SHARED_DATA / "sen1floods11", None, None)
    ingested = read_dataset(config)
    db = tmp_path / "s1.duckdb"
    with Store(db) as store:
        store.write_ingest(config.name, ingested.bundles, ingested.quarantine)
        store.upsert("captions", [{"caption_id": f"c{i}", "scene_id": b.scene.scene_id,
                                   "kind": "concise", "text": "A SAR image.",
                                   "status": "accepted", "generator": "test",
                                   "template_id": "t", "params": {}}
                                  for i, b in enumerate(ingested.bundles)])
    options = {"splits": SplitConfig((1.0, 0.0, 0.0))}
    plain = _export(db, "llava", tmp_path / "a" / "l.json", **options)
    assert any("not 8-bit" in w for w in plain.warnings)
    png = _export(db, "llava", tmp_path / "b" / "l.json", images="png", **options)
    assert not any("not 8-bit" in w for w in png.warnings)
    for record in json.loads((tmp_path / "b" / "l_train.json").read_text()):
        _open_8bit(record["image"], Path("/"))
