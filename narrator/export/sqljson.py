"""Export records written by DuckDB: each record's JSON text is built in SQL, a whole batch of
lines comes back as one Arrow string column and goes to the file as one buffer.

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
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from narrator.queries.export import TextQuery, annotate, iter_range, queries, scene_ranges
from narrator.export.splits import SPLITS, SplitAssignment
from narrator.export.validate import check
from narrator.export.writers import SinkSet, _FileSink
from narrator.store import Store

#: DuckDB's memory limit while it writes an export (two ranges being sorted fit in it)
DUCKDB_MEMORY = "256MB"

#: the relation the split assignment is registered as while an export runs
SPLITS_VIEW = "narrator_export_splits"

#: yyjson number forms unlike Python's, surrogates (in params); ``\\u00XX`` escapes
#: (upper-case hex in DuckDB's, lower-case in Python's; in the whole line)
_NUMBERS = r"[\[ ]-?([0-9]+(\.[0-9]+)?[eE]|[0-9]{16}|0\.0000)|\\u[dD][89abAB]"
_UPPER = "\\u00"


class LineExport(Protocol):
    """An export format whose records DuckDB can write (see :class:`ExportFormat`)."""

    name: str
    options: Any

    def line_sql(self, text_type: str) -> tuple[str, list[str]] | None: ...
    def target(self, row: dict[str, Any]) -> Path: ...
    def open(self, path: Path, schema: str) -> _FileSink: ...
    def emit(self, row: dict[str, Any]) -> Iterator[tuple[Path, str, dict[str, Any]]]: ...
    def keeps(self, row: dict[str, Any]) -> bool: ...


def text(expr: str) -> str:
    """A JSON string (or ``null``) of a VARCHAR expression."""
    return f"coalesce(CAST(to_json({expr}) AS VARCHAR), 'null')"


def integer(expr: str) -> str:
    return f"coalesce(CAST({expr} AS VARCHAR), 'null')"


def literal(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def params(pretty: str) -> str:
    """A JSON text re-serialised with Python's default separators, from its ``json_pretty``
    (``": "``, a newline and four spaces per level): the indents taken out and ``",\\n"``
    made ``", "`` (a newline is never inside a JSON string). Deeper than three levels,
    :func:`params_ok` is false."""
    folded = pretty
    for depth in (3, 2, 1):
        folded = f"replace({folded}, {_newline(depth)}, chr(10))"
    folded = f"replace(replace({folded}, ',' || chr(10), ', '), chr(10), '')"
    return f"coalesce({folded}, 'null')"


def _newline(depth: int) -> str:
    return f"(chr(10) || {literal(' ' * 4 * depth)})"


def params_ok(expr: str, pretty: str) -> str:
    """True where :func:`params` gives a JSON object (or null) exactly as Python would."""
    keys = f"json_keys({expr})"  # CASE: the JSON functions fail on text that is not JSON
    return (f"(CASE WHEN {expr} IS NULL THEN true WHEN json_valid({expr}) THEN "
            f"json_type({expr}) = 'OBJECT' AND NOT contains(substr({expr}, 2), '{{') "
            f"AND NOT contains({pretty}, {_newline(4)}) "
            f"AND len({keys}) = len(list_distinct({keys})) ELSE false END)")


def non_empty(expr: str) -> str:
    return f"coalesce(length({expr}) > 0, false)"


def obj(fields: Sequence[tuple[str, str]]) -> str:
    """A JSON object from ``(key, JSON text expression)`` pairs, Python's separators."""
    parts = []
    for i, (key, value) in enumerate(fields):
        parts.append(literal(("{" if i == 0 else ", ") + f'"{key}": '))
        parts.append(value)
    parts.append("'}'")
    return f"concat({', '.join(parts)})"  # one allocation; || would copy the prefix each time


