"""Compare what narrator stored in DuckDB with what a fixture generator expects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from shapely import wkb

from narrator.ingest import IngestResult, load_config, read_dataset
from narrator.store import Store
from tests.data_gen.common import Expected


def ingest(dataset: Path, db: Path, **options: Any) -> IngestResult:
    """Read ``dataset`` and write it into ``db`` as ``narrator ingest`` does."""
    config = load_config(dataset, **options)
    result = read_dataset(config)
    with Store(db) as store:
        store.write_ingest(config.name, result.bundles, result.quarantine)
    return result


def stored(db: Path, table: str = "objects") -> list[dict[str, Any]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        cur = con.execute(f"SELECT s.file_name, s.width AS scene_width, s.height AS "
                          f"scene_height, s.split AS scene_split, t.* FROM {table} t "
                          "JOIN scenes s USING (scene_id)")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    finally:
        con.close()


def check_objects(db: Path, exp: Expected, tol: float = 0.0) -> None:
    """Every expected object stored with exactly (or within ``tol`` px) its coordinates."""
    rows = {(r["file_name"], r["source_id"]): r for r in stored(db)}
    assert set(rows) == set(exp.objects), (set(rows) ^ set(exp.objects))
    for key, (category, fine, box) in exp.objects.items():
        row = rows[key]
        assert (row["category"], row["fine_type"]) == (category, fine), key
        got = (row["x0"], row["y0"], row["x1"], row["y1"])
        if tol:
            assert got == pytest.approx(box, abs=tol), key
        else:
            assert got == box, key
        attrs = json.loads(row["attrs"]) if row["attrs"] else {}
        assert bool(attrs.get("clipped")) == (key in exp.clipped), key
        assert bool(row["difficult"]) == (key in exp.difficult), key
        if key in exp.polygons:
            coords = list(wkb.loads(row["poly_wkb"]).exterior.coords)[:-1]
            flat = [v for xy in coords for v in xy]
            want = [v for xy in exp.polygons[key] for v in xy]
            assert flat == pytest.approx(want, abs=max(tol, 1e-9)), key
        if key in exp.angles:
            assert row["angle"] == pytest.approx(exp.angles[key], abs=1e-9), key


def check_scenes_and_errors(db: Path, result: IngestResult, exp: Expected) -> None:
    con = duckdb.connect(str(db), read_only=True)
    try:
        scenes = {r[0]: r[1:] for r in con.execute(
            "SELECT file_name, width, height, split FROM scenes").fetchall()}
    finally:
        con.close()
    assert scenes == exp.scenes
    errors = [q.error for q in result.quarantine]
    for reason in exp.reasons:
        assert any(reason in e for e in errors), (reason, errors)
    assert sorted(Path(e.path).name for e in result.file_errors) == sorted(exp.file_errors)


def ingest_and_check(dataset: Path, exp: Expected, fmt: str, tol: float = 0.0,
                     **options: Any) -> IngestResult:
    """Ingest a generated dataset into a DuckDB file beside it (format detected) and check
    the stored objects, scenes, quarantine reasons and file errors against ``exp``."""
    db = dataset.with_name(dataset.name + ".duckdb")
    result = ingest(dataset, db, **options)
    assert result.format == fmt
    check_objects(db, exp, tol)
    check_scenes_and_errors(db, result, exp)
    return result
