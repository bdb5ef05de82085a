"""An LLM outage is not success: scenes whose captions fell back because the LLM was
unreachable are provisional and redone by the next run; a run where every call found the
server unreachable ends with one `Error:` line (the templated VQA still committed)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from narrator.example import write_example
from narrator.generate import GenerateOptions, Generator
from narrator.generate.generator import PROVISIONAL
from narrator.llm.base import LLMUnavailable
from narrator.store import Store
from tests.caption_responder import CaptionResponder
from tests.fake_openai import OpenAITestServer, ServerConfig


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NARRATOR_LLM_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("NARRATOR_LLM_BACKOFF_BASE_S", "0.01")
    monkeypatch.setenv("NARRATOR_LLM_BACKOFF_MAX_S", "0.02")
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")


def test_server_down_then_up_redoes_exactly_the_fallback_scenes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quick_retries: None) -> None:
    root = write_example(tmp_path / "d", n_scenes=5, size=128, seed=4)
    port = _free_port()
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{port}/v1")
    options = GenerateOptions(llm="openai:narrator-test", samples=2, rounds=1, shard_size=2)
    with Store(tmp_path / "n.duckdb") as store:
        with pytest.raises(LLMUnavailable, match="unreachable for all") as err:
            Generator(store, root, options).generate()
        assert "\n" not in str(err.value)
        provisional = store.count("processed", f"config_hash LIKE '{PROVISIONAL}%'")
        fallback = store.count("captions", "generator = 'rules-fallback' AND kind = 'detailed'")
        qa_down = store.count("vqa")
        status, = store.con.execute("SELECT status FROM runs").fetchone()
        assert provisional == fallback == 5 and qa_down > 0 and status == "llm-unreachable"
        with OpenAITestServer(ServerConfig(latency_s=0.0), CaptionResponder(seed=3),
                              port=port) as server:
            up = Generator(store, root, options).generate()
            sent = server.stats()["requests"]
            again = Generator(store, root, options).generate()
            assert server.stats()["requests"] == sent  # nothing left to redo
        assert up["processed_now"] == provisional and up["provisional"] == 0
        assert up["llm"]["unreachable"] == 0 and up["llm"]["calls"] > 0
        assert store.count("processed", f"config_hash LIKE '{PROVISIONAL}%'") == 0
        assert store.count("captions", "generator LIKE 'llm:%'") > 0
        assert store.count("vqa") == qa_down
    assert again["processed_now"] == 0


def test_an_unreachable_dask_scheduler_is_one_error_line_in_seconds(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    root = write_example(tmp_path / "d", n_scenes=2, size=64, seed=1)
    narrator = str(Path(sys.executable).with_name("narrator"))
    address = f"tcp://127.0.0.1:{_free_port()}"
    t0 = time.monotonic()
    proc = subprocess.run([narrator, "generate", str(root), "--db", str(tmp_path / "n.duckdb"),
                           "--task-runner", "dask", "--dask-address", address],
                          capture_output=True, text=True, timeout=60,
                          env={**__import__("os").environ, "NO_COLOR": "1", "COLUMNS": "300"})
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: --dask-address " + address), lines
    assert "cannot reach the Dask scheduler" in lines[0]
    assert time.monotonic() - t0 < 15 and not (tmp_path / "n.duckdb").exists()


@pytest.mark.parametrize("impostor", ["silent socket", "http server"])
def test_an_address_that_is_not_a_dask_scheduler_is_one_error_line(tmp_path: Path,
                                                                    impostor: str) -> None:
    """A port that accepts TCP but is not a Dask scheduler (a forgotten web server, a silent
    socket) ends in one Error line within NARRATOR_DASK_CONNECT_S, not an internal error."""
    import http.server
    import socket
    import subprocess
    import sys
    import threading
    import time

    pytest.importorskip("distributed")
    if impostor == "silent socket":
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        port, stop = srv.getsockname()[1], srv.close
    else:
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                http.server.BaseHTTPRequestHandler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        port, stop = httpd.server_address[1], httpd.shutdown
    root = write_example(tmp_path / "d", n_scenes=2, size=64, seed=1)
    address = f"tcp://127.0.0.1:{port}"
    try:
        t0 = time.monotonic()
        proc = subprocess.run([str(Path(sys.executable).with_name("narrator")), "generate",
                               str(root), "--db", str(tmp_path / "n.duckdb"), "--task-runner",
                               "dask", "--dask-address", address], capture_output=True,
                              text=True, timeout=90,
                              env={**__import__("os").environ, "NO_COLOR": "1", "COLUMNS": "300",
                                   "NARRATOR_DASK_CONNECT_S": "3"})
        took = time.monotonic() - t0
    finally:
        stop()
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: --dask-address " + address), lines
    assert "not a Dask scheduler" in lines[0] and "internal error" not in lines[0]
    assert took < 30 and not (tmp_path / "n.duckdb").exists()


def test_a_real_scheduler_passes_the_check_and_a_worker_address_is_named() -> None:
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    from narrator.errors import ConfigError
    from narrator.generate.executors import check_scheduler

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp://",
                      host="127.0.0.1", dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://")  # what the check probes
        check_scheduler(cluster.scheduler_address, timeout_s=10)  # no error: it is one
        worker = next(iter(cluster.scheduler_info["workers"]))
        with pytest.raises(ConfigError, match="Dask Worker, not the scheduler"):
            check_scheduler(worker, timeout_s=10)
