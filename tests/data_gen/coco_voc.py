"""Seeded generators of COCO and Pascal VOC datasets, each with its edge cases."""

from __future__ import annotations

import math
import random
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
from rasterio.transform import from_origin

from narrator.ingest.rle import encode
from tests.data_gen.common import Expected, write_geotiff, write_json, write_png


def _int_box(rng: random.Random, w: int, h: int) -> tuple[int, int, int, int]:
    bw, bh = rng.randint(3, w // 4), rng.randint(3, h // 4)
    x, y = rng.randint(0, w - bw), rng.randint(0, h - bh)
    return x, y, bw, bh


def coco_dataset(root: Path, seed: int = 3, size: int = 64) -> Expected:
    """Two split files (train, val) with 0-based category ids, .jpg names for .tif files,
    polygon, compressed and uncompressed RLE segmentations, and the edge cases."""
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    exp = Expected()
    cats = [{"id": 0, "name": "ship"}, {"id": 1, "name": "A320/321"}]
    for split, n_images, first_id in (("train", 3, 0), ("val", 2, 100)):
        images, anns = [], []
        for k in range(n_images):
            stem = f"{split}_{k}"
            write_geotiff(root / "images" / f"{stem}.tif", size, size, nrng, "EPSG:32631",
                          from_origin(500_000 + 1000 * k, 5_700_000, 1.0, 1.0))
            images.append({"id": first_id + k, "file_name": f"{stem}.jpg", "width": 1,
                           "height": 1})  # wrong sizes on purpose: the raster's win
            exp.scenes[f"{stem}.jpg"] = (size, size, split)  # the annotation's name
            for j in range(3):
                x, y, w, h = _int_box(rng, size, size)
                cat = j % 2
                aid = 1000 * (first_id + k + 1) + j
                ann = {"id": aid, "image_id": first_id + k, "category_id": cat,
                       "bbox": [x, y, w, h], "iscrowd": 0}
                if j == 2:
                    ann["segmentation"] = [[x, y, x + w, y, x + w, y + h, x, y + h]]
                anns.append(ann)
                exp.add(f"{stem}.jpg", str(aid), ["ship", "aircraft"][cat], (x, y, x + w, y + h),
                        [None, "A320/321"][cat])
        if split == "train":
            _coco_edge_cases(images, anns, exp, size)
            write_corrupt_image(root, "corrupt.tif")
        write_json(root / "annotations" / f"{split}.json",
                   {"images": images, "annotations": anns, "categories": cats})
    (root / "narrator.yaml").write_text(
        "name: gen-coco\nimages: images\nannotations: [annotations/train.json, "
        "annotations/val.json]\nclass_map: sar-aircraft\n")
    return exp


def _coco_edge_cases(images: list, anns: list, exp: Expected, size: int) -> None:
    scene = "train_0.jpg"
    mask = np.zeros((size, size), dtype=bool)
    mask[10:14, 20:29] = True           # rows 10-13, columns 20-28
    edge = [
        # partly outside: clipped to the image
        ({"bbox": [size - 5, 2, 10, 4]}, ("ship", (size - 5, 2, size, 6)), "clip"),
        # RLE only (compressed): the box is the mask's pixel extent
        ({"segmentation": encode(mask)}, ("ship", (20, 10, 29, 14)), None),
        # uncompressed RLE with a bbox: the box is the bbox
        ({"segmentation": encode(mask, compress=False), "bbox": [20, 10, 9, 4]},
         ("ship", (20, 10, 29, 14)), None),
        ({"bbox": [size + 10, 5, 4, 4]}, None, "outside"),
        ({"bbox": [3, 3, 0, 4]}, None, "zero or negative size"),
        ({"bbox": [3, float("nan"), 4, 4]}, None, "NaN"),
        ({"bbox": [3, 3, 4, 4], "category_id": 7}, None, "unknown category_id 7"),
        ({"segmentation": {"size": [5, 5], "counts": [3, 4]}}, None, "RLE counts add up"),
    ]
    for i, (fields, want, note) in enumerate(edge):
        aid = 900 + i
        anns.append({"id": aid, "image_id": 0, "category_id": 0, "iscrowd": 0} | fields)
        if want:
            key = exp.add(scene, str(aid), want[0], want[1])
            if note == "clip":
                exp.clipped.add(key)
        else:
            exp.reasons.append(note)
    anns.append({"id": 990, "image_id": 555, "category_id": 0, "bbox": [1, 1, 2, 2]})
    exp.reasons.append("unknown image_id 555")
    images.append({"id": 0, "file_name": "dup.jpg", "width": 8, "height": 8})
    exp.reasons.append("duplicate image id")
    images.append({"id": 50, "file_name": "absent.jpg", "width": 40, "height": 30})
    exp.scenes["absent.jpg"] = (40, 30, "train")  # annotation-only
    images.append({"id": 51, "file_name": "nosize.jpg"})
    exp.reasons.append("no valid width/height")
    images.append({"id": 52, "file_name": "corrupt.tif", "width": 8, "height": 8})
    exp.reasons.append("not a readable raster")
    exp.extra["corrupt"] = "corrupt.tif"


def write_corrupt_image(root: Path, name: str) -> None:
    (root / "images" / name).write_bytes(b"II*\x00 this is not a TIFF at all")


# -- Pascal VOC ----------------------------------------------------------------------------

def _voc_xml(file_name: str | None, size: tuple[int, int] | None, objects: list[str]) -> str:
    parts = ["<annotation>", "<folder>JPEGImages</folder>"]
    if file_name is not None:
        parts.append(f"<filename>{escape(file_name)}</filename>")
    if size:
        parts.append(f"<size><width>{size[0]}</width><height>{size[1]}</height>"
                     "<depth>1</depth></size>")
    return "".join(parts + objects + ["</annotation>"])


def _bnd(name: str | None, box: tuple, difficult: int = 0) -> str:
    tags = "".join(f"<{t}>{v}</{t}>" for t, v in zip(("xmin", "ymin", "xmax", "ymax"), box,
                                                       strict=True))
    name_el = f"<name>{escape(name)}</name>" if name is not None else ""
    return f"<object>{name_el}<difficult>{difficult}</difficult><bndbox>{tags}</bndbox></object>"


def _robnd(name: str, cx: float, cy: float, w: float, h: float, angle: float) -> str:
    return (f"<object><type>robndbox</type><name>{name}</name><difficult>0</difficult>"
            f"<robndbox><cx>{cx}</cx><cy>{cy}</cy><w>{w}</w><h>{h}</h><angle>{angle}</angle>"
            "</robndbox></object>")


def voc_dataset(root: Path, seed: int = 5, size: int = 64, merged: bool = False) -> Expected:
    """VOC with 1-based inclusive integer corners, robndbox rotated boxes (radians), the
    ImageSets split lists, and the edge cases. ``merged``: one file of many <annotation>."""
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    exp = Expected()
    docs: list[tuple[str, str]] = []
    splits = {"train": [], "val": []}
    for k in range(4):
        stem = f"img_{k}"
        split = "train" if k < 3 else "val"
        splits[split].append(stem)
        write_png(root / "JPEGImages" / f"{stem}.png", size, size, nrng)
        name = f"{stem}.jpg" if k == 1 else f"{stem}.png"  # img_1: .jpg name for a .png
        exp.scenes[name] = (size, size, split)
        objects = []
        for j in range(2):
            xmin, ymin = rng.randint(1, size - 10), rng.randint(1, size - 10)
            xmax, ymax = xmin + rng.randint(0, 8), ymin + rng.randint(0, 8)
            objects.append(_bnd("ship", (xmin, ymin, xmax, ymax), difficult=j))
            key = exp.add(name, str(j), "ship", (xmin - 1, ymin - 1, xmax, ymax))
            if j:
                exp.difficult.add(key)
        cx, cy, w, h = 32.0, 30.0, 12.0, 4.0
        angle = math.pi / 6
        objects.append(_robnd("ship", cx, cy, w, h, angle))
        c, s = math.cos(angle), math.sin(angle)
        pts = [(cx + u * c - v * s, cy + u * s + v * c)
               for u, v in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2))]
        key = exp.add(name, "2", "ship", (min(p[0] for p in pts), min(p[1] for p in pts),
                                                   max(p[0] for p in pts), max(p[1] for p in pts)))
        exp.polygons[key], exp.angles[key] = pts, 30.0
        if k == 0:
            objects += _voc_edge_objects(exp, name, size)
        docs.append((stem, _voc_xml(name, (size, size), objects)))
    docs.append(("absent", _voc_xml("absent.png", (50, 40), [_bnd("ship", (1, 1, 10, 10))])))
    exp.scenes["absent.png"] = (50, 40, None)
    exp.add("absent.png", "0", "ship", (0, 0, 10, 10))
    docs.append(("zz_dup", _voc_xml("img_0.png", (size, size), [])))
    exp.reasons.append("duplicate image img_0.png")
    _write_voc(root, docs, splits, merged)
    if not merged:
        (root / "Annotations" / "broken.xml").write_text("<annotation><filename>x.png</filen")
        exp.file_errors.append("broken.xml")
    return exp


