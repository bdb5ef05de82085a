"""``narrator ingest`` as a user runs it on the other formats: --class-map, per-source lines,
Error: lines for unparseable files (exit 2) while the other files are still stored."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tests.conftest import run_cli
from tests.data_gen.coco_voc import voc_dataset
from tests.data_gen.dota_yolo import yolo_dataset


def test_truncated_xml_is_an_error_line_and_the_rest_is_stored(tmp_path: Path) -> None:
    exp = voc_dataset(tmp_path / "d")
    db = tmp_path / "n.duckdb"
    result = run_cli("ingest", str(tmp_path / "d"), "--db", str(db))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    error = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(error) == 1 and "broken.xml: not valid XML at line 1" in error[0]
    assert "narrator ingest (voc)" in result.stdout and "Annotations" in result.stdout
    assert "Quarantined:" in result.stderr
    con = duckdb.connect(str(db), read_only=True)
    try:
        n_objects = con.execute("SELECT count(*) FROM objects").fetchall()[0][0]
    finally:
        con.close()
    assert n_objects == len(exp.objects)


def test_class_map_option_maps_fine_types(tmp_path: Path) -> None:
    yolo_dataset(tmp_path / "d")
    db = tmp_path / "n.duckdb"
    result = run_cli("ingest", str(tmp_path / "d"), "--db", str(db), "--format", "yolo",
                     "--class-map", "sar-aircraft")
    assert result.returncode == 1, result.stdout + result.stderr  # the edge cases quarantine
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = set(con.execute("SELECT DISTINCT category, fine_type, source_category "
                               "FROM objects").fetchall())
    finally:
        con.close()
    assert ("aircraft", "A320/321", "A320/321") in rows and ("ship", None, "ship") in rows
    bad = run_cli("ingest", str(tmp_path / "d"), "--db", str(db), "--class-map", "nope")
    assert bad.returncode == 2 and bad.stderr.startswith("Error: class map 'nope'")
