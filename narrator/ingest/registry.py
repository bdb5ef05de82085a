"""Readers by name, and format detection for a dataset folder or file.

Detection tries the readers in this order and takes the first that recognises the data:
annotation files first (COCO JSON, VOC XML, DOTA text, YOLO-OBB text, YOLO text, vector
files), then a folder of masks described in narrator.yaml. ``images`` (scenes without
annotations) is only used when asked for.
"""

from __future__ import annotations

from narrator.errors import ConfigError, FormatNotDetected
from narrator.ingest.base import DatasetConfig, Reader
from narrator.ingest.coco import CocoReader
from narrator.ingest.dota import DotaReader
from narrator.ingest.images import ImageReader
from narrator.ingest.maskdir import MaskReader
from narrator.ingest.vector import VectorReader
from narrator.ingest.voc import VocReader
from narrator.ingest.yolo import YoloObbReader, YoloReader

READERS: dict[str, type[Reader]] = {
    r.name: r for r in (CocoReader, VocReader, DotaReader, YoloObbReader, YoloReader,
                        VectorReader, MaskReader, ImageReader)
}


def reader_for(config: DatasetConfig) -> Reader:
    """The reader named by the config (``--format``), else the first that detects the data."""
    if config.format:
        try:
            return READERS[config.format](config)
        except KeyError:
            known = ", ".join(sorted(READERS))
            raise ConfigError(f"unknown format {config.format!r}; known formats: {known}") from None
    for cls in READERS.values():
        if cls.detect(config):
            return cls(config)
    raise FormatNotDetected(
        f"{config.root}: no known annotation format found; pass --format "
        f"({', '.join(sorted(READERS))})"
    )
