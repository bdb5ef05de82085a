"""Turn an annotation's image reference into a Scene: find the file, read its metadata, masks.

Shared by every reader so that image resolution, annotation-only ingestion, SAR metadata
(dataset defaults < dataset metadata file < raster tags < per-scene sidecar) and mask loading
behave the same whatever the annotation format.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from narrator.errors import InputError, printable
from narrator.ids import make_id
from narrator.ingest.base import DatasetConfig, SourceStats
from narrator.ingest.geotiff import read_raster_meta
from narrator.ingest.masks import MaskSet
from narrator.ingest.safepath import outside_root, unsafe_name
from narrator.ingest.sarmeta import SAR_FIELDS, load_metadata_file, sar_fields
from narrator.records import Quarantine, Scene, SceneBundle

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp")
DEFAULT_SIDECARS = ("{name}.json", "{stem}.json", "{stem}.yaml", "{stem}.yml")
#: larger than any SAR product; a bigger size is a corrupt header or annotation
MAX_SIDE_PX = 1_000_000


def raster_files(folder: Path) -> list[Path]:
    """Every image file under ``folder``, sorted."""
    if folder.is_file():
        return [folder]
    return sorted(p for p in folder.rglob("*")
                  if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def _non_utf8(*names: str) -> str | None:
    """The first of ``names`` that is not valid UTF-8, shown with ``\\xNN`` escapes."""
    for name in names:
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            return printable(name)
    return None


def _positive_int(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number > 0 and number == value else None


class SceneBuilder:
    """Builds scenes for one annotation source; caches the folder listing of the images."""

    def __init__(self, config: DatasetConfig, source: Path, stats: SourceStats,
                 masks: MaskSet | None = None) -> None:
        self.config = config
        self.source = source
        self.stats = stats
        self.masks = masks if masks is not None else MaskSet(config)
        self._by_stem: dict[str, list[Path]] | None = None
        #: the images folder does not exist (cached: then no file name resolves)
        self._no_images: bool | None = None
        self._listing: dict[str, set[str]] = {}  # folder (as text: cheaper keys) -> names
        self._dataset_sar: dict[str, Any] | None = None
        self.renamed = 0
        self.missing = 0

    def warn(self, message: str) -> None:
        """A warning for the user: kept in the source's stats (the CLI prints those)."""
        log.info("%s", message)
        self.stats.warnings.append(message)

    def _index(self) -> dict[str, list[Path]]:
        if self._by_stem is None:
            self._by_stem = {}
            images = self.config.images_dir
            if images.is_dir():
                for p in sorted(images.rglob("*")):
                    if p.suffix.lower() in IMAGE_SUFFIXES:
                        self._by_stem.setdefault(p.stem, []).append(p)
        return self._by_stem

    def resolve(self, file_name: str, near: Path | None = None) -> Path | None:
        """The image on disk for ``file_name``; a differing extension is accepted with a warning.
        A name without an extension (a label file's stem) matches any image suffix; of
        several images with that stem, the one whose folders best match ``near`` (the label
        file: ``labels/val/a.txt`` -> ``images/val/a.png``) is taken."""
        if self._no_images is None:  # an annotation-only dataset: no stat per scene
            self._no_images = not self.config.images_dir.exists()
        if self._no_images:
            return None
        exact = self.config.images_dir / file_name
        # the folder's listing (cached) first: no stat for each image that is not there
        if self._has(exact.parent, exact.name) and exact.is_file():
            return exact
        if not self._index():  # no image anywhere below the images folder
            return None
        name = Path(file_name)
        suffix = name.suffix.lower()
        stem = name.stem if suffix in IMAGE_SUFFIXES else name.name
        found = self._index().get(stem)
        if not found:
            return None
        best = found[0]
        if len(found) > 1 and near is not None:
            best = max(found, key=lambda p: len(set(p.parent.parts) & set(near.parent.parts)))
        if suffix in IMAGE_SUFFIXES and suffix != best.suffix.lower():
            self.renamed += 1
            if self.renamed == 1:
                self.warn(f"{self.source}: file names differ from the files on disk "
                          f"(e.g. {file_name} -> {best.name}); using the files on disk")
        return best

    def scene_name(self, path: Path) -> str:
        """An image's file name, or its path below the images folder when another image
        has the same stem (``train/a.png`` and ``val/a.png`` are two scenes)."""
        if len(self._index().get(path.stem, [])) > 1 and \
                path.is_relative_to(self.config.images_dir):
            return path.relative_to(self.config.images_dir).as_posix()
        return path.name

    def find_stem(self, stem: str, exclude: Path | None = None) -> Path | None:
        """The first image under the images folder with this stem (other than ``exclude``)."""
        for path in self._index().get(stem, []):
            if exclude is None or path.resolve() != exclude.resolve():
                return path
        return None

    def _has(self, folder: Path, name: str) -> bool:
        key = str(folder)
        names = self._listing.get(key)
        if names is None:
            try:
                names = self._listing[key] = set(os.listdir(folder))
            except OSError:
                names = self._listing[key] = set()
        return name in names

    def _sidecar(self, folder: Path, name: str) -> dict[str, Any]:
        stem = Path(name).stem
        patterns = (self.config.sidecar,) if self.config.sidecar else DEFAULT_SIDECARS
        for pattern in patterns:
            candidate = pattern.format(stem=stem, name=name)
            if candidate != name and self._has(folder, candidate):
                path = folder / candidate
                if path.resolve() == self.source.resolve():
                    continue
                try:
                    return sar_fields(load_metadata_file(path))
                except InputError as exc:
                    self.warn(f"{exc}; sidecar ignored")
        return {}

    def dataset_sar(self) -> dict[str, Any]:
        if self._dataset_sar is None:
            fields = sar_fields(self.config.sar)
            if self.config.sar_file:
                fields |= sar_fields(load_metadata_file(self.config.path(self.config.sar_file)))
            self._dataset_sar = fields
        return self._dataset_sar

    def build(self, file_name: str, width: Any, height: Any, split: str | None,
              record: str, path: Path | None = None, hints: dict[str, Any] | None = None,
              origin: Path | None = None) -> Scene | Quarantine:
        """A Scene for ``file_name`` (found under the images folder unless ``path`` is given);
        ``hints`` are SAR fields or ``gsd_m`` the annotation itself states; ``origin`` is the
        annotation file when the builder's source is a folder of them."""
        source = str(origin or self.source)
        if path is None and (why := unsafe_name(file_name)):
            return Quarantine("ingest", source, f"file name {printable(file_name)!r} {why}; "
                              "not read", record)
        path = path or self.resolve(file_name, origin)
        if path is not None and outside_root(path, self.config.root) and \
                outside_root(path, self.config.images_dir):
            return Quarantine("ingest", source, f"{printable(str(path))!r} is outside the "
                              "dataset folder; not read", record)
        if path is not None and not Path(file_name).suffix:
            file_name = self.scene_name(path)
        if bad := _non_utf8(file_name, source, str(path or "")):
            return Quarantine("ingest", source, f"file name is not valid UTF-8 ({bad}); "
                              "rename the file", record)
        scene_id = make_id(self.config.name, file_name)
        meta: dict[str, Any] = {}
        if path is not None:
            try:
                meta = read_raster_meta(path)
            except InputError as exc:
                return Quarantine("ingest", source, exc.reason, f"{record} ({path})", scene_id)
        w = meta.get("width") or _positive_int(width)
        h = meta.get("height") or _positive_int(height)
        if not w or not h:
            why = ("image file not found and the annotation gives no valid width/height"
                   if path is None else "image has no size")
            return Quarantine("ingest", source, why, record, scene_id)
        if max(w, h) > MAX_SIDE_PX:
            return Quarantine("ingest", source, f"image size {w}x{h} is more than "
                              f"{MAX_SIDE_PX:,} pixels a side (corrupt?)", record, scene_id)
        if path is None:
            self.missing += 1
            if self.missing == 1:
                self.warn(f"{self.source}: image {file_name} not found under "
                          f"{self.config.images_dir}; ingesting annotation-only scenes from "
                          "the sizes in the annotations")
        folder = path.parent if path is not None else self.config.images_dir
        sar = (self.dataset_sar() | (hints or {})
               | {k: v for k, v in meta.items() if k in SAR_FIELDS}
               | self._sidecar(folder, path.name if path else file_name))
        return Scene(
            scene_id=scene_id, dataset=self.config.name, file_name=file_name,
            image_path=str(path) if path else None, width=int(w), height=int(h),
            source=source, split=split, bands=meta.get("bands"),
            dtype=meta.get("dtype"), crs=meta.get("crs"), transform=meta.get("transform"),
            gsd_m=meta.get("gsd_m", sar.get("gsd_m")),
            center_lon=meta.get("center_lon"), center_lat=meta.get("center_lat"),
            footprint_wkb=meta.get("footprint_wkb"),
            meta={"tags": meta.get("tags", {})} | {
                k: meta[k] for k in ("gsd_x_m", "gsd_y_m", "rotation_deg", "georef")
                if k in meta},
            **{k: sar[k] for k in SAR_FIELDS if k in sar},
        )

    def attach_masks(self, bundle: SceneBundle, key: str | None = None) -> Iterator[Quarantine]:
        """Regions (and instance objects) from every mask configured for this scene."""
        yield from self.masks.attach(bundle, key)
