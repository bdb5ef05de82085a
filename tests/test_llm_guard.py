"""The reply and secret guards of narrator/llm/guard.py (issue 22)."""

from __future__ import annotations

import json
import random

import pytest

from narrator.llm.guard import (clip, completion_problem, json_depth_exceeds, public_url,
                                redact, strip_credentials)


def test_depth_scan_agrees_with_a_parser_on_generated_json() -> None:
    rng = random.Random(22)

    def value(depth: int) -> object:
        kind = rng.randrange(5)
        if depth > 12 or kind == 0:
            return rng.choice(['[{"', "}]\\", "x", 3, None, '\\"['])
        if kind < 3:
            return [value(depth + 1) for _ in range(rng.randrange(3))]
        return {f"k{i}[": value(depth + 1) for i in range(rng.randrange(3))}

    for _ in range(300):
        text = json.dumps(value(0)).encode()

        def depth(v: object) -> int:
            if isinstance(v, list):
                return 1 + max((depth(x) for x in v), default=0)
            if isinstance(v, dict):
                return 1 + max((depth(x) for x in v.values()), default=0)
            return 0

        real = depth(json.loads(text))
        assert not json_depth_exceeds(text, real) and (real == 0
                                                       or json_depth_exceeds(text, real - 1))


@pytest.mark.parametrize("raw, reason", [
    ({"choices": [None]}, "first choice is null"), ({}, "no choices list"),
    ([1], "a JSON list"), ({"choices": [{"message": {"content": {"a": 1}}}]}, "content is"),
    ({"choices": [{"message": {"content": "x"}}], "usage": {"prompt_tokens": "9"}}, "usage."),
    ({"choices": [{"message": "hi"}]}, "message is a JSON str")])
def test_malformed_completions_are_named(raw: object, reason: str) -> None:
    assert reason in (completion_problem(raw) or "")


def test_credentials_and_keys_are_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-123456")
    monkeypatch.setenv("OPENAI_BASE_URL", "https://bob:hunter2pw@llm.example:8443/v1")
    assert public_url("https://bob:hunter2pw@llm.example:8443/v1") == \
        "https://llm.example:8443/v1"
    text = redact("failed: https://bob:hunter2pw@llm.example:8443/v1 said sk-secret-123456 "
                  "and hunter2pw")
    assert "hunter2pw" not in text and "sk-secret" not in text and "bob" not in text
    assert strip_credentials("see http://a:b@h/x") == "see http://h/x"
    assert clip("y" * 10_000, 100).startswith("y" * 100) and len(clip("y" * 10_000, 100)) < 160
