"""`narrator llm-check` against the test server, and --llm validation in `narrator generate`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from narrator.cli import cli
from tests.fake_openai import OpenAITestServer, ServerConfig, default_responder


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    bodies: list[dict[str, Any]] = []

    def responder(body: dict[str, Any]) -> Any:
        bodies.append(body)
        return default_responder(body)

    with OpenAITestServer(ServerConfig(latency_s=0.0), responder) as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        monkeypatch.setenv("NARRATOR_LLM_PRICES", '{"narrator-*": [1000000, 1000000]}')
        yield bodies


def test_llm_check_sends_a_quicklook_and_a_strict_schema(captured: list[dict[str, Any]],
                                                         example_dir: Path) -> None:
    image = next((example_dir / "images").glob("*.tif"))
    result = CliRunner().invoke(cli, ["llm-check", "--llm", "openai:narrator-test",
                                      "--image", str(image)])
    assert result.exit_code == 0, result.output
    assert "succeeded" in result.output and '"bright_targets": false' in result.output
    body = captured[0]
    assert body["model"] == "narrator-test"
    assert body["response_format"]["json_schema"]["strict"] is True
    image_part = body["messages"][-1]["content"][1]
    assert image_part["image_url"]["url"].startswith("data:image/png;base64,iVBOR")
    cost_line = next(line for line in result.output.splitlines() if "cost (USD)" in line)
    assert "n/a" not in cost_line  # the price table from NARRATOR_LLM_PRICES applied


def test_llm_check_failure_and_bad_specs(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["llm-check", "--llm", "rules"])
    assert result.exit_code == 2 and "nothing to check" in result.output
    result = runner.invoke(cli, ["llm-check", "--llm", "gpt-4o"])
    assert result.exit_code == 2 and "Error:" in result.output and "openai:MODEL" in result.output
    with OpenAITestServer(ServerConfig(latency_s=0.0, faults={"length": 1.0})) as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        result = runner.invoke(cli, ["llm-check", "--llm", "openai:narrator-test"])
    assert result.exit_code == 2 and "finish_reason=length" in result.output


def test_progress_bar_shows_tokens_and_cost() -> None:
    import io

    from rich.console import Console

    from narrator.cli import progress_bars
    from narrator.llm import LLM, LLMRequest, LLMSettings, RulesBackend
    from narrator.llm.base import completion
    from narrator.llm.types import Reply

    class Priced(RulesBackend):
        records = True

        def __init__(self) -> None:
            super().__init__(None)
            self.name = "openai:gpt-x"

        async def complete(self, body: dict[str, Any]) -> Reply:
            return Reply(completion("a caption", "stop", "gpt-x", 1000, 500))

    out = io.StringIO()
    settings = LLMSettings(prices={"gpt-*": (1.0, 2.0)})
    with progress_bars(Console(file=out, width=200, force_terminal=False)):
        llm = LLM(Priced(), settings)
        llm.generate([LLMRequest([{"role": "user", "content": f"q{i}"}]) for i in range(4)])
    text = out.getvalue()
    assert "LLM calls · 6,000 tok · $0.0080 · 0 cached" in text and "4/4" in text
    assert llm.stats.summary()["cost_usd"] == 0.008
