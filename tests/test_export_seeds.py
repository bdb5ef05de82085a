"""The VRSBench-SAR/GeoChat and FUSAR-GEOVL-shaped exports: their fields, box scale and
lead-ins, read back as their consumers read them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from narrator.export import ExportError, ExportOptions, export
from narrator.export.fusar import LEAD_INS
from narrator.store import Store
from tests.test_export import build_db


@pytest.fixture(scope="module")
def db(example_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The export test database plus one fusar_fields caption per scene, written as the H-CoT
    captioner writes them (a JSON object of the eight lowercase fields)."""
    path = build_db(tmp_path_factory.mktemp("seeds") / "n.duckdb", example_dir)
    with Store(path) as store:
        caps = store.query("SELECT * FROM captions WHERE kind = 'concise' ORDER BY scene_id")
        fields = {"terrain": "flat coastal plain", "functionality": "port",
                  "distribution": "ships clustered near the quay", "layout": "none",
                  "boundary": "a sharp land-water edge", "buildings": "sparse warehouses",
                  "roads": "one road along the quay",
                  "water": "Water presence: open water in the upper half"}
        store.upsert("captions", [c | {"caption_id": c["caption_id"] + "f",
                                       "kind": "fusar_fields", "generator": "llm",
                                       "text": json.dumps(fields)} for c in caps])
    return path


def test_vrsbench_records_and_boxes(db: Path, tmp_path: Path) -> None:
    with Store(db, read_only=True) as store:
        export(store, "vrsbench", tmp_path / "vr", ExportOptions())
    con = duckdb.connect(str(db), read_only=True)
    sizes = dict(((sid, (w, h)) for sid, w, h in con.execute(
        "SELECT file_name, width, height FROM scenes").fetchall()))
    boxes = {(f, tuple(int(v / (w if i % 2 == 0 else h) * 100 + 0.5)
                       for i, v in enumerate(b)))
             for f, w, h, *b in con.execute(
                 "SELECT s.file_name, s.width, s.height, o.x0, o.y0, o.x1, o.y1 FROM objects o "
                 "JOIN scenes s USING (scene_id)").fetchall()}
    con.close()
    refs = 0
    for path in (tmp_path / "vr").glob("vrsbench_*.jsonl"):
        ids = []
        for line in path.read_text().splitlines():
            r = json.loads(line)
            assert {"question_id", "image_id", "question", "ground_truth", "type"} <= set(r)
            assert r["image_id"] in sizes and Path(r["image"]).name == r["image_id"]
            ids.append(r["question_id"])
            if r["type"] == "ref":
                m = re.fullmatch(r"\{<(\d+)><(\d+)><(\d+)><(\d+)>\}", r["ground_truth"])
                assert m and (r["image_id"], tuple(map(int, m.groups()))) in boxes
                refs += 1
        assert ids == list(range(len(ids)))
    assert refs


def test_fusar_one_flat_object_per_image(db: Path, tmp_path: Path) -> None:
    with Store(db, read_only=True) as store:
        result = export(store, "fusar", tmp_path / "fu", ExportOptions())
        scenes = store.scalar("SELECT count(*) FROM scenes")
    records = [r for p in (tmp_path / "fu").glob("FUSAR_*.json")
               for r in json.loads(p.read_text())]
    assert len(records) == result.texts == scenes
    for r in records:
        assert list(r) == ["image_id", "Terrain", "Functionality", "Distribution", "Layout",
                           "Boundary", "Buildings", "Roads", "Water"]
        for name, lead in LEAD_INS.items():
            assert r[name.capitalize()].startswith(lead + " ")
            assert "none" not in r[name.capitalize()].lower()
        assert r["Terrain"] == "The terrain is classified as flat coastal plain."
        assert r["Water"] == "Water presence: open water in the upper half."


def test_fusar_without_fields_says_what_it_needs(example_dir: Path, tmp_path: Path) -> None:
    db = build_db(tmp_path / "plain.duckdb", example_dir)
    with Store(db, read_only=True) as store:
        result = export(store, "fusar", tmp_path / "fu", ExportOptions())
    assert result.texts == 0 and any("fusar_fields" in w for w in result.warnings)


def test_unknown_format_is_an_error(db: Path, tmp_path: Path) -> None:
    with Store(db, read_only=True) as store, pytest.raises(ExportError, match="choose from"):
        export(store, "vrsbench2", tmp_path / "x", ExportOptions())
