"""The export engine: filtered text rows in, one or more validated files out.

A format turns each text row (see :mod:`narrator.export.select`) into ``(path, schema,
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

from narrator.export.select import Filters, count_texts, iter_texts
from narrator.export.splits import SplitAssignment, SplitConfig, assign_splits
from narrator.export.sqljson import write_lines
from narrator.export.validate import ExportError, check, columns
from narrator.export.writers import (CsvSink, JsonArraySink, JsonLinesSink, ParquetSink,
                                     SinkSet, _FileSink)
from narrator.store import Store

log = logging.getLogger(__name__)

Emitted = tuple[Path, str, dict[str, Any]]


@dataclass(frozen=True)
class ExportOptions:
    filters: Filters = field(default_factory=Filters)
    splits: SplitConfig = field(default_factory=SplitConfig)
    image_root: str | None = None


@dataclass
class ExportResult:
    texts: int = 0
    splits: dict[str, int] = field(default_factory=dict)
    scene_splits: dict[str, int] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)


class ExportFormat:
    """One export format. Subclasses set ``name`` and implement :meth:`emit`."""

    name: ClassVar[str] = ""
    #: the file suffix of a single-file export (``--out x.json``)
    suffix: ClassVar[str] = ""
    #: always write a directory (formats made of several files)
    directory: ClassVar[bool] = False
    arrow_schema: ClassVar[pa.Schema | None] = None

    def __init__(self, out: Path, options: ExportOptions) -> None:
        self.out = out
        self.options = options
        self.per_split = self.directory or not out.suffix

    def target(self, row: dict[str, Any]) -> Path:
        """One file, or ``<out>/<split><suffix>`` when --out is a folder."""
        return self.out / f"{row['split']}{self.suffix}" if self.per_split else self.out

    def emit(self, row: dict[str, Any]) -> Iterator[Emitted]:
        raise NotImplementedError

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
    record in Python (the same bytes)."""
    exporter = fmt(out, options)
    if exporter.per_split and out.exists() and not out.is_dir():
        raise ExportError(f"{out}: the {fmt.name} export writes a folder here, but this is a "
                          "file; pass a folder path (or a file name ending in "
                          f"{fmt.suffix or 'a suffix'})")
    assignment = assign_splits(store, options.splits)
    if on_total:
        on_total(count_texts(store, options.filters))
    result = ExportResult(scene_splits=assignment.scene_counts())
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
    log.info("exported %d texts as %s to %s", result.texts, fmt.name, out)
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
            per_split[row["split"]] += 1


def llama_factory_info(names_files: dict[str, str]) -> str:
    """A LLaMA-Factory ``dataset_info.json`` for sharegpt-style files (messages + images)."""
    entry = {"formatting": "sharegpt", "columns": {"messages": "messages", "images": "images"},
             "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                      "assistant_tag": "assistant"}}
    info = {name: {"file_name": file} | entry for name, file in sorted(names_files.items())}
    return json.dumps(info, indent=2) + "\n"
