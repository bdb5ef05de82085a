"""Ctrl+C (SIGINT) and SIGTERM stop an LLM generate within seconds: exit 130 / 143, the
journal of finished calls intact (folded into the cache), committed shards kept, no Prefect
server left behind, and a rerun resumes (sends fewer requests than a fresh run)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from narrator.example import write_example
from narrator.store import Store
from tests.caption_responder import CaptionResponder
from tests.fake_openai import OpenAITestServer, ServerConfig

N_SCENES, SHARD = 12, 3


def _start(dataset: Path, db: Path, base_url: str, *extra: str) -> subprocess.Popen[str]:
    narrator = str(Path(sys.executable).with_name("narrator"))
    env = os.environ | {"NO_COLOR": "1", "COLUMNS": "300", "OPENAI_BASE_URL": base_url,
                        "OPENAI_API_KEY": "test-key"}
    return subprocess.Popen([narrator, "generate", str(dataset), "--db", str(db),
                             "--llm", "openai:narrator-test", "--samples", "2",
                             "--shard-size", str(SHARD), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            stdin=subprocess.DEVNULL)


def _journal_lines(db: Path) -> list[str]:
    folder = db.with_name(db.name + ".llm") / "journal"
    return [line for p in sorted(folder.glob("*.jsonl"))
            for line in p.read_text().splitlines() if line.strip()]


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                         text=True).stdout
    return [int(x) for x in out.split()]


@pytest.mark.parametrize("sig, code, extra", [
    (signal.SIGINT, 130, ()), (signal.SIGTERM, 143, ()),
    (signal.SIGINT, 130, ("--no-server",)), (signal.SIGTERM, 143, ("--no-server",))])
def test_a_signal_stops_an_llm_generate_within_seconds(sig: int, code: int, extra: tuple,
                                                       tmp_path: Path) -> None:
    dataset = write_example(tmp_path / "d", n_scenes=N_SCENES, size=128, seed=5)
    db = tmp_path / "n.duckdb"
    with OpenAITestServer(ServerConfig(latency_s=1.5), CaptionResponder(seed=3)) as server:
        proc = _start(dataset, db, server.base_url, *extra)
        deadline = time.monotonic() + 240
        while not _journal_lines(db) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before its first journal line"
        children = _children(proc.pid)
        t0 = time.monotonic()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
        stopped_s = time.monotonic() - t0
        sent_first = server.stats()["requests"]
        assert proc.returncode == code, (out, err)
        assert stopped_s < 10, stopped_s
        assert "Traceback" not in err, err
        assert err.strip().splitlines()[-1].startswith("Error: ") and "rerun to resume" in err
        time.sleep(0.5)
        alive = [p for p in children if Path(f"/proc/{p}").exists()
                 and "zombie" not in Path(f"/proc/{p}/status").read_text().lower()]
        assert not alive, f"left running: {alive}"
        # every journal line that survived is whole JSON (a finished call)
        for line in _journal_lines(db):
            json.loads(line)
        server.reset_stats()
        rerun = _start(dataset, db, server.base_url, *extra)
        out, err = rerun.communicate(timeout=300)
        assert rerun.returncode == 0, (out, err)
        resent = server.stats()["requests"]
    with Store(db) as store:
        cached = store.count("llm_calls")
        done = store.count("processed")
    fresh_total = resent + cached  # a fresh run would send every call the rerun used
    assert cached > 0 and resent < fresh_total, (resent, cached, sent_first)
    assert done == N_SCENES
    print(f"\n{signal.Signals(sig).name}: exit {code} in {stopped_s:.1f} s; first run sent "
          f"{sent_first} requests, rerun {resent} (cache held {cached} calls)")


@pytest.mark.parametrize("extra", [(), ("--no-server",)])
def test_ctrl_c_does_not_wait_for_a_slow_servers_reply(extra: tuple, tmp_path: Path) -> None:
    """A real small model on a CPU takes minutes per reply: Ctrl+C must not wait for the
    requests in flight (their worker threads would hold the process at exit)."""
    dataset = write_example(tmp_path / "d", n_scenes=4, size=128, seed=5)
    db = tmp_path / "n.duckdb"
    with OpenAITestServer(ServerConfig(latency_s=300), CaptionResponder(seed=3)) as server:
        proc = _start(dataset, db, server.base_url, *extra)
        deadline = time.monotonic() + 240
        while (server.stats()["in_flight"] == 0 and proc.poll() is None
               and time.monotonic() < deadline):
            time.sleep(0.05)
        assert proc.poll() is None and server.stats()["in_flight"] > 0
        time.sleep(1.0)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
        stopped_s = time.monotonic() - t0
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err, err
    assert stopped_s < 10, stopped_s
    print(f"\nCtrl+C with a request in flight: exit 130 in {stopped_s:.1f} s")
