"""Skip reading a dataset again when none of its files changed since its last ingest into
this store (a rerun, or a scheduled deployment polling for new scenes).

The fingerprint covers the dataset's settings, narrator's own code files, and the path, size
and modification time of every file under the dataset folder, its images and masks folders
and any annotation, class-map or metadata file outside them. A match with what the last
complete ingest recorded (``ingest_state``) gives that ingest's result back without reading a
file; anything else (a new, changed or removed file, other settings, a file that failed to
parse last time, ``reread``) reads everything as before.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pyarrow as pa

import narrator
from narrator.ingest.base import DatasetConfig, SourceStats

if TYPE_CHECKING:
    from narrator.ingest import IngestResult
    from narrator.records import SceneBundle
    from narrator.store import Store

#: bump when what is recorded changes shape
STATE_VERSION = 1
_CODE_ROOT = Path(narrator.__file__).resolve().parent


def _walk(path: Path) -> Iterable[tuple[str, int, int]]:
    """(path, size, mtime_ns) of ``path`` or of every file below it (symlinks followed)."""
    try:
        st = path.stat()
    except OSError:
        yield str(path), -1, -1  # missing: part of the fingerprint too
        return
    if not path.is_dir():
        yield str(path), st.st_size, st.st_mtime_ns
        return
    for top, dirs, files in os.walk(path, followlinks=True):
        dirs.sort()
        for name in sorted(files):
            p = os.path.join(top, name)
            try:
                s = os.stat(p)
            except OSError:
                continue
            yield p, s.st_size, s.st_mtime_ns


def _inputs(config: DatasetConfig) -> list[Path]:
    """The folders and files a reader may read: the dataset folder, then whatever the
    settings point at outside it."""
    root = config.root.resolve()
    paths = [root]
    named = [config.images_dir, *(config.path(a) for a in config.annotations
                                  if not any(c in a for c in "*?["))]
    named += [config.path(m.dir) for m in config.mask_list]
    for extra in (config.sar_file, config.class_map if isinstance(config.class_map, str)
                  else None):
        if extra:
            named.append(config.path(extra))
    for p in named:
        p = p.resolve()
        if p != root and root not in p.parents and p not in paths:
            paths.append(p)
    return paths


def fingerprint(config: DatasetConfig) -> str:
    """What an ingest of ``config`` depends on, as one hash."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{STATE_VERSION}|{narrator.__version__}|".encode())
    h.update(config.model_dump_json().encode())
    for item in _walk(_CODE_ROOT):  # another narrator reads differently
        h.update(repr(item).encode())
    for path in _inputs(config):
        for item in _walk(path):
            h.update(repr(item).encode())
    return h.hexdigest()


def recall(store: Store, config: DatasetConfig, print_: str) -> IngestResult | None:
    """The result of the last ingest of ``config`` when its fingerprint is ``print_`` and the
    store still holds its scenes; else None. Its scenes are the rows of ``ingest_scenes``."""
    from narrator.ingest import IngestResult

    rows = store.query("SELECT fingerprint, result FROM ingest_state WHERE dataset = ?",
                       [config.name])
    if not rows or rows[0]["fingerprint"] != print_:
        return None
    doc = orjson.loads(rows[0]["result"])
    if "scene_hashes" in doc:  # before 0007_ingest_scenes they were in the JSON: moved
        hashes = doc.pop("scene_hashes") or {}
        with store.transaction():
            _forget_scenes(store, config)
            _append_scenes(store, config, list(hashes), list(hashes.values()))
            store.con.execute("UPDATE ingest_state SET result = ? WHERE dataset = ?",
                              [orjson.dumps(doc).decode(), config.name])
    read = store.scalar("SELECT count(*) FROM ingest_scenes WHERE dataset = ?", [config.name])
    if store.scalar("SELECT count(*) FROM scenes WHERE dataset = ?", [config.name]) < read:
        return None  # scenes removed from the database since: read again
    return IngestResult(
        doc["format"], stats=[SourceStats(**s) for s in doc["stats"]],
        declared=set(doc["declared"]), unknown_classes=doc["unknown_classes"],
        notes=doc["notes"], observed=set(doc["observed"]), scenes=int(read))


def forget(store: Store, config: DatasetConfig) -> None:
    """Drop what the last ingest of ``config`` recorded (before reading it again: its scenes
    are recorded as they are written, :func:`remember` records the rest at the end)."""
    with store.transaction():
        store.con.execute("DELETE FROM ingest_state WHERE dataset = ?", [config.name])
        _forget_scenes(store, config)


def _forget_scenes(store: Store, config: DatasetConfig) -> None:
    store.con.execute("DELETE FROM ingest_scenes WHERE dataset = ?", [config.name])


def _append_scenes(store: Store, config: DatasetConfig, ids: list[str],
                   hashes: list[str]) -> None:
    if not ids:
        return
    store.append("ingest_scenes", pa.table({"dataset": [config.name] * len(ids),
                                            "scene_id": ids, "content_hash": hashes}))


def record_scenes(store: Store, config: DatasetConfig, bundles: list[SceneBundle]) -> None:
    """Record scenes just read (id and content hash) as scenes of this ingest of ``config``."""
    _append_scenes(store, config, [b.scene.scene_id for b in bundles],
                   [b.content_hash for b in bundles])


def remember(store: Store, config: DatasetConfig, print_: str, result: IngestResult) -> None:
    """Record a complete ingest (none when a file failed to parse: the next run retries)."""
    with store.transaction():
        store.con.execute("DELETE FROM ingest_state WHERE dataset = ?", [config.name])
        if result.file_errors:
            return
        doc: dict[str, Any] = {
            "format": result.format, "stats": [vars(s) for s in result.stats],
            "declared": sorted(result.declared), "unknown_classes": result.unknown_classes,
            "notes": result.notes, "observed": sorted(result.observed)}
        store.upsert("ingest_state", [{"dataset": config.name, "fingerprint": print_,
                                       "result": orjson.dumps(doc).decode()}])
