"""A small synthetic SAR dataset, made from seeded code, for the quick start and the tests.

Each scene is a GeoTIFF of speckled amplitude (multiplicative gamma speckle over land-cover
backscatter, bright returns where the targets are) in a real UTM CRS with SAR metadata tags;
boxes and polygons are COCO annotations split into train/val files; a class-index land-cover
mask per scene lies in ``masks/``; ``narrator.yaml`` tells narrator how the folder is laid out.
"""

from __future__ import annotations

import json
import random
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from rasterio.features import rasterize
from rasterio.transform import from_origin
from shapely import affinity
from shapely.geometry import Polygon, box

CATEGORIES = ["ship", "aircraft", "tank", "bridge", "harbor", "car"]
LANDCOVER = {1: "water", 2: "built-up", 3: "vegetation", 4: "bare soil"}
#: mean amplitude per land-cover class (water is dark, built-up bright)
_BACKSCATTER = {1: 18.0, 2: 95.0, 3: 55.0, 4: 38.0}
_TARGET_AMPLITUDE = {"ship": 240.0, "aircraft": 230.0, "tank": 220.0, "bridge": 200.0,
                     "harbor": 170.0, "car": 210.0}
#: (place, EPSG code of its UTM zone, easting, northing)
_PLACES = [
    ("Port of Shanghai", 32651, 398_000.0, 3_470_000.0),
    ("Port of Rotterdam", 32631, 580_000.0, 5_750_000.0),
    ("Singapore Strait", 32648, 370_000.0, 140_000.0),
    ("Houston Ship Channel", 32615, 300_000.0, 3_290_000.0),
]
_SENSORS = [
    {"PLATFORM": "Gaofen-3", "BAND": "C", "POLARIZATION": "HH", "MODE": "Spotlight", "GSD": 1.0},
    {"PLATFORM": "Sentinel-1A", "BAND": "C", "POLARIZATION": "VV", "MODE": "IW", "GSD": 10.0},
    {"PLATFORM": "TerraSAR-X", "BAND": "X", "POLARIZATION": "HH", "MODE": "StripMap",
     "GSD": 3.0},
]


@dataclass
class _Target:
    category: str
    shape: Polygon


def _rotated_rect(cx: float, cy: float, length: float, width: float, angle: float) -> Polygon:
    rect = box(cx - length / 2, cy - width / 2, cx + length / 2, cy + width / 2)
    return affinity.rotate(rect, angle, origin=(cx, cy))


def _landcover(kind: str, size: int, rng: random.Random) -> dict[int, Polygon]:
    """Land-cover polygons (pixel frame) for one scene archetype."""
    full = box(0, 0, size, size)
    if kind == "open_sea":
        return {1: full}
    if kind == "river":
        y = size * rng.uniform(0.35, 0.55)
        water = box(0, y, size, y + size * rng.uniform(0.15, 0.25))
        land = full.difference(water)
        veg = land.intersection(box(0, 0, size * rng.uniform(0.3, 0.6), size))
        return {1: water, 3: veg, 2: land.difference(veg)}
    if kind == "port":
        coast = size * rng.uniform(0.4, 0.6)
        water = Polygon([(0, 0), (coast + size * 0.1, 0), (coast - size * 0.1, size), (0, size)])
        land = full.difference(water)
        return {1: water, 2: land}
    # airport / oil depot: no water
    split = size * rng.uniform(0.6, 0.8)
    return {4: box(0, 0, size, split), 3: box(0, split, size, size)}


def _place(cat: str, region: Polygon, size: int, taken: list[Polygon],
           rng: random.Random, dims: tuple[float, float], angle: float | None = None) -> _Target | None:
    """Try to put one target fully inside ``region`` without touching earlier targets."""
    for _ in range(60):
        minx, miny, maxx, maxy = region.bounds
        cx, cy = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        ang = rng.uniform(0, 180) if angle is None else angle
        shape = _rotated_rect(cx, cy, dims[0], dims[1], ang)
        bx0, by0, bx1, by1 = shape.bounds
        if bx0 < 1 or by0 < 1 or bx1 > size - 1 or by1 > size - 1:
            continue
        if not region.buffer(-1).contains(shape):
            continue
        if any(shape.buffer(3).intersects(t) for t in taken):
            continue
        taken.append(shape)
        return _Target(cat, shape)
    return None


def _targets(kind: str, cover: dict[int, Polygon], size: int, rng: random.Random) -> list[_Target]:
    taken: list[Polygon] = []
    out: list[_Target] = []

    def add(cat: str, where: Polygon, n: int, dims: tuple[float, float],
            angle: float | None = None) -> None:
        for _ in range(n):
            t = _place(cat, where, size, taken, rng, dims, angle)
            if t is not None:
                out.append(t)

    s = size / 512
    if kind == "open_sea":
        add("ship", cover[1], rng.randint(2, 7), (rng.uniform(30, 60) * s, 10 * s))
    elif kind == "port":
        coast_band = cover[2].buffer(70 * s).intersection(cover[1].buffer(70 * s))
        add("harbor", coast_band, 1, (90 * s, 50 * s), angle=rng.uniform(-10, 10))
        add("ship", cover[1], rng.randint(1, 5), (rng.uniform(30, 55) * s, 9 * s))
        add("car", cover[2], rng.randint(0, 3), (8 * s, 5 * s))
    elif kind == "river":
        water = cover[1]
        minx, miny, maxx, maxy = water.bounds
        cx = rng.uniform(size * 0.25, size * 0.75)
        span = (maxy - miny) + 30 * s
        bridge = _rotated_rect(cx, (miny + maxy) / 2, span, 12 * s, 90 + rng.uniform(-8, 8))
        taken.append(bridge)
        out.append(_Target("bridge", bridge))
        add("ship", water, rng.randint(0, 2), (28 * s, 8 * s), angle=rng.uniform(-5, 5))
        add("car", cover[2], rng.randint(1, 4), (8 * s, 5 * s))
    elif kind == "airport":
        add("aircraft", cover[4], rng.randint(2, 6), (36 * s, 34 * s), angle=0)
        add("car", cover[4], rng.randint(0, 3), (8 * s, 5 * s))
    else:  # oil depot
        add("tank", cover[4], rng.randint(3, 9), (26 * s, 26 * s), angle=0)
        add("car", cover[3], rng.randint(0, 2), (8 * s, 5 * s))
    return out


