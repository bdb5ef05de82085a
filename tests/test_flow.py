"""The generate flow under prefect_test_harness: one run, a rerun, and an incremental run."""

from __future__ import annotations

import shutil
from pathlib import Path

from narrator.example import write_example
from narrator.store import Store


def test_generate_flow_rerun_and_incremental(prefect_harness, example_dir: Path,
                                             tmp_path: Path) -> None:
    from flows.generate import generate_flow

    db = tmp_path / "n.duckdb"
    first = generate_flow(str(example_dir), str(db), shard_size=3)
    assert first["scenes"] == 8 and first["processed_now"] == 8
    assert first["qa_pairs"] > 0 and first["captions"] == 16
    with Store(db) as store:
        counts = store.counts()
    assert all(counts[t] > 0 for t in ("scenes", "objects", "regions", "facts", "vqa",
                                       "captions", "processed", "runs"))

    again = generate_flow(str(example_dir), str(db), shard_size=3)
    assert again["processed_now"] == 0
    with Store(db) as store:
        assert store.counts() == counts
        assert store.scalar("SELECT invocations FROM runs") == 2

    # a changed setting redoes every scene, replacing (not adding) its texts
    reseeded = generate_flow(str(example_dir), str(db), shard_size=3, seed=9)
    assert reseeded["processed_now"] == 8
    with Store(db) as store:
        assert store.count("captions") == counts["captions"]


def test_new_scenes_only_are_processed(prefect_harness, tmp_path: Path) -> None:
    from flows.generate import generate_flow

    small = write_example(tmp_path / "small", n_scenes=3, size=128, seed=4)
    db = tmp_path / "n.duckdb"
    assert generate_flow(str(small), str(db))["processed_now"] == 3
    bigger = write_example(tmp_path / "bigger", n_scenes=5, size=128, seed=4)
    shutil.rmtree(small)
    shutil.copytree(bigger, small)  # same first 3 scenes, 2 new ones
    summary = generate_flow(str(small), str(db))
    assert summary["scenes"] == 5
    assert summary["processed_now"] == 2


def test_ingest_and_export_flows(prefect_harness, tmp_path: Path) -> None:
    import json

    from flows.export import export_flow
    from flows.generate import generate_flow
    from flows.ingest import ingest_flow

    data = write_example(tmp_path / "d", n_scenes=3, size=128, seed=6)
    db = tmp_path / "n.duckdb"
    assert ingest_flow(str(data), str(db))["scenes"] == 3
    generate_flow(str(data), str(db))
    out = tmp_path / "llava.json"
    n = export_flow(str(db), str(out), "llava", single_file=True)
    with Store(db) as store:
        texts = store.count("vqa") + store.count("captions", "status = 'accepted'")
    assert n == texts > 0
    assert out.exists() and json.loads(out.read_text())


def test_streamed_ingest_rewrites_only_changed_scenes(tmp_path: Path) -> None:
    """Ingest writes scenes batch by batch; a rerun rewrites just the scenes whose content
    changed (their objects replaced, not added) and a shard reads back what was read."""
    import json

    from narrator.columns import bundles_from_tables
    from narrator.ingest import ingest_into, load_config, read_dataset

    root = write_example(tmp_path / "d", n_scenes=5, size=128, seed=8)
    db = tmp_path / "n.duckdb"
    with Store(db) as store:
        first = ingest_into(store, load_config(root), batch=2)
        objects = store.count("objects")
        first_hashes = dict(store.con.execute(
            "SELECT scene_id, content_hash FROM ingest_scenes").fetchall())
        assert first.scenes == len(first_hashes) == 5 and objects > 0
    in_memory = read_dataset(load_config(root)).bundles
    with Store(db) as store:
        loaded = bundles_from_tables(store.load_shard([b.scene.scene_id for b in in_memory]))
    assert loaded == in_memory  # field by field (JSON fields come back with sorted keys)
    assert [b.content_hash for b in loaded] == [b.content_hash for b in in_memory]

    ann = next(root.glob("annotations/*.json"))
    coco = json.loads(ann.read_text())
    target = coco["annotations"][0]
    target["bbox"] = [1.0, 1.0, 5.0, 5.0]
    coco["annotations"].append(dict(target, id=10_000, bbox=[20.0, 20.0, 6.0, 6.0]))
    ann.write_text(json.dumps(coco))
    with Store(db) as store:
        second = ingest_into(store, load_config(root), batch=2)
        second_hashes = dict(store.con.execute(
            "SELECT scene_id, content_hash FROM ingest_scenes").fetchall())
        assert second.scenes == len(second_hashes) == 5
        changed = [s for s, h in second_hashes.items() if first_hashes[s] != h]
        assert len(changed) == 1
        assert store.count("objects") == objects + 1
        boxes = store.con.execute(
            "SELECT x0, y0, x1, y1 FROM objects WHERE scene_id = ? ORDER BY ord",
            [changed[0]]).fetchall()
    assert (1.0, 1.0, 6.0, 6.0) in boxes and (20.0, 20.0, 26.0, 26.0) in boxes
