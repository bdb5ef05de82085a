"""Datasets as a user drops them: label rasters found by name and paired with their images
(footprint GeoJSON beside them not taken for labels), VV/VH band names as polarization, a
folder of bare GeoTIFFs detected as images with geo facts, plain PNG chips not."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from narrator.errors import ConfigError, FormatNotDetected
from narrator.facts import shard_facts
from narrator.ingest import load_config, read_dataset, reader_for
from narrator.vqa import VQAEngine
from tests.data_gen.common import write_geotiff, write_png

#: 10 m pixels near Valencia, Spain (EPSG:4326, 9e-5 degrees)
T = from_origin(-0.78, 38.13, 9e-5, 9e-5)


def _flood_dataset(root: Path, rng: np.random.Generator, n: int = 3) -> list[float]:
    """Sen1Floods11's layout: S1/<key>_S1Hand.tif (VV, VH), Labels/<key>_LabelHand.tif
    (-1 nodata, 0 dry, 1 water) and an event-footprint GeoJSON; returns the water shares."""
    shares = []
    for i in range(n):
        key = f"Spain_{1000 + i}"
        (root / "S1").mkdir(parents=True, exist_ok=True)
        (root / "Labels").mkdir(exist_ok=True)
        with rasterio.open(root / "S1" / f"{key}_S1Hand.tif", "w", driver="GTiff", width=32,
                           height=32, count=2, dtype="float32", crs="EPSG:4326",
                           transform=T) as dst:
            dst.write(rng.normal(-15, 3, (2, 32, 32)).astype("float32"))
            dst.descriptions = ("VV", "VH")
        label = (rng.random((32, 32)) < 0.1 + 0.3 * i).astype("int16")
        label[0, :4] = -1
        with rasterio.open(root / "Labels" / f"{key}_LabelHand.tif", "w", driver="GTiff",
                           width=32, height=32, count=1, dtype="int16", crs="EPSG:4326",
                           transform=T) as dst:
            dst.write(label, 1)
        valid = label != -1
        shares.append(float((label[valid] == 1).sum() / valid.sum()))
    footprint = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"location": "Spain", "s1_date": "2019-09-17"},
        "geometry": {"type": "Polygon", "coordinates": [[[-1, 38], [0, 38], [0, 39],
                                                         [-1, 39], [-1, 38]]]}}]}
    (root / "Sen1Floods11_Metadata.geojson").write_text(json.dumps(footprint))
    return shares


def test_label_rasters_pair_with_images(tmp_path: Path) -> None:
    shares = _flood_dataset(tmp_path / "sen1floods11", np.random.default_rng(3))
    config = load_config(tmp_path / "sen1floods11")
    assert reader_for(config).name == "masks"  # not the footprint GeoJSON
    result = read_dataset(config)
    assert len(result.bundles) == 3 and not result.quarantine
    facts = shard_facts(result.bundles, result.vocabulary)
    for doc in facts:
        assert doc["geo"]["polarization"] == "VV+VH"
        assert doc["geo"]["country"] == "Spain"
    got = sorted(round(f["land_cover"]["water"], 6) for f in facts)
    assert got == sorted(round(s, 6) for s in shares)
    rows = VQAEngine().rows_many(facts)
    assert any("covered by water" in r["answer"] for r in rows)
    assert not any("no annotated targets" in r["answer"] for r in rows)


def test_format_masks_without_masks_says_what_it_needs(tmp_path: Path) -> None:
    write_png(tmp_path / "d" / "a.png", 8, 8, np.random.default_rng(0))
    with pytest.raises(ConfigError, match="masks:"):
        reader_for(load_config(tmp_path / "d", fmt="masks"))


def test_bare_geotiffs_are_images_and_pngs_are_not(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    for i in range(2):
        write_geotiff(tmp_path / "geo" / f"chip_{i}.tif", 16, 16, rng, "EPSG:4326", T)
    assert reader_for(load_config(tmp_path / "geo")).name == "images"
    result = read_dataset(load_config(tmp_path / "geo" / "chip_0.tif"))
    assert [b.scene.file_name for b in result.bundles] == ["chip_0.tif"]
    write_png(tmp_path / "png" / "a.png", 16, 16, rng)
    with pytest.raises(FormatNotDetected):
        reader_for(load_config(tmp_path / "png"))
