"""The JSON Lines export built by DuckDB (narrator/export/sqljson.py) writes the same bytes
as the record-by-record Python path, every record it writes matches the schema, and a
record that would break the schema (or that DuckDB would write differently) goes through
the Python path, which validates it."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path, PurePosixPath

import duckdb
import pytest

from narrator.export import ExportError, ExportOptions, Filters
from narrator.export.base import run_export
from narrator.export.jsonl import JsonlExport
from narrator.export.splits import SplitConfig, _stem
from narrator.queries.sqljson import _NUMBERS, _UPPER, params, params_ok
from narrator.export.validate import compiled
from narrator.ids import make_id
from narrator.store import Store
from tests.test_export import build_db


def export_both(db: Path, out: Path, **filters: tuple[str, ...]) -> tuple[Path, Path]:
    """The same export by DuckDB (``sql``) and by Python (``py``)."""
    paths = []
    for name, in_sql in (("sql", True), ("py", False)):
        target = out / name / "t.jsonl"
        with Store(db, read_only=True) as store:
            run_export(store, JsonlExport, target, ExportOptions(filters=Filters(**filters),
                                                                single_file=True),
                       in_sql=in_sql)
        paths.append(target)
    return paths[0], paths[1]


@pytest.fixture(scope="module")
def db(example_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The export test database plus texts with values DuckDB writes unlike Python (they
    must come out the same all the same)."""
    path = build_db(tmp_path_factory.mktemp("sqljson") / "n.duckdb", example_dir)
    with Store(path) as store:
        vqa = store.query("SELECT * FROM vqa ORDER BY qa_id LIMIT 8")
        odd = ['{"a":1e+16,"b":1e-05}', '{"n":{"x":1}}', '{"a":1,"a":2}',
               '{"c":"\\u00e9\\u4e2d\\ud83d\\ude00"}', '{"ctl":"\\u001b\\u000b"}',
               '{"big":123456789012345678901}', None, '{"deep":[[[[1]]]]}']
        rows = [r | {"qa_id": r["qa_id"] + "x", "params": p,
                     "question": r["question"] + (" \x1f é \"q\" \\" if i % 2 else "")}
                for i, (r, p) in enumerate(zip(vqa, odd, strict=True))]
        store.upsert("vqa", rows)
        caps = store.query("SELECT * FROM captions ORDER BY caption_id LIMIT 4")
        texts = ["Zwei Schiffe \u00e9 \u4e2d \U0001f600 \"quoted\" back\\slash",
                 "line\nbreak\ttab \x1f", "  spaced  ", "ASCII only."]
        store.upsert("captions", [c | {"caption_id": c["caption_id"] + "x", "text": t,
                                       "generator": "llm:restated",
                                       "params": '{"llm_rejected_for":["wrong_count"]}'}
                                  for c, t in zip(caps, texts, strict=True)])
    return path


