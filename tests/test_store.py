"""The DuckDB store: idempotent upserts, migrations from an older schema, transactions, locks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from narrator.errors import StoreError
from narrator.ids import make_id
from narrator.records import Object, Quarantine, Scene, SceneBundle
from narrator.store import MIGRATIONS, TABLES, Store, apply_migrations


def _bundle(name: str, n_objects: int) -> SceneBundle:
    sid = make_id("ds", name)
    scene = Scene(scene_id=sid, dataset="ds", file_name=name, image_path=None, width=100,
                  height=80, transform=[1.0, 0, 0, 0, -1.0, 0], meta={"tags": {"A": "1"}})
    objs = [Object(make_id(sid, i), sid, "ship", i, i, i + 5.5, i + 4.0, attrs={"i": i})
            for i in range(n_objects)]
    return SceneBundle(scene, objs)


def test_fresh_db_has_every_table_and_records_migrations(tmp_path: Path) -> None:
    with Store(tmp_path / "a.duckdb") as store:
        assert store.migrations() == [m.name for m in MIGRATIONS]
        assert set(store.counts()) == set(TABLES)
        assert all(n == 0 for n in store.counts().values())


def test_upserts_are_idempotent_and_keep_values(tmp_path: Path) -> None:
    bundles = [_bundle("a.tif", 3), _bundle("b.tif", 2)]
    q = [Quarantine("ingest", "ann.json", "bbox outside", "annotation id=7")]
    with Store(tmp_path / "a.duckdb") as store:
        for _ in range(3):
            store.write_ingest("ds", bundles, q)
        counts = store.counts()
        assert (counts["scenes"], counts["objects"], counts["quarantine"]) == (2, 5, 1)
        row = store.query("SELECT * FROM objects ORDER BY x0 DESC LIMIT 1")[0]
        assert (row["x0"], row["y0"], row["x1"], row["y1"]) == (2.0, 2.0, 7.5, 6.0)
        assert row["attrs"] == {"i": 2}
        scene = store.query("SELECT transform, meta FROM scenes WHERE file_name = 'a.tif'")[0]
        assert scene["transform"] == [1.0, 0, 0, 0, -1.0, 0]
        assert scene["meta"] == {"tags": {"A": "1"}}


def test_reingest_replaces_a_scenes_objects(tmp_path: Path) -> None:
    with Store(tmp_path / "a.duckdb") as store:
        store.write_ingest("ds", [_bundle("a.tif", 4)], [])
        store.write_ingest("ds", [_bundle("a.tif", 1)], [])  # annotations were edited
        assert store.count("objects") == 1


def test_duplicate_keys_in_one_batch_keep_the_last(tmp_path: Path) -> None:
    with Store(tmp_path / "a.duckdb") as store:
        store.upsert("vqa", [{"qa_id": "x", "answer": "1"}, {"qa_id": "x", "answer": "2"}])
        assert store.query("SELECT answer FROM vqa") == [{"answer": "2"}]


def test_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    with Store(tmp_path / "a.duckdb") as store:
        with pytest.raises(RuntimeError), store.transaction():
            store.write_ingest("ds", [_bundle("a.tif", 2)], [])
            raise RuntimeError("shard failed")
        assert store.count("scenes") == 0 and store.count("objects") == 0


def test_opening_an_older_schema_migrates_it(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    assert apply_migrations(con, upto=1) == ["0001_core"]
    con.execute("INSERT INTO scenes (scene_id, dataset, width, height) VALUES ('s1', 'ds', 4, 4)")
    con.close()
    with Store(path) as store:
        assert store.migrations() == [m.name for m in MIGRATIONS]
        assert store.count("scenes") == 1  # data kept
        store.upsert("vqa", [{"qa_id": "q", "scene_id": "s1", "task": "count"}])
        assert store.count("vqa") == 1  # tables of the newer migration exist
    with Store(path) as store:  # reopening applies nothing twice
        assert len(store.migrations()) == len(MIGRATIONS)


def test_a_locked_database_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "held.duckdb"
    Store(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('ready', flush=True); "
         "time.sleep(30)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreError, match="in use by another"):
            Store(path, wait_s=0)
    finally:
        holder.kill()
        holder.wait()


def test_a_locked_database_is_waited_for_then_opened(tmp_path: Path) -> None:
    """The holder lets go after ~1.5 s: a wait of 20 s opens it (told once), 0.3 s fails."""
    import time

    path = tmp_path / "held.duckdb"
    Store(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('ready', flush=True); "
         "time.sleep(1.5); c.close()"],
        stdout=subprocess.PIPE, text=True)
    told: list[str] = []
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreError, match=r"in use by another.*waited 0.3 s"):
            Store(path, wait_s=0.3, on_wait=told.append)
        t0 = time.monotonic()
        with Store(path, wait_s=20, on_wait=told.append) as store:
            assert store.count("scenes") == 0
        assert time.monotonic() - t0 < 10
    finally:
        holder.kill()
        holder.wait()
    assert len(told) == 2 and all("waiting up to" in t for t in told)


def test_missing_database_for_reading(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no such database"):
        Store(tmp_path / "none.duckdb", read_only=True)


def test_keyless_row_tables_keep_their_rows_and_upsert_by_id(tmp_path: Path) -> None:
    path = tmp_path / "v4.duckdb"
    con = duckdb.connect(str(path))
    apply_migrations(con, upto=4)  # a database written before 0005_keyless_rows
    con.execute("INSERT INTO vqa (qa_id, scene_id, answer) VALUES ('q1', 's1', 'two')")
    con.execute("INSERT INTO objects (object_id, scene_id, category) VALUES ('o1', 's1', 'ship')")
    con.close()
    with Store(path) as store:
        assert store.query("SELECT qa_id, answer FROM vqa") == [{"qa_id": "q1", "answer": "two"}]
        assert store.count("objects") == 1
        keys = store.query("SELECT table_name FROM duckdb_constraints() "
                           "WHERE constraint_type = 'PRIMARY KEY'")
        assert not {r["table_name"] for r in keys} & {"objects", "regions", "vqa", "captions",
                                                        "candidates"}
        store.upsert("vqa", [{"qa_id": "q1", "scene_id": "s1", "answer": "three"},
                             {"qa_id": "q2", "scene_id": "s1", "answer": "one"}])
        assert store.query("SELECT qa_id, answer FROM vqa ORDER BY qa_id") == [
            {"qa_id": "q1", "answer": "three"}, {"qa_id": "q2", "answer": "one"}]


def test_scene_tables_lose_their_keys_keep_their_rows_and_upsert_by_scene(
        tmp_path: Path) -> None:
    """0008: scenes, facts and processed have no primary key (DuckDB holds a key's index
    in memory whole, growing with the dataset); their rows stay, an upsert replaces a
    scene's row, and facts stay zstd-compressed."""
    path = tmp_path / "v7.duckdb"
    con = duckdb.connect(str(path))
    apply_migrations(con, upto=7)  # a database written before 0008_keyless_scenes
    con.execute("INSERT INTO scenes (scene_id, dataset, width) VALUES ('s1', 'd', 8)")
    con.execute("INSERT INTO facts VALUES ('s1', 3, 'h1', '{\"n\": 1}')")
    con.execute("INSERT INTO processed (scene_id, content_hash, config_hash) "
                "VALUES ('s1', 'c1', 'k1')")
    con.close()
    with Store(path) as store:
        keys = {r["table_name"] for r in store.query(
            "SELECT table_name FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'")}
        assert not keys & {"scenes", "facts", "processed"}
        assert store.query("SELECT scene_id, dataset, width FROM scenes") == [
            {"scene_id": "s1", "dataset": "d", "width": 8}]
        assert store.processed() == {"s1": ("c1", "k1")}
        store.upsert("processed", [{"scene_id": "s1", "content_hash": "c2", "config_hash": "k2"},
                                   {"scene_id": "s2", "content_hash": "c3", "config_hash": "k3"}])
        assert store.processed() == {"s1": ("c2", "k2"), "s2": ("c3", "k3")}
        store.upsert("facts", [{"scene_id": "s1", "version": 4, "facts_hash": "h2",
                                "facts": {"n": 2}}])
        assert store.query("SELECT * FROM facts") == [
            {"scene_id": "s1", "version": 4, "facts_hash": "h2", "facts": {"n": 2}}]
        store.con.execute("CHECKPOINT")
        assert {r[0] for r in store.con.execute(
            "SELECT DISTINCT compression FROM pragma_storage_info('facts') "
            "WHERE column_name = 'facts' AND segment_type = 'VARCHAR'").fetchall()} == {"ZSTD"}


