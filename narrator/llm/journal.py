"""Per-shard write-ahead journals of finished LLM calls.

Shard tasks never open the database (DuckDB lets no other process read a file a writer
holds). Each task appends every finished call, as one JSON line shaped like an ``llm_calls``
row, to its own journal beside the database, flushed per call. The flow folds a shard's
journal into ``llm_calls`` when it commits the shard (``narrator.llm.cache.fold_journals``), and a rerun
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
from datetime import datetime
from typing import Any

from narrator.ids import canonical_json

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
        self._file = open(self.path, "a", encoding="utf-8",  # noqa: SIM115 (closed in close())
                          errors="backslashreplace")  # a lone surrogate: skipped when read
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
        line = bounded_line(row)
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


#: the largest journal line written or read (a reply is capped at 1 MB by default; a call
#: whose record is larger is journaled without its response, as an error to send again)
MAX_LINE_BYTES = 16 * 1024 * 1024
_TEXT = ("call_key", "model", "prompt_id", "prompt_hash", "status", "error",
         "finish_reason", "created_at")
_STATUSES = ("succeeded", "failed", "error")


class JournalStats:
    """What :func:`read_journal` kept and skipped (and why, one example per reason)."""

    def __init__(self) -> None:
        self.rows = self.skipped = 0
        self.reasons: dict[str, int] = {}

    def skip(self, path: Path, number: int, reason: str) -> None:
        self.skipped += 1
        if reason not in self.reasons:
            log.warning("%s:%d: skipping a journal line: %s; that call will be sent again",
                        path, number, reason)
        self.reasons[reason] = self.reasons.get(reason, 0) + 1


def bounded_line(row: dict[str, Any]) -> str:
    """The journal line of ``row``; a row too large for a line keeps its key, as an error."""
    line = json.dumps(row, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
    if len(line) <= MAX_LINE_BYTES // 4 or len(line.encode("utf-8", "replace")) <= MAX_LINE_BYTES:
        return line
    slim = {**row, "request": None, "response": None, "parsed": None, "status": "error",
            "error": f"the call's record ({len(line):,} characters) exceeds the journal's "
                     f"limit of {MAX_LINE_BYTES:,} bytes; not stored"}
    return json.dumps(slim, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"


def read_journal(path: str | Path,
                 stats: JournalStats | None = None) -> Iterator[dict[str, Any]]:
    """The sound rows of a journal. Any other line (cut short by a crash, too long, not UTF-8,
    not JSON, too deep, fields of the wrong type) is skipped and counted in ``stats``."""
    path = Path(path)
    stats = stats if stats is not None else JournalStats()
    with open(path, "rb") as f:
        number = 0
        while True:
            line = f.readline(MAX_LINE_BYTES + 1)
            if not line:
                break
            number += 1
            if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                while line and not line.endswith(b"\n"):  # skip the rest of the line
                    line = f.readline(MAX_LINE_BYTES)
                stats.skip(path, number, f"longer than {MAX_LINE_BYTES:,} bytes")
                continue
            if not line.strip():
                continue
            row, reason = journal_row(line)
            if row is None:
                stats.skip(path, number, reason)
                continue
            stats.rows += 1
            yield row
    if stats.skipped:
        log.warning("%s: %d journal line(s) skipped (%s)", path, stats.skipped,
                    ", ".join(f"{n} {r}" for r, n in stats.reasons.items()))


def journal_row(line: bytes) -> tuple[dict[str, Any] | None, str]:
    """The ``llm_calls`` row of one journal line, or None and why it is not one."""
    try:
        row = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        return None, "not UTF-8"
    except RecursionError:
        return None, "nested too deeply"
    except json.JSONDecodeError:
        return None, "not JSON (cut short by a crash while writing?)"
    if not isinstance(row, dict) or not isinstance(row.get("call_key"), str) \
            or not row["call_key"]:
        return None, "not a call record"
    out = {c: row.get(c) for c in COLUMNS}
    for column in _TEXT:
        if out[column] is not None and not isinstance(out[column], str):
            return None, f"{column} is not text"
    if out["status"] not in _STATUSES:
        return None, "an unknown status"
    for column in ("latency_s", "prompt_tokens", "completion_tokens"):
        value = out[column]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                  or not 0 <= value < 2**31):
            return None, f"{column} is not a number in range"
    for column in ("prompt_tokens", "completion_tokens"):
        if out[column] is not None:
            out[column] = int(out[column])
    try:
        if out["created_at"] is not None:
            datetime.fromisoformat(out["created_at"])
        canonical_json(out).encode("utf-8")  # lone surrogates, values too deep to store
    except (ValueError, RecursionError, UnicodeEncodeError, TypeError):
        return None, "a value that cannot be stored"
    return out, ""
