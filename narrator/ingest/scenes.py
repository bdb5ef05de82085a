"""Turn an annotation's image reference into a Scene: find the file, read its metadata, masks.

Shared by every reader so that image resolution, annotation-only ingestion and mask loading
behave the same whatever the annotation format.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from narrator.errors import InputError
from narrator.ids import make_id
from narrator.ingest.base import DatasetConfig, SourceStats
from narrator.ingest.geotiff import read_raster_meta, sar_fields
from narrator.ingest.masks import class_index_regions
from narrator.records import Quarantine, Scene, SceneBundle

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp")


def _positive_int(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 and number == value else None


class SceneBuilder:
    """Builds scenes for one annotation source; caches the folder listing of the images."""

    def __init__(self, config: DatasetConfig, source: Path, stats: SourceStats) -> None:
        self.config = config
        self.source = source
        self.stats = stats
        self._by_stem: dict[str, list[Path]] | None = None
        self.renamed = 0
        self.missing = 0

    def _index(self) -> dict[str, list[Path]]:
        if self._by_stem is None:
            self._by_stem = {}
            images = self.config.images_dir
            if images.is_dir():
                for p in images.rglob("*"):
                    if p.suffix.lower() in IMAGE_SUFFIXES:
                        self._by_stem.setdefault(p.stem, []).append(p)
        return self._by_stem

    def resolve(self, file_name: str) -> Path | None:
        """The image on disk for ``file_name``; a differing extension is accepted with a warning."""
        exact = self.config.images_dir / file_name
        if exact.is_file():
            return exact
        stem = Path(file_name).stem
        found = self._index().get(stem)
        if not found:
            return None
        if Path(file_name).suffix.lower() != found[0].suffix.lower():
            self.renamed += 1
            if self.renamed == 1:
                msg = (f"{self.source}: file names differ from the files on disk "
                       f"(e.g. {file_name} -> {found[0].name}); using the files on disk")
                log.warning(msg)
                self.stats.warnings.append(msg)
        return found[0]

    def build(self, file_name: str, width: Any, height: Any, split: str | None,
              record: str) -> Scene | Quarantine:
        scene_id = make_id(self.config.name, file_name)
        path = self.resolve(file_name)
        meta: dict[str, Any] = {}
        if path is not None:
            try:
                meta = read_raster_meta(path)
            except InputError as exc:
                return Quarantine("ingest", str(self.source), exc.reason, f"{record} ({path})",
                                  scene_id)
        w = meta.get("width") or _positive_int(width)
        h = meta.get("height") or _positive_int(height)
        if not w or not h:
            why = ("image file not found and the annotation gives no valid width/height"
                   if path is None else "image has no size")
            return Quarantine("ingest", str(self.source), why, record, scene_id)
        if path is None:
            self.missing += 1
            if self.missing == 1:
                msg = (f"{self.source}: image {file_name} not found under "
                       f"{self.config.images_dir}; ingesting annotation-only scenes from "
                       "the sizes in the annotations")
                log.warning(msg)
                self.stats.warnings.append(msg)
        sar = sar_fields(self.config.sar) | {k: v for k, v in meta.items() if k in _SAR_KEYS}
        return Scene(
            scene_id=scene_id, dataset=self.config.name, file_name=file_name,
            image_path=str(path) if path else None, width=int(w), height=int(h),
            source=str(self.source), split=split, bands=meta.get("bands"),
            dtype=meta.get("dtype"), crs=meta.get("crs"), transform=meta.get("transform"),
            gsd_m=meta.get("gsd_m", self.config.sar.get("gsd_m")),
            center_lon=meta.get("center_lon"), center_lat=meta.get("center_lat"),
            footprint_wkb=meta.get("footprint_wkb"), meta={"tags": meta.get("tags", {})},
            **sar,
        )

    def attach_masks(self, bundle: SceneBundle) -> Iterator[Quarantine]:
        masks = self.config.masks
        if masks is None:
            return
        stem = Path(bundle.scene.file_name).stem
        path = self.config.path(masks.dir) / masks.pattern.format(stem=stem)
        if not path.is_file():
            return
        try:
            bundle.regions = class_index_regions(
                path, bundle.scene.scene_id, masks.classes,
                (bundle.scene.width, bundle.scene.height), masks.simplify_px,
            )
        except InputError as exc:
            yield Quarantine("ingest", str(path), exc.reason, f"mask of {bundle.scene.file_name}",
                             bundle.scene.scene_id)


_SAR_KEYS = ("platform", "band", "polarization", "mode", "incidence_angle", "orbit_direction",
             "acquired_at")
