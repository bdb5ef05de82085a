"""The ``--llm`` spec: ``rules``, ``openai:MODEL`` or ``vllm:MODEL`` (light: no heavy imports,
so that the CLI can check it before anything is loaded)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from narrator.errors import ConfigError

Kind = Literal["rules", "openai", "vllm"]
SPEC_HELP = "rules (no LLM), openai:MODEL (any OpenAI-compatible server) or vllm:MODEL"


@dataclass(frozen=True)
class LLMSpec:
    kind: Kind
    model: str = ""

    def __str__(self) -> str:
        return self.kind if self.kind == "rules" else f"{self.kind}:{self.model}"


def parse_llm_spec(spec: str) -> LLMSpec:
    """``rules``, ``openai:MODEL`` or ``vllm:MODEL`` (MODEL may itself contain ':' or '/')."""
    text = (spec or "").strip()
    if text == "rules":
        return LLMSpec("rules")
    kind, sep, model = text.partition(":")
    if not sep or kind not in ("openai", "vllm"):
        raise ConfigError(f"--llm {spec!r}: expected {SPEC_HELP}")
    if not model.strip():
        raise ConfigError(f"--llm {spec!r}: the model name is missing, e.g. "
                          f"{kind}:Qwen/Qwen2.5-VL-7B-Instruct")
    return LLMSpec(kind, model.strip())  # type: ignore[arg-type]
