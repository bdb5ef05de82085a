"""Export records written by DuckDB: each record's JSON text is built in SQL, a whole batch of
lines comes back as one Arrow string column and goes to the file as one buffer. The SQL (the
JSON expression builders, the range query, the statements run) is in
:mod:`narrator.queries.sqljson`; this module schedules the ranges and writes their lines.

The lines are byte for byte what ``json.dumps(record, ensure_ascii=False)`` writes for the
record the Python path (:meth:`ExportFormat.emit`) builds, for the rows where that is proven:

- strings go through DuckDB's ``to_json``, which escapes like Python's ``json.dumps`` except
  that it writes control characters with upper-case hex (``\\u001B``, Python ``\\u001b``);
- ``params`` (JSON text) is re-serialised with ``json_pretty`` folded to Python's ``", "``
  and ``": "`` separators; yyjson writes numbers differently from Python only past 16
  digits, below 1e-4 and with exponents;
- integers are written by ``CAST(... AS VARCHAR)``.

Every line comes with an ``ok`` flag. It is false where a line could differ from the Python
path's (the cases above, a params text with duplicate keys or nested objects) and where the
record would break its JSON Schema (the data-dependent constraints: non-empty strings, the
split enum, a params value that is not a JSON object). Each such line is rebuilt by the
Python path, which validates its record with fastjsonschema and raises :class:`ExportError`
naming the record. So every record written is schema-valid: the types, keys and constants
are fixed by the SQL, the rest is checked by ``ok`` (``tests/test_export_sql.py`` validates
whole exports and breaks each constrained value).

Texts are read in scene ranges of about 50k rows, each sorted on its own; DuckDB runs a
range on about one core, so two ranges are built at once on cursors of their own. DuckDB's
memory limit is lowered while the export runs, so that its block cache does not grow with
the database.
"""

from __future__ import annotations

import json
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from narrator.queries.export import (PROMPTS_VIEW, TextQuery, annotate, caption_prompts,
                                     iter_range, queries, scene_ranges, with_prompts)
from narrator.queries.sqljson import fetch, line_query, memory_limit, rows_by_id
from narrator.export.splits import SPLITS, SplitAssignment
from narrator.export.validate import check
from narrator.export.writers import SinkSet, _FileSink
from narrator.store import Store

#: DuckDB's memory limit while it writes an export (two ranges being sorted fit in it)
DUCKDB_MEMORY = "256MB"


class LineExport(Protocol):
    """An export format whose records DuckDB can write (see :class:`ExportFormat`)."""

    name: str
    options: Any

    def line_sql(self, text_type: str) -> tuple[str, list[str]] | None: ...
    def target(self, row: dict[str, Any]) -> Path: ...
    def open(self, path: Path, schema: str) -> _FileSink: ...
    def emit(self, row: dict[str, Any]) -> Iterator[tuple[Path, str, dict[str, Any]]]: ...
    def keeps(self, row: dict[str, Any]) -> bool: ...


def split_table(assignment: SplitAssignment, images: dict[str, str] | None = None
                ) -> pa.Table:
    """The assignment as a table ``(scene_id, split, grp, image)``: ``image`` is the path
    the export writes for the scene (see :mod:`narrator.export.images`), or null."""
    ids = assignment.ids
    image = (pa.array([images.get(i) for i in ids.to_pylist()], pa.string()) if images
             else pa.nulls(len(ids), pa.string()))
    return pa.table({"scene_id": ids, "split": assignment.splits(), "grp": assignment.groups,
                     "image": image})


def line_buffers(batch: pa.RecordBatch, target: Callable[[str], Path]
                 ) -> Iterator[tuple[Path, memoryview, int]]:
    """``(file, the batch's lines for that file as one buffer, how many)``, where
    ``target`` gives the file of a split; lines keep their order within each file."""
    lines, split = batch.column("line"), batch.column("split")
    if not pa.types.is_string(lines.type):
        lines = lines.cast(pa.string())
    paths = {name: target(name) for name in pc.unique(split).to_pylist()}
    if len(set(paths.values())) == 1:
        yield next(iter(paths.values())), _data(lines), len(lines)
        return
    runs = pc.run_end_encode(split)
    if len(runs.values) == len(paths) == len(set(paths.values())):
        # each split in one run and a file of its own: slices, not copies
        start, ends = 0, runs.run_ends.to_pylist()
        spans = {}
        for name, end in zip(runs.values.to_pylist(), ends, strict=True):
            spans[paths[name]], start = (start, end), end
        for path in sorted(spans):
            first, end = spans[path]
            yield path, _data(lines.slice(first, end - first)), end - first
        return
    for path in sorted(set(paths.values())):
        names = pa.array([n for n, p in paths.items() if p == path], pa.string())
        part = lines.filter(pc.is_in(split, value_set=names))
        yield path, _data(part), len(part)


