"""COCO detection JSON: images, categories, annotations with [x, y, w, h] boxes and polygons."""

from __future__ import annotations

import json
import logging
import math
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shapely.geometry import MultiPolygon, Polygon

from narrator.errors import InputError
from narrator.ids import make_id
from narrator.ingest.base import DatasetConfig, Reader
from narrator.ingest.scenes import SceneBuilder
from narrator.records import Object, Quarantine, SceneBundle

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


def _polygon(segmentation: Any) -> Polygon | MultiPolygon | None:
    """COCO polygon segmentation -> shapely geometry (None for RLE or unusable input)."""
    if not isinstance(segmentation, list) or not segmentation:
        return None
    polys = []
    for ring in segmentation:
        if not isinstance(ring, list) or len(ring) < 6 or len(ring) % 2:
            continue
        try:
            coords = [(float(ring[i]), float(ring[i + 1])) for i in range(0, len(ring), 2)]
        except (TypeError, ValueError):
            continue
        poly = Polygon(coords)
        if not poly.is_valid:
            poly = poly.buffer(0)
        if not poly.is_empty:
            polys.append(poly)
    if not polys:
        return None
    return polys[0] if len(polys) == 1 else MultiPolygon(
        [g for p in polys for g in getattr(p, "geoms", [p])]
    )


def parse_box(bbox: Any) -> tuple[float, float, float, float] | str:
    """COCO ``[x, y, w, h]`` -> ``(x0, y0, x1, y1)``, or the reason it is unusable."""
    if not isinstance(bbox, list | tuple) or len(bbox) != 4:
        return f"bbox must be a list of 4 numbers, got {bbox!r}"
    try:
        x, y, w, h = (float(v) for v in bbox)
    except (TypeError, ValueError):
        return f"bbox has a non-numeric value: {bbox!r}"
    if not all(math.isfinite(v) for v in (x, y, w, h)):
        return f"bbox has a NaN or infinite value: {bbox!r}"
    if w <= 0 or h <= 0:
        return f"bbox has zero or negative size: {bbox!r}"
    return (x, y, x + w, y + h)


def clip_box(box: tuple[float, float, float, float], width: int,
             height: int) -> tuple[float, float, float, float] | None:
    """Clip a box to the image; None when nothing of it is inside."""
    x0, y0, x1, y1 = max(box[0], 0.0), max(box[1], 0.0), min(box[2], width), min(box[3], height)
    if x1 <= x0 or y1 <= y0:
        return None
    return (x0, y0, x1, y1)


class CocoReader(Reader):
    name = "coco"

    @classmethod
    def detect(cls, config: DatasetConfig) -> bool:
        for path in cls._candidates(config):
            with path.open("rb") as fh:
                head = fh.read(4096)
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
        stats = self.source_stats(source)
        split = source.stem if len(self.sources()) > 1 else None
        categories, bad = self._categories(data.get("categories"), source)
        yield from bad
        by_image: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        anns = data.get("annotations") or []
        if not isinstance(anns, list):
            raise InputError(source, "'annotations' must be a list")
        for ann in anns:
            if isinstance(ann, dict):
                by_image[ann.get("image_id")].append(ann)
            else:
                yield Quarantine("ingest", str(source), f"not an object: {ann!r}"[:200])
        builder = SceneBuilder(self.config, source, stats)
        seen_ids: set[Any] = set()
        for image in data["images"]:
            record = f"image id={image.get('id')!r}" if isinstance(image, dict) else repr(image)
            if not isinstance(image, dict) or "file_name" not in image:
                yield Quarantine("ingest", str(source), "image entry without file_name", record)
                continue
            if image.get("id") in seen_ids:
                yield Quarantine("ingest", str(source), "duplicate image id", record)
                continue
            seen_ids.add(image.get("id"))
            scene = builder.build(str(image["file_name"]), image.get("width"),
                                  image.get("height"), split, record)
            if isinstance(scene, Quarantine):
                yield scene
                continue
            bundle = SceneBundle(scene)
            for i, ann in enumerate(by_image.pop(image.get("id"), [])):
                obj = self._object(ann, i, bundle, categories, source)
                if isinstance(obj, Quarantine):
                    yield obj
                else:
                    bundle.objects.append(obj)
            yield from builder.attach_masks(bundle)
            stats.scenes += 1
            stats.objects += len(bundle.objects)
            stats.regions += len(bundle.regions)
            yield bundle
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

    def _object(self, ann: dict[str, Any], index: int, bundle: SceneBundle,
                categories: dict[Any, str], source: Path) -> Object | Quarantine:
        scene = bundle.scene
        record = f"annotation id={ann.get('id')!r} in {scene.file_name}"
        if ann.get("category_id") not in categories:
            return Quarantine("ingest", str(source),
                              f"unknown category_id {ann.get('category_id')!r}",
                              record, scene.scene_id)
        box = parse_box(ann.get("bbox"))
        if isinstance(box, str):
            return Quarantine("ingest", str(source), box, record, scene.scene_id)
        clipped = clip_box(box, scene.width, scene.height)
        if clipped is None:
            return Quarantine("ingest", str(source),
                              f"bbox {ann.get('bbox')!r} lies outside the "
                              f"{scene.width}x{scene.height} image", record, scene.scene_id)
        source_name = categories[ann["category_id"]]
        poly = _polygon(ann.get("segmentation"))
        return Object(
            object_id=make_id(scene.scene_id, ann.get("id", index), source_name, clipped),
            scene_id=scene.scene_id, category=self.canonical(source_name),
            x0=clipped[0], y0=clipped[1], x1=clipped[2], y1=clipped[3],
            source_category=source_name, poly_wkb=poly.wkb if poly is not None else None,
            difficult=bool(ann.get("iscrowd", 0)), source_id=str(ann.get("id", index)),
            attrs={"clipped": True} if clipped != box else {},
        )
