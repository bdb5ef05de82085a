"""Vector labels, segmentation masks, raster geo-metadata and SAR metadata on seeded data."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.control import GroundControlPoint
from rasterio.transform import Affine
from shapely import wkb

from narrator.ingest.geotiff import read_raster_meta
from narrator.ingest.sarmeta import sar_fields
from tests.data_gen.check import check_scenes_and_errors, ingest, ingest_and_check, stored
from tests.data_gen.common import write_geotiff
from tests.data_gen.geo import class_mask_dataset, instance_mask_dataset, vector_dataset


def test_vector_labels_land_on_the_pixels_of_each_raster(tmp_path: Path) -> None:
    exp = vector_dataset(tmp_path / "d")
    result = ingest_and_check(tmp_path / "d", exp, "vector", 1e-6)
    dropped = {Path(s.source).name: s.dropped for s in result.stats if s.dropped}
    assert dropped == exp.extra["dropped"]


def test_vector_features_as_regions(tmp_path: Path) -> None:
    vector_dataset(tmp_path / "d")
    with (tmp_path / "d" / "narrator.yaml").open("a") as fh:
        fh.write("annotations: [more.gpkg]\nvector: {kind: regions}\n")
    result = ingest(tmp_path / "d", tmp_path / "n.duckdb")
    regions = stored(tmp_path / "n.duckdb", "regions")
    assert [(r["file_name"], r["category"]) for r in regions] == [("rotated.tif", "harbor")]
    assert regions[0]["area_px"] == pytest.approx(8 * 4, abs=1e-6)
    assert regions[0]["fraction"] == pytest.approx(32 / 64 ** 2, abs=1e-9)
    assert not any(b.objects for b in result.bundles)


def test_class_index_masks_nodata_sidecars_and_edge_cases(tmp_path: Path) -> None:
    exp = class_mask_dataset(tmp_path / "d")
    result = ingest(tmp_path / "d", tmp_path / "n.duckdb")
    assert result.format == "masks"
    check_scenes_and_errors(tmp_path / "n.duckdb", result, exp)
    regions = {(r["file_name"], r["category"]): r for r in stored(tmp_path / "n.duckdb",
                                                                    "regions")}
    for scene in ("s0_sar.tif", "s1_sar.tif"):
        valid = exp.extra[f"{scene}:valid"]
        for name, area in exp.extra[scene].items():
            assert regions[scene, name]["area_px"] == area
            assert regions[scene, name]["fraction"] == pytest.approx(area / valid, abs=1e-12)
    assert regions["lonely_mask.tif", "water"]["fraction"] == 1.0
    assert not any(k[0] == "small_sar.tif" for k in regions)
    scenes = {b.scene.file_name: b.scene for b in result.bundles}
    s0, s1 = scenes["s0_sar.tif"], scenes["s1_sar.tif"]
    assert (s0.platform, s0.band, s0.polarization, s0.mode, s0.orbit_direction) == (
        "Gaofen-3", "C", "HH", "FSI", "DESCENDING")          # tags over the dataset file
    assert (s1.platform, s1.band, s1.polarization, s1.mode, s1.incidence_angle,
            s1.acquired_at, s1.orbit_direction) == (
        "Umbra-04", "X", "VV", "SPOTLIGHT", 35.5, "2023-02-12T21:33:56Z", "DESCENDING")
    assert scenes["lonely_mask.tif"].crs == "EPSG:32631"  # scene read from the mask itself


def test_palette_and_instance_masks_give_regions_and_objects(tmp_path: Path) -> None:
    exp = instance_mask_dataset(tmp_path / "d")
    ingest_and_check(tmp_path / "d", exp, "masks")
    for row in stored(tmp_path / "d.duckdb", "regions"):
        assert row["category"] == "ship"
        assert row["area_px"] == exp.extra[row["file_name"]]  # palette and instance agree
    for row in stored(tmp_path / "d.duckdb"):
        poly = wkb.loads(row["poly_wkb"])
        assert poly.bounds == (row["x0"], row["y0"], row["x1"], row["y1"])
        assert poly.area == (row["x1"] - row["x0"]) * (row["y1"] - row["y0"])


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_gsd_in_metres_for_geographic_rotated_and_gcp_rasters(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    lat = 60.0
    write_geotiff(tmp_path / "geo.tif", 100, 100, rng, "EPSG:4326",
                  Affine(1e-4, 0, 10.0, 0, -1e-4, lat + 50e-4))
    meta = read_raster_meta(tmp_path / "geo.tif")
    phi = math.radians(lat)  # metres per degree on WGS84 (series of the meridian arc)
    m_lat = 111132.954 - 559.822 * math.cos(2 * phi) + 1.175 * math.cos(4 * phi)
    m_lon = 111412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi) + 0.118 * math.cos(5 * phi)
    assert meta["gsd_y_m"] == pytest.approx(m_lat * 1e-4, rel=1e-4)
    assert meta["gsd_x_m"] == pytest.approx(m_lon * 1e-4, rel=1e-4)
    assert meta["gsd_m"] == meta["gsd_y_m"]
    assert (meta["center_lon"], meta["center_lat"]) == pytest.approx((10.005, lat), abs=1e-9)

    rotated = Affine.translation(400_000, 6_000_000) * Affine.rotation(-30) * Affine.scale(2, -2)
    write_geotiff(tmp_path / "rot.tif", 50, 50, rng, "EPSG:32632", rotated)
    meta = read_raster_meta(tmp_path / "rot.tif")
    assert meta["gsd_m"] == pytest.approx(2.0, abs=1e-9)
    assert meta["rotation_deg"] == pytest.approx(-30.0, abs=1e-9)

    path = tmp_path / "gcp.tif"
    t = Affine(5.0, 0, 300_000, 0, -5.0, 5_000_000)
    gcps = [GroundControlPoint(row, col, *(t * (col, row))) for row, col in
            ((0, 0), (0, 40), (40, 0), (40, 40))]
    with rasterio.open(path, "w", driver="GTiff", width=40, height=40, count=1,
                       dtype="uint8") as dst:
        dst.gcps = (gcps, rasterio.crs.CRS.from_epsg(32633))
        dst.write(np.zeros((1, 40, 40), np.uint8))
    meta = read_raster_meta(path)
    assert meta["georef"] == "gcps" and meta["crs"] == "EPSG:32633"
    assert meta["gsd_m"] == pytest.approx(5.0, abs=1e-6)


def test_sar_fields_from_nested_metadata_and_json_tags() -> None:
    capella = ('{"collect": {"platform": "capella-3", "radar": {"polarizations": ["HH"]},'
               ' "mode": "spotlight"}}')
    got = sar_fields({"TIFFTAG_IMAGEDESCRIPTION": capella, "ORBIT": "17"})
    assert got == {"platform": "capella-3", "polarization": "HH", "mode": "spotlight"}
    assert sar_fields({"orbit_direction": "ascending", "incidence_angle": "n/a",
                       "gsd": "0.5"}) == {"orbit_direction": "ascending", "gsd_m": 0.5}
