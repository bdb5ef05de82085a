"""Round trips: every export read back by a minimal consumer of its format gives the counts
the database has; filters select what they say; a record that breaks its schema stops the
export without leaving a file behind."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from narrator.export import ExportError, ExportOptions, Filters, export
from narrator.export.splits import SPLITS
from narrator.ingest import load_config, read_dataset
from narrator.generate import commit_result
from narrator.pipeline import GenerateConfig, process_shard
from narrator.store import Store


def build_db(path: Path, example: Path) -> Path:
    """The example dataset through ingest, facts, VQA and rule captions (no Prefect), plus a
    rejected caption and three sarchat-style VQA pairs for the filters."""
    config = load_config(example, None, None)
    ingested = read_dataset(config)
    with Store(path) as store:
        store.write_ingest(config.name, ingested.bundles, ingested.quarantine)
        commit_result(store, process_shard(ingested.bundles, ingested.vocabulary,
                                           GenerateConfig()), "test")
        cap = store.query("SELECT * FROM captions ORDER BY caption_id LIMIT 1")[0]
        store.upsert("captions", [cap | {"caption_id": "0rejected", "status": "rejected",
                                         "text": "Ten ships in a desert."}])
        vqa = store.query("SELECT * FROM vqa WHERE task = 'count' ORDER BY qa_id LIMIT 3")
        store.upsert("vqa", [r | {"qa_id": r["qa_id"] + "s", "style": "sarchat"} for r in vqa])
    return path


@pytest.fixture(scope="module")
def db(example_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_db(tmp_path_factory.mktemp("export") / "n.duckdb", example_dir)


def db_counts(db: Path) -> dict[str, int]:
    """What the database holds, counted with plain SQL (independent of the exporters)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        one = lambda q: con.execute(q).fetchall()[0][0]  # noqa: E731
        out = {"vqa": one("SELECT count(*) FROM vqa"),
               "caption": one("SELECT count(*) FROM captions WHERE status = 'accepted'"),
               "concise": one("SELECT count(*) FROM captions WHERE status = 'accepted' "
                              "AND kind = 'concise'")}
        for task, n in con.execute("SELECT task, count(*) FROM vqa GROUP BY 1").fetchall():
            out[f"task:{task}"] = n
        return out
    finally:
        con.close()


def run(db: Path, fmt: str, out: Path, **filters: tuple[str, ...]):
    """One export; a file ``out`` gets every split (``single_file``)."""
    with Store(db, read_only=True) as store:
        return export(store, fmt, out, ExportOptions(filters=Filters(**filters),
                                                     single_file=bool(out.suffix)))


def test_jsonl_round_trip(db: Path, tmp_path: Path) -> None:
    result = run(db, "jsonl", tmp_path / "t.jsonl")
    records = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    counts = db_counts(db)
    assert Counter(r["type"] for r in records) == {"vqa": counts["vqa"],
                                                   "caption": counts["caption"]}
    assert result.texts == len(records) == len({r["id"] for r in records})
    vqa = next(r for r in records if r["type"] == "vqa")
    cap = next(r for r in records if r["type"] == "caption")
    assert {"question", "answer", "params", "template_id", "style", "task"} <= set(vqa)
    assert set(vqa) == set(cap)  # one schema for every record
    assert cap["answer"] and cap["question"] and cap["kind"] and vqa["kind"] is None
    assert cap["task"] == "caption" and cap["status"] == "accepted"
    for r in records:
        assert r["split"] in SPLITS and r["group"]
        assert r["provenance"]["facts_hash"] and r["provenance"]["narrator_version"]


