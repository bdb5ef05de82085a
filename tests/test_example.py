"""The synthetic example dataset: real GeoTIFFs, SAR tags, bright targets, masks, COCO."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import rasterio

from narrator.example import CATEGORIES, write_example


def test_example_is_deterministic(tmp_path: Path) -> None:
    a = write_example(tmp_path / "a", n_scenes=3, size=128, seed=3)
    b = write_example(tmp_path / "b", n_scenes=3, size=128, seed=3)
    for rel in ("annotations/train.json", "narrator.yaml"):
        assert (a / rel).read_text() == (b / rel).read_text()
    for img in (a / "images").iterdir():
        with rasterio.open(img) as x, rasterio.open(b / "images" / img.name) as y:
            assert np.array_equal(x.read(), y.read())


def test_example_scenes_look_like_sar(example_dir: Path) -> None:
    coco = json.loads((example_dir / "annotations" / "train.json").read_text())
    assert [c["name"] for c in coco["categories"]] == CATEGORIES
    image = coco["images"][0]
    with rasterio.open(example_dir / "images" / image["file_name"]) as src:
        assert src.crs.to_epsg() in (32651, 32631, 32648, 32615)
        assert src.transform.a > 0 and src.transform.e < 0
        tags = src.tags()
        assert {"PLATFORM", "BAND", "POLARIZATION", "INCIDENCE_ANGLE"} <= set(tags)
        amp = src.read(1).astype(float)
    inside = np.zeros(amp.shape, bool)
    for ann in coco["annotations"]:
        if ann["image_id"] == image["id"]:
            x, y, w, h = (int(round(v)) for v in ann["bbox"])
            inside[y + h // 3:y + 2 * h // 3, x + w // 3:x + 2 * w // 3] = True
    assert inside.any()
    assert amp[inside].mean() > 2 * amp[~inside].mean()  # bright returns where targets are
    # speckle: the background is not flat
    assert amp[~inside].std() > 5


def test_example_masks_match_images(example_dir: Path) -> None:
    for img in sorted((example_dir / "images").glob("*.tif")):
        with rasterio.open(img) as a, rasterio.open(
                example_dir / "masks" / f"{img.stem}_landcover.tif") as m:
            assert (a.width, a.height, a.crs, a.transform) == (m.width, m.height, m.crs,
                                                               m.transform)
            assert set(np.unique(m.read(1))) <= {1, 2, 3, 4}