def test_facts_keep_their_values_and_are_stored_zstd_compressed(tmp_path: Path) -> None:
    path = tmp_path / "v5.duckdb"
    con = duckdb.connect(str(path))
    apply_migrations(con, upto=5)  # a database written before 0006_facts_zstd
    con.execute("INSERT INTO facts VALUES ('s1', 3, 'h1', '{\"counts\": {\"ship\": 2}}')")
    con.close()
    with Store(path) as store:
        assert store.query("SELECT * FROM facts") == [
            {"scene_id": "s1", "version": 3, "facts_hash": "h1", "facts": {"counts": {"ship": 2}}}]
        store.upsert("facts", [{"scene_id": f"s{i}", "version": 3, "facts_hash": f"h{i}",
                                "facts": {"objects": [{"category": "ship", "i": i}] * 20}}
                               for i in range(2, 3000)])
        store.con.execute("CHECKPOINT")
        kinds = {r[0] for r in store.con.execute(
            "SELECT DISTINCT compression FROM pragma_storage_info('facts') "
            "WHERE column_name = 'facts' AND segment_type = 'VARCHAR'").fetchall()}
        assert kinds == {"ZSTD"}


def test_a_store_writes_small_row_groups(tmp_path: Path) -> None:
    """A commit of ROW_GROUP_SIZE rows or more is written straight into the file: row
    groups of that size (DuckDB's default is 122,880)."""
    from narrator.store import ROW_GROUP_SIZE

    with Store(tmp_path / "n.duckdb") as store:
        store.upsert("processed", [{"scene_id": f"s{i}", "content_hash": "c",
                                    "config_hash": "h"} for i in range(3 * ROW_GROUP_SIZE)])
        store.con.execute("CHECKPOINT")
        groups = store.con.execute("SELECT DISTINCT row_group_id FROM "
                                   "pragma_storage_info('processed')").fetchall()
        assert len(groups) == 3


