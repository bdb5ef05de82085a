"""Streaming sinks: JSON Lines, JSON arrays, CSV and Parquet files written record by record.

Each sink writes ``<path>.part`` and renames it to ``<path>`` when the export finishes, so a
failed or interrupted export never leaves a truncated file under the final name.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq


class _FileSink:
    """A file written as ``<path>.part``: subclasses implement write and close."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.part = path.with_name(path.name + ".part")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def write(self, record: dict[str, Any]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        self.part.replace(self.path)

    def abort(self) -> None:
        self.part.unlink(missing_ok=True)


class JsonLinesSink(_FileSink):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.fh = self.part.open("wb")

    def write(self, record: dict[str, Any]) -> None:
        self.fh.write((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
        self.count += 1

    def write_lines(self, lines: memoryview, count: int) -> None:
        """``count`` ready-made lines (UTF-8, each ending in a newline) in one buffer."""
        self.fh.write(lines)
        self.count += count

    def close(self) -> None:
        self.fh.close()


class JsonArraySink(_FileSink):
    """A JSON array written one element at a time (what LLaVA, LLaMA-Factory, ms-swift read)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.fh = self.part.open("w", encoding="utf-8")
        self.fh.write("[")

    def write(self, record: dict[str, Any]) -> None:
        self.fh.write(("\n" if not self.count else ",\n") + json.dumps(record, ensure_ascii=False))
        self.count += 1

    def close(self) -> None:
        self.fh.write("\n]\n")
        self.fh.close()


class CsvSink(_FileSink):
    def __init__(self, path: Path, fields: list[str]) -> None:
        super().__init__(path)
        self.fh = self.part.open("w", encoding="utf-8", newline="")
        self.writer = csv.DictWriter(self.fh, fieldnames=fields)
        self.writer.writeheader()

    def write(self, record: dict[str, Any]) -> None:
        self.writer.writerow(record)
        self.count += 1

    def close(self) -> None:
        self.fh.close()


class ParquetSink(_FileSink):
    """Buffers ``row_group`` records and writes them as one Parquet row group."""

    def __init__(self, path: Path, schema: pa.Schema, row_group: int = 20_000) -> None:
        super().__init__(path)
        self.schema = schema
        self.row_group = row_group
        self.buffer: list[dict[str, Any]] = []
        self.writer = pq.ParquetWriter(self.part, schema, compression="zstd")

    def write(self, record: dict[str, Any]) -> None:
        self.buffer.append(record)
        self.count += 1
        if len(self.buffer) >= self.row_group:
            self._flush()

    def _flush(self) -> None:
        if self.buffer:
            self.writer.write_table(pa.Table.from_pylist(self.buffer, schema=self.schema))
            self.buffer = []

    def close(self) -> None:
        self._flush()
        self.writer.close()


class SinkSet:
    """The open sinks of one export, keyed by path; all are finished or all aborted."""

    def __init__(self) -> None:
        self.sinks: dict[Path, _FileSink] = {}

    def get(self, path: Path) -> _FileSink | None:
        return self.sinks.get(path)

    def add(self, sink: _FileSink) -> _FileSink:
        self.sinks[sink.path] = sink
        return sink

    def __enter__(self) -> SinkSet:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        for sink in self.sinks.values():
            sink.close()
        for sink in self.sinks.values():
            if exc_type is None:
                sink.finish()
            else:
                sink.abort()
