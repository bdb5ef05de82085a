"""Dataset readers: one module per annotation format over a shared base (see base.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from narrator.errors import InputError
from narrator.ingest.base import DatasetConfig, SourceStats, load_config
from narrator.ingest.registry import READERS, reader_for
from narrator.records import Quarantine, SceneBundle

log = logging.getLogger(__name__)

__all__ = ["READERS", "DatasetConfig", "IngestResult", "load_config", "read_dataset",
           "reader_for"]


@dataclass
class IngestResult:
    """Everything read from a dataset. ``file_errors`` are files that could not be parsed."""

    format: str
    bundles: list[SceneBundle] = field(default_factory=list)
    quarantine: list[Quarantine] = field(default_factory=list)
    stats: list[SourceStats] = field(default_factory=list)
    file_errors: list[InputError] = field(default_factory=list)
    declared: set[str] = field(default_factory=set)

    @property
    def vocabulary(self) -> list[str]:
        """Declared and observed categories: what "absent" is measured against."""
        return sorted(self.declared | {o.category for b in self.bundles for o in b.objects})


def read_dataset(config: DatasetConfig,
                 on_source: Callable[[Path, int], None] | None = None) -> IngestResult:
    """Read every source of the dataset; one unreadable file does not stop the others."""
    reader = reader_for(config)
    result = IngestResult(reader.name)
    sources = reader.sources()
    if not sources:
        raise InputError(config.root, f"no {reader.name} annotation files found")
    for source in sources:
        n_before = len(result.bundles)
        try:
            for item in reader.read_source(source):
                if isinstance(item, Quarantine):
                    reader.source_stats(source).quarantined += 1
                    result.quarantine.append(item)
                else:
                    result.bundles.append(item)
        except InputError as exc:
            log.error("%s", exc)
            result.file_errors.append(exc)
            result.quarantine.append(Quarantine("ingest", exc.path, exc.reason, "whole file"))
        if on_source:
            on_source(source, len(result.bundles) - n_before)
    result.stats = list(reader.stats.values())
    result.declared = set(reader.declared)
    return result
