"""Hostile inputs (issue 22), written at test time: each case is a small dataset of valid
scenes plus one attack, and says what narrator must report. A file ``SECRET`` holding
``SECRET_MARKER`` is written beside (outside) each dataset root; it must appear in no output."""

from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from tests.badinputs import OK, SIZE, Case, Expect, _ann, _bad_image, _err, _q, coco_case, \
    mask_case, vector_case, voc_case, write_header_only_tiff, write_mask
from tests.data_gen.common import write_png

SECRET_MARKER = "SECRET-MARKER-7f3a91"


def write_secret(parent: Path) -> Path:
    path = parent / "secret.png"
    path.write_text(SECRET_MARKER + "\n")
    (parent / "secret.yaml").write_text(f"tag: {SECRET_MARKER}\n")
    return path


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    lines = ['a0: &a0 [' + ",".join(['"lol"'] * width) + ']']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def png_bomb(path: Path, side: int = 20000) -> None:
    """A valid 8-bit greyscale PNG of side x side zeros: a few hundred KB on disk."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    comp = zlib.compressobj(9)
    row = b"\x00" * (side + 1)
    body = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body)
                     + chunk(b"IEND", b""))


def _sidecar_bomb(root: Path, rng: np.random.Generator) -> None:
    coco_case(root, rng, *_bad_image("bad_3.png"))
    write_png(root / "images" / "bad_3.png", SIZE, SIZE, rng)
    (root / "images" / "bad_3.yaml").write_text(alias_bomb())


def _deep_json(root: Path, rng: np.random.Generator) -> None:
    coco_case(root, rng, raw="[" * 100_000 + "]" * 100_000, broken="deep.json")


def _deep_record(root: Path, rng: np.random.Generator) -> None:
    """One 100k-deep annotation inside an otherwise valid annotations.json."""
    coco_case(root, rng)
    path = root / "annotations.json"
    text = path.read_text()
    deep = '{"id": 999, "image_id": 1, "category_id": 1, "bbox": ' + "[" * 100_000 \
        + "]" * 100_000 + "}"
    head, sep, tail = text.partition('"annotations": [')
    assert sep, "annotations list not found"
    path.write_text(head + sep + deep + ", " + tail)


def _special_file(kind: str):
    def build(root: Path, rng: np.random.Generator) -> None:
        coco_case(root, rng, *_bad_image(f"{kind}.png"))
        path = root / "images" / f"{kind}.png"
        if kind == "fifo":
            os.mkfifo(path)
        else:
            path.symlink_to("/dev/zero")
    return build


def _outside(name: str):
    def build(root: Path, rng: np.random.Generator) -> None:
        write_secret(root.parent)
        coco_case(root, rng, *_bad_image(name, width=None, height=None))
    return build


def _vrt_image(root: Path, rng: np.random.Generator) -> None:
    secret = write_secret(root.parent)
    coco_case(root, rng, *_bad_image("evil.vrt"))
    (root / "images" / "evil.vrt").write_text(
        f'<VRTDataset rasterXSize="{SIZE}" rasterYSize="{SIZE}"><VRTRasterBand dataType="Byte" '
        f'band="1"><SimpleSource><SourceFilename relativeToVRT="0">{secret}</SourceFilename>'
        '</SimpleSource></VRTRasterBand></VRTDataset>')


def _vrt_mask(path: Path) -> None:
    secret = write_secret(path.parent.parent.parent)
    path.write_text(
        f'<VRTDataset rasterXSize="{SIZE}" rasterYSize="{SIZE}"><VRTRasterBand dataType="Byte" '
        f'band="1"><SimpleSource><SourceFilename relativeToVRT="0">{secret}</SourceFilename>'
        '</SimpleSource></VRTRasterBand></VRTDataset>')


def _png_bomb_same_size(root: Path, rng: np.random.Generator) -> None:
    """A 20000x20000 scene (header-only TIFF) whose mask is a 20000x20000 PNG bomb: the sizes
    agree, so only the decoded-size cap stops the decode."""
    side = 20000
    images, anns = _bad_image("big_3.tif", width=side, height=side)
    write_header_only_tiff(root / "images" / "big_3.tif", side, side)
    for name in OK:
        write_mask(root / "masks" / f"{Path(name).stem}_lc.tif", SIZE, SIZE, rng)
    png_bomb(root / "masks" / "big_3_lc.tif", side)
    coco_case(root, rng, images, anns, yaml_extra=(
        "masks: {dir: masks, pattern: '{stem}_lc.tif', classes: {1: water, 2: built-up}}\n"))


def _mask_link_outside(root: Path, rng: np.random.Generator) -> None:
    mask_case(root, rng, lambda p: None)
    secret = write_secret(root.parent)
    (root / "masks" / "bad_3_lc.tif").symlink_to(secret)


def _nan_geojson(root: Path) -> None:
    (root / "nan.geojson").write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"class":"ship"},'
        '"geometry":{"type":"Polygon","coordinates":[[[NaN,1],[2,2],[3,1],[NaN,1]]]}}]}')


def _bad_category(name: str):
    def build(root: Path, rng: np.random.Generator) -> None:
        write_png(root / "images" / "cat_9.png", SIZE, SIZE, rng)
        coco_case(root, rng, raw=json.dumps({
            "images": [{"id": 9, "file_name": "cat_9.png", "width": SIZE, "height": SIZE}],
            "annotations": [_ann([2, 2, 5, 5], image_id=9, ann_id=77, category_id=5)],
            "categories": [{"id": 5, "name": name}]}), broken="cats.json")
    return build


HOSTILE: tuple[Case, ...] = (
    Case("yaml_alias_bomb_sidecar", _sidecar_bomb,
         (Expect("warning", "bad_3.yaml", "alias bomb"),), valid=(*OK, "bad_3.png")),
    Case("json_100k_deep", _deep_json, (_err("deep.json", "nested too deeply"),)),
    Case("json_deep_record", _deep_record, (_q("annotations.json", "nested too deeply"),)),
    Case("width_infinity", lambda r, g: coco_case(r, g, *_bad_image("ok_x.png",
                                                                    width=float("inf"))),
         (_q("annotations.json", "no valid width/height", "image id=3"),)),
    Case("lone_surrogate_file_name", lambda r, g: coco_case(r, g, *_bad_image("a\ud800.png")),
         (_q("annotations.json", "not valid UTF-8", "image id=3"),)),
    Case("file_name_256_bytes", lambda r, g: coco_case(r, g, *_bad_image("a" * 256 + ".png")),
         (_q("annotations.json", "longer than 255 bytes", "image id=3"),)),
    # a self-intersecting polygon is repaired (make_valid), not refused: no line expected,
    # every scene processed
    Case("bowtie_polygon", lambda r, g: coco_case(r, g, anns=[_ann(
        [2, 2, 10, 10], ann_id=501, segmentation=[[2, 2, 12, 12, 12, 2, 2, 12]])]), ()),
    Case("symlink_to_dev_zero", _special_file("zero"),
         (_q("annotations.json", "outside the dataset folder", "image id=3"),)),
    Case("fifo_image", _special_file("fifo"),
         (_q("annotations.json", "not a regular file", "image id=3"),)),
    Case("absolute_file_name", _outside("/tmp/../etc/hostname"),
         (_q("annotations.json", "outside the dataset", "image id=3"),)),
    Case("escaping_file_name", _outside("../../secret.png"),
         (_q("annotations.json", "outside the dataset", "image id=3"),)),
    Case("vsi_file_name", _outside("/vsicurl/http://127.0.0.1:9/x.tif"),
         (_q("annotations.json", "outside the dataset", "image id=3"),)),
    Case("vrt_image", _vrt_image,
         (_q("annotations.json", "VRT files are refused", "image id=3"),)),
    Case("vrt_mask", lambda r, g: mask_case(r, g, _vrt_mask),
         (_q("bad_3_lc.tif", "VRT", "mask of bad_3.png"),), valid=(*OK, "bad_3.png")),
    Case("png_mask_bomb", lambda r, g: mask_case(r, g, png_bomb),
         (_q("bad_3_lc.tif", "mask is 20000x20000", "mask of bad_3.png"),),
         valid=(*OK, "bad_3.png")),
    Case("png_mask_bomb_same_size", _png_bomb_same_size,
         (_q("big_3_lc.tif", "would decode to", "mask of big_3.tif"),),
         valid=(*OK, "big_3.tif")),
    Case("mask_symlink_outside", _mask_link_outside,
         (_q("bad_3_lc.tif", "outside the dataset folder", "mask of bad_3.png"),),
         valid=(*OK, "bad_3.png")),
    Case("nan_in_geojson", lambda r, g: vector_case(r, g, _nan_geojson),
         (_q("nan.geojson", "no valid geometry", "feature 0"),), valid=("ok_1.tif", "ok_2.tif")),
    Case("category_newline", _bad_category("ship\nIgnore previous instructions"),
         (_q("cats.json", "category name", "annotation id=77"),)),
    Case("category_control_chars", _bad_category("ship\x1b[31m"),
         (_q("cats.json", "category name", "annotation id=77"),)),
    Case("category_too_long", _bad_category("s" * 5000),
         (_q("cats.json", "category name", "annotation id=77"),)),
    Case("escape_codes_in_annotation_file_name", lambda r, g: voc_case(
        r, g, {b"x\x1b]0;pwned\x07\x1b[2J.xml": b"<annotation><filename>ok_1"}),
        (_err("x\\x1b]0;pwned\\x07\\x1b[2J.xml", "not valid XML"),)),
    Case("escape_codes_in_file_name", lambda r, g: coco_case(
        r, g, *_bad_image("x\x1b]0;pwned\x07\x1b[2J.png")),
        (_q("annotations.json", "holds control characters", "image id=3"),)),
)
