"""Seeded generator of COCO scenes full of VQA edge cases, written at test time.

Scenes of several non-square sizes with rotated-rectangle polygons (some without), boxes cut
by the border, overlapping pairs, tiny and very elongated targets, aligned rows, tight
clusters, scenes holding every category, empty scenes, and class-index land-cover masks (some
with nodata, some scenes without a mask). Images are not written: the scenes are ingested
annotation-only from the sizes in the JSON, with the GSD from ``narrator.yaml``.
"""

from __future__ import annotations

import json
import math
import random
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning

CATEGORIES = ["ship", "aircraft", "tank", "bridge", "harbor", "car"]
LAND = {1: "water", 2: "built-up", 3: "vegetation"}
SIZES = [(240, 180), (300, 300), (200, 260), (320, 200)]
GSD_M = 0.5


def _rect(cx: float, cy: float, length: float, width: float, angle: float) -> list[float]:
    a = math.radians(angle)
    ux, uy, vx, vy = math.cos(a), math.sin(a), -math.sin(a), math.cos(a)
    out = []
    for s, t in ((1, 1), (-1, 1), (-1, -1), (1, -1)):
        out += [round(cx + s * ux * length / 2 + t * vx * width / 2, 1),
                round(cy + s * uy * length / 2 + t * vy * width / 2, 1)]
    return out


def _ann(cat: str, ring: list[float], with_poly: bool) -> dict[str, Any] | None:
    xs, ys = ring[0::2], ring[1::2]
    x0, y0 = min(xs), min(ys)
    w, h = round(max(xs) - x0, 1), round(max(ys) - y0, 1)
    if w <= 0 or h <= 0:
        return None
    ann = {"category": cat, "bbox": [x0, y0, w, h]}
    if with_poly:
        ann["segmentation"] = [ring]
    return ann


def _objects(rng: random.Random, kind: int, width: int, height: int) -> list[dict[str, Any]]:
    anns: list[dict[str, Any] | None] = []

    def add(cat: str, cx: float, cy: float, length: float, wid: float, angle: float) -> None:
        anns.append(_ann(cat, _rect(cx, cy, length, wid, angle), rng.random() > 0.2))

    def rand(cat: str | None = None, margin: float = 0.0) -> None:
        add(cat or rng.choice(CATEGORIES),
            rng.uniform(-margin, 1 + margin) * width, rng.uniform(-margin, 1 + margin) * height,
            rng.uniform(6, 60), rng.uniform(3, 20), rng.uniform(0, 180))

    if kind == 5:  # empty or a single object
        if rng.random() < 0.5:
            rand()
        return [a for a in anns if a]
    for _ in range(rng.randint(0, 8)):
        rand()
    if kind == 0:  # an aligned row
        heading = math.radians(rng.uniform(-40, 40))
        x, y = rng.uniform(0.1, 0.3) * width, rng.uniform(0.3, 0.7) * height
        step = rng.uniform(18, 30)
        for _ in range(rng.randint(3, 5)):
            add("ship", x, y, 12, 5, rng.uniform(0, 180))
            x, y = x + step * math.cos(heading), y + step * math.sin(heading)
    elif kind == 1:  # a tight cluster
        cx, cy = rng.uniform(0.3, 0.7) * width, rng.uniform(0.3, 0.7) * height
        for _ in range(rng.randint(3, 5)):
            add("tank", cx + rng.uniform(-20, 20), cy + rng.uniform(-20, 20), 6, 6, 0)
    elif kind == 2:  # cut by the border, tiny, very elongated
        rand(margin=0.15)
        rand(margin=0.15)
        add("car", rng.uniform(0.1, 0.9) * width, rng.uniform(0.1, 0.9) * height, 2.5, 1.5, 0)
        add("bridge", rng.uniform(0.3, 0.7) * width, rng.uniform(0.3, 0.7) * height, 120, 4,
            rng.uniform(0, 180))
    elif kind == 3:  # an overlapping pair
        cx, cy = rng.uniform(0.2, 0.8) * width, rng.uniform(0.2, 0.8) * height
        add("harbor", cx, cy, 40, 20, 0)
        add("ship", cx + 10, cy + 5, 20, 6, 30)
    elif kind == 4:  # every category once
        for cat in CATEGORIES:
            rand(cat)
    return [a for a in anns if a]


