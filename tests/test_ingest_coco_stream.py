"""The streaming COCO reader: the same records whatever the file's layout, chunking or path."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from narrator.ingest import jsonstream, load_config
from narrator.ingest import cococolumns, coco
from narrator.ingest.coco import CocoReader
from narrator.ingest.jsonstream import NotStreamable, stream_object


def _odd_annotations(rng: random.Random) -> list[Any]:
    """Every kind of annotation the reader treats specially, among plain boxes."""
    anns: list[Any] = []
    for i in range(300):
        anns.append({"id": i, "image_id": i % 40, "category_id": i % 4,
                     "bbox": [rng.uniform(-20, 90), rng.uniform(-20, 90),
                              rng.uniform(1, 40), rng.randint(1, 40)],
                     "iscrowd": i % 7 == 0, "area": 1.5})
    anns += [
        "not an object", 7, None,
        {"id": "s1", "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]},
        {"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]},               # no id
        {"id": 1.5, "image_id": 1.0, "category_id": 1, "bbox": [1, 2, 3, 4]},
        {"id": 2**70, "image_id": 2, "category_id": 2**70, "bbox": [1, 2, 3, 4]},
        {"id": 900, "image_id": 2, "category_id": 1, "bbox": [True, 2, 3.5, 4]},
        {"id": 901, "image_id": 2, "category_id": 1, "bbox": [1, 2, 0, 4]},
        {"id": 902, "image_id": 2, "category_id": 1, "bbox": [1, "2", 3, 4]},
        {"id": 903, "image_id": 2, "category_id": 1, "bbox": [1, 2, 3]},
        {"id": 904, "image_id": 2, "category_id": 1, "bbox": [1e400, 2, 3, 4]},
        {"id": 905, "image_id": 2, "category_id": 9, "bbox": [1, 2, 3, 4]},
        {"id": 906, "image_id": 3, "category_id": 1, "bbox": [1, 2, 3, 4], "segmentation": []},
        {"id": 907, "image_id": 3, "category_id": 1,
         "segmentation": [[1, 1, 9, 1, 9, 9, 1, 9]]},
        {"id": 908, "image_id": 3, "category_id": 1, "segmentation": {"size": [64, 64],
                                                                       "counts": [0, 10, 4086]}},
        {"id": 909, "image_id": 3, "category_id": 1, "bbox": [1, 2, 3, 4],
         "note": "}, {\"id\": 1}, {"},
        {"id": 910, "image_id": [3], "category_id": 1, "bbox": [1, 2, 3, 4]},
        {"id": 911, "image_id": 404, "category_id": 1, "bbox": [1, 2, 3, 4]},
        {"id": 912, "image_id": 5, "category_id": 1, "bbox": [1, 2, 3, 4], "iscrowd": [0]},
        {"id": 3, "image_id": 3, "category_id": 3, "bbox": [3, 3, 3, 3]},       # a repeat
        {"id": 3, "image_id": 3, "category_id": 3, "bbox": [3, 3, 3, 3]},
    ]
    return anns


def _odd_images() -> list[Any]:
    images: list[Any] = [{"id": i, "file_name": f"im{i}.png", "width": 64, "height": 64}
                         for i in range(40)]
    images += [{"id": 1, "file_name": "dup.png", "width": 8, "height": 8},
               {"id": 41, "file_name": "nosize.png"}, {"id": [5], "file_name": "x.png"},
               "junk", {"id": 42, "file_name": ""},
               {"id": 43, "file_name": "big.png", "width": 10, "height": 10**9}]
    return images


def _write(path: Path, order: list[str], indent: int | None = None) -> Path:
    rng = random.Random(3)
    parts = {"images": _odd_images(), "annotations": _odd_annotations(rng),
             "categories": [{"id": k, "name": n} for k, n in
                            enumerate(["ship", "aircraft", "tank", "Cargo Ship"])]
             + [{"name": "no id"}], "info": {"year": 2024}, "licenses": []}
    path.write_text(json.dumps({k: parts[k] for k in order}, indent=indent))
    return path


def _records(path: Path) -> list[str]:
    reader = CocoReader(load_config(path, "coco"))
    out = [repr(item) for source in reader.sources() for item in reader.read_source(source)]
    return out + [repr(reader.stats), repr(sorted(reader.declared)),
                  repr(sorted(reader.class_map.unknown.items()))]


LAYOUTS = [["info", "images", "annotations", "categories", "licenses"],
           ["categories", "annotations", "images"],
           ["annotations", "licenses", "categories", "images", "info"]]


@pytest.mark.parametrize("order", LAYOUTS, ids=["coco", "categories_first", "images_last"])
def test_streamed_equals_loaded_whole_and_the_plain_dict_path(
        order: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path / "ann.json", order)
    streamed = _records(path)
    assert any("unknown image_id 404" in r for r in streamed)
    assert any("Quarantine" in r and "not an object: 'not an object'" in r for r in streamed)
    assert sum(r.count("Object(") for r in streamed) > 150

    monkeypatch.setattr(jsonstream, "CHUNK", 64)  # every element crosses a chunk boundary
    assert _records(path) == streamed

    monkeypatch.setattr(coco, "stream_object", _refuse)  # the whole-file path
    assert _records(path) == streamed

    monkeypatch.setattr(cococolumns, "_plain_columns", lambda dicts: None)  # all as dicts
    assert _records(path) == streamed


def _refuse(*args: Any) -> Any:
    raise NotStreamable("test")


def test_indented_file_gives_the_same_records(tmp_path: Path) -> None:
    for folder in ("a/d", "b/d"):  # the same dataset name: the same scene ids
        (tmp_path / folder).mkdir(parents=True)
    compact = _records(_write(tmp_path / "a/d/ann.json", LAYOUTS[0]))
    indented = _records(_write(tmp_path / "b/d/ann.json", LAYOUTS[0], indent=2))
    assert [r.replace("/b/d", "/a/d") for r in indented] == compact


def test_plain_boxes_are_kept_as_columns_not_dicts(tmp_path: Path) -> None:
    anns = [{"id": i, "image_id": i // 10, "category_id": 1, "bbox": [1.5, 2, 3, 4.25],
             "area": 12.0, "iscrowd": 0} for i in range(5000)]
    path = tmp_path / "ann.json"
    path.write_text(json.dumps({"images": [], "annotations": anns, "categories": []}))
    columns = cococolumns.AnnotationColumns(1000)  # fewer than needed: the columns grow
    stream_object(path, ["annotations"], lambda key, batch: columns.add(batch))
    assert columns.count == 5000 and not columns._slow
    columns.finish()
    group = columns.take(7)
    assert group is not None and group.ids == list(range(70, 80))
    assert group.boxes[0] == [1.5, 2.0, 3.0, 4.25] and group.slow == [None] * 10


@pytest.mark.parametrize("text", [
    '{"images": [], "images": []}', '{"images": []} x', '\ufeff{"images": []}',
    '[{"images": []}]', '{"images": [1, 2', '{"images": [1 2]}', "", '{"a" 1}',
])
def test_unusual_files_are_refused_for_the_whole_file_path(text: str, tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(NotStreamable):
        stream_object(path, ["images"], lambda key, batch: None)


def test_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_bytes(b'{"images": [{"file_name": "\xe9.png"}]}')
    with pytest.raises(NotStreamable):
        stream_object(path, ["images"], lambda key, batch: None)


def test_scalars_and_batches_across_chunk_boundaries(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    data = {"year": 123456789012345, "images": [{"id": i, "s": "}, {" * (i % 3)}
                                                for i in range(200)],
            "nums": [1, 2.5, -3e10], "empty": [], "images2": [[1], {"a": [{"b": 1}, {}]}, 2]}
    path = tmp_path / "f.json"
    path.write_text(json.dumps(data))
    for chunk in (7, 64, 1 << 20):
        monkeypatch.setattr(jsonstream, "CHUNK", chunk)
        got: dict[str, list[Any]] = {}
        top = stream_object(path, ["images", "nums", "empty", "images2"],
                            lambda key, batch: got.setdefault(key, []).extend(batch))
        assert top["year"] == data["year"]
        assert got == {k: data[k] for k in ("images", "nums", "images2")}
        assert set(top) == set(data)


def test_plain_box_images_give_what_the_candidate_path_gives(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Images whose annotations are all plain boxes skip the Candidate per box: their
    objects, ids and rejects (unknown category, outside the image, repeats, a class name
    with a line break, clipped and crowd boxes) are those of the per-annotation path."""
    rng = random.Random(11)
    anns: list[dict[str, Any]] = []
    for i in range(400):
        anns.append({"id": i, "image_id": i % 25, "category_id": rng.choice([0, 1, 2, 3, 7]),
                     "bbox": [rng.choice([rng.uniform(-30, 70), 0, 5]), rng.uniform(-30, 70),
                              rng.choice([rng.uniform(0.5, 40), 8]), rng.uniform(0.5, 40)],
                     "iscrowd": rng.random() < 0.2})
    twice = {"id": 5000, "image_id": 3, "category_id": 0, "bbox": [1, 2, 3, 4]}
    anns += [twice, dict(twice), dict(twice, id=5001), {**anns[7], "bbox": [100, 100, 5, 5]}]
    path = tmp_path / "ann.json"
    path.write_text(json.dumps({
        "images": [{"id": i, "file_name": f"im{i}.png", "width": 64, "height": 48}
                   for i in range(25)],
        "annotations": anns,
        "categories": [{"id": k, "name": n} for k, n in
                       enumerate(["ship", "Cargo Ship", "odd\nname", "vessel"])]}))
    calls: list[int] = []

    def counted(*args: Any) -> Any:
        calls.append(1)
        return box_objects(*args)

    box_objects = coco.box_objects
    monkeypatch.setattr(coco, "box_objects", counted)
    fast = _records(path)
    assert len(calls) == 25  # every image took the fast way
    for text in ("unknown category_id 7", "lies outside the 64x48 image", "duplicate annotation",
                 "line breaks", "'clipped': True", "'iscrowd': True"):
        assert any(text in r for r in fast), text
    monkeypatch.setattr(cococolumns, "_plain_columns", lambda dicts: None)  # all as dicts
    assert _records(path) == fast


