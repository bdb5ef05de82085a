"""Streaming sinks: JSON Lines, JSON arrays, CSV and Parquet files written record by record.

Each sink writes ``<path>.part`` and renames it to ``<path>`` when the export finishes, so a
failed or interrupted export never leaves a truncated file under the final name.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import json
from collections.abc import Callable
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

    def _opened(self, open_rest: Callable[[], None]) -> None:
        """Run the rest of a constructor once ``.part`` exists; remove it if that fails."""
        try:
            open_rest()
        except BaseException:
            with contextlib.suppress(Exception):
                self.close()
            self.abort()
            raise


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
        self._opened(lambda: self.fh.write("["))

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
        self._opened(self.writer.writeheader)

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
        try:
            self.writer = pq.ParquetWriter(self.part, schema, compression="zstd")
        except BaseException:
            self.abort()
            raise

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
        self.extras: dict[Path, str] = {}

    def write_text(self, path: Path, text: str) -> None:
        """A small side file (``dataset_info.json``) written with the sinks, as a .part file
        renamed only when the whole export succeeded."""
        self.extras[path] = text

    def get(self, path: Path) -> _FileSink | None:
        return self.sinks.get(path)

    def add(self, sink: _FileSink) -> _FileSink:
        self.sinks[sink.path] = sink
        return sink

    def __enter__(self) -> SinkSet:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        """Close every sink; rename them all when the export succeeded and every close did,
        else remove every ``.part`` file (also on KeyboardInterrupt) and let the error go on."""
        failed: BaseException | None = None
        for sink in self.sinks.values():
            try:
                sink.close()
            except BaseException as exc:  # noqa: BLE001 - re-raised below after cleanup
                failed = failed or exc
        parts = {path: path.with_name(path.name + ".part") for path in self.extras}
        if exc_type is None and failed is None:
            try:
                for path, text in self.extras.items():
                    parts[path].write_text(text, encoding="utf-8")
            except BaseException as exc:  # noqa: BLE001 - re-raised below after cleanup
                failed = exc
        if exc_type is None and failed is None:
            for sink in self.sinks.values():
                sink.finish()
            for path, part in parts.items():
                part.replace(path)
            return
        for sink in self.sinks.values():
            sink.abort()
        for part in parts.values():
            part.unlink(missing_ok=True)
        if failed is not None and exc_type is None:
            raise failed


DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def write_error_message(exc: OSError, out: Path) -> str:
    """A one-line reason for an OSError while writing the export under ``out``."""
    where = exc.filename or out
    if exc.errno in DISK_FULL:
        return (f"{where}: the disk is full ({exc.strerror}); the partial export files were "
                "removed. Free some space or pass another --out")
    return f"{where}: cannot write the export ({exc.strerror or exc}); partial files removed"
