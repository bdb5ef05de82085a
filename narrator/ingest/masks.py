"""Segmentation masks -> regions (one multipolygon per class, with its area fraction) and,
for instance-id masks, optionally one object per instance.

Three kinds (``MaskConfig.kind``): ``class`` (one band of class indices, ``classes`` names
them, ``nodata`` pixels are left out), ``palette`` (RGB, ``palette`` maps class names to
colours; other colours are unlabelled background) and ``instance`` (one band of instance ids
or RGB colours, 0 / black is background, every instance is of ``category``). Fractions are
over the valid (non-nodata) pixels. Polygons are the pixel edges (rasterio.features.shapes,
4-connected), simplified by ``simplify_px``, in the pixel frame of narrator.records; an
instance object's box is the exact pixel extent of the instance.
"""

from __future__ import annotations

import re
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
from rasterio.features import shapes
from shapely import simplify, union_all
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from narrator.errors import InputError
from narrator.ids import make_id
from narrator.ingest.classmap import ClassEntry, ClassMap
from narrator.ingest.safepath import check_decoded_size, check_readable_file, outside_root
from narrator.ingest.shapes import Candidate, make_object
from narrator.records import Object, Quarantine, Region, SceneBundle

if TYPE_CHECKING:
    from narrator.ingest.base import DatasetConfig, MaskConfig

INSTANCE_CATEGORY = "object"


