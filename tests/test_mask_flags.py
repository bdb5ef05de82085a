"""``--masks DIR`` / ``--mask-classes`` instead of a masks section in narrator.yaml, and the
hint when masks are found that nothing configures. Fixtures: seeded PNG images and masks."""

from __future__ import annotations

import json
import random
from pathlib import Path

import duckdb
import numpy as np
import pytest
from PIL import Image

from narrator.errors import ConfigError, FormatNotDetected
from narrator.ingest import load_config, read_dataset, with_flag_masks
from tests.conftest import run_cli

SHIP = (128, 0, 0)


def _write(root: Path, n: int = 4, seed: int = 3) -> dict[str, dict[str, float]]:
    """``images/s<i>.png``; ``masks/s<i>.png`` class indices (0 land, 1 water, 255 nodata);
    ``images/s<i>_instance_color.png`` ship palette masks and ``images/s<i>_instance_id.png``
    one grey value per ship. Returns per stem the expected water share and ship count."""
    rng = random.Random(seed)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    truth: dict[str, dict[str, float]] = {}
    for i in range(n):
        size = 64
        Image.fromarray(np.full((size, size), 80, np.uint8)).save(root / f"images/s{i}.png")
        cls = np.zeros((size, size), np.uint8)
        rows = rng.randint(8, 40)
        cls[:rows] = 1
        cls[-4:] = 255
        Image.fromarray(cls).save(root / f"masks/s{i}.png")
        colour = np.zeros((size, size, 3), np.uint8)
        ids = np.zeros((size, size), np.uint8)
        ships = rng.randint(1, 4)
        for k in range(ships):
            x = 4 + 14 * k
            colour[44:50, x:x + 8] = SHIP
            ids[44:50, x:x + 8] = 10 * (k + 1)
        Image.fromarray(colour).save(root / f"images/s{i}_instance_color.png")
        Image.fromarray(ids).save(root / f"images/s{i}_instance_id.png")
        truth[f"s{i}"] = {"water": rows * size / (size * (size - 4)), "ships": ships}
    return truth


def _by_stem(result: object) -> dict[str, object]:
    return {Path(b.scene.file_name).stem: b for b in result.bundles}


def test_class_masks_from_a_folder(tmp_path: Path) -> None:
    truth = _write(tmp_path / "d")
    config = with_flag_masks(load_config(tmp_path / "d"), "masks", "0=land,1=water,255=nodata")
    got = _by_stem(read_dataset(config))
    assert set(got) == set(truth)
    for stem, want in truth.items():
        water = {r.category: r.fraction for r in got[stem].regions}["water"]
        assert water == pytest.approx(want["water"], abs=1e-6)


def test_palette_and_instance_masks_beside_the_images(tmp_path: Path) -> None:
    truth = _write(tmp_path / "d")
    palette = with_flag_masks(load_config(tmp_path / "d"), "images/{stem}_instance_color.png",
                              "ship=#800000")
    got = _by_stem(read_dataset(palette))
    assert set(got) == set(truth)  # masks are not taken for images
    assert all({r.category for r in b.regions} == {"ship"} for b in got.values())
    inst = with_flag_masks(load_config(tmp_path / "d"), "images/{stem}_instance_id.png",
                           "instance=ship")
    got = _by_stem(read_dataset(inst))
    assert {s: len(b.objects) for s, b in got.items()} == \
        {s: t["ships"] for s, t in truth.items()}


@pytest.mark.parametrize(("masks", "classes", "message"), [
    ("images", None, "more than one kind"),
    ("nowhere", None, "no such folder"),
    ("masks", "1=water,ship", "is not KEY=VALUE"),
    ("masks", "1=water,ship=#80", "palette colour"),
    (None, "1=water", "needs --masks"),
])
def test_bad_flags_are_one_clear_error(tmp_path: Path, masks: str | None, classes: str | None,
                                       message: str) -> None:
    _write(tmp_path / "d")
    with pytest.raises(ConfigError, match=message):
        with_flag_masks(load_config(tmp_path / "d"), masks, classes)


def test_hint_when_masks_are_found_but_not_configured(tmp_path: Path) -> None:
    _write(tmp_path / "d")
    with pytest.raises(FormatNotDetected, match="pass --masks masks --mask-classes"):
        read_dataset(load_config(tmp_path / "d"))  # PNGs without labels: nothing detected
    (tmp_path / "d/masks").rename(tmp_path / "masks-away")
    with pytest.raises(FormatNotDetected, match=r"--masks 'images/\{stem\}_instance_"):
        read_dataset(load_config(tmp_path / "d"))
    # annotations that are read: the hint is a warning
    (tmp_path / "d/ann.json").write_text(json.dumps({
        "images": [{"id": 1, "file_name": "s0.png", "width": 64, "height": 64}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [4, 44, 8, 6]}],
        "categories": [{"id": 1, "name": "ship"}]}))
    warnings = read_dataset(load_config(tmp_path / "d")).warnings
    assert any("--masks 'images/{stem}_instance_" in w for w in warnings), warnings


def test_cli_ingest_and_generate_take_the_flags(tmp_path: Path) -> None:
    truth = _write(tmp_path / "d")
    db = tmp_path / "n.duckdb"
    done = run_cli("ingest", str(tmp_path / "d"), "--db", str(db), "--masks", "masks",
                   "--mask-classes", "0=land,1=water,255=nodata")
    assert done.returncode == 0, done.stdout + done.stderr
    bad = run_cli("ingest", str(tmp_path / "d"), "--db", str(tmp_path / "b.duckdb"),
                  "--masks", "masks", "--mask-classes", "1=water,oops")
    assert bad.returncode != 0 and "Error: --mask-classes" in bad.stderr
    assert "Traceback" not in bad.stdout + bad.stderr
    con = duckdb.connect(str(db), read_only=True)
    try:
        water = con.execute("SELECT count(*) FROM regions WHERE category = 'water'").fetchone()
    finally:
        con.close()
    assert water[0] == len(truth)
