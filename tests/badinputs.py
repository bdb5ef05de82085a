"""A seeded corpus of bad inputs, written at test time (never committed).

Each case is a small dataset of valid scenes plus one kind of breakage, and says what narrator
must report for it: a quarantine row (file, record, reason), a file error (``Error: <file>:
<reason>``) or a warning. Every valid scene of the dataset must still be processed.

Unreadable files: the tests run as root here, where ``chmod 000`` does not stop a read, so as
root the "unreadable" file is replaced by a directory of the same name (reading it fails with
EISDIR, the same OSError path as EACCES); as any other user it is ``chmod 000``.
"""

from __future__ import annotations

import json
import os
import struct
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning
from rasterio.transform import from_origin
from shapely.geometry import box

from tests.data_gen.common import write_geotiff, write_json, write_png

SIZE = 64
OK = ("ok_1.png", "ok_2.png")
CATS = [{"id": 1, "name": "ship"}, {"id": 2, "name": "aircraft"}]
UTM = "EPSG:32631"

Builder = Callable[[Path, np.random.Generator], None]


@dataclass(frozen=True)
class Expect:
    """What narrator must report: ``file`` and ``reason`` (and ``record`` for a quarantine
    row) are substrings of the reported file, reason and record."""

    kind: Literal["quarantine", "file_error", "warning"]
    file: str
    reason: str
    record: str = ""


@dataclass(frozen=True)
class Case:
    name: str
    build: Builder
    expect: tuple[Expect, ...]
    valid: tuple[str, ...] = OK

    def write(self, parent: Path, seed: int = 0) -> Path:
        root = parent / self.name
        root.mkdir(parents=True)
        self.build(root, np.random.default_rng(seed))
        return root

    @property
    def exit_code(self) -> int:
        kinds = {e.kind for e in self.expect}
        return 2 if "file_error" in kinds else 1 if "quarantine" in kinds else 0


# -- writers ---------------------------------------------------------------------------------
def make_unreadable(path: Path) -> None:
    """Make ``path`` unreadable: chmod 000, or (as root, who reads anyway) a directory."""
    if os.geteuid() != 0:
        path.touch()
        path.chmod(0)
        return
    if path.exists():
        path.unlink()
    path.mkdir(parents=True)


def write_header_only_tiff(path: Path, width: int, height: int) -> None:
    """A TIFF whose header declares ``width`` x ``height`` 8-bit pixels but holds 16 bytes:
    reading its pixels would allocate width x height bytes."""
    tags = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 1), (262, 3, 1),
            (273, 4, 0), (277, 3, 1), (278, 4, height), (279, 4, 16)]
    data_offset = 8 + 2 + 12 * len(tags) + 4
    ifd = struct.pack("<H", len(tags)) + b"".join(
        struct.pack("<HHII", tag, kind, 1, data_offset if tag == 273 else value)
        for tag, kind, value in tags) + struct.pack("<I", 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"II*\x00" + struct.pack("<I", 8) + ifd + bytes(16))


def write_mask(path: Path, width: int, height: int, rng: np.random.Generator) -> None:
    """A class-index land-cover mask (values 1 and 2), without georeference."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = rng.integers(1, 3, (1, height, width), dtype=np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=1,
                           dtype="uint8") as dst:
            dst.write(data)


def _ok_coco(root: Path, rng: np.random.Generator) -> tuple[list[dict], list[dict]]:
    """The valid scenes' PNGs, and their COCO image and annotation entries."""
    images, anns = [], []
    for i, name in enumerate(OK, start=1):
        write_png(root / "images" / name, SIZE, SIZE, rng)
        images.append({"id": i, "file_name": name, "width": SIZE, "height": SIZE})
        anns.append({"id": i, "image_id": i, "category_id": 1, "bbox": [8, 8, 12, 10]})
        anns.append({"id": 100 + i, "image_id": i, "category_id": 2, "bbox": [40, 36, 10, 14]})
    return images, anns


