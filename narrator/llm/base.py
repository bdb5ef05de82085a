"""The backend interface: one coroutine that turns an OpenAI chat body into a :class:`Reply`.

A backend owns transport concerns (HTTP retries, concurrency, batching). Everything above it,
the cache key, validation and feedback rounds, journaling, tokens and cost, lives in
:class:`narrator.llm.runner.LLM` and is the same for every backend.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Protocol

from narrator.errors import ConfigError, NarratorError
from narrator.llm.types import Reply


class LLMUnavailable(NarratorError):
    """The LLM cannot be used at all (bad key, unknown model, backend not installed)."""


class Backend(Protocol):
    #: the model as recorded and hashed into cache keys, e.g. ``openai:gpt-4o-mini``
    name: str
    #: whether calls are recorded in llm_calls (False for the rule backend)
    records: bool
    #: requests in flight at most (the runner keeps this many workers busy)
    max_concurrency: int

    async def complete(self, body: dict[str, Any]) -> Reply: ...

    async def aclose(self) -> None: ...


def completion(text: str, finish_reason: str = "stop", model: str = "",
               prompt_tokens: int = 0, completion_tokens: int = 0) -> dict[str, Any]:
    """An OpenAI-shaped chat completion, so that every backend's raw reply looks the same."""
    return {
        "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "finish_reason": finish_reason,
                     "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


Responder = Callable[[dict[str, Any]], str]


class RulesBackend:
    """``--llm rules``: no LLM. A responder turns each request body into the reply text
    deterministically (for captions, the rule templates); nothing is recorded or cached."""

    records = False
    max_concurrency = 1

    def __init__(self, responder: Responder | None = None) -> None:
        self.name = "rules"
        self.responder = responder

    async def complete(self, body: dict[str, Any]) -> Reply:
        if self.responder is None:
            raise ConfigError("--llm rules has no responder for this prompt: rule text is "
                              "made by the rule templates, not through the LLM layer")
        return Reply(completion(self.responder(body), model="rules"))

    async def aclose(self) -> None:
        return None


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop when installed (less latency per request under CPU contention)."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop  # type: ignore[no-any-return]
