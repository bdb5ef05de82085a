"""An API key in the environment never reaches anything narrator writes: the DuckDB file (its
``llm_calls`` requests and responses included), the ``<db>.log``, the LLM journals and cache
snapshot, exports, the report, the terminal, Prefect's database or flow run parameters.

The generate run writes HCoT captions through the local OpenAI-compatible test server, which
answers only requests that carry the key: the key was used, and still appears nowhere.
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import duckdb
import pytest

from tests.fake_openai import OpenAITestServer, ServerConfig
from tests.caption_responder import CaptionResponder
from tests.conftest import run_cli


def files_containing(marker: bytes, roots: list[Path]) -> list[Path]:
    """Every file under ``roots`` whose bytes contain ``marker``."""
    return [p for root in roots for p in sorted(root.rglob("*"))
            if p.is_file() and marker in p.read_bytes()]


def test_the_search_finds_a_planted_key(tmp_path: Path) -> None:
    marker = b"sk-planted-" + uuid.uuid4().hex.encode()
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "x.bin").write_bytes(b"\x00\x01" + marker + b"\xff")
    (tmp_path / "clean.txt").write_text("nothing here")
    assert files_containing(marker, [tmp_path]) == [tmp_path / "a" / "b" / "x.bin"]


def test_no_key_in_anything_written(example_dir: Path, tmp_path: Path) -> None:
    key = f"sk-narrator-secret-{uuid.uuid4().hex}"
    prefect_home = tmp_path / "prefect-home"
    env = {"OPENAI_API_KEY": key, "PREFECT_HOME": str(prefect_home)}
    out = tmp_path / "out"
    db = out / "n.duckdb"
    with OpenAITestServer(ServerConfig(latency_s=0.0, api_key=key),
                          CaptionResponder(seed=3)) as server:
        env["OPENAI_BASE_URL"] = server.base_url
        results = [run_cli("generate", str(example_dir), "--db", str(db), "--llm",
                           "openai:narrator-test", env=env)]
        assert results[0].returncode == 0, results[0].stdout + results[0].stderr
        assert server.stats()["status"].get("200", 0) > 0
        assert "401" not in server.stats()["status"]
    results += [
        run_cli("export", "--db", str(db), "--format", "jsonl", "--out", str(out / "t.jsonl"),
                env=env),
        run_cli("export", "--db", str(db), "--format", "parquet", "--out", str(out / "pq"),
                env=env),
        run_cli("report", "--db", str(db), "--out", str(out / "report"), env=env),
    ]
    for r in results:
        assert r.returncode == 0, r.stderr
        assert key not in r.stdout + r.stderr
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    for expected in ("n.duckdb", "n.duckdb.log", "t_train.jsonl", "pq/train.parquet",
                     "report/index.html"):
        assert expected in written, written
    assert any(name.startswith("n.duckdb.llm/") for name in written), written
    prefect_db = prefect_home / "prefect.db"
    assert prefect_db.is_file()
    assert files_containing(key.encode(), [out, prefect_home]) == []

    con = sqlite3.connect(prefect_db)
    try:
        params = con.execute("SELECT parameters FROM flow_run").fetchall()
    finally:
        con.close()
    assert params and all(str(example_dir) in p[0] and key not in p[0] for p in params)
    con = duckdb.connect(str(db), read_only=True)
    try:
        runs = con.execute("SELECT params, summary FROM runs").fetchall()
        calls = con.execute("SELECT request, response FROM llm_calls").fetchall()
    finally:
        con.close()
    assert runs and all(key not in str(row) for row in runs)
    assert calls and all(key not in str(row) for row in calls)


def test_no_key_in_prefect_flow_run_parameters(prefect_harness, example_dir: Path,
                                               tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogWorker
    from prefect.utilities.asyncutils import run_coro_as_sync

    from flows.generate import generate_flow

    key = f"sk-narrator-secret-{uuid.uuid4().hex}"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    db = tmp_path / "n.duckdb"
    state = generate_flow(str(example_dir), str(db), return_state=True)
    run_id = state.state_details.flow_run_id
    APILogWorker.drain_all(timeout=10)  # the flow's logs reach the API in the background

    async def read():
        async with get_client() as client:
            run = await client.read_flow_run(run_id)
            logs = await client.read_logs(
                LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])), limit=200, offset=0)
            return run, logs

    run, logs = run_coro_as_sync(read())
    assert run.parameters["db"] == str(db)
    assert key not in repr(run.parameters) and key not in repr(run)
    assert any("committed shard" in log.message for log in logs)
    assert all(key not in log.message for log in logs)