def line_query(body: str, order: Sequence[str], line: str, ok: Sequence[str],
               splits: Sequence[str]) -> str:
    """``line`` (with its newline), ``ok`` and ``split`` of the rows of ``body`` (a SELECT
    of text rows without ``split``/``group``), joined to their scenes' splits. ``line`` and
    ``ok`` refer to the row as ``t`` (with ``t.params_json`` and ``t.params_pretty``, see
    :func:`params`) and to its
    split and group as ``sp.split``, ``sp.grp``."""
    where = f"WHERE sp.split IN ({', '.join(literal(s) for s in splits)})" if splits else ""
    checks = " AND ".join((*ok, f"sp.split IN ({', '.join(literal(s) for s in SPLITS)})",
                           non_empty("sp.grp"),
                           f"NOT regexp_matches(t.params_json, {literal(_NUMBERS)})"))
    keys = ", ".join(f"t.{k} AS k{i}" for i, k in enumerate(order))
    pretty = (f"SELECT b.*, CASE WHEN json_valid(b.params) THEN json_pretty(b.params) END "
              f"AS params_pretty FROM ({body}) b")
    rows = f"SELECT r.*, {params('r.params_pretty')} AS params_json FROM ({pretty}) r"
    return (f"SELECT line || chr(10) AS line, ok AND NOT contains(line, {literal(_UPPER)}) "
            "AS ok, split, id FROM ("
            f"SELECT {line} AS line, coalesce({checks}, false) AS ok, sp.split, t.id, {keys} "
            f"FROM ({rows}) t LEFT JOIN {SPLITS_VIEW} sp ON sp.scene_id = t.scene_id {where}) "
            f"ORDER BY {', '.join(f'k{i}' for i in range(len(order)))}")


def split_table(assignment: SplitAssignment, images: dict[str, str] | None = None
                ) -> pa.Table:
    """The assignment as a table ``(scene_id, split, grp, image)``: ``image`` is the path
    the export writes for the scene (see :mod:`narrator.export.images`), or null."""
    ids, images = list(assignment.split), images or {}
    return pa.table({"scene_id": pa.array(ids, pa.string()),
                     "split": pa.array([assignment.split[i] for i in ids], pa.string()),
                     "grp": pa.array([assignment.group.get(i) for i in ids], pa.string()),
                     "image": pa.array([images.get(i) for i in ids], pa.string())})


def fetch(store: Store, splits: pa.Table, sql: str) -> pa.Table:
    """The result of ``sql`` (which reads ``splits`` as ``narrator_export_splits``) on a
    cursor of its own, so that two ranges can run at once."""
    cursor = store.con.cursor()
    try:
        cursor.register(SPLITS_VIEW, splits)
        return cursor.sql(sql).to_arrow_table()
    finally:
        cursor.close()


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
    splits = split_table(assignment, getattr(getattr(exporter, "images", None), "paths", None))
    jobs, in_python = [], []
    for q in queries(store, f):
        sql = exporter.line_sql(q.type)
        for clause, scanned in list(scene_ranges(store, q, range_rows)):
            if sql is None:  # this text type is built record by record in Python
                in_python.append((q, clause, scanned))
            else:
                jobs.append((q, line_query(q.body(clause), q.order, *sql, f.splits), scanned))
    with _memory_limit(store, DUCKDB_MEMORY), ThreadPoolExecutor(max_workers=ahead) as pool:
        running: deque[Future[pa.Table]] = deque()
        for i, (q, _, scanned) in enumerate(jobs):
            while len(running) < ahead and i + len(running) < len(jobs):
                running.append(pool.submit(fetch, store, splits, jobs[i + len(running)][1]))
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


@contextmanager
def _memory_limit(store: Store, limit: str) -> Iterator[None]:
    """DuckDB's memory limit set to ``limit`` for a while: it caches the blocks it reads up
    to its limit (80% of RAM by default), so an export's RSS would grow with the database."""
    before = store.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    store.con.execute(f"SET memory_limit = {literal(limit)}")
    try:
        yield
    finally:
        store.con.execute(f"SET memory_limit = {literal(before)}")


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
    cursor = store.con.cursor()
    try:
        sql = q.sql.replace("{where}", f"WHERE {q.key} IN ({', '.join(map(literal, ids))})")
        rows = cursor.sql(sql).to_arrow_table().to_pylist()
    finally:
        cursor.close()
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
