"""The real SAR samples in ../shared/data (skipped when that folder is absent): HRSID COCO
and masks, Sen1Floods11 (geographic CRS, water mask, event footprints), Umbra (rotated)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyproj import Geod

from tests.conftest import SHARED_DATA
from tests.data_gen.check import ingest, stored

pytestmark = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data is absent")
HRSID = SHARED_DATA / "hrsid"
S1F = SHARED_DATA / "sen1floods11"


def test_hrsid_coco_both_files_png_for_jpg_and_zero_based_category(tmp_path: Path) -> None:
    db = tmp_path / "n.duckdb"
    result = ingest(HRSID, db, images=HRSID / "data")
    assert result.format == "coco" and not result.file_errors
    stats = {Path(s.source).name: (s.scenes, s.objects, s.quarantined) for s in result.stats}
    # inshore_test: 250 images, 2,523 ships, one of them a degenerate all-zero box
    assert stats == {"inshore_test.json": (250, 2522, 1), "offshore_train.json": (3088, 6113, 0)}
    assert [q.error for q in result.quarantine] == [
        "bbox has zero or negative size: [0.0, 0.0, 0.0, 0.0]"]
    assert any("P0123_4800_5600_4800_5600.jpg -> P0123_4800_5600_4800_5600.png" in w
               for w in result.warnings)
    chips = ("P0123_4800_5600_4800_5600.jpg", "P0135_1800_2600_4800_5600.jpg")
    rows = [r for r in stored(db) if r["file_name"] in chips]
    by_scene = {n: [r for r in rows if r["file_name"] == n] for n in chips}
    assert {n: len(v) for n, v in by_scene.items()} == {chips[0]: 7, chips[1]: 6}
    coco = json.loads((HRSID / "modified_hrsid_annotations" / "inshore" /
                       "inshore_test.json").read_text())
    image = next(i for i in coco["images"] if i["file_name"] == chips[0])
    want = sorted((a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2],
                   a["bbox"][1] + a["bbox"][3]) for a in coco["annotations"]
                  if a["image_id"] == image["id"])
    got = sorted((r["x0"], r["y0"], r["x1"], r["y1"]) for r in by_scene[chips[0]])
    assert got == want
    assert {(r["category"], r["source_category"], r["scene_split"]) for r in rows} == {
        ("ship", "ship", "test"), ("ship", "ship", "train")}
    scene = next(b.scene for b in result.bundles if b.scene.file_name == chips[0])
    assert scene.image_path.endswith(".png") and (scene.width, scene.height) == (800, 800)


def test_hrsid_palette_and_instance_masks(tmp_path: Path) -> None:
    (tmp_path / "narrator.yaml").write_text(
        f"name: hrsid-masks\nformat: masks\nimages: {HRSID / 'data'}\nclass_map: hrsid\n"
        f"masks:\n  - {{dir: {HRSID / 'data'}, pattern: '{{stem}}_instance_color_RGB.png', "
        f"kind: palette}}\n  - {{dir: {HRSID / 'data'}, pattern: '{{stem}}_instance_id_RGB.png',"
        " kind: instance, category: ship, objects: true}\n")
    result = ingest(tmp_path, tmp_path / "n.duckdb")
    counts = {b.scene.file_name.split("_")[0]: len(b.objects) for b in result.bundles}
    assert counts == {"P0094": 10, "P0119": 122, "P0123": 8, "P0135": 6}  # README.txt
    for b in result.bundles:
        palette, instance = sorted(b.regions, key=lambda r: r.region_id)[:2]
        assert palette.category == instance.category == "ship"
        assert palette.area_px == instance.area_px > 0
        assert palette.fraction == palette.area_px / 800 ** 2


def test_sen1floods11_geographic_gsd_and_water_fraction(tmp_path: Path) -> None:
    (tmp_path / "narrator.yaml").write_text(
        f"name: sen1floods11\nformat: masks\nimages: {S1F / 'sample' / 'S1'}\n"
        f"class_map: sen1floods11\nmasks:\n  dir: {S1F / 'sample' / 'Labels'}\n"
        "  pattern: '{stem}_LabelHand.tif'\n  image_pattern: '{stem}_S1Hand'\n")
    result = ingest(tmp_path, tmp_path / "n.duckdb")
    (bundle,) = result.bundles
    scene = bundle.scene
    assert scene.file_name == "Spain_7370579_S1Hand.tif" and scene.crs == "EPSG:4326"
    assert scene.gsd_m == pytest.approx(10.0, abs=0.05)          # north-south, ~10 m
    assert scene.meta["gsd_x_m"] == pytest.approx(7.88, abs=0.01)  # east-west at 38.1 N
    assert (scene.center_lon, scene.center_lat) == pytest.approx((-0.7589, 38.1058), abs=1e-4)
    fractions = {r.category: (r.area_px, r.fraction) for r in bundle.regions}
    # README.txt: -1 nodata (99 px), 0 not water (192,010), 1 water (70,035)
    assert fractions == {"not water": (192010.0, 192010 / 262045),
                         "water": (70035.0, 70035 / 262045)}


def test_sen1floods11_event_footprints_as_vector_labels(tmp_path: Path) -> None:
    (tmp_path / "narrator.yaml").write_text(
        f"name: s1f-events\nformat: vector\nimages: {S1F / 'sample' / 'S1'}\n"
        f"annotations: [{S1F / 'Sen1Floods11_Metadata.geojson'}]\n"
        "vector: {category: flood event}\n")
    result = ingest(tmp_path, tmp_path / "n.duckdb")
    (bundle,) = result.bundles
    (obj,) = bundle.objects
    assert (obj.x0, obj.y0, obj.x1, obj.y1) == (0, 0, 512, 512) and obj.attrs["clipped"]
    assert [s.dropped for s in result.stats if s.dropped] == [11]  # the other 11 events


def test_umbra_rotated_transform(tmp_path: Path) -> None:
    result = ingest(SHARED_DATA / "umbra", tmp_path / "n.duckdb", fmt="images")
    (bundle,) = result.bundles
    scene = bundle.scene
    assert scene.crs == "EPSG:32759" and (scene.width, scene.height) == (2000, 2000)
    assert scene.gsd_m == pytest.approx(0.594, abs=0.001)
    assert abs(scene.meta["rotation_deg"]) not in (0.0, 90.0, 180.0)
    _, _, metres = Geod(ellps="WGS84").inv(scene.center_lon, scene.center_lat, 169.447, -19.532)
    assert metres < 2000  # the clip is centred on Mount Yasur, Tanna, Vanuatu
