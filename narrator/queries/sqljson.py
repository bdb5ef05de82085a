"""SQL that builds export lines in DuckDB (see :mod:`narrator.export.sqljson`): expression
builders for JSON text the way Python's ``json.dumps`` writes it, the query of a scene range's
lines, and the few statements the DuckDB export path runs (fetch a range, set the memory
limit, re-read rows whose line the Python path rebuilds). Read-only over the texts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pyarrow as pa

from narrator.export.splits import SPLITS
from narrator.queries.export import TextQuery
from narrator.store import Store

#: the relation the split assignment is registered as while an export runs
SPLITS_VIEW = "narrator_export_splits"

#: yyjson number forms unlike Python's, surrogates (in params); ``\\u00XX`` escapes
#: (upper-case hex in DuckDB's, lower-case in Python's; in the whole line)
_NUMBERS = r"[\[ ]-?([0-9]+(\.[0-9]+)?[eE]|[0-9]{16}|0\.0000)|\\u[dD][89abAB]"
_UPPER = "\\u00"


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
               splits: Sequence[str], by_split: bool = False) -> str:
    """``line`` (with its newline), ``ok`` and ``split`` of the rows of ``body`` (a SELECT
    of text rows without ``split``/``group``), joined to their scenes' splits. ``line`` and
    ``ok`` refer to the row as ``t`` (with ``t.params_json`` and ``t.params_pretty``, see
    :func:`params`) and to its
    split and group as ``sp.split``, ``sp.grp``. Rows come in ``order``; with ``by_split``,
    grouped by split first (each split's rows still in ``order``: one slice per file)."""
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
            f"ORDER BY {'split, ' if by_split else ''}"
            f"{', '.join(f'k{i}' for i in range(len(order)))}")


def jsonl_line(keys: Sequence[str], text_type: str, version: str) -> tuple[str, list[str]]:
    """The JSON Lines record (:class:`narrator.export.jsonl.JsonlExport`) of a text row ``t``
    of ``text_type`` as a DuckDB expression, with ``keys`` in order then ``provenance``, and
    the checks of the values its schema constrains (non-empty strings, a non-null dataset,
    params JSON text of an object or null)."""
    value = {k: text(f"t.{k}") for k in keys} | {
        "image": text("coalesce(sp.image, t.image_path, t.image)"),
        "source_image": text("coalesce(t.image_path, t.image)"),
        "split": text("sp.split"), "group": text("sp.grp"),
        "params": "(CASE WHEN t.params IS NULL THEN 'null' ELSE "
                  f"{text('t.params_json')} END)"}
    fields = [(k, value[k]) for k in keys] + [
        ("provenance", obj([
            ("template_id", text("t.template_id")),
            ("template_version", integer("t.template_version")),
            ("generator", text("coalesce(nullif(t.generator, ''), 'template')")),
            ("facts_hash", text("t.facts_hash")),
            ("facts_version", integer("t.facts_version")),
            ("narrator_version", text(literal(version)))]))]
    required = ("id", "scene_id", "image", "task", "status", "question", "answer") + (
        ("kind",) if text_type == "caption" else ())
    checks = [non_empty(f"t.{k}") for k in required] + [
        "t.dataset IS NOT NULL", params_ok("t.params", "t.params_pretty"),
        "t.type = " + literal(text_type), literal(version) + " <> ''"]
    return obj(fields), checks


def fetch(store: Store, splits: pa.Table, sql: str,
          relations: dict[str, pa.Table] | None = None) -> pa.Table:
    """The result of ``sql`` (which reads ``splits`` as ``narrator_export_splits``, and each
    of ``relations`` by its name) on a cursor of its own, so that two ranges can run at once."""
    cursor = store.cursor()
    try:
        cursor.register(SPLITS_VIEW, splits)
        for name, table in (relations or {}).items():
            cursor.register(name, table)
        return cursor.sql(sql).to_arrow_table()
    finally:
        cursor.close()


def rows_by_id(store: Store, q: TextQuery, ids: Sequence[str]) -> list[dict[str, Any]]:
    """The rows of ``q`` (the Python path's columns) whose key is one of ``ids``, read on a
    cursor of their own (an export reads ranges on other cursors meanwhile)."""
    cursor = store.cursor()
    try:
        sql = q.sql.replace("{where}", f"WHERE {q.key} IN ({', '.join(map(literal, ids))})")
        return cursor.sql(sql).to_arrow_table().to_pylist()
    finally:
        cursor.close()


@contextmanager
def memory_limit(store: Store, limit: str) -> Iterator[None]:
    """DuckDB's memory limit set to ``limit`` for a while: it caches the blocks it reads up
    to its limit (80% of RAM by default), so an export's RSS would grow with the database."""
    before = store.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    store.con.execute(f"SET memory_limit = {literal(limit)}")
    try:
        yield
    finally:
        store.con.execute(f"SET memory_limit = {literal(before)}")
