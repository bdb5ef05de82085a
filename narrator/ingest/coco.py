"""COCO detection JSON: images, categories, annotations with [x, y, w, h] boxes, polygon and
RLE segmentations (compressed or not, decoded by narrator.ingest.rle), category ids of any
base (they are looked up in the file's own category list), several files as splits."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from narrator.errors import InputError
from narrator.ingest.base import DatasetConfig, Reader
from narrator.ingest.rle import decode, mask_geometry
from narrator.ingest.shapes import Box, Candidate, xywh_box
from narrator.records import Quarantine, Scene, SceneBundle

log = logging.getLogger(__name__)


def load_json(path: Path) -> Any:
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise InputError(path, f"cannot read the file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text; is this really a JSON file?") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            path, f"not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg} "
                  "(truncated download?)"
        ) from None


def _polygon(segmentation: Any) -> BaseGeometry | None:
    """COCO polygon segmentation -> shapely geometry (None for RLE or unusable rings).

    Validity is checked later, by make_object (an unusable polygon beside a bbox is dropped).
    """
    if not isinstance(segmentation, list) or not segmentation:
        return None
    polys = []
    for ring in segmentation:
        if not isinstance(ring, list) or len(ring) < 6 or len(ring) % 2:
            continue
        try:
            coords = np.asarray(ring, dtype=np.float64).reshape(-1, 2)
        except (TypeError, ValueError):
            continue
        if np.isfinite(coords).all():
            polys.append(shapely.polygons(coords))
    if not polys:
        return None
    return polys[0] if len(polys) == 1 else shapely.multipolygons(polys)


class CocoReader(Reader):
    """COCO detection JSON; several files in one dataset are splits named by file stem."""

    name = "coco"

    def __init__(self, config: DatasetConfig) -> None:
        super().__init__(config)
        self._n_sources: int | None = None

    @classmethod
    def detect(cls, config: DatasetConfig) -> bool:
        for path in cls._candidates(config):
            try:
                with path.open("rb") as fh:
                    head = fh.read(4096)
            except OSError:
                continue  # reported when the file is read
            if b'"images"' in head or b'"annotations"' in head or b'"categories"' in head:
                return True
        return False

    @staticmethod
    def _candidates(config: DatasetConfig) -> list[Path]:
        if config.annotations:
            return [config.path(a) for a in config.annotations]
        return sorted(p for p in config.root.rglob("*.json") if p.is_file())

    def sources(self) -> list[Path]:
        return self._candidates(self.config)

    def read_source(self, source: Path) -> Iterator[SceneBundle | Quarantine]:
        data = load_json(source)
        if not isinstance(data, dict) or not isinstance(data.get("images"), list):
            raise InputError(source, "not a COCO file: no 'images' list at the top level")
        if self._n_sources is None:
            self._n_sources = len(self.sources())
        split = source.stem if self._n_sources > 1 else None
        categories, bad = self._categories(data.get("categories"), source)
        yield from bad
        by_image: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        anns = data.get("annotations") or []
        if not isinstance(anns, list):
            raise InputError(source, "'annotations' must be a list")
        for ann in anns:
            if isinstance(ann, dict):
                by_image[_key(ann.get("image_id"))].append(ann)
            else:
                yield Quarantine("ingest", str(source), f"not an object: {ann!r}"[:200])
        builder = self.scene_builder(source)
        seen_ids: set[Any] = set()
        for image in data["images"]:
            record = f"image id={image.get('id')!r}" if isinstance(image, dict) else repr(image)
            problem = _image_problem(image, seen_ids)
            if problem:
                yield Quarantine("ingest", str(source), problem, record)
                continue
            seen_ids.add(image.get("id"))
            scene = builder.build(str(image["file_name"]), image.get("width"),
                                  image.get("height"), split, record)
            if isinstance(scene, Quarantine):
                yield scene
                continue
            bundle = SceneBundle(scene)
            candidates = (self._candidate(ann, i, categories, scene)
                          for i, ann in enumerate(by_image.pop(image.get("id"), [])))
            yield from self.add_objects(bundle, candidates, source)
            yield from self.complete(builder, bundle)
        for image_id, orphans in by_image.items():
            for ann in orphans:
                yield Quarantine("ingest", str(source), f"unknown image_id {image_id!r}",
                                 f"annotation id={ann.get('id')!r}")

    def _categories(self, cats: Any, source: Path) -> tuple[dict[Any, str], list[Quarantine]]:
        out: dict[Any, str] = {}
        bad: list[Quarantine] = []
        if not isinstance(cats, list):
            raise InputError(source, "not a COCO file: no 'categories' list")
        for cat in cats:
            if isinstance(cat, dict) and "id" in cat and isinstance(cat.get("name"), str):
                out[cat["id"]] = cat["name"]
                self.declared.add(self.canonical(cat["name"]))
            else:
                bad.append(Quarantine("ingest", str(source), "unusable category entry",
                                      repr(cat)[:200]))
        return out, bad

    def _candidate(self, ann: dict[str, Any], index: int, categories: dict[Any, str],
                   scene: Scene) -> Candidate | Quarantine:
        record = f"annotation id={ann.get('id')!r} in {scene.file_name}"

        def reject(reason: str) -> Quarantine:
            return Quarantine("ingest", "", reason, record, scene.scene_id)

        if _key(ann.get("category_id")) not in categories:
            return reject(f"unknown category_id {ann.get('category_id')!r}")
        segmentation = ann.get("segmentation")
        if isinstance(segmentation, dict):
            poly = _rle_geometry(segmentation, scene)
            if isinstance(poly, str):
                return reject(poly)
        else:
            poly = _polygon(segmentation)
        box: Box | None = None
        if ann.get("bbox") is not None or poly is None:
            parsed = xywh_box(ann.get("bbox"))
            if isinstance(parsed, str):
                return reject(parsed)
            box = parsed
        crowd = bool(ann.get("iscrowd", 0))
        return Candidate(categories[ann["category_id"]], record, str(ann.get("id", index)),
                         box=box, poly=poly, difficult=crowd,
                         attrs={"iscrowd": True} if crowd else {})


def _key(value: Any) -> Any:
    """An id as a dict key: a JSON list or object (a wrong type) becomes its text."""
    return json.dumps(value) if isinstance(value, list | dict) else value


def _image_problem(image: Any, seen_ids: set[Any]) -> str | None:
    """Why an ``images`` entry is unusable (None if it is fine)."""
    if not isinstance(image, dict) or not isinstance(image.get("file_name"), str) \
            or not image["file_name"]:
        return "image entry without a file_name string"
    if isinstance(image.get("id"), list | dict):
        return f"image id must be a number or a string, got {image.get('id')!r}"
    if image.get("id") in seen_ids:
        return "duplicate image id"
    return None


def _rle_geometry(rle: dict[str, Any], scene: Scene) -> BaseGeometry | None | str:
    """The polygons of an RLE mask, or why it is unusable."""
    try:
        mask = decode(rle, (scene.height, scene.width))
    except ValueError as exc:
        return str(exc) if str(exc).startswith("RLE") else f"RLE segmentation: {exc}"
    return mask_geometry(mask)
