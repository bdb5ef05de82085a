"""The LLM layer without HTTP: keys, structured output, limits, feedback rounds, vLLM adapter."""

from __future__ import annotations

import asyncio
import json
import sys
import types
from email.utils import format_datetime
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from narrator.errors import ConfigError
from narrator.llm import LLM, LLMRequest, LLMSettings, LLMUnavailable, make_backend
from narrator.llm.base import completion
from narrator.llm.config import cost_usd, parse_llm_spec
from narrator.llm.limits import AdaptiveLimiter, backoff_delay, retry_after
from narrator.llm.runner import result_from_row
from narrator.llm.structured import interpret, parse_json_reply, response_format
from narrator.llm.types import Reply, redact_images

SCHEMA = {"type": "object", "additionalProperties": False, "required": ["caption"],
          "properties": {"caption": {"type": "string", "minLength": 3}}}


def _req(text: str = "hi", **kw: Any) -> LLMRequest:
    return LLMRequest([{"role": "user", "content": text}], **kw)


# -- spec, settings, prices ------------------------------------------------------------------
def test_llm_spec_parsing() -> None:
    assert parse_llm_spec("rules").kind == "rules"
    spec = parse_llm_spec("openai:Qwen/Qwen2.5-VL-7B-Instruct")
    assert (spec.kind, spec.model) == ("openai", "Qwen/Qwen2.5-VL-7B-Instruct")
    assert parse_llm_spec("vllm:org/m:v2").model == "org/m:v2"
    for bad in ("", "gpt-4o", "openai:", "claude:x", "openai"):
        with pytest.raises(ConfigError, match="--llm"):
            parse_llm_spec(bad)


def test_settings_from_environment_and_costs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NARRATOR_LLM_MAX_CONCURRENCY", "7")
    monkeypatch.setenv("NARRATOR_LLM_PRICES", json.dumps({"gpt-4o-mini*": [0.15, 0.6],
                                                           "gpt-4o-mini-2": [1, 2]}))
    s = LLMSettings()
    assert s.max_concurrency == 7
    assert cost_usd("gpt-4o-mini-x", 1_000_000, 1_000_000, s.prices) == pytest.approx(0.75)
    assert cost_usd("gpt-4o-mini-2", 1_000_000, 0, s.prices) == pytest.approx(1.0)
    assert cost_usd("llama", 10, 10, s.prices) is None


# -- keys -----------------------------------------------------------------------------------
def test_call_key_covers_exactly_model_messages_schema_params_and_sample() -> None:
    base = _req(schema=SCHEMA, params={"temperature": 0.7})
    key = base.key("openai:m")
    assert key == _req(schema=SCHEMA, params={"temperature": 0.7}, tag="scene-1",
                       prompt_id="p", prompt_hash="h").key("openai:m")
    variants = [base.key("openai:other"), _req("hey", schema=SCHEMA,
                params={"temperature": 0.7}).key("openai:m"),
                _req(schema={**SCHEMA, "required": []}, params={"temperature": 0.7}).key("openai:m"),
                _req(schema=SCHEMA, params={"temperature": 0.2}).key("openai:m"),
                _req(schema=SCHEMA, params={"temperature": 0.7}, sample_index=1).key("openai:m")]
    assert len({key, *variants}) == 6 and len(key) == 32