def parse_colour(value: Any) -> int:
    """``[r, g, b]``, ``"#rrggbb"`` or ``"r,g,b"`` -> 24-bit code; ValueError if unusable."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("#") and len(text) == 7:
            return int(text[1:], 16)
        value = [v.strip() for v in text.split(",")]
    if isinstance(value, list | tuple) and len(value) == 3:
        r, g, b = (int(v) for v in value)
        if all(0 <= c <= 255 for c in (r, g, b)):
            return (r << 16) | (g << 8) | b
    raise ValueError(f"not an RGB colour: {value!r}")


@dataclass
class MaskLabels:
    """A mask as integer labels: which pixels are valid, and the class name of each label."""

    labels: np.ndarray
    valid: np.ndarray
    names: dict[int, str]


def read_mask(path: Path, expected_size: tuple[int, int] | None = None
              ) -> tuple[np.ndarray, float | None]:
    """All bands of a mask raster (bands, height, width) and its declared nodata value."""
    check_readable_file(path, "mask raster")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as src:
                if expected_size and (src.width, src.height) != tuple(expected_size):
                    raise InputError(path, f"mask is {src.width}x{src.height} but its image "
                                           f"is {expected_size[0]}x{expected_size[1]}")
                check_decoded_size(path, src.width, src.height, src.count,
                                   np.dtype(src.dtypes[0]).itemsize, "mask")
                data = src.read()
                nodata = src.nodata
                if src.count == 1 and src.colorinterp[0].name == "palette":
                    cmap = src.colormap(1)
                    lut = np.zeros((3, max(cmap) + 1), dtype=np.uint8)
                    for i, rgba in cmap.items():
                        lut[:, i] = rgba[:3]
                    data = lut[:, data[0]]
    except RasterioIOError as exc:
        raise InputError(path, f"not a readable mask raster ({exc})") from None
    except MemoryError:
        raise InputError(path, "mask too large to read into memory") from None
    return data, nodata


def _rgb_codes(data: np.ndarray, path: Path) -> np.ndarray:
    if data.shape[0] < 3:
        raise InputError(path, f"expected an RGB mask, found {data.shape[0]} band(s)")
    rgb = data[:3].astype(np.int32)
    return (rgb[0] << 16) | (rgb[1] << 8) | rgb[2]


def mask_labels(path: Path, cfg: MaskConfig, expected_size: tuple[int, int] | None
                ) -> MaskLabels:
    """Read a mask of any kind as labels with class names."""
    data, declared = read_mask(path, expected_size)
    nodata = cfg.nodata if cfg.nodata is not None else declared
    if cfg.kind == "palette":
        codes = _rgb_codes(data, path)
        try:
            by_code = {parse_colour(c): name for name, c in cfg.palette.items()}
        except ValueError as exc:
            raise InputError(path, f"palette: {exc}") from None
        return MaskLabels(codes, np.ones(codes.shape, dtype=bool), by_code)
    band = data[0].astype(np.int32) if data.shape[0] == 1 or cfg.kind == "class" else \
        _rgb_codes(data, path)
    valid = np.ones(band.shape, dtype=bool) if nodata is None else data[0] != nodata
    if cfg.kind == "class":
        return MaskLabels(band, valid, dict(cfg.classes))
    category = cfg.category or INSTANCE_CATEGORY
    ids = np.unique(band[valid & (band != 0)])
    return MaskLabels(band, valid, {int(v): category for v in ids.tolist()})


def _components(ml: MaskLabels) -> dict[int, list[BaseGeometry]]:
    """Pixel-edge polygons of every named label, by label."""
    named = ml.valid & np.isin(ml.labels, np.fromiter(ml.names, dtype=np.int32))
    out: dict[int, list[BaseGeometry]] = defaultdict(list)
    if named.any():
        for geom, value in shapes(ml.labels, mask=named):
            out[int(value)].append(shape(geom))
    return out


def _simplified(geom: BaseGeometry, tolerance: float) -> BaseGeometry:
    small = simplify(geom, tolerance) if tolerance > 0 else geom
    return geom if small.is_empty else small


def labels_to_regions(ml: MaskLabels, parts: dict[int, list[BaseGeometry]], scene_id: str,
                      source: str, simplify_px: float, id_key: tuple[str, ...] = ()
                      ) -> list[Region]:
    """One region per class name, with its area fraction of the valid pixels."""
    n_valid = int(ml.valid.sum())
    if n_valid == 0:
        return []
    values, counts = np.unique(ml.labels[ml.valid], return_counts=True)
    area: dict[str, int] = defaultdict(int)
    geoms: dict[str, list[BaseGeometry]] = defaultdict(list)
    for value, count in zip(values.tolist(), counts.tolist(), strict=True):
        name = ml.names.get(int(value))
        if name is not None:
            area[name] += count
            geoms[name].extend(parts.get(int(value), []))
    return [Region(
        region_id=make_id(scene_id, "mask", *id_key, name), scene_id=scene_id, category=name,
        area_px=float(n), fraction=n / n_valid,
        geom_wkb=_simplified(union_all(geoms[name]), simplify_px).wkb if geoms[name] else None,
        source=source,
    ) for name, n in sorted(area.items())]


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """``'{stem}_LabelHand.tif'`` -> a regex whose group ``stem`` matches the key."""
    head, sep, tail = pattern.partition("{stem}")
    if not sep:
        raise ValueError(f"pattern {pattern!r} has no {{stem}}")
    return re.compile("^" + re.escape(head) + "(?P<stem>.+?)" + re.escape(tail) + "$")


class MaskSet:
    """Every mask configured for a dataset, with the class map's defaults filled in."""

    def __init__(self, config: DatasetConfig, class_map: ClassMap | None = None,
                 classify: Callable[[str], ClassEntry] | None = None) -> None:
        self.config = config
        cm = class_map or ClassMap()
        self.classify = classify or cm.lookup
        self.masks = [self._defaults(m, cm) for m in config.mask_list]
        self._image_keys = [pattern_regex(m.image_pattern) for m in self.masks]

    @staticmethod
    def _defaults(m: MaskConfig, cm: ClassMap) -> MaskConfig:
        update: dict[str, Any] = {}
        if not m.classes and cm.mask_classes:
            update["classes"] = cm.mask_classes
        if m.nodata is None and cm.mask_nodata is not None:
            update["nodata"] = cm.mask_nodata
        if not m.palette and cm.palette:
            update["palette"] = cm.palette
        return m.model_copy(update=update)

    def key(self, index: int, file_name: str) -> str:
        stem = Path(file_name).stem
        found = self._image_keys[index].match(stem)
        return found.group("stem") if found else stem

    def path(self, index: int, key: str) -> Path:
        m = self.masks[index]
        return self.config.path(m.dir) / m.pattern.format(stem=key)

    def attach(self, bundle: SceneBundle, key: str | None = None) -> Iterator[Quarantine]:
        """Add the regions (and instance objects) of every mask found for this scene."""
        scene = bundle.scene
        for i, m in enumerate(self.masks):
            path = self.path(i, key if key is not None else self.key(i, scene.file_name))
            if not path.is_file():
                continue
            if outside_root(path, self.config.root) and \
                    outside_root(path, self.config.path(m.dir)):
                yield Quarantine("ingest", str(path), "the mask links outside the dataset "
                                 "folder; not read", f"mask of {scene.file_name}", scene.scene_id)
                continue
            try:
                ml = mask_labels(path, m, (scene.width, scene.height))
            except InputError as exc:
                yield Quarantine("ingest", str(path), exc.reason, f"mask of {scene.file_name}",
                                 scene.scene_id)
                continue
            parts = _components(ml)
            id_key = () if m.kind == "class" else (m.kind, str(i))
            bundle.regions.extend(labels_to_regions(ml, parts, scene.scene_id, str(path),
                                                    m.simplify_px, id_key))
            if m.kind == "instance" and m.objects:
                yield from self._instances(bundle, ml, parts, path, m.simplify_px)

    def _instances(self, bundle: SceneBundle, ml: MaskLabels,
                   parts: dict[int, list[BaseGeometry]], path: Path,
                   tolerance: float) -> Iterator[Quarantine]:
        for value, pieces in sorted(parts.items()):
            geom = union_all(pieces)
            c = Candidate(ml.names[value], f"instance {value} of {path.name}",
                          f"instance:{value}", box=geom.bounds,
                          poly=_simplified(geom, tolerance), attrs={"from_mask": True})
            obj = make_object(self.classify, path, bundle.scene, c)
            if isinstance(obj, Object):
                bundle.objects.append(obj)
            else:
                yield obj
