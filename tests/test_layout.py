"""Packaging and layering: the library stays free of Prefect; the wheel carries its data."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from narrator.cli import cli
from tests.conftest import REPO


def test_import_narrator_does_not_import_prefect() -> None:
    code = ("import sys, narrator, narrator.store, narrator.ingest, narrator.facts, "
            "narrator.vqa, narrator.caption, narrator.export, narrator.pipeline, narrator.cli; "
            "print('prefect' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_wheel_ships_templates_and_flows(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path), str(REPO)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("sar_narrator-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in ("narrator/_data/templates/vqa/core.yaml",
                 "narrator/_data/templates/captions/rules.yaml",
                 "narrator/_data/templates/vocabulary.yaml", "flows/generate.py",
                 "narrator/py.typed"):
        assert path in names, path
    assert any(n.endswith("entry_points.txt") for n in names)


def _commands() -> list[str]:
    return sorted(cli.commands)


@pytest.mark.parametrize("command", _commands())
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example: narrator " + command in result.output


@pytest.mark.parametrize("command", _commands())
def test_every_command_is_documented_in_readme(command: str) -> None:
    readme = (REPO / "README.md").read_text()
    assert re.search(rf"^#+ .*`narrator {command}", readme, re.M), command


def test_every_module_imports_first_in_a_fresh_interpreter() -> None:
    """Import cycles show only with some import orders: each module of the library is
    imported first, on its own, in a fresh interpreter (a cycle between narrator.export and
    narrator.queries.export once passed every test that imported narrator.export first)."""
    import pkgutil
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor

    import narrator

    names = sorted(m.name for m in pkgutil.walk_packages(narrator.__path__, "narrator."))
    def first(name: str) -> tuple[str, str]:
        out = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True,
                             text=True, timeout=120)
        return name, out.stderr.strip().splitlines()[-1] if out.returncode else ""

    with ThreadPoolExecutor(4) as pool:
        failures = [(n, e) for n, e in pool.map(first, names) if e]
    assert len(names) > 50 and not failures, failures