def test_llava_round_trip(db: Path, tmp_path: Path) -> None:
    run(db, "llava", tmp_path / "llava.json")
    records = json.loads((tmp_path / "llava.json").read_text())
    counts = db_counts(db)
    assert len(records) == counts["vqa"] + counts["caption"]
    for r in records:
        human, gpt = r["conversations"]
        assert human["from"] == "human" and human["value"].startswith("<image>\n")
        assert human["value"].count("<image>") == 1 and gpt["from"] == "gpt" and gpt["value"]
        assert r["image"].endswith(".tif")
    assert Counter(r["meta"]["type"] for r in records)["caption"] == counts["caption"]


def test_sharegpt_folder_round_trip(db: Path, tmp_path: Path) -> None:
    result = run(db, "sharegpt", tmp_path / "sg")
    info = json.loads((tmp_path / "sg" / "dataset_info.json").read_text())
    total = 0
    for name, entry in info.items():
        assert entry["formatting"] == "sharegpt" and entry["columns"]["images"] == "images"
        records = json.loads((tmp_path / "sg" / entry["file_name"]).read_text())
        split = Path(entry["file_name"]).stem
        assert name == f"narrator_{split}" and split in SPLITS
        assert {r["meta"]["split"] for r in records} == {split}
        for r in records:
            assert [m["role"] for m in r["messages"]] == ["user", "assistant"]
            assert r["messages"][0]["content"].startswith("<image>") and len(r["images"]) == 1
        total += len(records)
    counts = db_counts(db)
    assert total == result.texts == counts["vqa"] + counts["caption"]
    assert len(info) == sum(1 for n in result.splits.values() if n)


def test_sharegpt_conversations_group_one_image(db: Path, tmp_path: Path) -> None:
    with Store(db, read_only=True) as store:
        result = export(store, "sharegpt", tmp_path / "conv", ExportOptions(conversations=True))
    records = [r for p in (tmp_path / "conv").glob("*.json") if p.name != "dataset_info.json"
               for r in json.loads(p.read_text())]
    counts = db_counts(db)
    assert result.texts == sum(len(r["meta"]["ids"]) for r in records) == \
        counts["vqa"] + counts["caption"]
    seen = Counter((r["meta"]["scene_id"], r["meta"]["type"]) for r in records)
    assert set(seen.values()) == {1}  # one conversation per image and kind of text
    for r in records:
        roles = [m["role"] for m in r["messages"]]
        assert roles == ["user", "assistant"] * len(r["meta"]["ids"])
        assert sum(m["content"].count("<image>") for m in r["messages"]) == 1
        assert r["messages"][0]["content"].startswith("<image>")


def _csv_rows(paths: list[Path]) -> list[dict[str, str]]:
    rows = []
    for path in paths:
        with path.open(newline="", encoding="utf-8") as fh:
            rows.extend(csv.DictReader(fh))
    return rows


def test_sarlang_round_trip(db: Path, tmp_path: Path) -> None:
    run(db, "sarlang", tmp_path / "sl")
    text = tmp_path / "sl" / "Text"
    counts = db_counts(db)
    vqa = _csv_rows(sorted((text / "VQA").glob("*.csv")))
    caps = _csv_rows(sorted((text / "caption").glob("*.csv")))
    assert len(vqa) == counts["vqa"] and len(caps) == counts["caption"]
    assert Counter(r["type"] for r in caps) == {"concise": counts["concise"],
                                                "complex": counts["caption"] - counts["concise"]}
    assert Counter(r["task"] for r in vqa) == {k[5:]: v for k, v in counts.items()
                                               if k.startswith("task:")}
    assert (text / "caption" / "Caption-training.csv").exists()
    # SARLANG's VQA files: SARVQA1 (the example has SARDet-100K's six classes only), train/test
    assert {p.stem for p in (text / "VQA").glob("*.csv")} <= {"SARVQA1_train", "SARVQA1_test"}
    for r in vqa:
        prefix = ("The classes are: top, center, bottom, left, right. " if
                  r["task"] == "position" else
                  "The classes are: tank, car, aircraft, harbor, bridge, ship. ")
        assert r["question"].startswith(prefix) and "storage tank" not in r["question"]
        if r["task"] == "presence":
            assert r["answer"] in ("yes", "no")
    for path in text.rglob("*.csv"):  # each CSV has a LLaMA-Factory JSON twin
        assert len(json.loads(path.with_suffix(".json").read_text())) == \
            len(_csv_rows([path]))
    info = json.loads((text / "dataset_info.json").read_text())
    assert sorted(e["file_name"] for e in info.values()) == \
        sorted(str(p.relative_to(text)) for p in text.rglob("*.json")
               if p.name != "dataset_info.json")
    for path in (text / "caption").glob("Caption_*1.csv"):
        assert {r["type"] for r in _csv_rows([path])} == {"concise"}


