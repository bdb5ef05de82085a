"""A rerun over dataset files that did not change takes the last ingest's result instead of
reading every file again; any change to a file, the settings or the database reads again."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from narrator.example import write_example
from narrator.generate import GenerateOptions, Generator
from narrator.store import Store
from tests.snapshots import snapshot


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    return write_example(tmp_path / "d", n_scenes=6, size=128, seed=5)


def _run(db: Path, root: Path, **options) -> dict:
    with Store(db) as store:
        return Generator(store, root, GenerateOptions(**options)).generate()


def test_unchanged_files_are_not_read_again_and_tables_stay_equal(data: Path,
                                                                  tmp_path: Path) -> None:
    first = _run(tmp_path / "a.duckdb", data)
    again = _run(tmp_path / "a.duckdb", data)
    assert not first["files_unchanged"] and again["files_unchanged"]
    assert again["scenes"] == first["scenes"] == 6 and again["processed_now"] == 0
    assert again["warnings"] == first["warnings"] and again["sources"] == first["sources"]
    reread = _run(tmp_path / "a.duckdb", data, reread=True)
    assert not reread["files_unchanged"] and reread["processed_now"] == 0
    _run(tmp_path / "b.duckdb", data)
    assert snapshot(tmp_path / "a.duckdb") == snapshot(tmp_path / "b.duckdb")


def test_a_changed_annotation_file_is_read_again(data: Path, tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    _run(db, data)
    path = data / "annotations" / "train.json"
    doc = json.loads(path.read_text())
    doc["annotations"][0]["bbox"][2] += 5  # one box wider: its scene changes
    path.write_text(json.dumps(doc))
    changed = _run(db, data)
    assert not changed["files_unchanged"] and changed["processed_now"] == 1


def test_a_touched_image_or_other_settings_read_again(data: Path, tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    _run(db, data)
    image = next((data / "images").iterdir())
    st = image.stat()
    os.utime(image, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert not _run(db, data)["files_unchanged"]
    assert _run(db, data)["files_unchanged"]
    assert not _run(db, data, class_map="hrsid")["files_unchanged"]


def test_a_file_that_failed_to_parse_is_read_again(data: Path, tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    (data / "annotations" / "val.json").write_text("{not json")
    first = _run(db, data)
    again = _run(db, data)
    assert first["file_errors"] and again["file_errors"] == first["file_errors"]
    assert not again["files_unchanged"]


def test_scenes_deleted_from_the_database_are_read_again(data: Path, tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    _run(db, data)
    with Store(db) as store:
        gone = [r[0] for r in store.con.execute(
            "SELECT scene_id FROM scenes ORDER BY scene_id LIMIT 2").fetchall()]
        for table in ("objects", "regions", "scenes"):
            store.delete_scenes(table, gone)
    again = _run(db, data)
    assert not again["files_unchanged"] and again["scenes"] == 6


def test_an_ingest_state_written_before_0007_is_still_recalled(data: Path,
                                                               tmp_path: Path) -> None:
    """Before migration 0007 the scene hashes were inside ingest_state's JSON; now they are
    rows of ingest_scenes. A database of either kind recalls the same scenes."""
    import orjson

    db = tmp_path / "a.duckdb"
    _run(db, data)
    with Store(db) as store:
        assert store.count("ingest_scenes") == 6
        hashes = dict(store.con.execute(
            "SELECT scene_id, content_hash FROM ingest_scenes").fetchall())
        row = store.query("SELECT dataset, result FROM ingest_state")[0]
        doc = (row["result"] if isinstance(row["result"], dict)
               else orjson.loads(row["result"])) | {"scene_hashes": hashes}
        store.con.execute("UPDATE ingest_state SET result = ?", [orjson.dumps(doc).decode()])
        store.con.execute("DELETE FROM ingest_scenes")
    again = _run(db, data)
    assert again["files_unchanged"] and again["scenes"] == 6 and again["processed_now"] == 0
    with Store(db) as store:  # moved into ingest_scenes on that recall, out of the JSON
        assert store.count("ingest_scenes") == 6
        assert "scene_hashes" not in orjson.loads(store.query(
            "SELECT result FROM ingest_state")[0]["result"])
