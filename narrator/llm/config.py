"""LLM settings and the price table.

Settings come from ``NARRATOR_LLM_*`` environment variables (or keyword arguments); the
endpoint and key of an OpenAI-compatible server come from the standard ``OPENAI_BASE_URL``
and ``OPENAI_API_KEY``. The key is read from the environment only, and never logged or stored.
"""

from __future__ import annotations

import fnmatch
import os
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from narrator.llm.spec import SPEC_HELP, LLMSpec, parse_llm_spec

__all__ = ["SPEC_HELP", "LLMSettings", "LLMSpec", "cost_usd", "parse_llm_spec", "price_for"]


class LLMSettings(BaseSettings):
    """How narrator talks to an LLM. Every field is also ``NARRATOR_LLM_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="NARRATOR_LLM_", extra="ignore")

    base_url: str | None = Field(
        default=None, description="OpenAI-compatible endpoint; default: OPENAI_BASE_URL, "
        "else https://api.openai.com/v1")
    max_concurrency: int = Field(default=64, ge=1, description="requests in flight at most")
    timeout_s: float = Field(default=120.0, gt=0, description="per-request timeout")
    idle_timeout_s: float = Field(
        default=60.0, gt=0, description="longest silence within a reply (the whole request "
        "is bounded by timeout_s)")
    max_reply_bytes: int = Field(
        default=1_000_000, ge=1024, description="largest reply body read; more is one failed "
        "call")
    max_reply_depth: int = Field(
        default=64, ge=4, description="deepest JSON nesting a reply body may have")
    max_attempts: int = Field(
        default=6, ge=1, description="tries per request on 5xx, timeouts, connection errors")
    max_rate_limited: int = Field(
        default=20, ge=1, description="429 answers one request may wait out")
    backoff_base_s: float = Field(default=0.5, ge=0, description="first back-off step")
    backoff_max_s: float = Field(default=30.0, ge=0, description="longest back-off step")
    http_transport: Literal["auto", "aiohttp", "httpx"] = Field(
        default="auto", description="HTTP layer of the openai client; auto: aiohttp if "
        "installed")
    feedback_rounds: int = Field(
        default=2, ge=0, description="resends of an invalid JSON reply with its error")
    prices: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description="model name or glob -> USD per 1M prompt and "
        "completion tokens, e.g. {\"gpt-4o-mini*\": [0.15, 0.6]}")
    structured_output: Literal["auto", "json_schema", "json_object", "prompt"] = Field(
        default="auto", description="how to ask for JSON: auto (found by probing the server), "
        "json_schema (OpenAI, vLLM, llama-server), json_object (+schema, llama-cpp-python) or "
        "prompt (the schema in the prompt; replies validated and repaired by feedback)")
    context_tokens: int | None = Field(
        default=None, ge=1, description="tokens one request may use (prompt + reply); "
        "default: what the server reports (vLLM max_model_len, llama.cpp per-slot n_ctx)")
    server_slots: int | None = Field(
        default=None, ge=1, description="requests the server works on at once; default: "
        "what it reports (llama.cpp total_slots; llama-cpp-python: 1)")
    images: bool = Field(default=False, description="send a SAR quicklook with each prompt")
    quicklook_size: int = Field(
        default=512, ge=32, le=4096, description="longest side of a quicklook")
    vllm_engine: dict[str, Any] = Field(
        default_factory=dict, description="keyword arguments for vllm.LLM(...)")
    vllm_max_batch: int = Field(
        default=256, ge=1, description="requests per vllm.LLM.chat batch")
    vllm_batch_window_s: float = Field(
        default=0.02, ge=0, description="how long to gather a vLLM batch")

    def endpoint(self) -> str | None:
        return self.base_url or os.environ.get("OPENAI_BASE_URL") or None


def price_for(model: str, prices: dict[str, tuple[float, float]]) -> tuple[float, float] | None:
    """The (prompt, completion) USD price per 1M tokens of ``model``: an exact name wins,
    then the longest matching glob; None if the table has no entry."""
    if model in prices:
        return prices[model]
    matches = [p for p in prices if fnmatch.fnmatchcase(model, p)]
    return prices[max(matches, key=len)] if matches else None


def cost_usd(model: str, prompt_tokens: int, completion_tokens: int,
             prices: dict[str, tuple[float, float]]) -> float | None:
    price = price_for(model, prices)
    if price is None:
        return None
    return (prompt_tokens * price[0] + completion_tokens * price[1]) / 1_000_000
