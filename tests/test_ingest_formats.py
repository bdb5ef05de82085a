"""COCO, VOC, DOTA, YOLO and YOLO-OBB readers on seeded datasets: the stored coordinates
(read back from DuckDB), the split, the class map, and every edge case's quarantine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from narrator.ingest import load_config, read_dataset
from narrator.ingest.classmap import ClassEntry, builtin_class_maps, load_class_map
from narrator.ingest.rle import counts_from_string, decode, encode
from tests.data_gen.check import ingest_and_check
from tests.data_gen.coco_voc import coco_dataset, voc_dataset
from tests.data_gen.dota_yolo import dota_dataset, yolo_dataset


def test_coco_splits_rle_zero_based_ids_and_edge_cases(tmp_path: Path) -> None:
    exp = coco_dataset(tmp_path / "d")
    result = ingest_and_check(tmp_path / "d", exp, "coco")
    assert any("differ" in w for w in result.warnings)          # .jpg names, .tif files
    assert any("annotation-only" in w for w in result.warnings)  # absent.jpg
    assert result.unknown_classes == {}


@pytest.mark.parametrize("merged", [False, True])
def test_voc_inclusive_corners_robndbox_and_edge_cases(tmp_path: Path, merged: bool) -> None:
    exp = voc_dataset(tmp_path / "d", merged=merged)
    ingest_and_check(tmp_path / "d", exp, "voc", 1e-9)


def test_voc_pixel_convention_options(tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_text(
        "<annotation><filename>a.png</filename><size><width>20</width><height>20</height>"
        "</size><object><name>ship</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>10</xmax>"
        "<ymax>5</ymax></bndbox></object></annotation>")
    boxes = {}
    for convention in ("inclusive-1", "inclusive-0", "continuous"):
        (tmp_path / "narrator.yaml").write_text(f"voc_pixels: {convention}\n")
        obj = read_dataset(load_config(tmp_path)).bundles[0].objects[0]
        boxes[convention] = (obj.x0, obj.y0, obj.x1, obj.y1)
    assert boxes == {"inclusive-1": (0, 1, 10, 5), "inclusive-0": (1, 2, 11, 6),
                     "continuous": (1, 2, 10, 5)}


def test_dota_polygons_angles_headers_and_edge_cases(tmp_path: Path) -> None:
    exp = dota_dataset(tmp_path / "d")
    result = ingest_and_check(tmp_path / "d", exp, "dota", 1e-9)
    scene = result.bundles[0].scene
    assert scene.gsd_m == 0.5 and scene.platform == "GF-3"  # from the header lines


@pytest.mark.parametrize("obb", [False, True])
def test_yolo_and_yolo_obb(tmp_path: Path, obb: bool) -> None:
    exp = yolo_dataset(tmp_path / "d", obb=obb)
    result = ingest_and_check(tmp_path / "d", exp, "yolo-obb" if obb else "yolo",
                              class_map="sar-aircraft")
    assert {"ship", "aircraft"} <= result.declared


def test_unknown_classes_are_kept_verbatim_and_reported(tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_text(
        "<annotation><filename>a.png</filename><size><width>20</width><height>20</height>"
        "</size>" + "".join(
            f"<object><name>{n}</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax>"
            "<ymax>5</ymax></bndbox></object>" for n in ("A330", "Ship", "dredger", "dredger"))
        + "</annotation>")
    result = read_dataset(load_config(tmp_path, class_map="sar-aircraft"))
    objs = sorted((o.category, o.fine_type, o.source_category) for o in result.bundles[0].objects)
    assert objs == [("aircraft", "A330", "A330"), ("dredger", None, "dredger"),
                    ("dredger", None, "dredger"), ("ship", None, "Ship")]
    assert result.unknown_classes == {"dredger": 2}
    assert any("'dredger' (2)" in w for w in result.warnings)


def test_rle_matches_pycocotools_strings() -> None:
    # strings produced by pycocotools 2.0 mask.encode for these masks (column-major runs)
    row = np.array([[1, 1, 1, 1, 1, 0, 1, 0]], dtype=bool)
    col = np.array([[0, 0], [0, 0], [0, 1], [0, 1], [0, 0]], dtype=bool)
    assert encode(row)["counts"] == "051L0" and encode(col)["counts"] == "721"
    assert (decode({"size": [1, 8], "counts": "051L0"}) == row).all()
    assert (decode({"size": [5, 2], "counts": "721"}) == col).all()
    assert counts_from_string("051L0") == [0, 5, 1, 1, 1]
    rng = np.random.default_rng(0)
    for _ in range(50):
        mask = rng.random(tuple(rng.integers(1, 20, 2))) < rng.random()
        assert (decode(encode(mask)) == mask).all()
        assert (decode(encode(mask, compress=False)) == mask).all()


def test_unparseable_label_file_is_an_error_and_the_others_are_read(tmp_path: Path) -> None:
    exp = yolo_dataset(tmp_path / "d")
    (tmp_path / "d" / "labels" / "train" / "zz.txt").write_bytes(b"\xff\xfe\x00garbage")
    result = read_dataset(load_config(tmp_path / "d", fmt="yolo"))
    assert [Path(e.path).name for e in result.file_errors] == ["zz.txt"]
    assert "not UTF-8" in result.file_errors[0].reason
    assert sum(len(b.objects) for b in result.bundles) == len(exp.objects)


def test_every_builtin_class_map_loads() -> None:
    maps = builtin_class_maps()
    assert {"ssdd", "hrsid", "sar-aircraft", "sardet-100k", "rsdd-sar"} <= set(maps)
    for name in maps:
        cm = load_class_map(name)
        assert cm.entries or cm.mask_classes, name
    cm = load_class_map("SAR-AIRcraft")
    assert cm.lookup("A320/321") == ClassEntry("aircraft", "A320/321")
    assert cm.lookup("boeing_737") == ClassEntry("aircraft", "Boeing 737")
    assert load_class_map("sen1floods11").mask_nodata == -1