def coco_case(root: Path, rng: np.random.Generator, images: list[Any] = (),  # type: ignore
              anns: list[Any] = (), raw: str | None = None,  # type: ignore
              yaml_extra: str = "", broken: str = "broken.json") -> None:
    """``annotations.json`` with the valid scenes plus ``images`` and ``anns`` (or ``raw``
    text as a second file, ``broken``)."""
    ok_images, ok_anns = _ok_coco(root, rng)
    write_json(root / "annotations.json", {"images": ok_images + list(images),
                                           "annotations": ok_anns + list(anns),
                                           "categories": CATS})
    files = ["annotations.json"] + ([broken] if raw is not None else [])
    if raw is not None:
        (root / broken).write_bytes(raw.encode("latin-1"))
    (root / "narrator.yaml").write_text(
        f"name: {root.name}\nimages: images\nannotations: {json.dumps(files)}\n{yaml_extra}")


def _bad_image(file_name: str, image_id: int = 3, **extra: Any) -> tuple[list, list]:
    image = {"id": image_id, "file_name": file_name, "width": SIZE, "height": SIZE} | extra
    ann = {"id": 900 + image_id, "image_id": image_id, "category_id": 1, "bbox": [4, 4, 9, 9]}
    return [image], [ann]


def _ann(bbox: Any, image_id: int = 1, ann_id: int = 500, category_id: Any = 1,
         **extra: Any) -> dict[str, Any]:
    return {"id": ann_id, "image_id": image_id, "category_id": category_id, "bbox": bbox} | extra


def voc_xml(file_name: str | None, objects: list[tuple[str, list[Any]]],
            size: tuple[Any, Any] | None = (SIZE, SIZE)) -> str:
    name = f"<filename>{file_name}</filename>" if file_name is not None else ""
    size_el = (f"<size><width>{size[0]}</width><height>{size[1]}</height><depth>1</depth>"
               "</size>") if size else ""
    objs = "".join(
        f"<object><name>{cls}</name><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin>"
        f"<xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>" for cls, b in objects)
    return f"<annotation>{name}{size_el}{objs}</annotation>"


def voc_case(root: Path, rng: np.random.Generator, extra: dict[bytes, bytes],
             ok_names: tuple[str, ...] = OK) -> None:
    """VOC files for the valid scenes under Annotations/, plus ``extra`` files (raw names
    and bytes, so names and contents may be any bytes)."""
    for name in ok_names:
        write_png(root / "images" / name, SIZE, SIZE, rng)
        xml = voc_xml(name, [("ship", [5, 5, 20, 18]), ("aircraft", [30, 30, 50, 44])])
        (root / "Annotations" / f"{Path(name).stem}.xml").parent.mkdir(exist_ok=True)
        (root / "Annotations" / f"{Path(name).stem}.xml").write_text(xml)
    folder = os.fsencode(root / "Annotations")
    for name, data in extra.items():
        with open(os.path.join(folder, name), "wb") as fh:
            fh.write(data)
    (root / "narrator.yaml").write_text(f"name: {root.name}\nimages: images\n")


def label_case(root: Path, rng: np.random.Generator, folder: str, ok_lines: list[str],
               bad: dict[str, str], yaml_extra: str = "") -> None:
    """One text label file per valid scene (``ok_lines``) plus the ``bad`` files."""
    for name in OK:
        write_png(root / "images" / name, SIZE, SIZE, rng)
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / f"{Path(name).stem}.txt").write_text("\n".join(ok_lines) + "\n")
    for name, text in bad.items():
        (root / folder / name).write_text(text)
    (root / "narrator.yaml").write_text(f"name: {root.name}\nimages: images\n{yaml_extra}")


def vector_case(root: Path, rng: np.random.Generator, extra: Callable[[Path], None]) -> None:
    """Two UTM GeoTIFFs with a WGS84 GeoJSON of one ship on each, plus ``extra``."""
    rows = []
    for i, name in enumerate(("ok_1.tif", "ok_2.tif")):
        t = from_origin(500_000 + 2000 * i, 5_700_000, 10.0, 10.0)
        write_geotiff(root / "images" / name, SIZE, SIZE, rng, UTM, t)
        x, y = t * (10, 10)
        rows.append({"class": "ship", "geometry": box(x, y - 150, x + 200, y)})
    gpd.GeoDataFrame(rows, crs=UTM).to_crs("EPSG:4326").to_file(root / "labels.geojson")
    extra(root)
    (root / "narrator.yaml").write_text(f"name: {root.name}\nimages: images\n")


