"""The ``images`` format: every raster under the images folder is a scene, without objects.

For imagery that has no annotations (yet): the scenes carry their geo and SAR metadata (and
the regions of any masks configured in narrator.yaml), which is what scene-level texts
(location, resolution, sensor) are made from. Detected (as the last resort) only for
georeferenced rasters -- a GeoTIFF, or a folder of them, with no annotation file the other
readers recognise -- so that a folder of plain PNG/JPEG chips whose annotations failed to be
recognised is not silently read as unannotated; ask for that with ``--format images``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from narrator.errors import InputError
from narrator.ingest.base import DatasetConfig, Reader
from narrator.ingest.geotiff import read_raster_meta
from narrator.ingest.scenes import raster_files
from narrator.records import Quarantine, SceneBundle


def _georeferenced(path: Path) -> bool:
    try:
        meta = read_raster_meta(path)
    except InputError:
        return False
    return "crs" in meta


class ImageReader(Reader):
    name = "images"

    @classmethod
    def detect(cls, config: DatasetConfig) -> bool:
        sources = [config.path(a) for a in config.annotations] or [config.images_dir]
        files = [f for s in sources if s.exists() for f in raster_files(s)]
        return bool(files) and all(f.suffix.lower() in (".tif", ".tiff") for f in files) \
            and any(_georeferenced(f) for f in files[:8])

    def sources(self) -> list[Path]:
        """The images folder, or the image files named on the command line."""
        return [self.config.path(a) for a in self.config.annotations] or [self.config.images_dir]

    def read_source(self, source: Path) -> Iterator[SceneBundle | Quarantine]:
        files = raster_files(source)
        if not files:
            raise InputError(source, "no raster images (.tif, .png, .jpg, ...) found")
        builder = self.scene_builder(source)
        for path in files:
            relative = path.name if source.is_file() else path.relative_to(source).as_posix()
            scene = builder.build(relative, None, None, self.split_of(path), relative,
                                  path=path)
            if isinstance(scene, Quarantine):
                yield scene
            else:
                yield from self.complete(builder, SceneBundle(scene))
