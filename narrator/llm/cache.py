"""The call cache a shard task reads without a database connection.

Two layers, looked up in order:

* memory: the calls this process finished (and those in journals it was given, e.g. its own
  journal when a task is retried);
* a snapshot: an Arrow IPC file of every finished call in ``llm_calls``, written by the flow
  (:func:`export_snapshot`) before it starts the shard tasks. It is memory-mapped and
  indexed once per process by a sorted array of keys, so a million cached calls cost a few
  tens of MB however many shard tasks share them, and it works the same for a thread pool, a
  process pool or Dask workers reading it from shared storage.

Only final calls are cache hits (``succeeded`` and ``failed``); an ``error`` call (no usable
answer within the retry budget) is sent again on a rerun.

The policy of the ``llm_calls`` table lives here too (the store only executes it): which row
wins for a key (:func:`upsert_calls`), how shard journals are folded in (:func:`fold_journals`)
and how the snapshot is written and prepared before a run (:func:`prepare`).
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from narrator.errors import StoreError
from narrator.llm.journal import read_journal
from narrator.llm.types import FINAL_STATUSES

if TYPE_CHECKING:
    from narrator.store import Store

log = logging.getLogger(__name__)

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
                         "narrator.llm.cache.export_snapshot")
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


# -- the llm_calls table: which row wins, journals folded in, the snapshot written ----------
#: a finished call (succeeded or failed) is never replaced by an ``error`` row for its key
_KEEP_FINISHED = "i.status <> 'error' OR c.call_key IS NULL OR c.status = 'error'"


def upsert_calls(store: Store, rows: Iterable[dict[str, Any]]) -> int:
    """Insert or replace ``llm_calls`` rows (journal rows: ``created_at`` may be ISO text). A
    finished call is never replaced by an ``error`` row for the same key, whatever order
    rows arrive in (within the batch and against what is stored)."""
    best: dict[str, dict[str, Any]] = {}
    for row in rows:
        prev = best.get(row["call_key"])
        if prev is None or not (prev["status"] != "error" and row["status"] == "error"):
            best[row["call_key"]] = row
    fixed = [r | {"created_at": datetime.fromisoformat(r["created_at"])}
             if isinstance(r.get("created_at"), str) else r for r in best.values()]
    return store.upsert_where("llm_calls", fixed, "call_key", _KEEP_FINISHED)


def fold_journals(store: Store, paths: Iterable[str | Path], delete: bool = True) -> int:
    """Fold shard journals into ``llm_calls``, one transaction per journal, deleting each
    after its commit. Folding twice is harmless (upserts), so a crash anywhere between a
    shard's commit and its journal's deletion loses nothing."""
    if store.in_transaction:
        raise StoreError("fold_journals must run outside a transaction: it deletes each "
                         "journal after its own commit")
    total = 0
    for path in (Path(p) for p in paths):
        if not path.exists():
            continue
        rows = read_journal(path)  # bad lines are skipped and counted there
        with store.transaction():  # in batches: a journal's size never sets our memory
            while batch := list(itertools.islice(rows, 2000)):
                total += upsert_calls(store, batch)
        if delete:
            path.unlink()
    return total


def export_snapshot(store: Store, path: str | Path) -> int:
    """Write the read-only snapshot of finished calls that shard tasks look up (an Arrow IPC
    file sorted by key). Returns the number of calls."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    reader = store.con.sql(
        f"SELECT {', '.join(SNAPSHOT_COLUMNS)} FROM llm_calls "
        f"WHERE status IN ({', '.join(repr(s) for s in sorted(FINAL_STATUSES))}) "
        "ORDER BY call_key").to_arrow_reader(50_000)
    n = 0
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, reader.schema) as out:
        for batch in reader:
            out.write_batch(batch)
            n += batch.num_rows
    tmp.replace(path)
    return n


def prepare(store: Store) -> Path:
    """Before shard tasks start: fold the journals a crash left beside the database, then
    write the snapshot. Returns the snapshot's path (for the shard tasks)."""
    from narrator.llm.journal import leftover_journals, snapshot_path

    folded = fold_journals(store, leftover_journals(store.path))
    if folded:
        log.info("replayed %d LLM calls from journals of an interrupted run", folded)
    snapshot = snapshot_path(store.path)
    export_snapshot(store, snapshot)
    return snapshot


def call_counts(store: Store) -> dict[str, int]:
    """``llm_calls`` rows per status."""
    rows = store.con.execute("SELECT status, count(*) FROM llm_calls GROUP BY status")
    return {status: int(n) for status, n in rows.fetchall()}