def _no_crs_raster(root: Path) -> None:
    write_png(root / "images" / "nocrs.png", SIZE, SIZE, np.random.default_rng(1))


def _truncated_vector(root: Path) -> None:
    text = (root / "labels.geojson").read_text()
    (root / "more.geojson").write_text(text[: len(text) // 2])


def mask_case(root: Path, rng: np.random.Generator, bad_mask: Callable[[Path], None]) -> None:
    """The valid COCO scenes with land-cover masks, plus scene bad_3 whose mask is bad."""
    images, anns = _bad_image("bad_3.png")
    write_png(root / "images" / "bad_3.png", SIZE, SIZE, rng)
    for name in OK:
        write_mask(root / "masks" / f"{Path(name).stem}_lc.tif", SIZE, SIZE, rng)
    bad_mask(root / "masks" / "bad_3_lc.tif")
    coco_case(root, rng, images, anns, yaml_extra=(
        "masks: {dir: masks, pattern: '{stem}_lc.tif', classes: {1: water, 2: built-up}}\n"))


# -- the cases -------------------------------------------------------------------------------
def _corrupt_tiff(root: Path, rng: np.random.Generator) -> None:
    (root / "images").mkdir()
    (root / "images" / "bad.tif").write_bytes(b"II*\x00" + rng.bytes(2048))
    coco_case(root, rng, *_bad_image("bad.tif"))


def _zero_byte_image(root: Path, rng: np.random.Generator) -> None:
    (root / "images").mkdir()
    (root / "images" / "empty.png").write_bytes(b"")
    coco_case(root, rng, *_bad_image("empty.png"))


def _unreadable_image(root: Path, rng: np.random.Generator) -> None:
    make_unreadable(root / "images" / "locked.png")
    coco_case(root, rng, *_bad_image("locked.png"))


def _unreadable_annotation(root: Path, rng: np.random.Generator) -> None:
    coco_case(root, rng)
    make_unreadable(root / "a_locked.json")
    (root / "narrator.yaml").write_text(
        "images: images\nannotations: [a_locked.json, annotations.json]\n")


def _huge_raster_header(root: Path, rng: np.random.Generator) -> None:
    write_header_only_tiff(root / "images" / "huge.tif", 10**9, 10**9)
    coco_case(root, rng, *_bad_image("huge.tif"))


def _unhashable_ids(root: Path, rng: np.random.Generator) -> None:
    images = [{"id": [3], "file_name": "ok_1.png", "width": SIZE, "height": SIZE}]
    anns = [_ann([1, 1, 5, 5], image_id={"id": 1}, ann_id=501),
            _ann([1, 1, 5, 5], category_id=[1], ann_id=502)]
    coco_case(root, rng, images, anns)


def _wrong_scalar_types(root: Path, rng: np.random.Generator) -> None:
    images = [{"id": 3, "file_name": "gone.png", "width": "wide", "height": None},
              {"id": 4, "file_name": 42}, "not an image"]
    anns = [_ann("1,2,3,4", ann_id=501), _ann({"x": 1}, ann_id=502), "not an annotation",
            _ann(None, ann_id=503, segmentation={"size": [SIZE, SIZE], "counts": 5})]
    coco_case(root, rng, images, anns)


def _huge_declared(root: Path, rng: np.random.Generator) -> None:
    coco_case(root, rng, *_bad_image("huge.png", width=10**9, height=10**9))
    images, anns = _bad_image("vast.png", image_id=4, width=10**12, height=10**12)
    data = json.loads((root / "annotations.json").read_text())
    data["images"] += images
    data["annotations"] += anns
    write_json(root / "annotations.json", data)


def _rle(root: Path, rng: np.random.Generator) -> None:
    rle = {"size": [10**6, 10**6], "counts": [10**12]}
    coco_case(root, rng, anns=[_ann(None, ann_id=501, segmentation=rle)])


def _voc_non_utf8_names(root: Path, rng: np.random.Generator) -> None:
    write_png(root / "images" / "placeholder.png", 4, 4, rng)
    os.rename(root / "images" / "placeholder.png",
              os.path.join(os.fsencode(root / "images"), b"bad\xff name.png"))
    voc_case(root, rng, {b"bad\xff name.xml": voc_xml(None, [("ship", [2, 2, 9, 9])]).encode()},
             ok_names=("ok_1.png", "ok 2.png"))


def _voc_mixed(root: Path, rng: np.random.Generator) -> None:
    """Non-UTF-8 and spaced names, and a truncated file beside them."""
    _voc_non_utf8_names(root, rng)
    (root / "Annotations" / "cut.xml").write_bytes(voc_xml("cut.png", [])[:30].encode())


def _voc_huge(root: Path, rng: np.random.Generator) -> None:
    voc_case(root, rng, {b"huge.xml": voc_xml("huge.png", [("ship", [2, 2, 9, 9])],
                                              (10**9, 10**9)).encode()})


def _dota(root: Path, rng: np.random.Generator) -> None:
    ok = "5 5 20 5 20 18 5 18 ship 0"
    label_case(root, rng, "labelTxt", [ok, "30 30 50 30 50 44 30 44 aircraft 0"], {
        "ok_1.txt": f"{ok}\ninf 1 9 1 9 9 1 9 ship 0\n1 2 ship\n",
        "ghost.txt": ok + "\n"})


def _yolo(root: Path, rng: np.random.Generator) -> None:
    ok = "0 0.2 0.2 0.2 0.15"
    label_case(root, rng, "labels", [ok, "1 0.6 0.6 0.2 0.2"], {
        "ok_2.txt": f"{ok}\n7 0.5 0.5 0.1 0.1\n0 nan 0.5 0.1 0.1\n0 0.5\n",
        "ghost.txt": ok + "\n", "classes.txt": "ship\naircraft\n"}, "format: yolo\n")


def _mask_huge(path: Path) -> None:
    write_header_only_tiff(path, 10**9, 10**9)


def _mask_small(path: Path) -> None:
    write_mask(path, SIZE // 2, SIZE // 2, np.random.default_rng(2))


def _mask_garbage(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"II*\x00" + bytes(range(256)) * 4)


def _q(file: str, reason: str, record: str = "") -> Expect:
    return Expect("quarantine", file, reason, record)


def _err(file: str, reason: str) -> Expect:
    return Expect("file_error", file, reason)


_TRUNCATED = json.dumps({"images": [{"id": 7, "file_name": "ok_1.png"}], "annotations": []})
CASES: tuple[Case, ...] = (
    Case("corrupt_tiff", _corrupt_tiff,
         (_q("annotations.json", "not a readable raster", "image id=3"),)),
    Case("zero_byte_image", _zero_byte_image,
         (_q("annotations.json", "not a readable raster", "image id=3"),)),
    Case("unreadable_image", _unreadable_image,
         (_q("annotations.json", "not a readable raster", "image id=3"),)),
    Case("unreadable_annotation_file", _unreadable_annotation,
         (_err("a_locked.json", "cannot read the file"),)),
    Case("missing_image_without_size", lambda r, g: coco_case(
        r, g, *_bad_image("gone.png", width=None, height=None)),
        (_q("annotations.json", "image file not found", "image id=3"),)),
    Case("truncated_coco", lambda r, g: coco_case(r, g, raw=_TRUNCATED[:40]),
         (_err("broken.json", "not valid JSON"),)),
    Case("markup_and_emoji_codes_in_file_names", lambda r, g: coco_case(
        r, g, raw=_TRUNCATED[:40], broken="broken [bold] :m: [v2].json"),
        (_err("broken [bold] :m: [v2].json", "not valid JSON"),)),
    Case("coco_not_utf8", lambda r, g: coco_case(r, g, raw=_TRUNCATED.replace("ok_1", "ok_é")),
         (_err("broken.json", "not UTF-8"),)),
    Case("coco_top_level_list", lambda r, g: coco_case(r, g, raw="[1, 2, 3]"),
         (_err("broken.json", "no 'images' list"),)),
    Case("coco_images_not_a_list", lambda r, g: coco_case(
        r, g, raw='{"images": {"id": 1}, "annotations": [], "categories": []}'),
        (_err("broken.json", "no 'images' list"),)),
    Case("coco_annotations_not_a_list", lambda r, g: coco_case(
        r, g, raw='{"images": [], "annotations": {"a": 1}, "categories": []}'),
        (_err("broken.json", "'annotations' must be a list"),)),
    Case("coco_categories_wrong_type", lambda r, g: coco_case(
        r, g, raw='{"images": [], "annotations": [], "categories": "ship"}'),
        (_err("broken.json", "no 'categories' list"),)),
    Case("wrong_json_types_unhashable_ids", _unhashable_ids, (
        _q("annotations.json", "image id must be a number or a string", "image id=[3]"),
        _q("annotations.json", "unknown image_id", "annotation id=501"),
        _q("annotations.json", "unknown category_id [1]", "annotation id=502"))),
    Case("wrong_json_types_scalars", _wrong_scalar_types, (
        _q("annotations.json", "no valid width/height", "image id=3"),
        _q("annotations.json", "without a file_name string", "image id=4"),
        _q("annotations.json", "without a file_name string", "not an image"),
        _q("annotations.json", "RLE counts must be", "annotation id=503"),
        _q("annotations.json", "bbox must be a list of 4 numbers", "annotation id=501"),
        _q("annotations.json", "bbox must be a list of 4 numbers", "annotation id=502"),
        _q("annotations.json", "not an object", ""))),
    Case("negative_coordinates", lambda r, g: coco_case(r, g, anns=[
        _ann([-40, -40, 10, 10], ann_id=501), _ann([5, 5, -3, 4], ann_id=502)]), (
        _q("annotations.json", "lies outside the 64x64 image", "annotation id=501"),
        _q("annotations.json", "zero or negative size", "annotation id=502"))),
    Case("nan_coordinates", lambda r, g: coco_case(r, g, anns=[
        _ann([float("nan"), 3, 4, 5], ann_id=501)]),
        (_q("annotations.json", "NaN or infinite", "annotation id=501"),)),
    Case("infinite_coordinates", lambda r, g: coco_case(r, g, anns=[
        _ann([1, float("inf"), 4, 5], ann_id=501), _ann([1, 1, 1e400, 5], ann_id=502)]), (
        _q("annotations.json", "NaN or infinite", "annotation id=501"),
        _q("annotations.json", "NaN or infinite", "annotation id=502"))),
    Case("box_outside_image", lambda r, g: coco_case(r, g, anns=[
        _ann([500, 500, 10, 10], ann_id=501)]),
        (_q("annotations.json", "lies outside the 64x64 image", "annotation id=501"),)),
    Case("unknown_category_id", lambda r, g: coco_case(r, g, anns=[
        _ann([1, 1, 5, 5], ann_id=501, category_id=99)]),
        (_q("annotations.json", "unknown category_id 99", "annotation id=501"),)),
    Case("duplicate_image_ids", lambda r, g: coco_case(r, g, images=[
        {"id": 1, "file_name": "other.png", "width": SIZE, "height": SIZE}]),
        (_q("annotations.json", "duplicate image id", "image id=1"),)),
    Case("duplicate_file_names", lambda r, g: coco_case(r, g, images=[
        {"id": 3, "file_name": "ok_1.png", "width": SIZE, "height": SIZE}]),
        (_q("annotations.json", "duplicate image ok_1.png", "image ok_1.png"),)),
    Case("duplicate_annotations", lambda r, g: coco_case(r, g, anns=[
        _ann([8, 8, 12, 10], ann_id=1)]),
        (_q("annotations.json", "duplicate annotation", "annotation id=1"),)),
    Case("huge_declared_dimensions", _huge_declared, (
        _q("annotations.json", "pixels a side", "image id=3"),
        _q("annotations.json", "pixels a side", "image id=4"))),
    Case("huge_raster_header", _huge_raster_header,
         (_q("annotations.json", "pixels a side", "image id=3"),)),
    Case("rle_larger_than_image", _rle,
         (_q("annotations.json", "RLE segmentation is 1000000x1000000", "annotation id=501"),)),
    Case("mask_size_differs_from_image", lambda r, g: mask_case(r, g, _mask_small),
         (_q("bad_3_lc.tif", "mask is 32x32 but its image is 64x64", "mask of bad_3.png"),),
         valid=(*OK, "bad_3.png")),
    Case("mask_huge_header", lambda r, g: mask_case(r, g, _mask_huge),
         (_q("bad_3_lc.tif", "mask is 1000000000x1000000000", "mask of bad_3.png"),),
         valid=(*OK, "bad_3.png")),
    Case("mask_corrupt", lambda r, g: mask_case(r, g, _mask_garbage),
         (_q("bad_3_lc.tif", "not a readable mask raster", "mask of bad_3.png"),),
         valid=(*OK, "bad_3.png")),
    Case("raster_without_crs_and_map_vector_labels",
         lambda r, g: vector_case(r, g, _no_crs_raster),
         (_q("nocrs.png", "no CRS or transform", "nocrs.png"),), valid=("ok_1.tif", "ok_2.tif")),
    Case("truncated_vector_file", lambda r, g: vector_case(r, g, _truncated_vector),
         (_err("more.geojson", "not a readable vector file"),), valid=("ok_1.tif", "ok_2.tif")),
    Case("truncated_voc", lambda r, g: voc_case(r, g, {b"cut.xml": voc_xml(
        "ok_1.png", [("ship", [2, 2, 9, 9])]).encode()[:50]}),
        (_err("cut.xml", "not valid XML"),)),
    Case("voc_not_utf8", lambda r, g: voc_case(r, g, {b"latin.xml": voc_xml(
        "caf\xe9.png", [("ship", [2, 2, 9, 9])]).encode("latin-1")}),
        (_err("latin.xml", "not UTF-8"),)),
    Case("voc_bad_numbers", lambda r, g: voc_case(r, g, {b"bad.xml": voc_xml("bad.png", [
        ("ship", ["abc", 2, 9, 9]), ("ship", [9, 9, 2, 2]), ("ship", ["nan", 1, 5, 5])]).encode()}),
        (_q("bad.xml", "non-numeric", "object 0"),
         _q("bad.xml", "zero or negative size", "object 1"),
         _q("bad.xml", "NaN or infinite", "object 2"))),
    Case("voc_huge_size", _voc_huge, (_q("huge.xml", "pixels a side", "huge.xml"),)),
    Case("non_utf8_and_spaces_in_file_names", _voc_non_utf8_names,
         (_q("Annotations", "not valid UTF-8", "bad\\xff name"),), valid=("ok_1.png", "ok 2.png")),
    Case("voc_mixed_breakage", _voc_mixed, (
        _q("Annotations", "not valid UTF-8", "bad\\xff name"), _err("cut.xml", "not valid XML")),
        valid=("ok_1.png", "ok 2.png")),
    Case("dota_bad_lines_and_missing_image", _dota, (
        _q("ok_1.txt", "NaN or infinite", "line 2 of ok_1.txt"),
        _q("ok_1.txt", "expected 8 coordinates", "line 3 of ok_1.txt"),
        _q("labelTxt", "image file not found", "ghost.txt"))),
    Case("yolo_bad_lines_and_missing_image", _yolo, (
        _q("ok_2.txt", "unknown class index '7'", "line 2 of ok_2.txt"),
        _q("ok_2.txt", "NaN or infinite", "line 3 of ok_2.txt"),
        _q("ok_2.txt", "expected 'class cx cy w h'", "line 4 of ok_2.txt"),
        _q("labels", "image file not found", "ghost.txt"))),
    Case("corrupt_sidecar", lambda r, g: (coco_case(r, g), (r / "images" / "ok_1.json")
                                          .write_text('{"platform": "Sentin')),
         (Expect("warning", "ok_1.json", "sidecar ignored"),)),
)
