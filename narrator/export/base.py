"""The export engine: filtered text rows in, one or more validated files out.

A format turns each text row (see :mod:`narrator.queries.export`) into ``(path, schema,
record)`` triples; the engine validates every record against its schema and streams it to
the sink its path's suffix calls for (``.jsonl``, ``.json`` array, ``.csv``, ``.parquet``).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from narrator.export.images import ImageMap, build_image_map
from narrator.queries.sqljson import memory_limit
from narrator.queries.export import (Filters, check_filters, count_texts, iter_texts,
                                     selected_scenes, styles_of, wide_selected_scenes)
from narrator.export.splits import SPLITS, SplitAssignment, SplitConfig, assign_splits
from narrator.export.sqljson import DUCKDB_MEMORY, write_lines
from narrator.export.validate import ExportError, check, columns
from narrator.export.writers import (CsvSink, JsonArraySink, JsonLinesSink, ParquetSink,
                                     SinkSet, _FileSink, write_error_message)
from narrator.signals import sigterm_interrupts
from narrator.store import Store

log = logging.getLogger(__name__)

Emitted = tuple[Path, str, dict[str, Any]]


@dataclass(frozen=True)
class ExportOptions:
    """What to export and how. ``images``: ``original`` or ``png`` (8-bit previews, see
    :mod:`narrator.export.images`); ``paths``: ``absolute`` or ``relative`` (to the export
    folder); ``image_root``: paths relative to this folder instead; ``single_file``: one
    file for every split (default: one file per split); ``boxes``: the box scale of the
    SARChat/VRSBench exports (``pixel``, ``1000``, ``100``, ``swift``); ``class_list``:
    SARLANG's "The classes are: ..." prefixes on SARVQA1 questions; ``conversations``: the
    sharegpt export writes one multi-turn conversation per image and kind of text."""

    filters: Filters = field(default_factory=Filters)
    splits: SplitConfig = field(default_factory=SplitConfig)
    image_root: str | None = None
    images: str = "original"
    paths: str = "absolute"
    single_file: bool = False
    boxes: str = "pixel"
    class_list: bool = True
    conversations: bool = False


@dataclass
class ExportResult:
    texts: int = 0
    splits: dict[str, int] = field(default_factory=dict)
    scene_splits: dict[str, int] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    images_missing: int = 0
    images_written: int = 0


class ExportFormat:
    """One export format. Subclasses set ``name`` and implement :meth:`emit`."""

    name: ClassVar[str] = ""
    #: the file suffix of a single-file export (``--out x.json``)
    suffix: ClassVar[str] = ""
    #: always write a directory (formats made of several files)
    directory: ClassVar[bool] = False
    arrow_schema: ClassVar[pa.Schema | None] = None

    #: the VQA style this format's texts should have (a warning otherwise)
    style: ClassVar[str | None] = None
    #: said when the export wrote nothing (what the format needs)
    empty_hint: ClassVar[str] = ""
    #: where ``--images png`` previews go, and where relative image paths start, both
    #: relative to the export folder
    image_subdir: ClassVar[str] = "images"
    media_subdir: ClassVar[str] = ""

    def __init__(self, out: Path, options: ExportOptions) -> None:
        self.out = out
        self.options = options
        self.per_split = self.directory or not out.suffix or not options.single_file
        self.folder = out if (self.directory or not out.suffix) else out.parent
        self.images = ImageMap()

    def target(self, row: dict[str, Any]) -> Path:
        """``<out>/<split><suffix>`` when --out is a folder, ``<stem>_<split><suffix>``
        beside a file --out, or the one file --out with ``single_file``."""
        if not self.per_split:
            return self.out
        if self.out.suffix and not self.directory:
            return self.out.with_name(f"{self.out.stem}_{row['split']}{self.out.suffix}")
        return self.out / f"{row['split']}{self.suffix}"

    def image(self, row: dict[str, Any]) -> str:
        """The image path written for a text row (see :mod:`narrator.export.images`)."""
        return self.images.ref(row)

    def prepare(self, store: Store) -> None:
        """Called once before the first record: read what the format needs from the store."""

    def emit(self, row: dict[str, Any]) -> Iterator[Emitted]:
        raise NotImplementedError

    def keeps(self, row: dict[str, Any]) -> bool:
        """Whether the text is written (counted in the result): a format may leave some out."""
        return True

    def open(self, path: Path, schema: str) -> _FileSink:
        if path.suffix == ".jsonl":
            return JsonLinesSink(path)
        if path.suffix == ".json":
            return JsonArraySink(path)
        if path.suffix == ".csv":
            return CsvSink(path, columns(schema))
        if path.suffix == ".parquet" and self.arrow_schema is not None:
            return ParquetSink(path, self.arrow_schema)
        raise ExportError(f"{path}: the {self.name} export cannot write {path.suffix} files")

    def finish(self, sinks: SinkSet) -> None:
        """Called after the last record; a single-file export with no record is still written."""
        if not self.per_split and sinks.get(self.out) is None:
            sinks.add(self.open(self.out, self.name))


def run_export(store: Store, fmt: type[ExportFormat], out: Path, options: ExportOptions,
               on_total: Callable[[int], None] | None = None,
               on_rows: Callable[[int], None] | None = None,
               in_sql: bool = True) -> ExportResult:
    """Write the filtered texts of ``store`` as ``fmt`` to ``out``: by DuckDB where the
    format can (:mod:`narrator.export.sqljson`) unless ``in_sql`` is false, else record by
    record in Python (the same bytes). DuckDB keeps to ``DUCKDB_MEMORY`` throughout: it
    caches what it reads up to its limit (80% of RAM by default), and the export's first
    queries over every text (the filters' values, the selected scenes) took 1.3 GB at 1M
    scenes without one."""
    with memory_limit(store, DUCKDB_MEMORY):
        return _run_export(store, fmt, out, options, on_total, on_rows, in_sql)


def _run_export(store: Store, fmt: type[ExportFormat], out: Path, options: ExportOptions,
                on_total: Callable[[int], None] | None, on_rows: Callable[[int], None] | None,
                in_sql: bool) -> ExportResult:
    exporter = fmt(out, options)
    if exporter.folder == out and out.exists() and not out.is_dir():
        raise ExportError(f"{out}: the {fmt.name} export writes a folder here, but this is a "
                          "file; pass a folder path (or a file name ending in "
                          f"{fmt.suffix or 'a suffix'})")
    check_filters(store, options.filters)
    assignment = assign_splits(store, options.splits)
    if on_total:
        on_total(count_texts(store, options.filters))
    result = ExportResult(scene_splits=assignment.scene_counts())
    try:
        with sigterm_interrupts():
            exporter.images = build_image_map(
                selected_scenes(store, options.filters), exporter.folder / exporter.image_subdir,
                exporter.folder / exporter.media_subdir, options.images, options.paths,
                options.image_root, [Path.cwd(), store.path.resolve().parent])
            result.images_missing, result.images_written = (exporter.images.missing,
                                                            exporter.images.written)
            return _write_all(store, exporter, assignment, result, on_rows, in_sql)
    except OSError as exc:
        raise ExportError(write_error_message(exc, out)) from None


def _write_all(store: Store, exporter: ExportFormat, assignment: SplitAssignment,
               result: ExportResult, on_rows: Callable[[int], None] | None,
               in_sql: bool) -> ExportResult:
    exporter.prepare(store)
    per_split: Counter[str] = Counter()
    with SinkSet() as sinks:
        if in_sql and hasattr(exporter, "line_sql"):
            write_lines(store, exporter, assignment, sinks, per_split, on_rows)
        else:
            _write_records(store, exporter, assignment, sinks, per_split, on_rows)
        exporter.finish(sinks)
        result.files = {str(p): s.count for p, s in sorted(sinks.sinks.items())}
    result.texts = sum(per_split.values())
    result.splits = dict(sorted(per_split.items()))
    result.warnings = export_warnings(store, exporter, result)
    log.info("exported %d texts as %s to %s", result.texts, exporter.name, exporter.out)
    return result


def _write_records(store: Store, exporter: ExportFormat, assignment: SplitAssignment,
                   sinks: SinkSet, per_split: Counter[str],
                   on_rows: Callable[[int], None] | None = None) -> None:
    """Emit, validate and write every text row in Python."""
    for batch in iter_texts(store, exporter.options.filters, assignment, on_scanned=on_rows):
        for row in batch:
            for path, schema, record in exporter.emit(row):
                check(schema, record)
                sink = sinks.get(path) or sinks.add(exporter.open(path, schema))
                sink.write(record)
            per_split[row["split"]] += exporter.keeps(row)  # a format may skip a text


def not_8bit(store: Store, f: Filters) -> int:
    """How many selected scenes have an image whose pixels are not 8-bit."""
    return wide_selected_scenes(store, f)


def split_counts(store: Store, exporter: ExportFormat) -> dict[str, int]:
    """The selection's texts per split, every split (for the message of an empty one)."""
    f = exporter.options.filters
    everything = Filters(tasks=f.tasks, statuses=f.statuses, styles=f.styles)
    counts: Counter[str] = Counter()
    assignment = assign_splits(store, exporter.options.splits)
    for batch in iter_texts(store, everything, assignment):
        counts.update(r["split"] for r in batch)
    return dict(sorted(counts.items()))


def export_warnings(store: Store, exporter: ExportFormat, result: ExportResult) -> list[str]:
    """Empty splits (an error when the split was asked for by --split), texts of another
    style than the format's, scene images not found."""
    f, out = exporter.options.filters, []
    share = dict(zip(SPLITS, exporter.options.splits.ratios, strict=True))
    empty = [s for s in (f.splits or SPLITS) if not result.splits.get(s)
             and (share[s] > 0 or f.splits)]
    if f.splits and set(empty) == set(f.splits) and count_texts(store, f):
        raise ExportError(f"--split {','.join(empty)}: no text of the selection falls in "
                          f"that split (texts per split: {split_counts(store, exporter)}); "
                          "change --ratios or --split-seed, or export more scenes")
    if not result.texts and exporter.empty_hint:
        out.append(exporter.empty_hint)
    if result.texts and empty:
        out.append(f"the {', '.join(empty)} split(s) got no text (scene groups per split: "
                   f"{result.scene_splits}); change --ratios or --split-seed")
    if exporter.style:
        other = sorted(s for s in styles_of(store, f) if s != exporter.style)
        if other:
            out.append(f"the {exporter.name} format expects VQA texts of style "
                       f"{exporter.style!r}, but the selection has style(s) "
                       f"{', '.join(other)}: generate with --style {exporter.style} or "
                       f"filter with --style {exporter.style}")
    if exporter.options.images == "original" and exporter.name != "fusar":
        deep = not_8bit(store, f)
        if deep:
            out.append(f"{deep} scene image(s) are not 8-bit (float or 16-bit SAR), which "
                       "PIL-based trainers turn black or saturated: export with --images png")
    if result.images_missing:
        out.append(f"{result.images_missing} scene image(s) were not found (looked from the "
                   f"current folder and from {store.path.resolve().parent}); their stored "
                   "paths were written as they are")
    return out


def llama_factory_info(names_files: dict[str, str]) -> str:
    """A LLaMA-Factory ``dataset_info.json`` for sharegpt-style files (messages + images).
    Relative image paths start at LLaMA-Factory's ``media_dir``, which defaults to its
    ``dataset_dir``: the folder of this file."""
    entry: dict[str, Any] = {
        "formatting": "sharegpt", "columns": {"messages": "messages", "images": "images"},
        "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                 "assistant_tag": "assistant"}}
    info = {name: {"file_name": file} | entry for name, file in sorted(names_files.items())}
    return json.dumps(info, indent=2) + "\n"
