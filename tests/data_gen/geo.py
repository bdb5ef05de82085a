"""Seeded generators of georeferenced datasets: vector labels over GeoTIFFs (one with a rotated
transform), segmentation masks of every kind, and SAR metadata in tags and sidecars."""

from __future__ import annotations

import json
import random
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning
from rasterio.transform import Affine
from shapely.geometry import Point, Polygon, box

from tests.data_gen.common import Expected, write_geotiff, write_png

UTM = "EPSG:32631"
NORTH_UP = Affine(10.0, 0.0, 500_000.0, 0.0, -10.0, 5_700_000.0)
#: 10 m pixels, image x axis turned 30 degrees from east
ROTATED = Affine.translation(520_000.0, 5_700_000.0) * Affine.rotation(-30.0) * \
    Affine.scale(10.0, -10.0)


def _to_map(t: Affine, pixel_geom: Polygon) -> Polygon:
    return Polygon([t * xy for xy in pixel_geom.exterior.coords])


def vector_dataset(root: Path, seed: int = 11, size: int = 64) -> Expected:
    """``images/{north,rotated}.tif`` + a raster without CRS; ``labels.geojson`` (UTM),
    ``more.gpkg`` (WGS84 lon/lat) and ``tanks.shp`` with features inside, partly outside,
    outside every scene, without geometry, and a point."""
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    exp = Expected()
    write_geotiff(root / "images" / "north.tif", size, size, nrng, UTM, NORTH_UP)
    write_geotiff(root / "images" / "rotated.tif", size, size, nrng, UTM, ROTATED)
    write_png(root / "images" / "plain.png", 8, 8, nrng)
    exp.reasons.append("no CRS or transform")
    rows: list[dict] = []
    for scene, t in (("north.tif", NORTH_UP), ("rotated.tif", ROTATED)):
        exp.scenes[scene] = (size, size, None)
        for _ in range(3):
            x0, y0 = rng.randint(0, 40), rng.randint(0, 40)
            px = box(x0, y0, x0 + rng.randint(2, 20), y0 + rng.randint(2, 20))
            cls = rng.choice(["ship", "A320/321"])
            exp.add(scene, f"labels.geojson:{len(rows)}", "aircraft" if cls != "ship"
                    else "ship", px.bounds, "A320/321" if cls != "ship" else None)
            rows.append({"category": cls, "geometry": _to_map(t, px)})
    key = exp.add("north.tif", f"labels.geojson:{len(rows)}", "ship", (size - 5, 3, size, 9))
    exp.clipped.add(key)
    rows.append({"category": "ship", "geometry": _to_map(NORTH_UP, box(size - 5, 3, size + 7, 9))})
    exp.add("north.tif", f"labels.geojson:{len(rows)}", "ship", (10, 20, 11, 21))
    rows.append({"category": "ship", "geometry": Point(NORTH_UP * (10.5, 20.5))})
    rows.append({"category": "ship", "geometry": _to_map(NORTH_UP, box(5000, 5000, 5010, 5010))})
    rows.append({"category": "ship", "geometry": None})
    exp.reasons.append("feature has no geometry")
    exp.extra["dropped"] = {"labels.geojson": 1, "more.gpkg": 1}
    gpd.GeoDataFrame(rows, crs=UTM).to_file(root / "labels.geojson", driver="GeoJSON")
    far = _to_map(NORTH_UP, box(-900, -900, -890, -890))
    inside = box(30, 40, 38, 44)
    more = gpd.GeoDataFrame([{"category": "harbor", "geometry": _to_map(ROTATED, inside)},
                             {"category": "harbor", "geometry": far}], crs=UTM)
    more.to_crs("EPSG:4326").to_file(root / "more.gpkg", driver="GPKG")
    exp.add("rotated.tif", "more.gpkg:0", "harbor", inside.bounds)
    gpd.GeoDataFrame([{"category": "tank", "geometry": _to_map(NORTH_UP, box(2, 50, 6, 54))}],
                     crs=UTM).to_file(root / "tanks.shp")
    exp.add("north.tif", "tanks.shp:0", "tank", (2, 50, 6, 54))
    (root / "narrator.yaml").write_text("name: gen-vector\nimages: images\n"
                                        "class_map: sar-aircraft\n")
    return exp


