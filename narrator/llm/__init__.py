"""The LLM layer: one small interface over OpenAI-compatible servers, in-process vLLM and rules.

    from narrator.llm import LLMRequest, make_llm
    llm = make_llm("openai:Qwen/Qwen2.5-VL-7B-Instruct", snapshot=..., journal=...)
    results = llm.generate([LLMRequest(messages=[...], schema={...})])

See :mod:`narrator.llm.runner` (cache, journal, feedback rounds), :mod:`narrator.llm.cache`
and :mod:`narrator.llm.journal` (how shard tasks record calls without the database).
Names are imported on first use, so ``import narrator.llm.spec`` stays cheap for the CLI.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "LLM": "runner", "Backend": "base", "LLMUnavailable": "base", "RulesBackend": "base",
    "CallCache": "cache", "LLMSettings": "config", "LLMSpec": "spec",
    "parse_llm_spec": "spec", "JournalWriter": "journal", "journal_path": "journal",
    "snapshot_path": "journal", "make_backend": "factory", "make_llm": "factory",
    "LLMRequest": "types", "LLMResult": "types", "quicklook_data_url": "quicklook",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'narrator.llm' has no attribute {name!r}")
    return getattr(importlib.import_module(f"narrator.llm.{module}"), name)
