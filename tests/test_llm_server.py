"""The openai backend over real HTTP against narrator's OpenAI-compatible test server.

Every test drives the official openai client; the server counts what reaches it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from narrator.llm import cache as llm_cache
from narrator.llm import LLM, CallCache, JournalWriter, LLMRequest, LLMSettings, LLMUnavailable
from narrator.llm.journal import journal_path, read_journal
from narrator.llm.openai_backend import OpenAIBackend
from tests.fake_openai import FAULTS, OpenAITestServer, ServerConfig
from narrator.store import Store
from tests.conftest import REPO

SCHEMA = {"type": "object", "additionalProperties": False, "required": ["caption", "ships"],
          "properties": {"caption": {"type": "string"}, "ships": {"type": "integer"}}}
#: 30% of requests get a fault, every kind represented
FAULT_MIX = {"500": 0.06, "429": 0.05, "hang": 0.02, "malformed": 0.04, "invalid_json": 0.04,
             "schema_invalid": 0.04, "length": 0.03, "content_filter": 0.02}


def _requests(n: int, prefix: str = "scene") -> list[LLMRequest]:
    return [LLMRequest([{"role": "user", "content": f"{prefix} {i}"}], schema=SCHEMA,
                       schema_name="caption", params={"temperature": 0.5}) for i in range(n)]


def _settings(**kw: Any) -> LLMSettings:
    base = dict(max_concurrency=16, timeout_s=0.5, backoff_base_s=0.02, backoff_max_s=0.2,
                max_attempts=6)
    return LLMSettings(**(base | kw))


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    servers: list[OpenAITestServer] = []

    def start(**config: Any) -> OpenAITestServer:
        srv = OpenAITestServer(ServerConfig(**config)).start()
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.stop()


def _run_shard(db: Path, shard: str, requests: list[LLMRequest], settings: LLMSettings,
               snapshot: Path | None = None) -> list[Any]:
    """What a shard task does: its own backend, the flow's snapshot, its own journal."""
    journal = journal_path(db, shard)
    with JournalWriter(journal) as writer:
        llm = LLM(OpenAIBackend("narrator-test", settings), settings,
                  cache=CallCache(snapshot, [journal]), journal=writer)
        return llm.generate(requests)


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
def test_thirty_percent_faults_every_call_accounted_for_and_rerun_sends_nothing(
        server, tmp_path: Path, transport: str) -> None:  # type: ignore[no-untyped-def]
    srv = server(latency_s=0.005, capacity=32, faults=FAULT_MIX, max_faults_per_request=2,
                 retry_after_s=0.05, hang_s=2.0, seed=5)
    settings = _settings(http_transport=transport)
    db = tmp_path / "n.duckdb"
    requests = _requests(240)
    shards = [requests[i::3] for i in range(3)]
    with ThreadPoolExecutor(3) as pool:  # three shard tasks at once, as the flow runs them
        results = [r for rs in pool.map(lambda s: _run_shard(db, f"s{s[0]}", s[1], settings),
                                        enumerate(shards)) for r in rs]
    stats = srv.stats()
    assert set(stats["faults"]) == set(FAULTS)  # every kind was injected
    assert 0.2 < sum(stats["faults"].values()) / stats["chat_requests"] < 0.4
    assert len(results) == 240 and len({r.key for r in results}) == 240
    by_status = {s: [r for r in results if r.status == s] for s in ("succeeded", "failed")}
    assert len(by_status["succeeded"]) + len(by_status["failed"]) == 240
    assert all(r.parsed is not None for r in by_status["succeeded"])
    assert by_status["failed"] and all(r.error for r in by_status["failed"])
    reasons = " ".join(r.error for r in by_status["failed"])
    assert "finish_reason=length" in reasons and "finish_reason=content_filter" in reasons
    assert stats["chat_requests"] == sum(r.http_attempts for r in results)  # none unaccounted
    journals = [journal_path(db, f"s{i}") for i in range(3)]
    rows = [row for j in journals for row in read_journal(j)]
    assert sorted(r["call_key"] for r in rows) == sorted(r.key for r in results)

    with Store(db) as store:  # the flow folds the shard journals, then snapshots
        snapshot = llm_cache.prepare(store)
        assert sum(llm_cache.call_counts(store).values()) == 240
    srv.reset_stats()
    again = _run_shard(db, "rerun", requests, settings, snapshot)
    assert srv.stats()["chat_requests"] == 0
    assert [r.status for r in again] == [r.status for r in sorted(
        results, key=lambda r: [q.key("openai:narrator-test") for q in requests].index(r.key))]
    assert all(r.cached for r in again)


def test_429_lowers_concurrency_and_honours_retry_after(server) -> None:  # type: ignore[no-untyped-def]
    srv = server(latency_s=0.03, capacity=4, overload="reject", retry_after_s=0.05)
    settings = _settings(max_concurrency=32, backoff_base_s=0.0)
    backend = OpenAIBackend("narrator-test", settings)
    results = LLM(backend, settings).generate(_requests(120))
    stats = srv.stats()
    assert all(r.ok for r in results)
    assert stats["status"]["429"] > 0 and stats["max_in_flight"] <= 4
    assert backend.limiter.decreases >= 1 and backend.limiter.limit < 32

    srv2 = server(latency_s=0.0, faults={"429": 1.0}, max_faults_per_request=1,
                  retry_after_s=0.4)
    result = LLM(OpenAIBackend("narrator-test", settings), settings).generate(
        _requests(1, "alone"))[0]
    assert result.ok and result.http_attempts == 2 and result.latency_s >= 0.4
    # the chat request: one 429, then 200 (plus the probe: GET /v1/models 200, /props 404)
    assert srv2.stats()["chat_requests"] == 2
    assert srv2.stats()["status"] == {"429": 1, "200": 2, "404": 1}


