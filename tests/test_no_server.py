"""``narrator generate --no-server``: the Generator on a local executor, no Prefect. Same tables
as the Prefect flow run, Prefect never imported, LLM shards retried, bad combinations refused."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from narrator.generate.executors import LocalExecutor, ShardWork, local_executor
from tests.conftest import REPO, run_cli
from tests.snapshots import snapshot


def test_no_server_tables_equal_the_prefect_run(example_dir: Path, tmp_path: Path) -> None:
    flow = run_cli("generate", str(example_dir), "--db", str(tmp_path / "flow.duckdb"),
                   "--shard-size", "3")
    assert flow.returncode == 0, flow.stderr
    local = run_cli("generate", str(example_dir), "--db", str(tmp_path / "local.duckdb"),
                    "--shard-size", "3", "--no-server")
    assert local.returncode == 0, local.stderr
    assert "QA pairs" in local.stdout and "processed now" in local.stdout
    assert snapshot(tmp_path / "local.duckdb") == snapshot(tmp_path / "flow.duckdb")
    again = run_cli("generate", str(example_dir), "--db", str(tmp_path / "local.duckdb"),
                    "--shard-size", "3", "--no-server")
    assert again.returncode == 0 and "processed now" in again.stdout
    assert snapshot(tmp_path / "local.duckdb") == snapshot(tmp_path / "flow.duckdb")


def test_no_server_never_imports_prefect(example_dir: Path, tmp_path: Path) -> None:
    code = ("import sys; from narrator.cli import cli\n"
            "try:\n"
            f"    cli(['generate', {str(example_dir)!r}, '--db', {str(tmp_path / 'n.duckdb')!r},"
            " '--no-server'])\n"
            "except SystemExit as e:\n"
            "    assert not e.code, e.code\n"
            "print('prefect' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_no_server_refuses_other_task_runners(example_dir: Path, tmp_path: Path) -> None:
    out = run_cli("generate", str(example_dir), "--db", str(tmp_path / "n.duckdb"),
                  "--no-server", "--task-runner", "process")
    assert out.returncode == 2
    assert out.stderr.startswith("Error: --no-server") and "Traceback" not in out.stderr
    assert not (tmp_path / "n.duckdb").exists()  # refused before the database is made


def test_no_server_llm_run_then_rerun_sends_nothing(tmp_path: Path) -> None:
    import duckdb

    from narrator.example import write_example
    from tests.caption_responder import CaptionResponder
    from tests.fake_openai import OpenAITestServer, ServerConfig

    root = write_example(tmp_path / "d", n_scenes=4, size=128, seed=9)
    db = tmp_path / "n.duckdb"
    args = ("generate", str(root), "--db", str(db), "--llm", "openai:narrator-test",
            "--samples", "2", "--rounds", "1", "--shard-size", "2", "--no-server")
    with OpenAITestServer(ServerConfig(latency_s=0.0), CaptionResponder(seed=3)) as server:
        env = {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "test-key"}
        first = run_cli(*args, env=env)
        assert first.returncode == 0, first.stderr
        sent = server.stats()["requests"]
        again = run_cli(*args, env=env)
        assert again.returncode == 0, again.stderr
        assert server.stats()["requests"] == sent > 0
    con = duckdb.connect(str(db), read_only=True)
    generators = dict(con.execute("SELECT generator, count(*) FROM captions GROUP BY 1"
                                  ).fetchall())
    con.close()
    assert sum(generators.values()) >= 4
    assert any(g.startswith("llm") for g in generators), generators


class _Flaky(ShardWork):
    """A shard that fails ``fails`` times, then returns how many tries it took."""

    def __init__(self, fails: int, llm: bool) -> None:
        super().__init__(None, [], None, object() if llm else None)  # type: ignore[arg-type]
        self.fails, self.tries = fails, 0

    def __call__(self):  # type: ignore[override]
        self.tries += 1
        if self.tries <= self.fails:
            raise RuntimeError(f"try {self.tries} failed")
        return self.tries


def test_llm_shards_retry_twice_rule_shards_never() -> None:
    with ThreadPoolExecutor(1) as threads:
        llm = LocalExecutor(threads, retries=2, delay_s=0)
        assert llm.submit(_Flaky(2, llm=True)).result() == 3
        with pytest.raises(RuntimeError, match="try 3 failed"):
            llm.submit(_Flaky(3, llm=True)).result()
        rules = LocalExecutor(threads, retries=0, delay_s=0)
        with pytest.raises(RuntimeError, match="try 1 failed"):
            rules.submit(_Flaky(1, llm=False)).result()
    with local_executor(workers=2, processes=0, llm=True) as executor:
        assert executor.retries == 2 and executor.pool is None
