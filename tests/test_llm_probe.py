"""The OpenAI backend adapts to the server it meets: probe, structured-output form, slots,
context, deterministic errors (against the fake server dressed as each real one)."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from narrator.cli import cli
from narrator.llm import LLM, LLMRequest, LLMSettings
from narrator.llm.base import LLMUnavailable
from narrator.llm.openai_backend import OpenAIBackend
from narrator.llm.server import estimate_tokens
from narrator.llm.structured import response_format
from tests.fake_openai import OpenAITestServer, ServerConfig

SCHEMA = {"type": "object", "additionalProperties": False, "required": ["caption"],
          "properties": {"caption": {"type": "string", "minLength": 1, "maxLength": 300}}}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    servers: list[OpenAITestServer] = []

    def start(**config: Any) -> OpenAITestServer:
        srv = OpenAITestServer(ServerConfig(**({"latency_s": 0.0} | config))).start()
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.stop()


def _requests(n: int, text: str = "Describe scene {i}.", max_tokens: int = 500) -> list[Any]:
    return [LLMRequest([{"role": "user", "content": text.format(i=i)}], schema=SCHEMA,
                       schema_name="cap", params={"max_tokens": max_tokens}, tag=i)
            for i in range(n)]


def _run(requests: list[Any], model: str = "narrator-test", **kw: Any) -> tuple[LLM, list]:
    settings = LLMSettings(**({"max_concurrency": 8, "backoff_base_s": 0.01} | kw))
    llm = LLM(OpenAIBackend(model, settings), settings)
    return llm, llm.generate(requests)


def test_schema_sent_has_no_max_length_but_replies_are_still_checked_against_it() -> None:
    sent = response_format(SCHEMA, "cap")["json_schema"]["schema"]
    assert "maxLength" not in str(sent) and sent["properties"]["caption"]["minLength"] == 1
    assert sent["additionalProperties"] is False and sent["required"] == ["caption"]
    from narrator.llm.structured import parse_json_reply

    assert parse_json_reply('{"caption": "' + "x" * 301 + '"}', SCHEMA)[1] is not None


def test_llama_cpp_python_gets_json_object_one_slot_and_the_run_records_it(server) -> None:  # type: ignore[no-untyped-def]
    srv = server(flavour="llama-cpp-python", latency_s=0.02)
    llm, results = _run(_requests(6))
    assert all(r.ok for r in results)
    stats = srv.stats()
    assert stats["status"].get("500", 0) == 0  # json_schema was never sent to it
    assert stats["max_in_flight"] == 1          # its server works on one request at a time
    server_info = llm.stats.summary()["server"]
    assert server_info["kind"] == "llama-cpp-python"
    assert server_info["structured"] == "json_object" and server_info["slots"] == 1


def test_llama_cpp_slots_and_context_fit_max_tokens(server) -> None:  # type: ignore[no-untyped-def]
    srv = server(flavour="llama.cpp", slots=2, n_ctx=400, latency_s=0.02)
    seen: list[int] = []
    srv.responder = lambda body: seen.append(body["max_tokens"]) or {"caption": "ok"}
    llm, results = _run(_requests(6, max_tokens=1500))
    assert all(r.ok for r in results) and srv.stats()["max_in_flight"] <= 2
    prompt = estimate_tokens(results[0].request.messages)
    assert seen and all(m == 400 - prompt for m in seen)  # fitted, not 1500
    assert llm.stats.summary()["server"]["context"] == 400


def test_unknown_form_is_found_by_downgrading_on_the_first_refusal(server) -> None:  # type: ignore[no-untyped-def]
    # a server that hides its kind but refuses json_schema: narrator moves to json_object
    srv = server(flavour="llama-cpp-python")
    srv._model_entry = lambda: {"id": "narrator-test", "object": "model"}  # type: ignore[method-assign]
    llm, results = _run(_requests(4), max_concurrency=1)
    assert all(r.ok for r in results)
    assert srv.stats()["status"]["500"] == 1  # one refusal, then every request succeeded
    assert llm.stats.summary()["server"]["structured"] == "json_object"


def test_prompt_only_form_puts_the_schema_in_the_prompt(server) -> None:  # type: ignore[no-untyped-def]
    srv = server()
    bodies: list[dict[str, Any]] = []
    srv.responder = lambda body: (bodies.append(body), '{"caption": "in the prompt"}')[1]
    _, results = _run(_requests(2), structured_output="prompt")
    assert [r.parsed for r in results] == [{"caption": "in the prompt"}] * 2
    assert all("response_format" not in b for b in bodies)
    assert "JSON Schema" in bodies[0]["messages"][-1]["content"]


def test_deterministic_server_errors_are_not_retried(server) -> None:  # type: ignore[no-untyped-def]
    srv = server(error_500="Context size has been exceeded.")
    _, results = _run(_requests(3), max_attempts=6)
    assert srv.stats()["chat_requests"] == 3  # one try each, no retries
    assert all(r.status == "error" and "Context size has been exceeded" in r.error
               and r.http_attempts == 1 for r in results)
    srv.config.error_500 = "Invalid input batch."
    srv.reset_stats()
    _, results = _run(_requests(2, text="Other scene {i}."))
    assert srv.stats()["chat_requests"] == 2 and all("Invalid input" in r.error
                                                     for r in results)


def test_transient_500_is_still_retried(server) -> None:  # type: ignore[no-untyped-def]
    srv = server(faults={"500": 1.0}, max_faults_per_request=2)
    _, results = _run(_requests(2))
    assert all(r.ok and r.http_attempts == 3 for r in results)
    assert srv.stats()["chat_requests"] == 6


def test_prompt_larger_than_the_context_stops_with_one_clear_line(server) -> None:  # type: ignore[no-untyped-def]
    server(flavour="llama.cpp", n_ctx=100)
    with pytest.raises(LLMUnavailable, match=r"prompt of [\d,]+ tokens .* context of 100 "
                                             r"tokens per slot"):
        _run(_requests(2, text="word " * 200))
    # a server that does not report its context: its own error names it, and the run stops
    srv = server(flavour="llama-cpp-python", n_ctx=100)
    with pytest.raises(LLMUnavailable, match=r"openai:narrator-test: a prompt of [\d,]+ "
                                             r"tokens \(counted by the server\).*context of "
                                             r"100 tokens"):
        _run(_requests(1, text="word " * 200))
    assert srv.stats()["chat_requests"] == 1


def test_llm_check_fails_for_a_model_the_server_does_not_list(server) -> None:  # type: ignore[no-untyped-def]
    srv = server(flavour="llama-cpp-python")
    result = CliRunner().invoke(cli, ["llm-check", "--llm", "openai:no-such-model"])
    assert result.exit_code != 0
    assert "does not serve model 'no-such-model'" in result.output
    assert "narrator-test" in result.output and srv.stats()["chat_requests"] == 0
    ok = CliRunner().invoke(cli, ["llm-check", "--llm", "openai:narrator-test"])
    assert ok.exit_code == 0, ok.output
    assert "llama-cpp-python" in ok.output and "json_object" in ok.output


def test_timeout_follows_the_servers_speed_and_doubles_on_a_slotted_server(server) -> None:  # type: ignore[no-untyped-def]
    backend = OpenAIBackend("narrator-test", LLMSettings(timeout_s=120))
    body = {"messages": [{"role": "user", "content": "x" * 2500}], "max_tokens": 1500}
    assert backend.request_timeout(body) == 120  # nothing measured yet
    backend._measure({"usage": {"prompt_tokens": 1000, "completion_tokens": 500}}, 150.0)
    assert backend.request_timeout(body) == pytest.approx(2 * 0.1 * (estimate_tokens(
        body["messages"]) + 1500))  # a slow CPU server: 0.1 s per token -> ~530 s, not 120
    # llama.cpp answering slower than the timeout: the resend gets twice the time
    srv = server(flavour="llama.cpp", slots=2, latency_s=0.5)
    _, results = _run(_requests(1), timeout_s=0.3, backoff_base_s=0.0)
    assert results[0].ok and results[0].http_attempts == 2
    assert srv.stats()["chat_requests"] == 2


def test_a_raw_newline_inside_a_string_is_valid_json_for_narrator() -> None:
    from narrator.llm.structured import parse_json_reply

    value, error = parse_json_reply('{"caption": "two\nlines"}', SCHEMA)
    assert error is None and value == {"caption": "two\nlines"}