def _mask(rng: random.Random, width: int, height: int) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width] + 0.5
    slope, offset = rng.uniform(-0.6, 0.6), rng.uniform(0.3, 0.7) * height
    mask = np.where(yy > slope * xx + offset, 1, 2).astype("uint8")
    mask[(xx < rng.uniform(0.1, 0.4) * width) & (yy < rng.uniform(0.2, 0.6) * height)] = 3
    if rng.random() < 0.3:
        mask[:, : rng.randint(1, 6)] = 0  # nodata strip
    return mask


def write_scenes(root: Path, n_scenes: int = 120, seed: int = 3) -> Path:
    """Write the dataset folder ``root`` (COCO JSON, masks, narrator.yaml); return it."""
    rng = random.Random(seed)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(exist_ok=True)
    coco: dict[str, Any] = {"images": [], "annotations": [], "categories": [
        {"id": i + 1, "name": c} for i, c in enumerate(CATEGORIES)]}
    for i in range(n_scenes):
        width, height = SIZES[i % len(SIZES)]
        name = f"gen_{i:04d}.png"
        coco["images"].append({"id": i + 1, "file_name": name, "width": width,
                               "height": height})
        for ann in _objects(rng, i % 6, width, height):
            coco["annotations"].append({
                "id": len(coco["annotations"]) + 1, "image_id": i + 1,
                "category_id": CATEGORIES.index(ann["category"]) + 1, "bbox": ann["bbox"],
                "segmentation": ann.get("segmentation", []), "iscrowd": 0})
        if i % 5 != 4:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                with rasterio.open(root / "masks" / f"gen_{i:04d}_lc.tif", "w", driver="GTiff",
                                   width=width, height=height, count=1, dtype="uint8",
                                   nodata=0) as dst:
                    dst.write(_mask(rng, width, height), 1)
    (root / "annotations" / "scenes.json").write_text(json.dumps(coco))
    classes = "".join(f"    {k}: {v}\n" for k, v in LAND.items())
    (root / "narrator.yaml").write_text(
        "name: vqa-check\nformat: coco\nimages: images\n"
        "annotations: [annotations/scenes.json]\n"
        "masks:\n  dir: masks\n  pattern: '{stem}_lc.tif'\n  classes:\n" + classes
        + f"sar: {{gsd_m: {GSD_M}}}\n")
    return root


#: SAR-AIRcraft-1.0's class names (seven types, one of them the catch-all "other")
AIRCRAFT_TYPES = ["A220", "A320/321", "A330", "ARJ21", "Boeing737", "Boeing787", "other"]


def write_fine_scenes(root: Path, n_scenes: int = 80, seed: int = 21,
                      class_map: str | None = "sar-aircraft") -> Path:
    """A COCO dataset of aircraft named by SAR-AIRcraft's fine types (``narrator.yaml`` names
    the built-in class map, or none: the raw names are then the categories)."""
    rng = random.Random(seed)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    coco: dict[str, Any] = {"images": [], "annotations": [], "categories": [
        {"id": i + 1, "name": c} for i, c in enumerate(AIRCRAFT_TYPES)]}
    for i in range(n_scenes):
        width, height = SIZES[i % len(SIZES)]
        coco["images"].append({"id": i + 1, "file_name": f"air_{i:04d}.png", "width": width,
                               "height": height})
        for _ in range(rng.randint(0, 6)):
            cat = rng.choice(AIRCRAFT_TYPES)
            ann = _ann(cat, _rect(rng.uniform(0.1, 0.9) * width, rng.uniform(0.1, 0.9) * height,
                                  rng.uniform(15, 40), rng.uniform(12, 35), rng.uniform(0, 180)),
                       rng.random() > 0.3)
            if ann:
                coco["annotations"].append({
                    "id": len(coco["annotations"]) + 1, "image_id": i + 1,
                    "category_id": AIRCRAFT_TYPES.index(cat) + 1, "bbox": ann["bbox"],
                    "segmentation": ann.get("segmentation", []), "iscrowd": 0})
    (root / "annotations" / "scenes.json").write_text(json.dumps(coco))
    (root / "narrator.yaml").write_text(
        "name: fine-check\nformat: coco\nimages: images\n"
        "annotations: [annotations/scenes.json]\n" + f"sar: {{gsd_m: {GSD_M}}}\n"
        + (f"class_map: {class_map}\n" if class_map else ""))
    return root
