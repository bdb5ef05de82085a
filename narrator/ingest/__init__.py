"""Dataset readers: one module per annotation format over a shared base (see base.py)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from narrator.errors import FormatNotDetected, InputError
from narrator.ingest.base import DatasetConfig, Reader, SourceStats, load_config
from narrator.ingest.masksflags import unconfigured_masks_hint, with_flag_masks
from narrator.ingest.registry import READERS, reader_for
from narrator.records import Quarantine, SceneBundle

if TYPE_CHECKING:
    from narrator.store import Store

log = logging.getLogger(__name__)

__all__ = ["READERS", "DatasetConfig", "IngestResult", "ingest_into", "load_config",
           "read_dataset", "reader_for", "with_flag_masks"]

Sink = Callable[[list[SceneBundle]], None]


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
    #: dataset-level warnings (not of one source)
    notes: list[str] = field(default_factory=list)
    #: categories of the objects read
    observed: set[str] = field(default_factory=set)
    #: how many scenes were read (when streaming into a store, whose ``ingest_scenes`` holds
    #: each one's id and content hash: a dict of them took some 100 MB at 1M scenes)
    scenes: int = 0
    #: how long reading (and writing, into a store) took
    seconds: float = 0.0
    #: no file changed since the last ingest: its result, nothing read (see ingest_into)
    unchanged: bool = False

    @property
    def vocabulary(self) -> list[str]:
        """Declared and observed categories: what "absent" is measured against."""
        return sorted(self.declared | self.observed)

    @property
    def warnings(self) -> list[str]:
        """Every warning of every source, then the unknown class names."""
        out = [*self.notes, *(w for s in self.stats for w in s.warnings)]
        if self.unknown_classes:
            names = ", ".join(f"{k!r} ({n})" for k, n in sorted(self.unknown_classes.items()))
            out.append(f"classes in no class map, kept verbatim (objects): {names}; add them "
                       "to a class map (--class-map) to give them a canonical category")
        return out


_HEX16 = re.compile(r"[0-9a-f]{16}")


def _compact(scene_id: str) -> int | str:
    """A scene id as a dict key: the number a 16-digit hex id (make_id's) spells, 40 bytes
    instead of 72 (a million scenes read: some 30 MB); any other id as it is."""
    return int(scene_id, 16) if _HEX16.fullmatch(scene_id) else scene_id


class _Collector:
    """Sorts what a reader yields into an IngestResult; flags scenes read twice.

    Quarantined records count in the stats of ``source``; items a reader yields from
    ``finish()`` (``source`` None) are counted by the reader itself.
    """

    def __init__(self, result: IngestResult, reader: Reader,
                 on_source: Callable[[Path, int], None] | None, sink: Sink | None = None,
                 batch: int = 256) -> None:
        self.result, self.reader, self.on_source = result, reader, on_source
        self.sink, self.batch = sink, batch
        self.first_source: dict[int | str, str] = {}  # scene (see _compact) -> its source
        self.sources: dict[str, str] = {}
        self.pending: list[SceneBundle] = []

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
        key = _compact(scene.scene_id)
        first = self.first_source.get(key)
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
        first = scene.source or str(source)  # one text per source, not one per scene
        self.first_source[key] = self.sources.setdefault(first, first)
        self.result.observed.update(o.category for o in item.objects)
        self.pending.append(item)
        if len(self.pending) >= self.batch:
            self.flush(source)

    def flush(self, source: Path | None) -> None:
        """Hand the scenes read since the last flush on: to the sink (and forget them), or
        to the result's bundles."""
        if not self.pending:
            return
        if self.sink is not None:
            self.sink(self.pending)
        else:
            self.result.bundles.extend(self.pending)
        if self.on_source:
            self.on_source(source or self.reader.config.root, len(self.pending))
        self.pending = []


def read_dataset(config: DatasetConfig,
                 on_source: Callable[[Path, int], None] | None = None,
                 sink: Sink | None = None, batch: int = 256) -> IngestResult:
    """Read every source of the dataset; one unreadable file does not stop the others.

    ``on_source(source, n)`` is called as scenes are read (n new scenes since the last call).
    With a ``sink``, scenes are handed to it ``batch`` at a time and not kept in the result
    (memory stays flat however big the dataset); otherwise they are in ``result.bundles``.
    """
    try:
        reader = reader_for(config)
    except FormatNotDetected as exc:
        hint = unconfigured_masks_hint(config)
        raise (FormatNotDetected(f"{exc}; {hint}") if hint else exc) from None
    result = IngestResult(reader.name)
    if config.unlisted:
        result.notes.append(
            f"{len(config.unlisted)} annotation file(s) beside the listed ones are not in "
            f"narrator.yaml and were not read: {', '.join(config.unlisted[:5])}"
            f"{' ...' if len(config.unlisted) > 5 else ''}; list them, or use a pattern such "
            "as 'annotations/*.json'")
    hint = unconfigured_masks_hint(reader.config, reader.name)
    if hint:
        result.notes.append(hint)
    sources = reader.sources()
    if not sources:
        raise InputError(config.root, f"no {reader.name} annotation files found")
    collect = _Collector(result, reader, on_source, sink, batch)
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


def ingest_into(store: Store, config: DatasetConfig,
                on_source: Callable[[Path, int], None] | None = None,
                batch: int = 2048, reread: bool = False) -> IngestResult:
    """Read the dataset into ``store`` as it is read, ``batch`` scenes per transaction,
    rewriting only scenes whose content changed; then record its ingest quarantine.

    When no file changed since the last complete ingest of the same settings (see
    narrator.ingest.unchanged) its result is taken without reading, unless ``reread``.
    The result has no bundles; the store's ``ingest_scenes`` lists every scene read (id and
    content hash), written along with the scenes."""
    from narrator.ingest import unchanged

    t0 = time.perf_counter()
    print_ = unchanged.fingerprint(config)
    if not reread and (known := unchanged.recall(store, config, print_)) is not None:
        known.unchanged, known.seconds = True, time.perf_counter() - t0
        return known
    store.tune_for_bulk()
    stored = store.scene_hashes()
    unchanged.forget(store, config)
    read = 0

    def write(bundles: list[SceneBundle]) -> None:
        nonlocal read
        with store.transaction():
            store.write_bundles(bundles, stored)
            unchanged.record_scenes(store, config, bundles)
        read += len(bundles)

    result = read_dataset(config, on_source, sink=write, batch=batch)
    store.write_quarantine(config.name, "ingest", result.quarantine)
    result.scenes = read
    unchanged.remember(store, config, print_, result)
    result.seconds = time.perf_counter() - t0
    return result
