"""Readers by name, and format detection for a dataset folder or file.

Detection tries the readers in this order and takes the first that recognises the data:
annotation files first (COCO JSON, VOC XML, DOTA text, YOLO-OBB text, YOLO text, vector
files), then a folder of masks described in narrator.yaml. Label rasters named as such
(``*_LabelHand.tif``, ``*_mask.tif`` beside their images, see rasterlabels.py) are found first
and read as masks, so that footprint or metadata vector files beside them are not taken for
labels. A folder of georeferenced rasters (or one GeoTIFF) with none of these is ``images``:
scenes without annotations, described from their metadata and geo facts.
"""

from __future__ import annotations

from narrator.errors import ConfigError, FormatNotDetected
from narrator.ingest.base import DatasetConfig, Reader
from narrator.ingest.coco import CocoReader
from narrator.ingest.dota import DotaReader
from narrator.ingest.images import ImageReader
from narrator.ingest.maskdir import MaskReader
from narrator.ingest.rasterlabels import with_detected_masks
from narrator.ingest.vector import VectorReader
from narrator.ingest.voc import VocReader
from narrator.ingest.yolo import YoloObbReader, YoloReader

READERS: dict[str, type[Reader]] = {
    r.name: r for r in (CocoReader, VocReader, DotaReader, YoloObbReader, YoloReader,
                        VectorReader, MaskReader, ImageReader)
}


def reader_for(config: DatasetConfig) -> Reader:
    """The reader named by the config (``--format``), else the first that detects the data."""
    if config.format in (None, "masks") and not config.mask_list:
        config = with_detected_masks(config)
        if config.mask_list and not config.format:
            return MaskReader(config)
    if config.format == "masks" and not config.mask_list:
        raise ConfigError(
            f"{config.root}: --format masks needs a 'masks:' section in narrator.yaml (dir, "
            "pattern, classes; see README) or label rasters named like their images plus "
            "_label / _mask / _LabelHand")
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
