"""Pascal VOC XML: one file per image, or one merged file holding many <annotation> elements.

Objects are ``<bndbox>`` (xmin, ymin, xmax, ymax) or ``<robndbox>`` (cx, cy, w, h, angle: the
roLabelImg / RSDD-SAR rotated box, angle in radians unless ``angle_unit: deg``).

Pixel convention (``voc_pixels`` in narrator.yaml): VOC's integer corners name the first and
last pixel of the box, both inclusive, counted from 1 (the VOC devkit). narrator stores
continuous coordinates (origin at the top-left corner of the top-left pixel), so by default
``xmin=1, xmax=10`` -- pixels 1 to 10, ten pixels -- is stored as ``x0=0, x1=10``:
``(xmin - 1, ymin - 1, xmax, ymax)``. ``inclusive-0`` (0-based inclusive corners) stores
``(xmin, ymin, xmax + 1, ymax + 1)`` and ``continuous`` stores the numbers as they are.
Rotated boxes are centre-size-angle numbers and are taken as continuous.

The split of a scene comes from ``ImageSets/Main/<split>.txt`` when the dataset has it, else
from the folder names (see narrator.ingest.labelfiles).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path

from narrator.errors import InputError
from narrator.ingest.labelfiles import SPLIT_NAMES, LabelFileReader, read_text
from narrator.ingest.scenes import SceneBuilder
from narrator.ingest.shapes import (Candidate, corners_box, normalise_angle, parse_numbers,
                                    rotated_rect, to_angle_rad)
from narrator.records import Quarantine, Scene, SceneBundle

_OFFSETS = {"inclusive-1": (-1.0, 0.0), "inclusive-0": (0.0, 1.0), "continuous": (0.0, 0.0)}


def _text(el: ET.Element | None, tag: str) -> str | None:
    child = el.find(tag) if el is not None else None
    return child.text.strip() if child is not None and child.text else None


class VocReader(LabelFileReader):
    name = "voc"
    suffix = ".xml"

    @classmethod
    def looks_like(cls, text: str) -> bool:
        return "<annotation" in text[:4096]

    @cached_property
    def _imageset_splits(self) -> dict[str, str]:
        """Image stem -> split, from ImageSets/Main/<split>.txt (trainval read first)."""
        folder = self.config.root / "ImageSets" / "Main"
        out: dict[str, str] = {}
        if folder.is_dir():
            files = sorted(folder.glob("*.txt"), key=lambda p: (p.stem != "trainval", p.stem))
            for f in files:
                if f.stem.lower() in SPLIT_NAMES:
                    for line in read_text(f).split():
                        out[line] = f.stem.lower()
        return out

    def read_file(self, path: Path, builder: SceneBuilder
                  ) -> Iterator[SceneBundle | Quarantine]:
        try:
            root = ET.fromstring(read_text(path))
        except ET.ParseError as exc:
            line, col = exc.position
            raise InputError(path, f"not valid XML at line {line} column {col}: "
                                   f"{str(exc).split(':')[0]} (truncated file?)") from None
        elements = [root] if root.tag == "annotation" else root.findall(".//annotation")
        if not elements:
            raise InputError(path, f"no <annotation> element (root is <{root.tag}>); "
                                   "not a Pascal VOC file")
        for i, ann in enumerate(elements):
            yield from self._annotation(ann, i, len(elements), path, builder)

    def _annotation(self, ann: ET.Element, index: int, count: int, path: Path,
                    builder: SceneBuilder) -> Iterator[SceneBundle | Quarantine]:
        file_name = _text(ann, "filename")
        record = f"<annotation> {index} ({file_name})" if count > 1 else f"{path.name}"
        if file_name is None:
            if count > 1:
                yield Quarantine("ingest", str(path), "<annotation> without <filename>", record)
                return
            file_name = path.stem
        size = ann.find("size")
        split = self._imageset_splits.get(Path(file_name).stem) or self.split_of(path)
        scene = builder.build(file_name, _number(_text(size, "width")),
                              _number(_text(size, "height")), split, record, origin=path)
        if isinstance(scene, Quarantine):
            yield scene
            return
        bundle = SceneBundle(scene)
        candidates = (self._object(obj, j, scene, path)
                      for j, obj in enumerate(ann.findall("object")))
        yield from self.add_objects(bundle, candidates, path)
        yield from self.complete(builder, bundle)

    def _object(self, obj: ET.Element, index: int, scene: Scene,
                path: Path) -> Candidate | Quarantine:
        record = f"object {index} of {scene.file_name}"
        name = _text(obj, "name")
        if not name:
            return Quarantine("ingest", str(path), "object without <name>", record)
        difficult = _text(obj, "difficult") == "1"
        attrs = {"truncated": True} if _text(obj, "truncated") == "1" else {}
        c = Candidate(name, record, str(index), difficult=difficult, attrs=attrs)
        if (rob := obj.find("robndbox")) is not None:
            return self._rotated(rob, c, path)
        box_el = obj.find("bndbox")
        if box_el is None:
            return Quarantine("ingest", str(path), "object has no <bndbox> or <robndbox>",
                              record)
        nums = parse_numbers([_text(box_el, t) for t in ("xmin", "ymin", "xmax", "ymax")],
                             "bndbox")
        if isinstance(nums, str):
            return Quarantine("ingest", str(path), nums, record)
        lo, hi = _OFFSETS[self.config.voc_pixels]
        box = corners_box(nums[0] + lo, nums[1] + lo, nums[2] + hi, nums[3] + hi,
                          f"bndbox {nums!r}")
        if isinstance(box, str):
            return Quarantine("ingest", str(path), box, record)
        c.box = box
        return c

    def _rotated(self, rob: ET.Element, c: Candidate, path: Path) -> Candidate | Quarantine:
        nums = parse_numbers([_text(rob, t) for t in ("cx", "cy", "w", "h", "angle")],
                             "robndbox")
        if isinstance(nums, str):
            return Quarantine("ingest", str(path), nums, c.record)
        cx, cy, w, h, angle = nums
        if w <= 0 or h <= 0:
            return Quarantine("ingest", str(path), f"robndbox has zero or negative size: "
                                                   f"{nums!r}", c.record)
        rad = to_angle_rad(angle, self.config.angle_unit or "rad", "robndbox")
        if isinstance(rad, str):
            return Quarantine("ingest", str(path), rad, c.record)
        c.poly = rotated_rect(cx, cy, w, h, rad)
        c.angle = normalise_angle(math.degrees(rad))
        return c


def _number(text: str | None) -> float | int | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value.is_integer() else value
