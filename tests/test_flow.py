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
    n = export_flow(str(db), str(out), "llava")
    with Store(db) as store:
        texts = store.count("vqa") + store.count("captions", "status = 'accepted'")
    assert n == texts > 0
    assert out.exists() and json.loads(out.read_text())
