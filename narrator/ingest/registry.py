"""Readers by name, and format detection for a dataset folder or file."""

from __future__ import annotations

from narrator.errors import ConfigError, FormatNotDetected
from narrator.ingest.base import DatasetConfig, Reader
from narrator.ingest.coco import CocoReader

READERS: dict[str, type[Reader]] = {r.name: r for r in (CocoReader,)}


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
