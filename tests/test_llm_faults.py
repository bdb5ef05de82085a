"""The LLM fault matrix: `generate` with HCoT captions against the local OpenAI-compatible
test server, each fault kind alone on every request, then all kinds mixed at 30%.

Every scene must end accepted (an LLM caption, or the rule caption with the LLM's failure
recorded), or rejected with its reasons; every LLM call must end succeeded, or failed with a
reason naming the fault; no row may be duplicated, no journal left unfolded, and a rerun sends
nothing and changes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from narrator.example import write_example
from tests.fake_openai import FAULTS, OpenAITestServer, ServerConfig
from narrator.llm.base import LLMUnavailable
from narrator.store import Store
from tests.caption_responder import CaptionResponder
from tests.snapshots import snapshot
from tests.test_llm_server import FAULT_MIX

N_SCENES, MIXED_SCENES = 5, 24
#: fast retries, so that faults cost milliseconds
LLM_ENV = {"NARRATOR_LLM_TIMEOUT_S": "1.0",  # < the hang faults' 2 s; roomy on a busy box
           "NARRATOR_LLM_BACKOFF_BASE_S": "0.01",
           "NARRATOR_LLM_BACKOFF_MAX_S": "0.05", "NARRATOR_LLM_MAX_ATTEMPTS": "3",
           "NARRATOR_LLM_MAX_RATE_LIMITED": "3", "OPENAI_API_KEY": "test-key"}
#: what a call that failed on each fault says
REASONS = {"500": "HTTP 500", "429": "HTTP 429", "hang": "no reply within",
           "malformed": "body", "invalid_json": "JSON", "schema_invalid": "schema",
           "length": "finish_reason=length", "content_filter": "finish_reason=content_filter"}


#: the simulated captioner answers a feedback round (a resend after an invalid reply) like
#: the request it corrects: it reads the FACTS from the first user turn
Responder = CaptionResponder


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_example(tmp_path_factory.mktemp("faults") / "d", n_scenes=N_SCENES, size=128,
                         seed=3)


def _generate(dataset: Path, db: Path, server: OpenAITestServer, fallback: bool,
              monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    from flows.generate import generate_flow

    for key, value in LLM_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    return generate_flow(str(dataset), str(db), llm="openai:narrator-test", samples=2, rounds=1,
                         fallback=fallback)


def outcomes(db: Path) -> dict[str, str]:
    """Each scene's outcome: llm, fallback (rule caption, LLM failure recorded) or rejected;
    fails unless each scene has exactly one, with its reasons where it is not llm."""
    with Store(db, read_only=True) as store:
        rows = store.query("SELECT scene_id, kind, status, generator, params FROM captions")
        scenes = {r["scene_id"] for r in store.query("SELECT scene_id FROM scenes")}
    out: dict[str, set[str]] = {s: set() for s in scenes}
    for r in rows:
        if r["status"] == "rejected":
            assert r["params"]["reasons"], r
            out[r["scene_id"]].add("rejected")
        elif r["generator"] == "rules-fallback":
            assert r["params"]["llm_rejected_for"], r
            out[r["scene_id"]].add("fallback")
        else:
            assert r["status"] == "accepted" and r["generator"].startswith("llm:"), r
            out[r["scene_id"]].add("llm")
    assert all(len(v) == 1 for v in out.values()), out
    return {s: v.pop() for s, v in out.items()}


def check_rows(db: Path) -> list[dict[str, Any]]:
    """No duplicate rows, every call accounted for; returns the llm_calls rows."""
    with Store(db, read_only=True) as store:
        dupes = store.query(
            "SELECT 'captions' AS t, count(*) - count(DISTINCT (scene_id, kind, status)) AS n "
            "FROM captions UNION ALL SELECT 'candidates', count(*) - count(DISTINCT "
            "(scene_id, round, sample_index)) FROM candidates UNION ALL SELECT 'llm_calls', "
            "count(*) - count(DISTINCT call_key) FROM llm_calls")
        calls = store.query("SELECT call_key, status, error FROM llm_calls")
        used = {r["call_key"] for r in store.query("SELECT call_key FROM candidates")}
        failed_cands = store.query("SELECT violations FROM candidates WHERE verdict = 'failed'")
    assert all(d["n"] == 0 for d in dupes), dupes
    assert {c["call_key"] for c in calls} == used  # every candidate's call, and no other
    for c in calls:
        assert c["status"] == "succeeded" or c["error"], c
    for cand in failed_cands:
        assert any(v["type"] == "llm_failed" and v["text"] for v in cand["violations"])
    assert not list(db.parent.glob(f"{db.name}.llm/**/*.jsonl"))  # every journal folded
    return calls


def _rerun_changes_nothing(dataset: Path, db: Path, server: OpenAITestServer, fallback: bool,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot(db)
    server.reset_stats()
    again = _generate(dataset, db, server, fallback, monkeypatch)
    assert again["processed_now"] == 0 and server.stats()["chat_requests"] == 0
    assert snapshot(db) == before


@pytest.mark.parametrize("kind", FAULTS)
def test_each_fault_alone_on_every_request(kind: str, prefect_harness, dataset: Path,
                                           tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "n.duckdb"
    config = ServerConfig(latency_s=0.0, faults={kind: 1.0}, hang_s=2.0, retry_after_s=0.02)
    with OpenAITestServer(config, Responder(seed=1)) as server:
        if kind == "hang":  # every call timed out: an outage, not a finished run (issue 17)
            with pytest.raises(LLMUnavailable, match="unreachable for all"):
                _generate(dataset, db, server, False, monkeypatch)
            with Store(db, read_only=True) as store:
                summary = json.loads(store.scalar("SELECT summary FROM runs"))
            assert summary["provisional"] == N_SCENES
        else:
            summary = _generate(dataset, db, server, False, monkeypatch)
            assert summary["provisional"] == 0
        assert server.stats()["faults"][kind] > 0
        assert summary["caption_outcomes"] == {"rejected": N_SCENES}
        assert set(outcomes(db).values()) == {"rejected"}
        calls = check_rows(db)
        assert calls and all(c["status"] != "succeeded" and REASONS[kind] in c["error"]
                             for c in calls), {c["error"] for c in calls}


def test_all_faults_mixed_at_thirty_percent(prefect_harness, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    dataset = write_example(tmp_path / "d", n_scenes=MIXED_SCENES, size=128, seed=4)
    db = tmp_path / "n.duckdb"
    config = ServerConfig(latency_s=0.0, faults=FAULT_MIX, hang_s=2.0, retry_after_s=0.02,
                          seed=4)
    with OpenAITestServer(config, Responder(error_rate=0.3, seed=1)) as server:
        summary = _generate(dataset, db, server, True, monkeypatch)
        stats = server.stats()
        assert 0.15 < sum(stats["faults"].values()) / stats["chat_requests"] < 0.45, stats
        ends = outcomes(db)
        assert sum(summary["caption_outcomes"].values()) == len(ends) == MIXED_SCENES
        calls = check_rows(db)
        failed = [c for c in calls if c["status"] != "succeeded"]
        assert failed and len(failed) < len(calls)  # faults both recovered from and not
        _rerun_changes_nothing(dataset, db, server, True, monkeypatch)
    print("FAULT_MATRIX_MIXED " + json.dumps({"outcomes": summary["caption_outcomes"],
                                              "faults": stats["faults"],
                                              "requests": stats["chat_requests"],
                                              "calls": len(calls), "failed": len(failed)}))