SARCHAT_TEST_FILES = {  # SARChat's own test files (its infer/swift-eval.py)
    "SARChat_classify_count_test.json", "SARChat_classify_test.json",
    "SARChat_describe_test.json"} | {
    f"SARChat_classify_{t}_{n}_test.json" for t in ("grounding", "identify", "refer")
    for n in ("single", "multi")}


def test_sarchat_round_trip(db: Path, tmp_path: Path) -> None:
    run(db, "sarchat", tmp_path / "sc")
    counts = db_counts(db)
    total, boxes = 0, 0
    con = duckdb.connect(str(db), read_only=True)
    pixel = {(sid, tuple(int(v + 0.5) for v in box)) for sid, *box in con.execute(
        "SELECT scene_id, x0, y0, x1, y1 FROM objects").fetchall()}
    con.close()
    for path in (tmp_path / "sc").glob("SARChat_*.json"):
        records = json.loads(path.read_text())
        splits = {r["meta"]["split"] for r in records}
        if path.name == "SARChat_total_task_train_modified.json":
            assert splits == {"train"}
        else:
            assert len(splits) == 1 and path.name.endswith(f"_{splits.pop()}.json")
            if path.name.endswith("_test.json") and "_other_" not in path.name:
                assert path.name in SARCHAT_TEST_FILES
        for r in records:
            user = r["messages"][0]["content"]
            assert user.startswith("<image>\n")
            for m in re.finditer(r"\{<(\d+)><(\d+)><(\d+)><(\d+)>\}", user + r["messages"][1]["content"]):
                boxes += 1  # pixel boxes, each one of the scene's objects
                assert (r["meta"]["scene_id"], tuple(map(int, m.groups()))) in pixel
            if "[refer]" in user:
                assert re.search(r"\}+ \((top|bottom|left|right|center)", r["messages"][1]["content"])
        total += len(records)
    assert total == counts["vqa"] + counts["caption"] and boxes


def test_parquet_round_trip(db: Path, tmp_path: Path) -> None:
    counts = db_counts(db)
    run(db, "parquet", tmp_path / "t.parquet")
    table = pq.read_table(tmp_path / "t.parquet")
    assert table.num_rows == counts["vqa"] + counts["caption"]
    assert Counter(table.column("type").to_pylist()) == {"vqa": counts["vqa"],
                                                         "caption": counts["caption"]}
    row = table.slice(0, 1).to_pylist()[0]
    assert isinstance(json.loads(row["params"]), dict)
    assert row["messages"][0]["role"] == "user" and row["images"]
    result = run(db, "parquet", tmp_path / "pq")
    for path in (tmp_path / "pq").glob("*.parquet"):
        assert set(pq.read_table(path).column("split").to_pylist()) == {path.stem}
    assert pq.read_table(tmp_path / "pq").num_rows == table.num_rows == result.texts


def test_parquet_loads_as_hf_dataset(db: Path, tmp_path: Path, monkeypatch) -> None:
    datasets = pytest.importorskip("datasets")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    result = run(db, "parquet", tmp_path / "pq")
    loaded = datasets.load_dataset("parquet", data_dir=str(tmp_path / "pq"),
                                   cache_dir=str(tmp_path / "hf"))
    names = {"train": "train", "val": "validation", "test": "test"}
    assert {names[s]: n for s, n in result.splits.items() if n} == \
        {k: v.num_rows for k, v in loaded.items()}