def test_a_generated_database_has_unique_row_ids(tmp_path: Path) -> None:
    """The row tables have no primary key (0005): every id must still be unique, also after
    a rerun that rewrote some scenes."""
    import json as _json

    from narrator.example import write_example
    from tests.conftest import run_cli

    data = write_example(tmp_path / "d", n_scenes=12, size=128, seed=3)
    db = tmp_path / "n.duckdb"
    args = ("generate", str(data), "--db", str(db), "--shard-size", "4", "--no-server")
    assert run_cli(*args).returncode == 0
    with Store(db) as store:
        first = store.con.execute("SELECT max(committed_at) FROM processed").fetchone()[0]
    coco = next((data / "annotations").glob("*.json"))
    doc = _json.loads(coco.read_text())
    doc["annotations"] = doc["annotations"][:-3]  # an edit: some scenes change
    coco.write_text(_json.dumps(doc))
    rerun = run_cli(*args)
    assert rerun.returncode == 0, rerun.stderr
    with Store(db) as store:  # the edited scenes were written again
        assert store.con.execute("SELECT count(*) FROM processed WHERE committed_at > ?",
                                 [first]).fetchone()[0] > 0
    with Store(db) as store:
        for table, key in (("objects", "object_id"), ("vqa", "qa_id"),
                           ("captions", "caption_id"), ("regions", "region_id")):
            total, distinct = store.con.execute(
                f"SELECT count(*), count(DISTINCT {key}) FROM {table}").fetchone()
            assert total == distinct, table
        assert store.count("vqa") > 0 and store.count("objects") > 0


def test_to_process_lists_the_last_ingests_scenes_not_made_from_their_content_and_settings(
        tmp_path: Path) -> None:
    """What the generate plan asks DuckDB instead of comparing a dict of every scene: new
    scenes, changed scenes and scenes made with other settings, sorted, each with whether
    it was made before; other datasets' scenes are not listed."""
    with Store(tmp_path / "p.duckdb") as store:
        store.append("ingest_scenes", pa.table({
            "dataset": ["d"] * 4 + ["other"],
            "scene_id": ["s4", "s1", "s3", "s2", "o1"],
            "content_hash": ["c4", "c1", "c3-new", "c2", "x"]}))
        store.upsert("processed", [
            {"scene_id": "s1", "content_hash": "c1", "config_hash": "k"},      # done
            {"scene_id": "s2", "content_hash": "c2", "config_hash": "k-old"},  # settings
            {"scene_id": "s3", "content_hash": "c3", "config_hash": "k"}])     # content
        assert store.to_process("d", "k") == [("s2", True), ("s3", True), ("s4", False)]
        assert store.to_process("d", "k-old") == [("s1", True), ("s3", True), ("s4", False)]
        assert store.to_process("nothing", "k") == []