def _render(cover: dict[int, Polygon], targets: list[_Target], size: int,
            np_rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    mask = rasterize([(g, c) for c, g in cover.items()], out_shape=(size, size), fill=0,
                     dtype="uint8")
    mean = np.zeros((size, size), dtype=np.float32)
    for cls, level in _BACKSCATTER.items():
        mean[mask == cls] = level
    for t in targets:
        burn = rasterize([(t.shape, 1)], out_shape=(size, size), fill=0, dtype="uint8")
        mean[burn == 1] = _TARGET_AMPLITUDE[t.category]
    looks = 3.0
    speckle = np_rng.gamma(looks, 1.0 / looks, size=(size, size)).astype(np.float32)
    amplitude = np.clip(mean * np.sqrt(speckle), 0, 255).astype(np.uint8)
    return amplitude, mask


def write_example(out_dir: str | Path, n_scenes: int = 20, size: int = 512, seed: int = 7,
                  on_scene: Callable[[int], None] | None = None) -> Path:
    """Write the example dataset to ``out_dir`` and return that folder."""
    root = Path(out_dir)
    for sub in ("images", "masks", "annotations"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    np_rng = np.random.default_rng(seed)
    kinds = ["port", "open_sea", "river", "airport", "oil_depot"]
    cats = [{"id": i + 1, "name": c, "supercategory": "target"} for i, c in enumerate(CATEGORIES)]
    splits: dict[str, dict[str, list]] = {
        s: {"images": [], "annotations": [], "categories": cats} for s in ("train", "val")
    }
    ann_id = 0
    for i in range(n_scenes):
        kind = kinds[i % len(kinds)]
        name = f"scene_{i:03d}_{kind}"
        sensor = rng.choice(_SENSORS)
        place, epsg, east, north = rng.choice(_PLACES)
        gsd = float(sensor["GSD"])
        transform = from_origin(east + rng.uniform(-5e3, 5e3), north + rng.uniform(-5e3, 5e3),
                                gsd, gsd)
        cover = _landcover(kind, size, rng)
        targets = _targets(kind, cover, size, rng)
        amplitude, mask = _render(cover, targets, size, np_rng)
        tags = {k: v for k, v in sensor.items() if k != "GSD"}
        tags.update({
            "INCIDENCE_ANGLE": f"{rng.uniform(20, 45):.1f}",
            "ORBIT_DIRECTION": rng.choice(["ASCENDING", "DESCENDING"]),
            "ACQUISITION_TIME": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
                                f"T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z",
            "PLACE": place,
        })
        profile = {"driver": "GTiff", "width": size, "height": size, "count": 1,
                   "crs": f"EPSG:{epsg}", "transform": transform, "compress": "deflate"}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with rasterio.open(root / "images" / f"{name}.tif", "w", dtype="uint8",
                               **profile) as dst:
                dst.write(amplitude, 1)
                dst.update_tags(**tags)
                dst.set_band_description(1, f"{tags['POLARIZATION']} amplitude")
            with rasterio.open(root / "masks" / f"{name}_landcover.tif", "w", dtype="uint8",
                               nodata=0, **profile) as dst:
                dst.write(mask, 1)
        split = "val" if i % 7 == 3 else "train"
        coco = splits[split]
        image_id = len(coco["images"]) + 1
        coco["images"].append({"id": image_id, "file_name": f"{name}.tif", "width": size,
                               "height": size})
        for t in targets:
            ann_id += 1
            x0, y0, x1, y1 = t.shape.bounds
            ring = [round(v, 1) for xy in list(t.shape.exterior.coords)[:-1] for v in xy]
            coco["annotations"].append({
                "id": ann_id, "image_id": image_id,
                "category_id": CATEGORIES.index(t.category) + 1,
                "bbox": [round(x0, 1), round(y0, 1), round(x1 - x0, 1), round(y1 - y0, 1)],
                "area": round(t.shape.area, 1), "segmentation": [ring], "iscrowd": 0,
            })
        if on_scene:
            on_scene(i)
    for split, coco in splits.items():
        (root / "annotations" / f"{split}.json").write_text(json.dumps(coco, indent=1))
    classes = "\n".join(f"    {k}: {v}" for k, v in LANDCOVER.items())
    (root / "narrator.yaml").write_text(
        "# How narrator reads this folder (see README: dataset config).\n"
        "name: narrator-example\n"
        "format: coco\n"
        "images: images\n"
        "annotations: [annotations/train.json, annotations/val.json]\n"
        "masks:\n"
        "  dir: masks\n"
        "  pattern: '{stem}_landcover.tif'\n"
        "  classes:\n" + classes + "\n"
    )
    (root / "README.txt").write_text(
        f"Synthetic SAR example written by `narrator example` (seed {seed}, {n_scenes} scenes).\n"
        "images/: uint8 amplitude GeoTIFFs with speckle, UTM CRS, SAR metadata tags.\n"
        "annotations/: COCO train/val files (categories: " + ", ".join(CATEGORIES) + ").\n"
        "masks/: class-index land-cover masks (" + ", ".join(LANDCOVER.values()) + ").\n"
    )
    return root