def test_filters(db: Path, tmp_path: Path) -> None:
    counts = db_counts(db)
    assert run(db, "jsonl", tmp_path / "a.jsonl", tasks=("count",)).texts == \
        counts["task:count"]
    assert run(db, "jsonl", tmp_path / "b.jsonl", tasks=("caption", "presence")).texts == \
        counts["caption"] + counts["task:presence"]
    rejected = run(db, "jsonl", tmp_path / "c.jsonl", statuses=("rejected",))
    assert rejected.texts == 1
    assert json.loads((tmp_path / "c.jsonl").read_text())["answer"] == "Ten ships in a desert."
    assert run(db, "jsonl", tmp_path / "d.jsonl", statuses=()).texts == \
        counts["vqa"] + counts["caption"] + 1
    # captions have no style: a style filter keeps them and selects VQA pairs by style
    assert run(db, "jsonl", tmp_path / "e.jsonl", styles=("sarchat",)).texts == \
        3 + counts["caption"]
    test = run(db, "jsonl", tmp_path / "f.jsonl", splits=("test", "val"))
    records = [json.loads(x) for x in (tmp_path / "f.jsonl").read_text().splitlines()]
    assert {r["split"] for r in records} <= {"test", "val"} and len(records) == test.texts
    everything = run(db, "jsonl", tmp_path / "g.jsonl")
    assert test.texts == everything.splits.get("test", 0) + everything.splits.get("val", 0)


def test_unknown_filter_values_are_refused(db: Path, tmp_path: Path) -> None:
    for bad in ({"tasks": ("no_such_task",)}, {"styles": ("fancy",)},
                {"statuses": ("approved",)}):
        with pytest.raises(ExportError, match="has: "):
            run(db, "llava", tmp_path / "none.json", **bad)
    assert not (tmp_path / "none.json").exists()


def test_record_breaking_its_schema_stops_the_export(example_dir: Path, tmp_path: Path) -> None:
    db = build_db(tmp_path / "bad.duckdb", example_dir)
    with Store(db) as store:
        row = store.query("SELECT * FROM vqa ORDER BY qa_id LIMIT 1")[0]
        store.upsert("vqa", [row | {"question": ""}])
    out = tmp_path / "out" / "llava.json"
    with pytest.raises(ExportError, match=row["qa_id"]):
        run(db, "llava", out)
    assert not out.parent.exists() or not list(out.parent.iterdir())


def test_bad_filter_values_are_errors() -> None:
    with pytest.raises(ExportError, match="--split"):
        Filters(splits=("dev",))
    with pytest.raises(ExportError, match="--task"):
        Filters(tasks=("count'; DROP TABLE vqa; --",))


def test_cli_export_prints_splits_and_reports_errors(db: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from narrator.cli import cli

    runner = CliRunner()
    ok = runner.invoke(cli, ["export", "--db", str(db), "--format", "sarchat", "--out",
                             str(tmp_path / "sc"), "--task", "count,caption",
                             "--ratios", "1,1,1", "--split-seed", "3"])
    assert ok.exit_code == 0, ok.output
    counts = db_counts(db)
    assert f"Wrote {counts['task:count'] + counts['caption']} records" in ok.output
    assert "train" in ok.output and "test" in ok.output
    bad = runner.invoke(cli, ["export", "--db", str(db), "--out", str(tmp_path / "x.jsonl"),
                              "--ratios", "1,2"])
    assert bad.exit_code == 2 and "Error: --ratios" in bad.output
    clash = tmp_path / "file.txt"
    clash.write_text("x")
    folder = runner.invoke(cli, ["export", "--db", str(db), "--format", "sarlang", "--out",
                                 str(clash)])
    assert folder.exit_code == 2 and "writes a folder" in folder.output
