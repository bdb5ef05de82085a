"""YOLO text labels (one file per image, coordinates normalised to the image size).

``yolo``: ``class cx cy w h [confidence]`` boxes, or ``class x1 y1 x2 y2 ...`` polygons (the
segmentation variant). ``yolo-obb``: ``class x1 y1 x2 y2 x3 y3 x4 y4`` oriented boxes
(Ultralytics OBB, the DOTA point order), stored with their first edge's angle.

Class names come from ``classes_file`` in narrator.yaml, else the first of ``classes.txt``,
``obj.names``, ``*.names``, ``data.yaml`` / ``dataset.yaml`` (``names:`` list or mapping)
found in the dataset. Normalised numbers are scaled by the image's size, so the image must
exist (YOLO files state no size): labels without an image are quarantined. A box
``cx cy w h`` is stored as ``((cx - w/2) W, (cy - h/2) H, (cx + w/2) W, (cy + h/2) H)``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path

import yaml
from shapely.geometry import Polygon

from narrator.errors import ConfigError
from narrator.ingest.labelfiles import LabelFileReader, read_text
from narrator.ingest.scenes import SceneBuilder
from narrator.ingest.shapes import Candidate, corners_box, edge_angle, parse_numbers
from narrator.records import Quarantine, Scene, SceneBundle
from narrator.safeyaml import load_yaml_text

log = logging.getLogger(__name__)

_NAME_FILES = ("classes.txt", "obj.names", "data.yaml", "dataset.yaml", "data.yml")


def _numeric_line(tokens: list[str]) -> bool:
    try:
        values = [float(t) for t in tokens]
    except ValueError:
        return False
    return values[0].is_integer() and all(-0.5 <= v <= 1.5 for v in values[1:])


def _names_from(path: Path) -> list[str] | dict[int, str]:
    text = read_text(path)
    if path.suffix.lower() not in (".yaml", ".yml"):
        return [line.strip() for line in text.splitlines() if line.strip()]
    try:
        names = (load_yaml_text(text) or {}).get("names")
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    except AttributeError:
        names = None
    if isinstance(names, list):
        return [str(n) for n in names]
    if isinstance(names, dict):
        return {int(k): str(v) for k, v in names.items()}
    raise ConfigError(f"{path}: no 'names:' list or mapping of class names")


class YoloReader(LabelFileReader):
    name = "yolo"
    suffix = ".txt"
    oriented = False

    @classmethod
    def looks_like(cls, text: str) -> bool:
        """The first label line: a class index then normalised numbers, in this variant."""
        first = next((line.split() for line in text.splitlines() if line.strip()), None)
        return first is not None and cls._shape_ok(len(first)) and _numeric_line(first)

    @classmethod
    def _shape_ok(cls, n: int) -> bool:
        return n in (5, 6) or (n >= 7 and n % 2 == 1)

    @cached_property
    def names(self) -> dict[int, str] | None:
        """Class index -> name, or None when the dataset has no class names file."""
        path = self._names_file()
        if path is None:
            msg = (f"{self.config.root}: no class names file (classes.txt, *.names, "
                   "data.yaml); class indices are kept as names")
            log.warning(msg)
            self.source_stats(self.config.root).warnings.append(msg)
            return None
        names = _names_from(path)
        mapping = dict(enumerate(names)) if isinstance(names, list) else names
        self.declared.update(self.canonical(n) for n in mapping.values())
        return mapping

    def _names_file(self) -> Path | None:
        if self.config.classes_file:
            path = self.config.path(self.config.classes_file)
            if not path.is_file():
                raise ConfigError(f"classes_file {path}: no such file")
            return path
        for name in _NAME_FILES:
            found = sorted(self.config.root.rglob(name))
            if found:
                return found[0]
        found = sorted(self.config.root.rglob("*.names"))
        return found[0] if found else None

    def read_file(self, path: Path, builder: SceneBuilder
                  ) -> Iterator[SceneBundle | Quarantine]:
        lines = read_text(path).splitlines()
        names = self.names
        scene = builder.build(path.stem, None, None, self.split_of(path), path.name,
                              origin=path)
        if isinstance(scene, Quarantine):
            yield scene
            return
        bundle = SceneBundle(scene)
        candidates = (self._line(line.split(), i, path, scene, names)
                      for i, line in enumerate(lines, start=1) if line.strip())
        yield from self.add_objects(bundle, candidates, path)
        yield from self.complete(builder, bundle)

    def _class(self, token: str, names: dict[int, str] | None) -> str | None:
        try:
            index = int(float(token))
        except ValueError:
            return None
        if names is None:
            return str(index) if index >= 0 else None
        return names.get(index)

    def _line(self, tokens: list[str], number: int, path: Path, scene: Scene,
              names: dict[int, str] | None) -> Candidate | Quarantine:
        record = f"line {number} of {path.name}"

        def reject(reason: str) -> Quarantine:
            return Quarantine("ingest", str(path), reason, record)

        if not self._shape_ok(len(tokens)):
            return reject(self._shape_error(len(tokens)))
        name = self._class(tokens[0], names)
        if name is None:
            n = len(names) if names is not None else 0
            return reject(f"unknown class index {tokens[0]!r} (the class names file has {n})")
        nums = parse_numbers(tokens[1:], "coordinates")
        if isinstance(nums, str):
            return reject(nums)
        c = Candidate(name, record, str(number))
        W, H = scene.width, scene.height
        if len(tokens) in (5, 6):
            cx, cy, w, h = nums[:4]
            box = corners_box((cx - w / 2) * W, (cy - h / 2) * H, (cx + w / 2) * W,
                              (cy + h / 2) * H, f"box {nums[:4]!r}")
            if isinstance(box, str):
                return reject(box)
            c.box = box
            if len(tokens) == 6:
                c.attrs["score"] = nums[4]
            return c
        pts = [(x * W, y * H) for x, y in zip(nums[0::2], nums[1::2], strict=True)]
        c.poly = Polygon(pts)
        if self.oriented:
            c.angle = edge_angle(pts)
        return c

    def _shape_error(self, n: int) -> str:
        return (f"expected 'class cx cy w h' or 'class x1 y1 x2 y2 ...', got {n} fields")


class YoloObbReader(YoloReader):
    name = "yolo-obb"
    oriented = True

    @classmethod
    def _shape_ok(cls, n: int) -> bool:
        return n == 9

    def _shape_error(self, n: int) -> str:
        return f"expected 'class x1 y1 x2 y2 x3 y3 x4 y4', got {n} fields"
