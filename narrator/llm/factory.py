"""Build a backend or a ready :class:`~narrator.llm.runner.LLM` from an ``--llm`` spec."""

from __future__ import annotations

from pathlib import Path

from narrator.llm.base import Backend, Responder, RulesBackend
from narrator.llm.cache import CallCache
from narrator.llm.config import LLMSettings, parse_llm_spec
from narrator.llm.journal import JournalWriter
from narrator.llm.runner import LLM


def make_backend(spec: str, settings: LLMSettings | None = None,
                 responder: Responder | None = None) -> Backend:
    """``rules`` | ``openai:MODEL`` | ``vllm:MODEL`` -> a backend (vLLM imported lazily)."""
    parsed = parse_llm_spec(spec)
    settings = settings or LLMSettings()
    if parsed.kind == "openai":
        from narrator.llm.openai_backend import OpenAIBackend

        return OpenAIBackend(parsed.model, settings)
    if parsed.kind == "vllm":
        from narrator.llm.vllm_backend import VLLMBackend

        return VLLMBackend(parsed.model, settings)
    return RulesBackend(responder)


def make_llm(spec: str, settings: LLMSettings | None = None, *,
             snapshot: str | Path | None = None, journal: str | Path | None = None,
             responder: Responder | None = None, stage: str = "llm") -> LLM:
    """An LLM for one shard task: cache = the flow's snapshot + this shard's journal (so a
    retried task finds its own finished calls), journal = where its calls are appended.
    Use it as a context manager (``with make_llm(...) as llm``) to close the journal."""
    settings = settings or LLMSettings()
    backend = make_backend(spec, settings, responder)
    cache = CallCache(snapshot, [journal] if journal else [])
    writer = JournalWriter(journal) if journal and backend.records else None
    return LLM(backend, settings, cache=cache, journal=writer, stage=stage)
