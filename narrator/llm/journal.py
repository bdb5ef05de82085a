"""Per-shard write-ahead journals of finished LLM calls.

Shard tasks never open the database (DuckDB lets no other process read a file a writer
holds). Each task appends every finished call, as one JSON line shaped like an ``llm_calls``
row, to its own journal beside the database, flushed per call. The flow folds a shard's
journal into ``llm_calls`` when it commits the shard (``Store.fold_llm_journals``), and a rerun
folds whatever journals a crash left behind first, so a SIGKILL loses only calls in flight.

Layout beside ``narrator.duckdb``::

    narrator.duckdb.llm/journal/<shard>.jsonl   one per shard task
    narrator.duckdb.llm/calls.arrow             read-only snapshot of finished calls
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: the llm_calls columns, in table order; a journal line has exactly these keys
COLUMNS = ("call_key", "model", "prompt_id", "prompt_hash", "request", "response", "parsed",
           "status", "error", "finish_reason", "latency_s", "prompt_tokens",
           "completion_tokens", "created_at")
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def llm_dir(db: str | Path) -> Path:
    db = Path(db)
    return db.with_name(db.name + ".llm")


def journal_dir(db: str | Path) -> Path:
    return llm_dir(db) / "journal"


def journal_path(db: str | Path, shard: str) -> Path:
    """The journal of one shard (``shard`` is any id; unsafe characters become '_')."""
    return journal_dir(db) / f"{_SAFE.sub('_', shard) or 'shard'}.jsonl"


def snapshot_path(db: str | Path) -> Path:
    return llm_dir(db) / "calls.arrow"


def leftover_journals(db: str | Path) -> list[Path]:
    folder = journal_dir(db)
    return sorted(folder.glob("*.jsonl")) if folder.is_dir() else []


class JournalWriter:
    """Appends finished calls to one JSONL file; each line is flushed before ``write`` returns.

    ``fsync=True`` also survives a power cut (a SIGKILL needs only the flush). Thread-safe.
    """

    def __init__(self, path: str | Path, fsync: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        self._lock = threading.Lock()
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())
        self._terminate_partial_line()
        self.written = 0

    def _terminate_partial_line(self) -> None:
        """A crash mid-line leaves a fragment; start our lines on a fresh one."""
        size = self.path.stat().st_size
        if size:
            with open(self.path, "rb") as f:
                f.seek(size - 1)
                if f.read(1) != b"\n":
                    self._file.write("\n")
                    self._file.flush()

    def write(self, row: dict[str, Any]) -> None:
        line = json.dumps(row, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()
            if self.fsync:
                os.fsync(self._file.fileno())
            self.written += 1

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.close()

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_journal(path: str | Path) -> Iterator[dict[str, Any]]:
    """The rows of a journal. A line cut short by a crash is skipped with a warning."""
    path = Path(path)
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                log.warning("%s:%d: skipping a journal line cut short (a crash while "
                            "writing); that call will be sent again", path, number)
                continue
            if isinstance(row, dict) and row.get("call_key"):
                yield {c: row.get(c) for c in COLUMNS}
            else:
                log.warning("%s:%d: not a call record; skipped", path, number)
