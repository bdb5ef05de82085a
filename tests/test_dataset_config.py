"""narrator.yaml's annotation list: patterns, and files left out of the list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from narrator.errors import ConfigError
from narrator.example import write_example
from narrator.ingest.base import load_config
from tests.conftest import run_cli


def _with_new_batch(root: Path) -> Path:
    """The example plus annotations/batch2.json: val.json's scenes under new file names."""
    data = write_example(root, n_scenes=6, size=128, seed=3)
    coco = json.loads((data / "annotations" / "val.json").read_text())
    for img in coco["images"]:
        src = data / "images" / img["file_name"]
        img["file_name"] = "b2_" + img["file_name"]
        (data / "images" / img["file_name"]).write_bytes(src.read_bytes())
    (data / "annotations" / "batch2.json").write_text(json.dumps(coco))
    return data


def test_an_unlisted_annotation_file_is_named_in_a_warning(tmp_path: Path) -> None:
    data = _with_new_batch(tmp_path / "d")
    assert load_config(data).unlisted == ["annotations/batch2.json"]
    result = run_cli("ingest", str(data), "--db", str(tmp_path / "x.duckdb"))
    assert result.returncode == 0, result.stderr
    assert "annotations/batch2.json" in result.stderr and "not in narrator.yaml" in result.stderr


def test_a_pattern_reads_every_matching_file(tmp_path: Path) -> None:
    data = _with_new_batch(tmp_path / "d")
    cfg = yaml.safe_load((data / "narrator.yaml").read_text())
    cfg["annotations"] = ["annotations/*.json"]
    (data / "narrator.yaml").write_text(yaml.safe_dump(cfg))
    config = load_config(data)
    assert config.annotations == ["annotations/batch2.json", "annotations/train.json",
                                  "annotations/val.json"]
    assert config.unlisted == []
    result = run_cli("ingest", str(data), "--db", str(tmp_path / "x.duckdb"))
    assert result.returncode == 0, result.stderr
    assert "batch2.json" in result.stdout and "not in narrator.yaml" not in result.stderr


def test_a_pattern_that_matches_nothing_is_an_error(tmp_path: Path) -> None:
    data = write_example(tmp_path / "d", n_scenes=2, size=64, seed=3)
    cfg = yaml.safe_load((data / "narrator.yaml").read_text())
    cfg["annotations"] = ["labels/*.json"]
    (data / "narrator.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(ConfigError, match="labels/\\*.json"):
        load_config(data)