def _write_mask(path: Path, data: np.ndarray, nodata: float | None = None,
                t: Affine | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    driver = "PNG" if path.suffix == ".png" else "GTiff"
    profile = {"driver": driver, "width": data.shape[-1], "height": data.shape[-2],
               "count": 1 if data.ndim == 2 else data.shape[0], "dtype": str(data.dtype)}
    if driver == "GTiff" and t is not None:
        profile |= {"crs": UTM, "transform": t}
    if nodata is not None:
        profile["nodata"] = nodata
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(data if data.ndim == 3 else data[None])


def class_mask_dataset(root: Path, seed: int = 13, size: int = 48) -> Expected:
    """GeoTIFF scenes with int16 class-index masks (-1 nodata, declared in one file and only
    in the config for the other), SAR tags, a per-scene sidecar and a dataset metadata file;
    a mask without its image, and a mask of the wrong size."""
    nrng = np.random.default_rng(seed)
    exp = Expected()
    tags = {"PLATFORM": "Gaofen-3", "BAND": "C", "POLARIZATION": "HH", "MODE": "FSI"}
    for k in range(2):
        stem = f"s{k}"
        write_geotiff(root / "images" / f"{stem}_sar.tif", size, size, nrng, UTM, NORTH_UP,
                      tags if k == 0 else None)
        labels = nrng.integers(0, 3, (size, size)).astype(np.int16)
        labels[:, :6] = -1
        labels[10:20, 10:30] = 1
        _write_mask(root / "masks" / f"{stem}_mask.tif", labels, -1 if k == 0 else None,
                    NORTH_UP)
        valid = labels != -1
        exp.extra[f"{stem}_sar.tif"] = {
            name: float((labels[valid] == v).sum()) for v, name in ((0, "land"), (1, "water"))}
        exp.extra[f"{stem}_sar.tif:valid"] = float(valid.sum())
        exp.scenes[f"{stem}_sar.tif"] = (size, size, None)
    sidecar = {"collects": [{"platform": "Umbra-04", "radar_band": "X",
                             "polarizations": ["VV"], "angle_incidence_degrees": 35.5,
                             "start_at_utc": "2023-02-12T21:33:56Z"}],
               "imagingMode": "SPOTLIGHT"}
    (root / "images" / "s1_sar.json").write_text(json.dumps(sidecar))
    (root / "metadata.yaml").write_text("orbit_direction: DESCENDING\nplatform: Sentinel-1A\n")
    _write_mask(root / "masks" / "lonely_mask.tif", np.ones((size, size), np.int16), None,
                NORTH_UP)
    exp.scenes["lonely_mask.tif"] = (size, size, None)
    _write_mask(root / "masks" / "small_mask.tif", np.ones((8, 8), np.int16), None)
    write_geotiff(root / "images" / "small_sar.tif", size, size, nrng, UTM, NORTH_UP)
    exp.scenes["small_sar.tif"] = (size, size, None)
    exp.reasons.append("mask is 8x8 but its image is")
    (root / "narrator.yaml").write_text(
        "name: gen-masks\nformat: masks\nimages: images\nsar_file: metadata.yaml\n"
        "masks:\n  dir: masks\n  pattern: '{stem}_mask.tif'\n  image_pattern: '{stem}_sar'\n"
        "  nodata: -1\n  classes: {0: land, 1: water}\n")
    return exp


def instance_mask_dataset(root: Path, seed: int = 17, size: int = 40) -> Expected:
    """PNG chips with an RGB palette mask (ship = (128, 0, 0)) and an RGB instance-id mask,
    as HRSID ships them; instance objects are asked for."""
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    exp = Expected()
    for k in range(2):
        stem = f"c{k}"
        write_png(root / "data" / f"{stem}.png", size, size, nrng, bands=3)
        inst = np.zeros((3, size, size), np.uint8)
        for i in range(3):
            x0, y0 = rng.randint(0, size - 10), 12 * i + 1
            x1, y1 = x0 + rng.randint(2, 9), y0 + rng.randint(2, 9)
            inst[:, y0:y1, x0:x1] = np.array([40 * (i + 1), 255 - 30 * i, 7 * i])[:, None, None]
            exp.add(f"{stem}.png", f"instance:{(40 * (i + 1) << 16) | ((255 - 30 * i) << 8) | 7 * i}",
                    "ship", (x0, y0, x1, y1))
        semantic = np.where(inst.any(axis=0), 1, 0).astype(np.uint8)
        palette = np.stack([semantic * 128, semantic * 0, semantic * 0]).astype(np.uint8)
        _write_mask(root / "data" / f"{stem}_instance_color_RGB.png", palette)
        _write_mask(root / "data" / f"{stem}_instance_id_RGB.png", inst)
        exp.extra[f"{stem}.png"] = float(semantic.sum())
        exp.scenes[f"{stem}.png"] = (size, size, None)
    (root / "narrator.yaml").write_text(
        "name: gen-instances\nformat: masks\nimages: data\nclass_map: hrsid\nmasks:\n"
        "  - {dir: data, pattern: '{stem}_instance_color_RGB.png', kind: palette}\n"
        "  - {dir: data, pattern: '{stem}_instance_id_RGB.png', kind: instance,"
        " category: ship, objects: true, simplify_px: 0}\n")
    return exp