def test_gave_up_calls_are_recorded_with_reason_and_resent_next_run(
        server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    srv = server(latency_s=0.0, faults={"500": 1.0})
    settings = _settings(max_attempts=3)
    db = tmp_path / "n.duckdb"
    result = _run_shard(db, "s0", _requests(1), settings)[0]
    assert result.status == "error" and "gave up after 3 attempts" in result.error
    assert "HTTP 500" in result.error and srv.stats()["chat_requests"] == 3
    _run_shard(db, "s0", _requests(1), settings)  # same journal: an error is not a cache hit
    assert srv.stats()["chat_requests"] == 6
    with Store(db) as store:
        llm_cache.prepare(store)
        assert llm_cache.call_counts(store) == {"error": 1}


def test_bad_key_stops_the_run_and_dead_server_is_a_connection_error(
        server, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    server(latency_s=0.0, api_key="the-right-key")
    with pytest.raises(LLMUnavailable, match="OPENAI_API_KEY"):
        LLM(OpenAIBackend("narrator-test", _settings())).generate(_requests(3))
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens there
    settings = _settings(max_attempts=2)
    result = LLM(OpenAIBackend("m", settings), settings).generate(_requests(1))[0]
    assert result.status == "error" and "connection error" in result.error
    monkeypatch.delenv("OPENAI_BASE_URL")
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(LLMUnavailable, match="OPENAI_BASE_URL"):
        LLM(OpenAIBackend("m", settings)).generate(_requests(1))


CHILD = """
import sys
from narrator.llm import LLM, CallCache, JournalWriter, LLMRequest, LLMSettings
from narrator.llm.openai_backend import OpenAIBackend
journal, n = sys.argv[1], int(sys.argv[2])
s = LLMSettings(max_concurrency=4)
reqs = [LLMRequest([{"role": "user", "content": f"q{i}"}]) for i in range(n)]
with JournalWriter(journal) as w:
    llm = LLM(OpenAIBackend("narrator-test", s), s, cache=CallCache(journals=[journal]),
              journal=w)
    try:
        llm.generate(reqs)
    except KeyboardInterrupt:
        sys.exit(130)
"""


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_run_keeps_finished_calls_and_resumes(server, tmp_path: Path,
                                                     sig: signal.Signals) -> None:  # type: ignore[no-untyped-def]
    srv = server(latency_s=0.04, capacity=4)
    journal, n = tmp_path / "shard.jsonl", 150
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(journal), str(n)], cwd=REPO,
                             env=os.environ.copy())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (
            not journal.exists() or journal.read_text().count("\n") < 20):
        time.sleep(0.02)
    child.send_signal(sig)
    code = child.wait(30)
    assert code == (-9 if sig == signal.SIGKILL else 130)
    done = list(read_journal(journal))
    assert 20 <= len(done) < n and len({r["call_key"] for r in done}) == len(done)
    if sig == signal.SIGINT:  # a graceful stop leaves only whole lines
        text = journal.read_text()
        assert text.endswith("\n") and all(json.loads(line) for line in text.splitlines())
    srv.reset_stats()
    settings = _settings(max_concurrency=4)
    requests = [LLMRequest([{"role": "user", "content": f"q{i}"}]) for i in range(n)]
    with JournalWriter(journal) as writer:
        results = LLM(OpenAIBackend("narrator-test", settings), settings,
                      cache=CallCache(journals=[journal]), journal=writer).generate(requests)
    assert srv.stats()["chat_requests"] == n - len(done)
    assert all(r.ok for r in results) and sum(r.cached for r in results) == len(done)
    assert len({r["call_key"] for r in read_journal(journal)}) == n


def test_server_runs_standalone_and_answers_the_openai_client() -> None:
    import openai

    proc = subprocess.Popen([sys.executable, "-m", "tests.fake_openai", "--latency", "0",
                             "--model", "m-1", "--fault", "500=0.5", "--seed", "3"],
                            stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().split()[-1]
        client = openai.OpenAI(base_url=base_url, api_key="x", max_retries=5)
        assert [m.id for m in client.models.list()] == ["m-1"]
        reply = client.chat.completions.create(
            model="m-1", messages=[{"role": "user", "content": "hello"}],
            response_format={"type": "json_schema", "json_schema": {
                "name": "r", "schema": SCHEMA, "strict": True}})
        assert json.loads(reply.choices[0].message.content) == {"caption": "x", "ships": 0}
        with urllib.request.urlopen(base_url.removesuffix("/v1") + "/stats") as r:
            stats = json.loads(r.read())
        assert stats["completions"] == 1 and stats["requests"] >= 2 and stats["cpu_s"] > 0
    finally:
        proc.terminate()
        proc.wait(10)
