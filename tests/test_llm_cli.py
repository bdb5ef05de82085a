"""`narrator llm-check` against the test server, and --llm validation in `narrator generate`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from narrator.cli import cli
from narrator.llm.testserver import OpenAITestServer, ServerConfig, default_responder


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
    result = runner.invoke(cli, ["generate", "somewhere", "--db", "x.duckdb", "--llm", "gpt-4o"])
    assert result.exit_code == 2 and "Error:" in result.output and "openai:MODEL" in result.output
    with OpenAITestServer(ServerConfig(latency_s=0.0, faults={"length": 1.0})) as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        result = runner.invoke(cli, ["llm-check", "--llm", "openai:narrator-test"])
    assert result.exit_code == 2 and "finish_reason=length" in result.output