def _voc_edge_objects(exp: Expected, scene: str, size: int) -> list[str]:
    key = exp.add(scene, "3", "ship", (size - 4, 9, size, 20))   # 1-based corners past the edge
    exp.clipped.add(key)
    exp.reasons += ["zero or negative size", "object without <name>", "outside", "NaN"]
    return [_bnd("ship", (size - 3, 10, size + 6, 20)), _bnd("ship", (20, 20, 18, 25)),
            _bnd(None, (2, 2, 5, 5)), _bnd("ship", (size + 5, 2, size + 9, 6)),
            _bnd("ship", (2, "nan", 5, 5))]


def _write_voc(root: Path, docs: list[tuple[str, str]], splits: dict[str, list[str]],
               merged: bool) -> None:
    folder = root / "Annotations"
    folder.mkdir(parents=True, exist_ok=True)
    if merged:
        (folder / "all.xml").write_text("<annotations>" + "".join(d for _, d in docs)
                                        + "</annotations>")
    else:
        for stem, doc in docs:
            (folder / f"{stem}.xml").write_text(doc)
    sets = root / "ImageSets" / "Main"
    sets.mkdir(parents=True, exist_ok=True)
    for split, stems in splits.items():
        (sets / f"{split}.txt").write_text("\n".join(stems) + "\n")
