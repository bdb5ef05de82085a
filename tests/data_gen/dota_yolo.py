"""Seeded generators of DOTA, YOLO and YOLO-OBB datasets, each with its edge cases."""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np

from tests.data_gen.common import Expected, write_png


def _rect(cx: float, cy: float, w: float, h: float, deg: float) -> list[tuple[float, float]]:
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    return [(cx + u * c - v * s, cy + u * s + v * c)
            for u, v in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2))]


def _bounds(pts: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return min(xs), min(ys), max(xs), max(ys)


def _fmt(pts: list[tuple[float, float]]) -> str:
    return " ".join(f"{v!r}" for p in pts for v in p)


def dota_dataset(root: Path, seed: int = 7, size: int = 96) -> Expected:
    """``train/labelTxt`` + ``train/images``: 8-point rotated rectangles with difficulty,
    imagesource/gsd headers, a rotated-box line in degrees, and the edge cases."""
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    exp = Expected()
    for k in range(3):
        stem = f"P{k:04d}"
        write_png(root / "train" / "images" / f"{stem}.png", size, size, nrng)
        exp.scenes[f"{stem}.png"] = (size, size, "train")
        lines = ["imagesource:GF-3", "gsd:0.5"]
        for j in range(3):
            deg = rng.choice([0.0, 15.0, -40.0, 75.0])
            pts = _rect(rng.uniform(25, size - 25), rng.uniform(25, size - 25),
                        rng.uniform(6, 20), rng.uniform(3, 8), deg)
            name = ["ship", "harbor"][j % 2]
            lines.append(f"{_fmt(pts)} {name} {j % 2}")
            key = exp.add(f"{stem}.png", str(len(lines)), name, _bounds(pts))
            exp.polygons[key], exp.angles[key] = pts, deg
            if j % 2:
                exp.difficult.add(key)
        if k == 0:
            lines += _dota_edge_lines(exp, f"{stem}.png", size, len(lines))
        (root / "train" / "labelTxt").mkdir(parents=True, exist_ok=True)
        (root / "train" / "labelTxt" / f"{stem}.txt").write_text("\n".join(lines) + "\n")
    (root / "train" / "labelTxt" / "P9999.txt").write_text("1 1 5 1 5 5 1 5 ship 0\n")
    exp.reasons.append("image file not found")
    return exp


def _dota_edge_lines(exp: Expected, scene: str, size: int, n: int) -> list[str]:
    part = [(size - 4.0, 10.0), (size + 6.0, 10.0), (size + 6.0, 20.0), (size - 4.0, 20.0)]
    key = exp.add(scene, str(n + 1), "ship", (size - 4.0, 10.0, size, 20.0))
    exp.clipped.add(key)
    exp.angles[key] = 0.0
    rot = _rect(40.0, 50.0, 10.0, 4.0, 30.0)
    key = exp.add(scene, str(n + 2), "ship", _bounds(rot))
    exp.polygons[key], exp.angles[key] = rot, 30.0
    exp.reasons += ["outside", "zero area", "NaN", "got 8 fields"]
    return [f"{_fmt(part)} ship 0", "40.0 50.0 10.0 4.0 30.0 ship 0",
            f"{_fmt([(p[0] + 3 * size, p[1]) for p in part])} ship 0",
            "1 1 5 1 9 1 13 1 ship 0", "1 1 5 nan 5 5 1 5 ship 0", "1 2 3 4 5 6 7 8"]


def yolo_dataset(root: Path, seed: int = 9, size: int = 64, obb: bool = False) -> Expected:
    """``images/{train,val}`` + ``labels/{train,val}`` + ``classes.txt``; coordinates are
    multiples of 1/64 so the stored pixels are exact. ``obb``: YOLO-OBB 8-point lines."""
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    exp = Expected()
    (root).mkdir(parents=True, exist_ok=True)
    (root / "classes.txt").write_text("ship\naircraft\nA320/321\n")
    for split, count in (("train", 2), ("val", 1)):
        for k in range(count):
            stem = f"{split}{k}"
            write_png(root / "images" / split / f"{stem}.png", size, size, nrng)
            exp.scenes[f"{stem}.png"] = (size, size, split)
            lines = [_yolo_line(rng, exp, f"{stem}.png", j + 1, size, obb) for j in range(3)]
            if split == "train" and k == 0:
                lines += _yolo_edge_lines(exp, f"{stem}.png", size, obb, len(lines))
            (root / "labels" / split).mkdir(parents=True, exist_ok=True)
            (root / "labels" / split / f"{stem}.txt").write_text("\n".join(lines) + "\n")
    for split in ("train", "val"):  # one stem in both splits: two scenes
        write_png(root / "images" / split / "same.png", size, size, nrng)
        exp.scenes[f"images/{split}/same.png"] = (size, size, split)
        line = _yolo_line(rng, exp, f"images/{split}/same.png", 1, size, obb)
        (root / "labels" / split / "same.txt").write_text(line + "\n")
    (root / "labels" / "train" / "noimage.txt").write_text(
        "0 0.5 0.5 0.25 0.25\n" if not obb else "0 0.1 0.1 0.2 0.1 0.2 0.2 0.1 0.2\n")
    exp.reasons.append("image file not found")
    return exp


def _yolo_line(rng: random.Random, exp: Expected, scene: str, number: int, size: int,
               obb: bool) -> str:
    cls = rng.randrange(3)
    category = ["ship", "aircraft", "aircraft"][cls]
    fine = "A320/321" if cls == 2 else None
    x0, y0 = rng.randint(0, 40), rng.randint(0, 40)
    w, h = rng.randint(2, 20), rng.randint(2, 20)
    key = exp.add(scene, str(number), category, (x0, y0, x0 + w, y0 + h), fine)
    if obb:
        pts = [(x0, y0), (x0 + w, y0), (x0 + w, y0 + h), (x0, y0 + h)]
        exp.polygons[key], exp.angles[key] = [(float(a), float(b)) for a, b in pts], 0.0
        return f"{cls} " + " ".join(f"{v / size!r}" for p in pts for v in p)
    return f"{cls} {(x0 + w / 2) / size!r} {(y0 + h / 2) / size!r} {w / size!r} {h / size!r}"


def _yolo_edge_lines(exp: Expected, scene: str, size: int, obb: bool, n: int) -> list[str]:
    exp.reasons += ["unknown class index '7'", "NaN"]
    if obb:
        key = exp.add(scene, str(n + 1), "ship", (size - 8, 0, size, 8))
        exp.clipped.add(key)
        exp.reasons += ["outside", "got 5 fields"]
        return ["0 0.875 0.0 1.125 0.0 1.125 0.125 0.875 0.125",
                "7 0.1 0.1 0.2 0.1 0.2 0.2 0.1 0.2", "0 0.1 0.1 nan 0.1 0.2 0.2 0.1 0.2",
                "0 1.25 0.1 1.5 0.1 1.5 0.2 1.25 0.2", "0 0.5 0.5 0.25 0.25"]
    key = exp.add(scene, str(n + 1), "ship", (size - 8, 0, size, 8))
    exp.clipped.add(key)
    exp.reasons += ["zero or negative size", "outside", "got 4 fields"]
    return ["0 1.0 0.0625 0.25 0.125", "7 0.5 0.5 0.25 0.25", "0 0.5 nan 0.25 0.25",
            "0 0.5 0.5 0.0 0.25", "0 1.4 0.5 0.25 0.25", "0 0.5 0.5 0.25"]
