"""COCO ingestion: exact stored coordinates, geo-metadata, masks, quarantine and file errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from shapely import wkb

from narrator.errors import FormatNotDetected
from narrator.ingest import load_config, read_dataset


def test_example_ingests_with_metadata_and_regions(example_dir: Path) -> None:
    result = read_dataset(load_config(example_dir))
    assert result.format == "coco"
    assert len(result.bundles) == 8 and not result.quarantine and not result.file_errors
    coco = json.loads((example_dir / "annotations" / "train.json").read_text())
    ann = coco["annotations"][0]
    image = next(i for i in coco["images"] if i["id"] == ann["image_id"])
    bundle = next(b for b in result.bundles if b.scene.file_name == image["file_name"])
    x, y, w, h = ann["bbox"]
    obj = next(o for o in bundle.objects if o.source_id == str(ann["id"]))
    assert (obj.x0, obj.y0, obj.x1, obj.y1) == (x, y, x + w, y + h)
    assert obj.category == coco["categories"][ann["category_id"] - 1]["name"]
    assert wkb.loads(obj.poly_wkb).bounds == pytest.approx((x, y, x + w, y + h), abs=0.11)
    scene = bundle.scene
    assert scene.split == "train" and scene.crs.startswith("EPSG:326")
    assert scene.gsd_m in (1.0, 3.0, 10.0)
    assert -180 < scene.center_lon < 180 and -90 < scene.center_lat < 90
    assert scene.platform and scene.band in ("C", "X") and scene.polarization
    assert math.isclose(sum(r.fraction for r in bundle.regions), 1.0)


def _write_coco(path: Path, images: list, annotations: list, categories: list | None = None):
    path.write_text(json.dumps({
        "images": images, "annotations": annotations,
        "categories": categories or [{"id": 0, "name": "ship"}],
    }))


def test_bad_records_are_quarantined_and_the_rest_kept(tmp_path: Path) -> None:
    images = [{"id": 1, "file_name": "a.png", "width": 100, "height": 50},
              {"id": 1, "file_name": "dup.png", "width": 10, "height": 10},
              {"id": 2, "file_name": "nosize.png"}]
    anns = [
        {"id": 1, "image_id": 1, "category_id": 0, "bbox": [10, 5, 20, 10]},
        {"id": 2, "image_id": 1, "category_id": 0, "bbox": [90, 40, 20, 20]},   # clipped
        {"id": 3, "image_id": 1, "category_id": 0, "bbox": [200, 5, 20, 10]},  # outside
        {"id": 4, "image_id": 1, "category_id": 0, "bbox": [1, 1, 0, 5]},      # zero width
        {"id": 5, "image_id": 1, "category_id": 9, "bbox": [1, 1, 5, 5]},      # unknown cat
        {"id": 6, "image_id": 1, "category_id": 0, "bbox": [1, "x", 5, 5]},    # bad type
        {"id": 7, "image_id": 1, "category_id": 0, "bbox": [1, float("nan"), 5, 5]},
        {"id": 8, "image_id": 99, "category_id": 0, "bbox": [1, 1, 5, 5]},     # no image
    ]
    _write_coco(tmp_path / "ann.json", images, anns)
    result = read_dataset(load_config(tmp_path / "ann.json"))
    assert len(result.bundles) == 1
    objs = sorted(result.bundles[0].objects, key=lambda o: o.x0)
    assert [(o.x0, o.y0, o.x1, o.y1) for o in objs] == [(10, 5, 30, 15), (90, 40, 100, 50)]
    reasons = sorted(q.error for q in result.quarantine)
    assert len(reasons) == 8
    for needle in ("duplicate image id", "no valid width/height", "outside", "zero or negative",
                   "unknown category_id 9", "non-numeric", "NaN", "unknown image_id 99"):
        assert any(needle in r for r in reasons), needle
    assert all(q.source.endswith("ann.json") for q in result.quarantine)


def test_truncated_file_is_an_error_but_other_files_are_read(tmp_path: Path) -> None:
    _write_coco(tmp_path / "good.json", [{"id": 1, "file_name": "a.png", "width": 8,
                                          "height": 8}], [])
    (tmp_path / "bad.json").write_text('{"images": [{"id": 1, "file_na')
    result = read_dataset(load_config(tmp_path, fmt="coco"))
    assert len(result.bundles) == 1
    assert len(result.file_errors) == 1
    assert "bad.json" in str(result.file_errors[0]) and "not valid JSON" in str(
        result.file_errors[0])


def test_extension_mismatch_resolves_to_the_file_on_disk(tmp_path: Path,
                                                        example_dir: Path) -> None:
    tif = next((example_dir / "images").glob("*.tif"))
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / tif.name).write_bytes(tif.read_bytes())
    _write_coco(tmp_path / "ann.json", [{"id": 1, "file_name": tif.stem + ".jpg",
                                         "width": 1, "height": 1}], [])
    (tmp_path / "narrator.yaml").write_text("images: images\n")
    result = read_dataset(load_config(tmp_path))
    scene = result.bundles[0].scene
    assert scene.image_path.endswith(".tif") and scene.width == 256  # size from the raster
    assert any("differ" in w for s in result.stats for w in s.warnings)


def test_unknown_layout_asks_for_format(tmp_path: Path) -> None:
    (tmp_path / "notes.json").write_text("{}")
    with pytest.raises(FormatNotDetected, match="--format"):
        read_dataset(load_config(tmp_path))
