"""The call cache a shard task reads without a database connection.

Two layers, looked up in order:

* memory: the calls this process finished (and those in journals it was given, e.g. its own
  journal when a task is retried);
* a snapshot: an Arrow IPC file of every finished call in ``llm_calls``, written by the flow
  (``Store.export_llm_cache``) before it starts the shard tasks. It is memory-mapped and
  indexed once per process by a sorted array of keys, so a million cached calls cost a few
  tens of MB however many shard tasks share them, and it works the same for a thread pool, a
  process pool or Dask workers reading it from shared storage.

Only final calls are cache hits (``succeeded`` and ``failed``); an ``error`` call (no usable
answer within the retry budget) is sent again on a rerun.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from narrator.llm.journal import read_journal
from narrator.llm.types import FINAL_STATUSES

#: the columns a cache hit needs (the request is not among them: it is never re-read)
SNAPSHOT_COLUMNS = ("call_key", "model", "prompt_id", "status", "response", "error",
                    "finish_reason", "latency_s", "prompt_tokens", "completion_tokens")


class Snapshot:
    """A read-only, memory-mapped Arrow file of finished calls, sorted by key."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.table = pa.ipc.open_file(pa.memory_map(str(self.path), "r")).read_all()
        self.keys = _key_index(self.table.column("call_key"))

    def __len__(self) -> int:
        return len(self.keys)

    def get(self, key: str) -> dict[str, Any] | None:
        if not len(self.keys):
            return None
        probe = key.encode("ascii")
        i = int(np.searchsorted(self.keys, probe))
        if i >= len(self.keys) or self.keys[i] != probe:
            return None
        row = self.table.slice(i, 1).to_pylist()[0]
        if isinstance(row.get("response"), str):
            row["response"] = json.loads(row["response"])
        return row


def _key_index(column: pa.ChunkedArray) -> np.ndarray:
    """The keys as a sorted numpy byte-string array, zero-copy when they share a length."""
    keys = column.combine_chunks() if column.num_chunks else pa.array([], pa.string())
    if not pa.types.is_string(keys.type):
        keys = keys.cast(pa.string())
    n = len(keys)
    index: np.ndarray
    if n and keys.null_count == 0:
        offsets = np.frombuffer(keys.buffers()[1], dtype=np.int32)[keys.offset:keys.offset + n + 1]
        width = int(offsets[1] - offsets[0])
        if width > 0 and np.all(np.diff(offsets) == width):
            index = np.frombuffer(keys.buffers()[2], dtype=f"S{width}", count=n,
                                  offset=int(offsets[0]))
        else:
            index = np.array([k.encode("ascii") for k in keys.to_pylist()], dtype=object)
    else:
        index = np.array([], dtype="S1")
    if n > 1 and not bool(np.all(index[1:] >= index[:-1])):
        raise ValueError("the call snapshot is not sorted by call_key; rewrite it with "
                         "Store.export_llm_cache")
    return index


_SNAPSHOTS: dict[tuple[str, int, int], Snapshot] = {}
_SNAPSHOTS_LOCK = threading.Lock()


def open_snapshot(path: str | Path) -> Snapshot:
    """The snapshot at ``path``, opened once per process and file version."""
    path = Path(path).resolve()
    stat = path.stat()
    ident = (str(path), stat.st_mtime_ns, stat.st_size)
    with _SNAPSHOTS_LOCK:
        snap = _SNAPSHOTS.get(ident)
        if snap is None:
            for old in [k for k in _SNAPSHOTS if k[0] == ident[0]]:
                del _SNAPSHOTS[old]
            snap = _SNAPSHOTS[ident] = Snapshot(path)
        return snap


class CallCache:
    """Finished calls by key: this process's own, then a journal or two, then a snapshot."""

    def __init__(self, snapshot: str | Path | None = None,
                 journals: Iterable[str | Path] = ()) -> None:
        self.snapshot = open_snapshot(snapshot) if snapshot and Path(snapshot).exists() else None
        self._memory: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        for path in journals:
            if Path(path).exists():
                for row in read_journal(path):
                    self.add(row)

    def add(self, row: dict[str, Any]) -> None:
        """Remember a finished call (only final ones: an ``error`` call is to be resent)."""
        if row.get("status") not in FINAL_STATUSES:
            return
        slim = {c: row.get(c) for c in SNAPSHOT_COLUMNS}
        with self._lock:
            self._memory[row["call_key"]] = slim

    def get(self, key: str) -> dict[str, Any] | None:
        row = self._memory.get(key)
        if row is None and self.snapshot is not None:
            row = self.snapshot.get(key)
        return row if row is not None and row.get("status") in FINAL_STATUSES else None

    def __len__(self) -> int:
        return len(self._memory) + (len(self.snapshot) if self.snapshot else 0)