def test_images_are_hashed_not_stored() -> None:
    def with_image(data: str) -> list[dict[str, Any]]:
        return [{"role": "user", "content": [
            {"type": "text", "text": "describe"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64," + data}}]}]

    a, b = with_image("A" * 5000), with_image("B" * 5000)
    assert LLMRequest(a).key("m") != LLMRequest(b).key("m")
    stored = json.dumps(redact_images(a))
    assert "AAAA" not in stored and "blake2b=" in stored and len(stored) < 300
    assert a[0]["content"][1]["image_url"]["url"].endswith("A" * 10)  # input untouched


# -- structured output ------------------------------------------------------------------------
def test_response_format_is_strict_json_schema() -> None:
    assert response_format(SCHEMA, "caption") == {
        "type": "json_schema",
        "json_schema": {"name": "caption", "schema": SCHEMA, "strict": True}}
    with pytest.raises(ConfigError):
        response_format(SCHEMA, "bad name!")
    with pytest.raises(ConfigError, match="invalid JSON Schema"):
        parse_json_reply("{}", {"type": "no-such-type"})


def test_reply_parsing_and_finish_reasons() -> None:
    assert parse_json_reply('```json\n{"caption": "ships"}\n```', SCHEMA) == (
        {"caption": "ships"}, None)
    value, error = parse_json_reply('{"caption": "ab"}', SCHEMA)
    assert value is None and "caption" in error and "short" in error
    assert "not valid JSON" in parse_json_reply('{"caption": ', SCHEMA)[1]
    ok = interpret(completion('{"caption": "ships"}'), SCHEMA)
    assert ok.ok and ok.parsed == {"caption": "ships"}
    for finish in ("length", "content_filter"):
        bad = interpret(completion('{"caption": "ships"}', finish), SCHEMA)
        assert not bad.ok and not bad.fixable and f"finish_reason={finish}" in bad.error
    assert interpret(completion('{"caption": 1}'), SCHEMA).fixable
    assert interpret(completion("free text"), None).ok


# -- limits ---------------------------------------------------------------------------------
def test_adaptive_limiter_bounds_in_flight_and_follows_aimd() -> None:
    async def scenario() -> tuple[int, float, float]:
        limiter = AdaptiveLimiter(8, cooldown_s=10)
        peak = 0

        async def job() -> None:
            nonlocal peak
            async with limiter.slot():
                peak = max(peak, limiter.in_flight)
                await asyncio.sleep(0.001)

        await asyncio.gather(*(job() for _ in range(50)))
        limiter.on_overload()
        limiter.on_overload()  # inside the cool-down: counted once
        halved = limiter.limit
        for _ in range(100):
            limiter.on_success()
        return peak, halved, limiter.limit

    peak, halved, regrown = asyncio.run(scenario())
    assert peak == 8 and halved == 4 and regrown == 8


def test_limiter_waiter_cancelled_frees_nothing_it_did_not_take() -> None:
    async def scenario() -> int:
        limiter = AdaptiveLimiter(1)
        await limiter.acquire()
        waiter = asyncio.create_task(limiter.acquire())
        await asyncio.sleep(0)
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
        limiter.release()
        return limiter.in_flight

    assert asyncio.run(scenario()) == 0


def test_retry_after_and_backoff() -> None:
    assert retry_after({"retry-after": "2"}) == 2.0
    assert retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 < retry_after({"retry-after": when}) <= 30
    assert retry_after({"retry-after": "soon"}) is None and retry_after({}) is None
    delays = [backoff_delay(a, 0.5, 4.0) for a in range(8) for _ in range(20)]
    assert all(0 <= d <= 4.0 for d in delays) and max(delays) > 2.0


# -- the runner over an in-process backend ----------------------------------------------------
class ScriptedBackend:
    """Answers each body with the next scripted reply text; records the bodies."""

    records = True
    max_concurrency = 4

    def __init__(self, *texts: str, finish: str = "stop") -> None:
        self.name, self.model = "fake:m", "m"
        self.texts, self.finish, self.bodies = list(texts), finish, []

    async def complete(self, body: dict[str, Any]) -> Reply:
        self.bodies.append(body)
        text = self.texts.pop(0) if len(self.texts) > 1 else self.texts[0]
        return Reply(completion(text, self.finish, "m", 10, 5))

    async def aclose(self) -> None:
        pass


def test_invalid_reply_is_sent_back_with_the_error_then_accepted() -> None:
    backend = ScriptedBackend('{"caption": 5}', '{"caption": "three ships"}')
    result = LLM(backend).generate([_req(schema=SCHEMA)])[0]
    assert result.ok and result.parsed == {"caption": "three ships"} and result.rounds == 2
    feedback = backend.bodies[1]["messages"]
    assert feedback[-2] == {"role": "assistant", "content": '{"caption": 5}'}
    assert "not of type 'string'" in feedback[-1]["content"]
    assert result.prompt_tokens == 20 and result.completion_tokens == 10


def test_feedback_rounds_are_bounded_then_the_call_fails() -> None:
    backend = ScriptedBackend("not json")
    result = LLM(backend, LLMSettings(feedback_rounds=2)).generate([_req(schema=SCHEMA)])[0]
    assert result.status == "failed" and "not valid JSON" in result.error
    assert len(backend.bodies) == 3


def test_length_is_a_failure_without_feedback() -> None:
    backend = ScriptedBackend('{"caption": "three', finish="length")
    result = LLM(backend).generate([_req(schema=SCHEMA)])[0]
    assert result.status == "failed" and "length" in result.error and len(backend.bodies) == 1


def test_identical_requests_in_a_batch_are_sent_once() -> None:
    backend = ScriptedBackend('{"caption": "ships"}')
    seen: list[int] = []
    results = LLM(backend).generate([_req("a", schema=SCHEMA), _req("b", schema=SCHEMA),
                                     _req("a", schema=SCHEMA)],
                                    on_result=lambda i, _r: seen.append(i))
    assert len(results) == 3 and len(backend.bodies) == 2 and sorted(seen) == [0, 1, 2]
    assert results[0] is results[2]


def test_seed_differs_per_sample() -> None:
    llm = LLM(ScriptedBackend("x"))
    seeds = [llm.body(_req(params={"seed": 7}, sample_index=i))["seed"] for i in range(3)]
    assert seeds == [7, 8, 9]
    with pytest.raises(ValueError):
        llm.body(_req(params={"n": 2}))


def test_cached_reply_is_parsed_again_under_the_current_schema() -> None:
    backend = ScriptedBackend('{"caption": "ab"}')
    llm = LLM(backend)
    first = llm.generate([_req(schema=SCHEMA)])[0]
    assert first.status == "failed"  # "ab" is shorter than minLength 3
    row = llm.cache.get(first.key)
    assert row is not None and row["response"]["choices"][0]["message"]["content"]
    relaxed = {**SCHEMA, "properties": {"caption": {"type": "string"}}}
    again = result_from_row(row, _req(schema=relaxed))
    assert again.ok and again.parsed == {"caption": "ab"} and again.cached


def test_rules_backend_needs_a_responder_and_records_nothing() -> None:
    llm = LLM(make_backend("rules", responder=lambda body: '{"caption": "rule text"}'))
    result = llm.generate([_req(schema=SCHEMA)])[0]
    assert result.ok and result.parsed == {"caption": "rule text"} and len(llm.cache) == 0
    with pytest.raises(ConfigError, match="responder"):
        LLM(make_backend("rules")).generate([_req()])


# -- vLLM in-process ----------------------------------------------------------------------------
def test_vllm_backend_reports_a_clear_error_when_vllm_is_missing() -> None:
    if "vllm" in sys.modules or _importable("vllm"):
        pytest.skip("vllm is installed here")
    with pytest.raises(LLMUnavailable, match=r"pip install 'sar-narrator\[vllm\]'"):
        make_backend("vllm:Qwen/Qwen2.5-VL-7B-Instruct")


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def _fake_vllm(calls: list[Any]) -> types.ModuleType:
    """A stand-in with the shapes of vLLM's documented API (LLM.chat -> RequestOutput)."""
    vllm = types.ModuleType("vllm")
    sp = types.ModuleType("vllm.sampling_params")

    class StructuredOutputsParams:
        def __init__(self, json: Any = None, json_object: bool | None = None) -> None:
            self.json, self.json_object = json, json_object

    class SamplingParams:
        def __init__(self, **kw: Any) -> None:
            self.kw = kw

    class LLM:
        def __init__(self, model: str, **kw: Any) -> None:
            self.model = model

        def chat(self, messages: list[Any], sampling_params: list[Any],
                 use_tqdm: bool = True) -> list[Any]:
            calls.append((messages, sampling_params))
            out = []
            for params in sampling_params:
                long = params.kw.get("max_tokens") == 3
                text = '{"caption": "cut' if long else '{"caption": "a harbour"}'
                choice = types.SimpleNamespace(text=text, token_ids=[1, 2, 3],
                                               finish_reason="length" if long else "stop")
                out.append(types.SimpleNamespace(prompt_token_ids=[0] * 12, outputs=[choice]))
            return out

    sp.StructuredOutputsParams = StructuredOutputsParams  # type: ignore[attr-defined]
    vllm.LLM, vllm.SamplingParams, vllm.sampling_params = LLM, SamplingParams, sp  # type: ignore[attr-defined]
    return vllm


def test_vllm_backend_batches_and_requests_structured_outputs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    fake = _fake_vllm(calls)
    monkeypatch.setitem(sys.modules, "vllm", fake)
    monkeypatch.setitem(sys.modules, "vllm.sampling_params", fake.sampling_params)
    settings = LLMSettings(vllm_batch_window_s=0.01)
    llm = LLM(make_backend("vllm:org/model", settings), settings)
    requests = [_req(f"scene {i}", schema=SCHEMA, params={"temperature": 0.5}) for i in range(5)]
    requests.append(_req("short", schema=SCHEMA, params={"max_tokens": 3}))
    results = llm.generate(requests)
    assert len(calls) == 1 and len(calls[0][0]) == 6  # one batch
    params = calls[0][1][0]
    assert params.kw["structured_outputs"].json == SCHEMA
    assert params.kw["temperature"] == 0.5 and params.kw["max_tokens"] is None
    assert [r.status for r in results] == ["succeeded"] * 5 + ["failed"]
    assert results[0].prompt_tokens == 12 and results[0].completion_tokens == 3
    assert results[0].key == requests[0].key("vllm:org/model")


def test_prompt_loader_is_strict(tmp_path: Path) -> None:
    from narrator.llm.prompts import load_prompt

    (tmp_path / "cap.j2").write_text("Scene with {{ n }} ships.")
    (tmp_path / "cap.system.j2").write_text("You write captions.")
    prompt = load_prompt("cap", tmp_path)
    assert prompt.messages(n=3) == [{"role": "system", "content": "You write captions."},
                                    {"role": "user", "content": "Scene with 3 ships."}]
    with pytest.raises(ConfigError, match="'n' is undefined"):
        prompt.messages()
    with_image = prompt.messages(image_url="data:image/png;base64,AA", n=1)[1]["content"]
    assert with_image[1]["image_url"]["url"].startswith("data:image/png")
    (tmp_path / "cap.j2").write_text("Scene with {{ n }} boats.")
    assert load_prompt("cap", tmp_path).hash != prompt.hash
    with pytest.raises(ConfigError, match="no such prompt"):
        load_prompt("nope", tmp_path)
    assert load_prompt("llm_check").messages(image=False)[0]["role"] == "user"


def test_llm_layer_does_not_import_prefect_and_cli_stays_light() -> None:
    import subprocess

    code = ("import sys, narrator.cli; light = 'openai' not in sys.modules; "
            "import narrator.llm.runner, narrator.llm.openai_backend, "
            "narrator.llm.quicklook, narrator.llm.check; "
            "print(light, 'prefect' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["True", "False"]


def test_make_llm_for_a_shard_task(tmp_path: Path) -> None:
    from narrator.llm import make_llm

    journal = tmp_path / "j" / "s.jsonl"
    with make_llm("rules", journal=journal, responder=lambda b: "text") as llm:
        assert llm.journal is None and llm.generate([_req()])[0].text == "text"
    with make_llm("openai:m", journal=journal) as llm:
        assert llm.journal is not None and llm.backend.name == "openai:m"
    assert llm.journal._file.closed and journal.exists()
