"""The ``images`` format: every raster under the images folder is a scene, without objects.

For imagery that has no annotations (yet): the scenes carry their geo and SAR metadata (and
the regions of any masks configured in narrator.yaml), which is what scene-level texts
(location, resolution, sensor) are made from. Never detected: ask for it with
``--format images``, so that a dataset whose annotations failed to be recognised is not
silently read as unannotated.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from narrator.errors import InputError
from narrator.ingest.base import DatasetConfig, Reader
from narrator.ingest.scenes import raster_files
from narrator.records import Quarantine, SceneBundle


class ImageReader(Reader):
    name = "images"

    @classmethod
    def detect(cls, config: DatasetConfig) -> bool:
        return False

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