def test_integer_image_ids_indexed_as_columns_give_what_the_dict_gives(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Annotations whose image ids are all integers are grouped through numpy columns, not
    a dict of every image id (and ids and categories that fit are int32): the same records,
    duplicates and leftovers as the dict, whatever type an image's id has (1.0 and True
    find image 1 as a dict lookup does)."""
    rng = random.Random(5)
    anns = [{"id": (2**40 + i if i % 50 == 0 else i), "image_id": rng.randrange(-3, 30),
             "category_id": rng.randrange(3), "bbox": [1, 2, 3 + i % 5, 4]}
            for i in range(300)]
    anns += [{"id": 999, "image_id": 2**62, "category_id": 1, "bbox": [1, 1, 2, 2]},
             {"id": 998, "image_id": 77, "category_id": 1, "bbox": [1, 1, 2, 2]}]  # no image
    images: list[Any] = [{"id": i, "file_name": f"im{i}.png", "width": 64, "height": 64}
                         for i in range(-3, 20)]
    images += [{"id": 1.0, "file_name": "float.png", "width": 8, "height": 8},   # dup of 1
               {"id": 21.0, "file_name": "float21.png", "width": 8, "height": 8},
               {"id": True, "file_name": "true.png", "width": 8, "height": 8},   # dup of 1
               {"id": 22.5, "file_name": "half.png", "width": 8, "height": 8},
               {"id": "23", "file_name": "text.png", "width": 8, "height": 8},
               {"id": 24, "file_name": "nosize.png"},                            # quarantined
               {"id": 24, "file_name": "again.png", "width": 8, "height": 8},    # dup of that
               {"id": 100, "file_name": "empty.png", "width": 8, "height": 8},   # no boxes
               {"id": 100, "file_name": "empty2.png", "width": 8, "height": 8},  # dup of that
               {"id": 2**62, "file_name": "huge.png", "width": 8, "height": 8},
               {"id": 2**70, "file_name": "huger.png", "width": 8, "height": 8}]
    path = tmp_path / "ann.json"
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": [
        {"id": k, "name": n} for k, n in enumerate(["ship", "tank", "car"])]}))
    indexed: list[bool] = []
    real = cococolumns.AnnotationColumns._index_groups

    def index(self: Any) -> None:
        real(self)
        indexed.append(self._taken is not None and self._ids.dtype.name == "int64"
                       and self._cats.dtype.name == "int32")

    monkeypatch.setattr(cococolumns.AnnotationColumns, "_index_groups", index)
    columns = _records(path)
    assert indexed == [True]
    for text in ("duplicate image id", "unknown image_id 77", "'float21.png'",
                 "unknown image_id 25"):
        assert any(text in r for r in columns), text
    assert sum("duplicate image id" in r for r in columns) == 4
    monkeypatch.setattr(cococolumns.AnnotationColumns, "_index_groups", lambda self: None)
    assert _records(path) == columns


@pytest.mark.parametrize("rows,groups,chunk", [(0, 1, 4), (1, 1, 4), (10, 3, 4), (1000, 7, 64),
                                               (50_000, 5_000, 4096), (5_000, 1, 7)])
def test_rows_are_grouped_in_file_order_as_a_stable_argsort_does(rows: int, groups: int,
                                                                  chunk: int) -> None:
    """Grouping a chunk of rows at a time (no int64 array of every row) gives the order of
    np.argsort(kind="stable"), as int32."""
    import numpy as np

    group = np.random.default_rng(rows).integers(0, groups, rows).astype(np.int32)
    counts = np.bincount(group, minlength=groups)
    got = cococolumns._stable_order(group, np.cumsum(counts) - counts, chunk)
    assert got.dtype == np.int32 and got.tolist() == np.argsort(group, kind="stable").tolist()


def test_scene_ids_kept_as_numbers_only_where_the_text_is_16_hex_digits() -> None:
    """The collector's scene keys: make_id's ids as the number they spell; anything int()
    would also read (a 0x prefix, upper case, underscores, spaces, a sign) stays text, so
    no two ids share a key."""
    from narrator.ids import make_id
    from narrator.ingest import _compact

    sid = make_id("d", "a.png")
    assert _compact(sid) == int(sid, 16)
    odd = ["0x000000000000ab", "00000000000000AB", "0000_0000_0000ab", " 00000000000000a",
           "+00000000000000a", "00000000000000ab\n", "abc", "00000000000000ab0"]
    assert all(_compact(s) == s for s in odd)
    keys = [_compact(s) for s in [*odd, "00000000000000ab"]]
    assert len(set(keys)) == len(keys)