def test_captions_are_built_by_duckdb_too(example_dir: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Plain texts never take the record-by-record path: captions included (their prompt,
    picked by a hash, is joined in)."""
    import narrator.export.sqljson as sqljson

    db = build_db(tmp_path / "plain.duckdb", example_dir)

    def python_path(*_: object, **__: object) -> None:
        raise AssertionError("a text went through the Python path")

    monkeypatch.setattr(sqljson, "_write_python", python_path)
    monkeypatch.setattr(sqljson, "rows_by_id", python_path)
    out = tmp_path / "o" / "t.jsonl"
    with Store(db, read_only=True) as store:
        run_export(store, JsonlExport, out, ExportOptions(single_file=True))
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    captions = [x for x in lines if x["type"] == "caption"]
    assert captions and all(x["question"] and x["answer"] for x in captions)


def test_sql_export_is_byte_identical_and_schema_valid(db: Path, tmp_path: Path) -> None:
    sql, py = export_both(db, tmp_path)
    assert sql.read_bytes() == py.read_bytes()
    validate = compiled("jsonl")
    lines = sql.read_text(encoding="utf-8").splitlines()
    assert len(lines) > 50 and sum('"qa_id"' in x for x in lines) == 0
    for line in lines:
        validate(json.loads(line))
    for filters in ({"tasks": ("count", "caption")}, {"splits": ("val", "test")},
                    {"statuses": ()}, {"styles": ("sarchat",)}):
        a, b = export_both(db, tmp_path / str(len(list(tmp_path.iterdir()))), **filters)
        assert a.read_bytes() == b.read_bytes(), filters


def test_sql_export_of_a_folder_writes_the_same_split_files(db: Path, tmp_path: Path) -> None:
    for in_sql in (True, False):
        with Store(db, read_only=True) as store:
            result = run_export(store, JsonlExport, tmp_path / str(in_sql), ExportOptions(),
                                in_sql=in_sql)
        assert sum(result.files.values()) == result.texts
    for name in ("train.jsonl", "val.jsonl", "test.jsonl"):
        left, right = tmp_path / "True" / name, tmp_path / "False" / name
        assert left.exists() == right.exists()
        if left.exists():
            assert left.read_bytes() == right.read_bytes()


@pytest.mark.parametrize(("table", "column", "value"), [
    ("vqa", "question", ""), ("vqa", "answer", None), ("vqa", "task", ""),
    ("vqa", "params", "[1, 2]"), ("vqa", "params", "not json"), ("captions", "text", ""),
    ("captions", "kind", None), ("captions", "status", "")])
def test_a_record_breaking_the_schema_stops_the_sql_export(
        example_dir: Path, tmp_path: Path, table: str, column: str, value: object) -> None:
    db = build_db(tmp_path / "bad.duckdb", example_dir)
    key = "qa_id" if table == "vqa" else "caption_id"
    with Store(db) as store:
        row = store.query(f"SELECT * FROM {table} ORDER BY {key} LIMIT 1")[0]
        statuses = () if column == "status" else ("accepted",)  # () selects every status
        store.upsert(table, [row | {column: value}])
    out = tmp_path / "out" / "t.jsonl"
    with Store(db, read_only=True) as store, pytest.raises(ExportError, match=row[key]):
        run_export(store, JsonlExport, out, ExportOptions(filters=Filters(statuses=statuses)))
    assert not out.exists() and not list(out.parent.glob("*.part"))


def test_scene_without_dataset_breaks_the_schema(example_dir: Path, tmp_path: Path) -> None:
    db = build_db(tmp_path / "bad.duckdb", example_dir)
    with Store(db) as store:
        store.con.execute("UPDATE scenes SET dataset = NULL WHERE scene_id = "
                          "(SELECT min(scene_id) FROM scenes)")
    with Store(db, read_only=True) as store, pytest.raises(ExportError, match="dataset"):
        run_export(store, JsonlExport, tmp_path / "t.jsonl", ExportOptions())


def _random_value(rng: random.Random, depth: int = 0) -> object:
    kind = rng.random()
    if kind < 0.3:
        return round(rng.uniform(0, 800), 1)
    if kind < 0.45:
        return rng.uniform(-1e3, 1e3)
    if kind < 0.55:
        return 10 ** rng.uniform(-8, 20) * rng.choice((1, -1))
    if kind < 0.65:
        return rng.randint(-10 ** 19, 10 ** 19)
    if kind < 0.8:
        return "".join(chr(rng.randint(0, 0x3ff)) for _ in range(rng.randint(0, 6)))
    if kind < 0.9 and depth < 4:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if kind < 0.93 and depth < 2:
        return {"k": _random_value(rng, depth + 1)}
    return rng.choice((None, True, False, "ship", "x, y: z", ""))


def test_params_are_written_as_python_writes_them_where_ok() -> None:
    rng = random.Random(7)
    texts = [json.dumps({f"k{i}": _random_value(rng) for i in range(rng.randint(0, 5))},
                        sort_keys=True, separators=(",", ":"), default=str)
             for _ in range(5000)]
    texts += ['{"x":NaN}', '{"a":1,"a":2}', "[1]", "nope", '"\\ud83d"']
    con = duckdb.connect()
    con.execute("CREATE TABLE t (p VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?)", [[t] for t in texts])
    pretty = "CASE WHEN json_valid(p) THEN json_pretty(p) END"
    # the checks line_query applies to params: params_ok, _NUMBERS, and _UPPER on the line
    rows = con.execute(f"SELECT p, {params(pretty)}, {params_ok('p', pretty)} AND NOT "
                       f"regexp_matches({params(pretty)}, ?) AND NOT contains({params(pretty)}, "
                       "?) FROM t", [_NUMBERS, _UPPER]).fetchall()
    ok = [(p, out) for p, out, good in rows if good]
    assert len(ok) > 2000  # most params take the fast path
    for p, out in ok:
        assert out == json.dumps(json.loads(p), ensure_ascii=False), p
    assert not {p for p, _ in ok} & set(texts[-4:])  # NaN: Python writes it as DuckDB does


def test_split_hash_and_stem_shortcuts_match_the_originals() -> None:
    config = SplitConfig(seed=5)
    rng = random.Random(3)
    for _ in range(300):
        group = "".join(chr(rng.randint(32, 0x500)) for _ in range(rng.randint(1, 20)))
        u = int(make_id("split", 5, group), 16) / 16 ** 16
        assert config.split_of(group) == ("train" if u < 0.8 else "val" if u < 0.9 else "test")
    for parts in itertools.product(("a", ".", "/", "..", ".tif", "P0001_2"), repeat=4):
        name = "".join(parts)
        assert _stem(name) == PurePosixPath(name).stem, name


@pytest.mark.parametrize("module", ["narrator.eval", "narrator.queries.export",
                                    "narrator.queries.sqljson", "narrator.export.splits"])
def test_modules_import_first(module: str) -> None:
    """Each of these imports in a fresh interpreter: narrator.queries.export and the
    narrator.export package read each other (the cycle once broke `narrator eval`)."""
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_line_buffers_give_each_file_its_lines_in_order() -> None:
    """A batch grouped by split is written as slices, one per file; a mixed batch (or two
    splits sharing a file) is filtered: both give each file its lines in batch order."""
    import pyarrow as pa

    from narrator.export.sqljson import line_buffers

    def files(splits: list[str | None], target: dict[str | None, str]) -> dict[str, bytes]:
        lines = [f"{i} {s}\n" for i, s in enumerate(splits)]
        batch = pa.record_batch({"line": pa.array(lines, pa.string()),
                                 "split": pa.array(splits, pa.string())})
        out: dict[str, bytes] = {}
        for path, buffer, count in line_buffers(batch, lambda s: Path(target[s])):
            assert bytes(buffer).count(b"\n") == count
            out[str(path)] = out.get(str(path), b"") + bytes(buffer)
        return out

    own = {"train": "a", "val": "b", "test": "c", None: "d"}
    grouped = ["test", "test", "train", "train", "train", "val", None]
    assert files(grouped, own) == {"c": b"0 test\n1 test\n", "d": b"6 None\n",
                                   "a": b"2 train\n3 train\n4 train\n", "b": b"5 val\n"}
    mixed = ["train", "val", "train", "test"]
    assert files(mixed, own) == {"a": b"0 train\n2 train\n", "b": b"1 val\n",
                                 "c": b"3 test\n"}
    shared = {"train": "a", "val": "a", "test": "c"}
    assert files(["val", "train", "test"], shared) == {"a": b"0 val\n1 train\n",
                                                       "c": b"2 test\n"}


def test_the_whole_export_runs_within_duckdbs_export_limit(
        db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DuckDB caches what it reads up to its limit (80% of RAM unless set): the export's first
    queries over every text took 1.3 GB at 1M scenes before the limit covered them too."""
    from narrator.export import base

    limits: list[str] = []
    real = base.check_filters

    def check(store: Store, f: Filters) -> None:
        limits.append(store.scalar("SELECT current_setting('memory_limit')"))
        real(store, f)

    monkeypatch.setattr(base, "check_filters", check)
    with Store(db, read_only=True) as store:
        before = store.scalar("SELECT current_setting('memory_limit')")
        result = run_export(store, JsonlExport, tmp_path / "t.jsonl", ExportOptions())
        after = store.scalar("SELECT current_setting('memory_limit')")
    (was, unit), (now, unit_now) = before.split(), after.split()  # restored (DuckDB rounds
    assert result.texts > 0 and limits == ["244.1 MiB"]               # what it reports)
    assert unit == unit_now and abs(float(was) - float(now)) < 0.01 * float(was)


def test_only_selected_scenes_count_as_not_8bit(db: Path, tmp_path: Path) -> None:
    """The 'not 8-bit' count is of the scenes with a selected text, counted by DuckDB."""
    from narrator.queries.export import selected_scenes, wide_selected_scenes

    copy = tmp_path / "w.duckdb"
    copy.write_bytes(db.read_bytes())
    with Store(copy) as store:
        ids = [r[0] for r in store.con.execute(
            "SELECT scene_id FROM scenes ORDER BY scene_id").fetchall()]
        store.con.execute("UPDATE scenes SET dtype = 'float32' WHERE scene_id IN (?, ?)",
                          ids[:2])
        store.con.execute("UPDATE scenes SET dtype = 'uint8' WHERE scene_id = ?", [ids[2]])
        store.con.execute("DELETE FROM vqa WHERE scene_id = ?", [ids[0]])
        store.con.execute("DELETE FROM captions WHERE scene_id = ?", [ids[0]])
        everything = Filters()
        selected = [s[0] for s in selected_scenes(store, everything)]
        assert wide_selected_scenes(store, everything) == 1
        assert wide_selected_scenes(store, Filters(tasks=("no-such-task",))) == 0
    assert ids[0] not in selected and ids[1] in selected and selected == sorted(selected)
