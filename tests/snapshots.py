"""Compare whole DuckDB files made by different runs, ignoring what must differ between runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

#: columns that record when or how often something ran, not what it made
VOLATILE = {"committed_at", "started_at", "finished_at", "invocations", "summary", "created_at",
            "applied_at", "latency_s"}
#: keys inside JSON columns that time a call (llm_calls.request.server_s), not what it made
VOLATILE_JSON = {"server_s"}
TABLES = ("scenes", "objects", "regions", "facts", "vqa", "captions", "candidates",
          "llm_calls", "quarantine", "processed", "runs")


def _steady(value: Any) -> Any:
    """A JSON object's text without its VOLATILE_JSON keys (anything else as it is)."""
    if isinstance(value, str) and value.startswith("{") and any(k in value for k in VOLATILE_JSON):
        try:
            doc = json.loads(value)
        except ValueError:
            return value
        if isinstance(doc, dict):
            return json.dumps({k: v for k, v in doc.items() if k not in VOLATILE_JSON},
                              sort_keys=True)
    return value


def snapshot(db: Path, tables: tuple[str, ...] = TABLES,
             ignore: frozenset[str] = frozenset()) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (sorted, volatile columns and ``ignore`` dropped)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for table in tables:
            cols = [r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                "ORDER BY ordinal_position", [table]).fetchall()
                if r[0] not in VOLATILE | ignore]
            rows = con.execute(f"SELECT {', '.join(cols)} FROM {table}").fetchall()
            out[table] = sorted((tuple(_steady(v) for v in row) for row in rows), key=repr)
        return out
    finally:
        con.close()