def _data(arr: pa.Array) -> memoryview:
    """The bytes of a string array without nulls: its values back to back."""
    _, offsets, data = arr.buffers()
    if data is None or not len(arr):
        return memoryview(b"")
    bounds = np.frombuffer(offsets, dtype=np.int32)
    first, last = int(bounds[arr.offset]), int(bounds[arr.offset + len(arr)])
    return memoryview(data)[first:last]


def write_lines(store: Store, exporter: LineExport, assignment: SplitAssignment,
                sinks: SinkSet, per_split: Counter[str],
                on_rows: Callable[[int], None] | None = None,
                range_rows: int = 50_000, ahead: int = 2) -> None:
    """Write the filtered texts as lines built by DuckDB, one scene range at a time, with
    up to ``ahead`` ranges being built (DuckDB runs one range on about one core)."""
    f = exporter.options.filters
    # a file per split: DuckDB groups each range's lines by split, and each file's lines are
    # then one slice of the batch (the order within a file is the same)
    by_split = len({exporter.target({"split": s}) for s in SPLITS}) == len(SPLITS)
    splits = split_table(assignment, getattr(getattr(exporter, "images", None), "paths", None))
    jobs, in_python = [], []
    for q in queries(store, f):
        sql = exporter.line_sql(q.type)
        # a caption range joins its prompts, on its rows with their (long) texts: smaller
        # ranges keep two of them at once within DuckDB's memory limit
        rows = range_rows if q.type != "caption" else range_rows // 5
        for clause, scanned in list(scene_ranges(store, q, rows)):
            if sql is None:  # this text type is built record by record in Python
                in_python.append((q, clause, scanned))
            elif q.type == "caption":  # the prompts (picked by a hash) are joined in
                jobs.append((q, line_query(with_prompts(q.body(clause)), q.order, *sql,
                                           f.splits, by_split), scanned, clause))
            else:
                jobs.append((q, line_query(q.body(clause), q.order, *sql, f.splits, by_split),
                             scanned, None))

    def submit(job: tuple[TextQuery, str, int, str | None]) -> Future[pa.Table]:
        q, sql, _, clause = job
        relations = {PROMPTS_VIEW: caption_prompts(store, q, clause)} if clause else None
        return pool.submit(fetch, store, splits, sql, relations)

    with memory_limit(store, DUCKDB_MEMORY), ThreadPoolExecutor(max_workers=ahead) as pool:
        running: deque[Future[pa.Table]] = deque()
        for i, (q, _, scanned, _) in enumerate(jobs):
            while len(running) < ahead and i + len(running) < len(jobs):
                running.append(submit(jobs[i + len(running)]))
            for batch in running.popleft().result().to_batches():
                _write_batch(_repair(store, exporter, q, batch, assignment), exporter, sinks,
                             per_split)
            if on_rows:
                on_rows(scanned)
    for q, clause, scanned in in_python:  # after the SQL ranges: queries() sorts VQA first
        _write_python(store, exporter, q, clause, assignment, sinks, per_split)
        if on_rows:
            on_rows(scanned)


def _write_python(store: Store, exporter: LineExport, q: TextQuery, clause: str,
                  assignment: SplitAssignment, sinks: SinkSet, per_split: Counter[str]) -> None:
    for batch in iter_range(store, q, clause, exporter.options.filters, assignment):
        for row in batch:
            for path, schema, record in exporter.emit(row):
                check(schema, record)
                sink = sinks.get(path) or sinks.add(exporter.open(path, schema))
                sink.write(record)
            per_split[row["split"]] += exporter.keeps(row)


def _write_batch(batch: pa.RecordBatch, exporter: LineExport, sinks: SinkSet,
                 per_split: Counter[str]) -> None:
    target = lambda split: exporter.target({"split": split})  # noqa: E731
    for path, buffer, count in line_buffers(batch, target):
        sink = sinks.get(path) or sinks.add(exporter.open(path, exporter.name))
        sink.write_lines(buffer, count)
    for item in pc.value_counts(batch.column("split")).to_pylist():
        per_split[item["values"]] += item["counts"]


def _repair(store: Store, exporter: LineExport, q: TextQuery, batch: pa.RecordBatch,
            assignment: SplitAssignment) -> pa.RecordBatch:
    """The batch with each line whose ``ok`` is false rebuilt by the Python path (which
    validates the record against its schema and raises ExportError if it breaks it)."""
    ok = batch.column("ok")
    if pc.all(ok).as_py():
        return batch
    bad = pc.invert(ok.fill_null(False))
    ids = batch.column("id").filter(bad).to_pylist()
    rows = rows_by_id(store, q, ids)
    fixed = {}
    for row in rows:
        row = annotate(row, assignment)
        for _, schema, record in exporter.emit(row):
            check(schema, record)
            fixed[row["id"]] = json.dumps(record, ensure_ascii=False) + "\n"
    lines = [line if good else fixed[i] for i, line, good in
             zip(batch.column("id").to_pylist(), batch.column("line").to_pylist(),
                 ok.fill_null(False).to_pylist(), strict=True)]
    return pa.record_batch({"line": pa.array(lines, pa.string()), "split": batch.column("split")})
