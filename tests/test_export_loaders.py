"""The exports through the trainers' own loaders, where they are installed: LLaMA-Factory's
data loader (needs torch; ``NARRATOR_LLAMAFACTORY_PYTHON`` names an interpreter that has it,
else this process's if it imports llamafactory) and ms-swift's dataset loader
(``NARRATOR_SWIFT_PYTHON``). Exported with relative paths, checked from another folder."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from narrator.export import ExportOptions, export
from narrator.export.splits import SplitConfig
from narrator.store import Store
from tests.test_export_training import moved_db  # noqa: F401  (fixture)

CHECKS = Path(__file__).parent / "loader_checks"


def _python(env: str, module: str) -> str:
    if os.environ.get(env):
        return os.environ[env]
    if importlib.util.find_spec(module) is not None:
        return sys.executable
    pytest.skip(f"{module} is not installed (set {env} to an interpreter that has it)")


def _run(python: str, script: str, *args: str, cwd: Path) -> dict:
    out = subprocess.run([python, str(CHECKS / script), *args], capture_output=True, text=True,
                         cwd=cwd, timeout=900, env=os.environ | {"HF_DATASETS_OFFLINE": "1"})
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("fmt,info", [("sharegpt", ""), ("sarlang", "Text")])
def test_llamafactory_loads_every_dataset_and_finds_every_image(
        fmt: str, info: str, moved_db: Path, tmp_path: Path) -> None:  # noqa: F811
    python = _python("NARRATOR_LLAMAFACTORY_PYTHON", "llamafactory")
    out = tmp_path / "out"
    with Store(moved_db, read_only=True) as store:
        result = export(store, fmt, out, ExportOptions(
            images="png", paths="relative", splits=SplitConfig((0.5, 0.0, 0.5), 1, 0.1)))
    report = _run(python, "llamafactory_check.py", str(out / info), cwd=tmp_path)
    assert sum(r["rows"] for r in report.values()) == result.texts
    for r in report.values():
        assert r["images"] == r["found"] == r["rows"] and "_prompt" in r["columns"]


def test_swift_loads_sarchat_files_with_objects(moved_db: Path, tmp_path: Path) -> None:  # noqa: F811
    python = _python("NARRATOR_SWIFT_PYTHON", "swift")
    out = tmp_path / "sc"
    with Store(moved_db, read_only=True) as store:
        result = export(store, "sarchat", out, ExportOptions(
            images="png", boxes="swift", splits=SplitConfig((0.5, 0.0, 0.5), 1, 0.1)))
    files = sorted(str(p) for p in out.glob("SARChat_*.json"))
    report = _run(python, "swift_check.py", *files, cwd=tmp_path)
    assert sum(r["rows"] for r in report.values()) == result.texts
    for r in report.values():
        assert r["images_found"] == r["rows"]
        assert r["bbox_tokens"] == r["bboxes"]
