"""The ``masks`` format: a dataset that is images plus segmentation masks, no vector labels.

The first entry of ``masks:`` in narrator.yaml lists the scenes: every file in its ``dir``
matching its ``pattern`` is one scene, whose image is ``image_pattern`` (with the same
``{stem}``, any image suffix) under the images folder. A mask without its image is ingested
from the mask raster itself (its size, CRS and transform), with a warning. Every configured
mask (class-index, palette or instance) then adds its regions, see narrator.ingest.masks.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

from narrator.errors import InputError
from narrator.ingest.base import DatasetConfig, MaskConfig, Reader
from narrator.ingest.masks import pattern_regex
from narrator.records import Quarantine, SceneBundle


def _mask_files(config: DatasetConfig, m: MaskConfig) -> Iterator[tuple[Path, str]]:
    """(mask path, key) for every file of the mask folder that matches the pattern."""
    folder = config.path(m.dir)
    if not folder.is_dir():
        return
    regex = pattern_regex(m.pattern)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        found = regex.match(path.relative_to(folder).as_posix())
        if found:
            yield path, found.group("stem")


class MaskReader(Reader):
    name = "masks"

    @classmethod
    def detect(cls, config: DatasetConfig) -> bool:
        masks = config.mask_list
        return bool(masks) and next(_mask_files(config, masks[0]), None) is not None

    def sources(self) -> list[Path]:
        masks = self.config.mask_list
        return [self.config.path(masks[0].dir)] if masks else []

    def read_source(self, source: Path) -> Iterator[SceneBundle | Quarantine]:
        if not source.is_dir():
            raise InputError(source, "no such mask folder")
        first = self.mask_set.masks[0]
        builder = self.scene_builder(source)
        files = _mask_files(self.config, first)
        peek = list(itertools.islice(files, 1))
        if not peek:
            raise InputError(source, f"no file matches the mask pattern {first.pattern!r}")
        for path, key in itertools.chain(peek, files):
            image = builder.find_stem(first.image_pattern.format(stem=key), exclude=path)
            if image is None:
                builder.missing += 1
                if builder.missing == 1:
                    builder.warn(f"{source}: no image for mask {path.name} under "
                                 f"{self.config.images_dir}; scenes are read from the masks")
            target = image or path
            scene = builder.build(target.name, None, None, self.split_of(path), path.name,
                                  path=target)
            if isinstance(scene, Quarantine):
                yield scene
                continue
            yield from self.complete(builder, SceneBundle(scene), mask_key=key)
