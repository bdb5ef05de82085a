"""Dataset readers: one module per annotation format over a shared base (see base.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from narrator.errors import InputError
from narrator.ingest.base import DatasetConfig, Reader, SourceStats, load_config
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
    #: source class names in no class map and not canonical: name -> objects (kept verbatim)
    unknown_classes: dict[str, int] = field(default_factory=dict)

    @property
    def vocabulary(self) -> list[str]:
        """Declared and observed categories: what "absent" is measured against."""
        return sorted(self.declared | {o.category for b in self.bundles for o in b.objects})

    @property
    def warnings(self) -> list[str]:
        """Every warning of every source, then the unknown class names."""
        out = [w for s in self.stats for w in s.warnings]
        if self.unknown_classes:
            names = ", ".join(f"{k!r} ({n})" for k, n in sorted(self.unknown_classes.items()))
            out.append(f"classes in no class map, kept verbatim (objects): {names}; add them "
                       "to a class map (--class-map) to give them a canonical category")
        return out


class _Collector:
    """Sorts what a reader yields into an IngestResult; flags scenes read twice.

    Quarantined records count in the stats of ``source``; items a reader yields from
    ``finish()`` (``source`` None) are counted by the reader itself.
    """

    def __init__(self, result: IngestResult, reader: Reader,
                 on_source: Callable[[Path, int], None] | None) -> None:
        self.result, self.reader, self.on_source = result, reader, on_source
        self.first_source: dict[str, str] = {}
        self.pending = 0

    def add(self, source: Path | None, item: SceneBundle | Quarantine | InputError) -> None:
        if isinstance(item, InputError):
            log.info("%s", item)  # reported in file_errors (the CLI prints Error: lines)
            self.result.file_errors.append(item)
            item = Quarantine("ingest", item.path, item.reason, "whole file")
        if isinstance(item, Quarantine):
            if source is not None:
                self.reader.source_stats(source).quarantined += 1
            self.result.quarantine.append(item)
            return
        scene = item.scene
        first = self.first_source.get(scene.scene_id)
        if first is not None:
            if source is not None:
                stats = self.reader.source_stats(source)
                stats.scenes -= 1
                stats.objects -= len(item.objects)
                stats.regions -= len(item.regions)
            self.add(source, Quarantine(
                "ingest", scene.source or str(source),
                f"duplicate image {scene.file_name}: already read from {first}",
                f"image {scene.file_name}", scene.scene_id))
            return
        self.first_source[scene.scene_id] = scene.source or str(source)
        self.result.bundles.append(item)
        self.pending += 1
        if self.pending >= 256:
            self.flush(source)

    def flush(self, source: Path | None) -> None:
        if self.on_source and self.pending:
            self.on_source(source or self.reader.config.root, self.pending)
        self.pending = 0


def read_dataset(config: DatasetConfig,
                 on_source: Callable[[Path, int], None] | None = None) -> IngestResult:
    """Read every source of the dataset; one unreadable file does not stop the others.

    ``on_source(source, n)`` is called as scenes are read (n new scenes since the last call).
    """
    reader = reader_for(config)
    result = IngestResult(reader.name)
    sources = reader.sources()
    if not sources:
        raise InputError(config.root, f"no {reader.name} annotation files found")
    collect = _Collector(result, reader, on_source)
    for source in sources:
        try:
            for item in reader.read_source(source):
                collect.add(source, item)
        except InputError as exc:
            collect.add(source, exc)
        collect.flush(source)
    for item in reader.finish():
        collect.add(None, item)
    collect.flush(None)
    result.stats = list(reader.stats.values())
    result.declared = set(reader.declared)
    result.unknown_classes = dict(reader.class_map.unknown)
    return result
