"""`narrator generate` prints the per-task counts and the yes/no balance of what it stored."""

from __future__ import annotations

import re
from pathlib import Path

from narrator.queries import dataset_summary, yes_no_counts
from narrator.store import Store
from narrator.vqa import TASKS
from tests.conftest import run_cli
from tests.vqa_scenes import write_scenes


def test_generate_prints_tasks_and_a_balanced_yes_no(tmp_path: Path) -> None:
    data = write_scenes(tmp_path / "data", n_scenes=60, seed=9)
    db = tmp_path / "n.duckdb"
    result = run_cli("generate", str(data), "--db", str(db), "--style", "sarlang",
                     "--class-list", "--max-qa-per-scene", "14", "--vqa-option",
                     "quota.count=3")
    out = result.stdout
    # the generator writes a few boxes wholly outside their image: quarantined, exit 1
    assert result.returncode == 1, out + result.stderr
    assert "quarantined" in out and "Traceback" not in out + result.stderr
    printed = dict(re.findall(r"│\s+(\w+)\s+│\s+([\d,]+)\s+│", out))
    with Store(db, read_only=True) as store:
        balance = yes_no_counts(store, "vqa-check")
        tasks = dataset_summary(store, "vqa-check")["tasks"]
        per_scene = store.query("SELECT scene_id, task, count(*) AS n FROM vqa "
                                "GROUP BY scene_id, task")
        questions = store.query("SELECT question FROM vqa LIMIT 5")
    assert set(tasks) <= set(TASKS) and len(tasks) >= 12
    for task, n in tasks.items():
        assert printed[task] == f"{n:,}"
    line = re.search(r"yes / no answers\s+│\s+([\d,]+) / ([\d,]+) \(([\d.]+)% yes\)", out)
    assert line, out
    assert (int(line[1].replace(",", "")), int(line[2].replace(",", ""))) == (
        balance["yes"], balance["no"])
    assert balance["yes"] > 20 and 0.45 <= balance["yes_share"] <= 0.55
    assert float(line[3]) == round(balance["yes_share"] * 100, 1)
    assert max(r["n"] for r in per_scene if r["task"] == "count") <= 3
    assert all(q["question"].startswith("The classes are: ") for q in questions)


def test_bad_vqa_option_is_an_error_line(tmp_path: Path) -> None:
    result = run_cli("generate", str(tmp_path), "--db", str(tmp_path / "n.duckdb"),
                     "--vqa-option", "quota.weather=2")
    assert result.returncode == 2
    assert "Error:" in result.stderr and "unknown task 'weather'" in result.stderr
    assert "Traceback" not in result.stderr
