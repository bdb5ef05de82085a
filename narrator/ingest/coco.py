"""COCO detection JSON: images, categories, annotations with [x, y, w, h] boxes, polygon and
RLE segmentations (compressed or not, decoded by narrator.ingest.rle), category ids of any
base (they are looked up in the file's own category list), several files as splits."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from narrator.errors import InputError
from narrator.ingest.base import DatasetConfig, Reader, split_in_name
from narrator.ingest.cococolumns import AnnotationColumns, Group, group_key
from narrator.ingest.jsonstream import NotStreamable, Streamed, stream_object
from narrator.ingest.rle import decode, mask_geometry
from narrator.ingest.shapes import Box, Candidate, box_objects, xywh_box
from narrator.records import Quarantine, Scene, SceneBundle

log = logging.getLogger(__name__)

#: about the shortest JSON of a box annotation: how many annotations a file can hold at most
MIN_ANNOTATION_BYTES = 48
#: rows reserved up front at most (about 1 GB of address space; more rows grow the columns)
MAX_RESERVED_ROWS = 1 << 24


def load_json(path: Path) -> Any:
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise InputError(path, f"cannot read the file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text; is this really a JSON file?") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise InputError(path, "JSON nested too deeply to be an annotation file") from None
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
    """COCO detection JSON; a file whose name names a split (``val.json``,
    ``instances_train2017.json``, ``inshore_test.json``) gives its scenes that split."""

    name = "coco"

    def __init__(self, config: DatasetConfig) -> None:
        super().__init__(config)

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
        data, images, columns = _parse(source)
        split = split_in_name(source.stem)
        categories, bad = self._categories(data.get("categories"), source)
        yield from bad
        _add_unstreamed(data, columns, source)
        for text in columns.not_objects:
            yield Quarantine("ingest", str(source), text)
        columns.finish()
        builder = self.scene_builder(source)
        # ids of images read that took no annotations (those that did, the columns know)
        seen_ids: set[Any] = set()

        def seen(image_id: Any) -> bool:
            return image_id in seen_ids or columns.taken(image_id)

        for k, image in enumerate(images):
            images[k] = None  # each entry freed once read (a million images: some 150 MB)
            record = f"image id={image[0]!r}" if isinstance(image, tuple) else image
            problem = _image_problem(image, seen)
            if problem:
                yield Quarantine("ingest", str(source), problem, record)
                continue
            image_id, file_name, width, height = image
            scene = builder.build(file_name, width, height, split, record)
            if isinstance(scene, Quarantine):
                seen_ids.add(image_id)
                yield scene
                continue
            bundle = SceneBundle(scene)
            group = columns.take(image_id)
            if group is None:
                seen_ids.add(image_id)
            if group is not None and group.slow.count(None) == len(group.slow):  # plain boxes
                bundle.objects, rejects = box_objects(
                    self.classify, source, scene, categories, group.ids, group.cats,
                    group.boxes, group.crowd,
                    lambda ann_id, name=scene.file_name: f"annotation id={ann_id!r} in {name}")
                yield from rejects
            elif group is not None:
                yield from self.add_objects(
                    bundle, self._group_candidates(group, categories, scene), source)
            yield from self.complete(builder, bundle)
        for image_id, group in columns.leftovers():
            for i, ann in enumerate(group.slow):
                ann_id = group.ids[i] if ann is None else ann.get("id")
                yield Quarantine("ingest", str(source), f"unknown image_id {image_id!r}",
                                 f"annotation id={ann_id!r}")

    def _group_candidates(self, group: Group, categories: dict[Any, str],
                    scene: Scene) -> Iterator[Candidate | Quarantine]:
        """The image's annotations in file order: plain boxes straight from the columns."""
        for i, ann in enumerate(group.slow):
            if ann is not None:
                yield self._candidate(ann, i, categories, scene)
                continue
            ann_id, category_id = group.ids[i], group.cats[i]
            record = f"annotation id={ann_id!r} in {scene.file_name}"
            if category_id not in categories:
                yield Quarantine("ingest", "", f"unknown category_id {category_id!r}", record,
                                 scene.scene_id)
                continue
            x, y, w, h = group.boxes[i]
            crowd = group.crowd[i]
            yield Candidate(categories[category_id], record, str(ann_id),
                            box=(x, y, x + w, y + h), difficult=crowd,
                            attrs={"iscrowd": True} if crowd else {})

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

        if group_key(ann.get("category_id")) not in categories:
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


#: an ``images`` entry: (id, file_name, width, height) of an object, or the repr of another
Image = tuple[Any, Any, Any, Any] | str


def _image(entry: Any) -> Image:
    if isinstance(entry, dict):
        return (entry.get("id"), entry.get("file_name"), entry.get("width"), entry.get("height"))
    return repr(entry)


def _parse(source: Path) -> tuple[dict[str, Any], list[Image], AnnotationColumns]:
    """(top-level object, images, annotations by image) of a COCO file, streamed; a file the
    stream cannot take is loaded whole, which words the error exactly as before."""
    images: list[Image] = []
    try:
        capacity = min(source.stat().st_size // MIN_ANNOTATION_BYTES, MAX_RESERVED_ROWS)
    except OSError:
        capacity = 0  # reported when the file is read
    columns = AnnotationColumns(capacity)

    def on_items(key: str, batch: list[Any]) -> None:
        if key == "annotations":
            columns.add(batch)
        else:
            images.extend(_image(entry) for entry in batch)

    try:
        data: Any = stream_object(source, ("images", "annotations"), on_items)
    except (OSError, NotStreamable) as exc:
        log.debug("%s: read whole (%s)", source, exc)
        data, images, columns = load_json(source), [], AnnotationColumns()
        if isinstance(data, dict) and isinstance(data.get("images"), list):
            images = [_image(entry) for entry in data["images"]]
            data["images"] = Streamed()
    if not isinstance(data, dict) or not isinstance(data.get("images"), Streamed):
        raise InputError(source, "not a COCO file: no 'images' list at the top level")
    return data, images, columns


def _add_unstreamed(data: dict[str, Any], columns: AnnotationColumns, source: Path) -> None:
    """Add the annotations of a file that was loaded whole (or that has no list of them)."""
    anns = data.get("annotations")
    if not isinstance(anns, Streamed):
        anns = anns or []
        if not isinstance(anns, list):
            raise InputError(source, "'annotations' must be a list")
        columns.add(anns)


def _image_problem(image: Image, seen: Callable[[Any], bool]) -> str | None:
    """Why an ``images`` entry is unusable (None if it is fine); ``seen(id)``: whether an
    image with that id was read already."""
    if not isinstance(image, tuple) or not isinstance(image[1], str) or not image[1]:
        return "image entry without a file_name string"
    if isinstance(image[0], list | dict):
        return f"image id must be a number or a string, got {image[0]!r}"
    if seen(image[0]):
        return "duplicate image id"
    return None


def _rle_geometry(rle: dict[str, Any], scene: Scene) -> BaseGeometry | None | str:
    """The polygons of an RLE mask, or why it is unusable."""
    try:
        mask = decode(rle, (scene.height, scene.width))
    except ValueError as exc:
        return str(exc) if str(exc).startswith("RLE") else f"RLE segmentation: {exc}"
    return mask_geometry(mask)
