"""Two jobs on one database: the second gets one clear ``Error:`` line (exit status 2), and the
first run finishes with exactly the tables an undisturbed run makes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from narrator.generate.generator import RULE_COMMIT_GROUP
from tests.snapshots import snapshot
from tests.test_orchestration import _annotation_only_dataset

N_SCENES, SHARD = 800, 5


def _narrator(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("narrator")), *args]


def _start(*args: str) -> subprocess.Popen[str]:
    # the second commands must fail at once, not wait for the first (NARRATOR_DB_WAIT_S)
    env = os.environ | {"NO_COLOR": "1", "COLUMNS": "200", "NARRATOR_DB_WAIT_S": "0"}
    return subprocess.Popen(_narrator(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, stdin=subprocess.DEVNULL)


def _wait_for_commits(proc: subprocess.Popen[str], log: Path, n: int) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if log.exists() and log.read_text(errors="replace").count("committed shard") >= n:
            return
        time.sleep(0.05)
    raise AssertionError(f"the first run ended or stalled before committing {n} shards: "
                         f"{proc.poll()}")


def test_second_commands_on_a_database_in_use(prefect_harness, tmp_path: Path) -> None:
    from flows.generate import generate_flow

    dataset = _annotation_only_dataset(tmp_path / "data", N_SCENES)
    db = tmp_path / "n.duckdb"
    log = db.with_name(db.name + ".log")
    first = _start("generate", str(dataset), "--db", str(db), "--shard-size", str(SHARD))
    _wait_for_commits(first, log, 2)

    others = {
        "generate": _start("generate", str(dataset), "--db", str(db)),
        "ingest": _start("ingest", str(dataset), "--db", str(db)),
        "export": _start("export", "--db", str(db), "--out", str(tmp_path / "t.jsonl")),
        "report": _start("report", "--db", str(db), "--out", str(tmp_path / "report")),
    }
    for name, proc in others.items():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 2, (name, out, err)
        assert "Traceback" not in out + err, (name, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), (name, err)
        assert str(db) in lines[0] and "in use by another" in lines[0], (name, err)
    assert first.poll() is None, "the first run finished before the others ran: inconclusive"
    assert not (tmp_path / "t.jsonl").exists() and not (tmp_path / "report").exists()

    clean = tmp_path / "clean.duckdb"  # an undisturbed run, made while the first goes on
    generate_flow(str(dataset), str(clean), shard_size=SHARD)
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, out + err
    # the first run's log was not truncated by the second generate: every shard and every
    # commit (rule shards commit RULE_COMMIT_GROUP at a time) is in it
    text = log.read_text()
    assert text.count(" done (") == N_SCENES // SHARD
    assert text.count("committed shards up to") == -(-N_SCENES // SHARD // RULE_COMMIT_GROUP)
    assert snapshot(db) == snapshot(clean)
