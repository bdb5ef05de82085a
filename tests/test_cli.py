"""The narrator command as a user runs it: exit codes, summary, quiet output, Error: lines."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from tests.conftest import run_cli

TABLES = ("scenes", "objects", "regions", "facts", "vqa", "captions", "runs", "quarantine",
          "processed")


def _counts(db: Path) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in TABLES}
    finally:
        con.close()


def test_generate_twice_then_export(example_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "out" / "n.duckdb"
    first = run_cli("generate", str(example_dir), "--db", str(db))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "QA pairs" in first.stdout and "captions" in first.stdout
    assert "families with one answer > 60%" in first.stdout  # answer skew (narrator.vqa.skew)
    for noise in ("Traceback", "database is locked", "Starting temporary server", "INFO"):
        assert noise not in first.stdout + first.stderr
    counts = _counts(db)
    assert counts["scenes"] == 8 and counts["vqa"] > 0 and counts["captions"] == 16

    second = run_cli("generate", str(example_dir), "--db", str(db))
    assert second.returncode == 0, second.stderr
    assert _counts(db) == counts

    out = tmp_path / "texts.jsonl"
    exported = run_cli("export", "--db", str(db), "--format", "jsonl", "--out", str(out),
                       "--single-file")
    assert exported.returncode == 0, exported.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == counts["vqa"] + counts["captions"]
    assert {r["type"] for r in records} == {"vqa", "caption"}


def test_quarantined_records_exit_1(tmp_path: Path) -> None:
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps({
        "images": [{"id": 1, "file_name": "a.png", "width": 64, "height": 64}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 8, 8]},
                        {"id": 2, "image_id": 1, "category_id": 1, "bbox": [500, 1, 8, 8]}],
        "categories": [{"id": 1, "name": "ship"}]}))
    result = run_cli("ingest", str(ann), "--db", str(tmp_path / "n.duckdb"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert _counts(tmp_path / "n.duckdb")["quarantine"] == 1


def test_unreadable_input_is_an_error_line_with_exit_2(tmp_path: Path) -> None:
    missing = run_cli("generate", str(tmp_path / "nope"), "--db", str(tmp_path / "n.duckdb"))
    assert missing.returncode == 2
    assert missing.stderr.startswith("Error: ") and "nope" in missing.stderr
    assert "Traceback" not in missing.stderr

    bad = tmp_path / "bad.json"
    bad.write_text('{"images": [')
    truncated = run_cli("ingest", str(bad), "--db", str(tmp_path / "n.duckdb"))
    assert truncated.returncode == 2
    assert "Error: " in truncated.stderr and "bad.json" in truncated.stderr
    assert "Traceback" not in truncated.stderr

    usage = run_cli("generate", str(tmp_path), "--db", str(tmp_path / "n.duckdb"),
                    "--shard-size", "0")
    assert usage.returncode == 2 and "Traceback" not in usage.stderr

    no_db = run_cli("export", "--db", str(tmp_path / "none.duckdb"), "--out",
                    str(tmp_path / "x.jsonl"))
    assert no_db.returncode == 2 and no_db.stderr.startswith("Error: ")


def test_duckdb_out_of_memory_is_one_error_line_naming_the_setting(example_dir: Path,
                                                                   tmp_path: Path) -> None:
    """DuckDB's memory limit (NARRATOR_DUCKDB_MEMORY) set too low: one Error line that says
    which setting to raise, not an internal error (nor the aborted transaction's error that
    used to hide the real one)."""
    db = tmp_path / "n.duckdb"
    proc = run_cli("generate", str(example_dir), "--db", str(db), "--no-server",
                   env={"NARRATOR_DUCKDB_MEMORY": "1MB"})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert "DuckDB ran out of memory" in proc.stderr
    assert "NARRATOR_DUCKDB_MEMORY=1MB is too low" in proc.stderr
