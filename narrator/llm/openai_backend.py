"""``--llm openai:MODEL``: any OpenAI-compatible chat server through the official client.

Serves OpenAI, vLLM's ``vllm serve``, SGLang, the llama.cpp server and Ollama. The client's own
retries are off; this module retries instead, so that it can tell the cases apart:

* 429: wait ``Retry-After`` (else back off) and halve the window of requests in flight;
* 5xx, timeouts, connection errors, a body that is not JSON: exponential back-off with jitter;
* 401, 403, 404: the whole run stops with a clear error (key, permissions, model name);
* other 4xx: this request is rejected for good (recorded as an error with the server's text).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import time
from typing import Any

import openai

from narrator.llm.base import LLMUnavailable
from narrator.llm.config import LLMSettings
from narrator.llm.limits import AdaptiveLimiter, backoff_delay, retry_after
from narrator.llm.types import Reply

log = logging.getLogger(__name__)

_FATAL = {401: "the server refused the API key: set OPENAI_API_KEY",
          403: "the API key may not use this model or endpoint",
          404: "the server does not know this model or endpoint: check the model name "
               "(GET {base}/models lists them) and OPENAI_BASE_URL"}


def _response_type() -> type:
    """The raw response class of the HTTP library under this openai client."""
    try:  # openai >= 3 runs on httpx2
        import httpx2

        return httpx2.Response  # type: ignore[no-any-return]
    except ImportError:
        import httpx

        return httpx.Response


_RESPONSE = _response_type()


class _Retry(Exception):
    def __init__(self, reason: str, delay: float | None = None,
                 rate_limited: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.delay, self.rate_limited = reason, delay, rate_limited


class OpenAIBackend:
    records = True

    def __init__(self, model: str, settings: LLMSettings | None = None) -> None:
        self.model = model
        self.name = f"openai:{model}"
        self.settings = settings or LLMSettings()
        self.max_concurrency = self.settings.max_concurrency
        self.limiter = AdaptiveLimiter(self.max_concurrency)
        self.base_url = self.settings.endpoint()
        self.rng = random.Random()
        self._client: openai.AsyncOpenAI | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def client(self) -> openai.AsyncOpenAI:
        """The client of the running event loop (a client's connections belong to one loop)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            key = os.environ.get("OPENAI_API_KEY")
            if not key and not self.base_url:
                raise LLMUnavailable(
                    "no OpenAI-compatible endpoint: set OPENAI_BASE_URL (e.g. "
                    "http://localhost:8000/v1 for `vllm serve`) or OPENAI_API_KEY for OpenAI")
            self._client = openai.AsyncOpenAI(
                api_key=key or "EMPTY", base_url=self.base_url, max_retries=0,
                timeout=self.settings.timeout_s,
                http_client=http_client(self.settings.http_transport, self.settings.timeout_s))
            self._loop = loop
            self.limiter = AdaptiveLimiter(self.max_concurrency)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None and self._loop is asyncio.get_running_loop():
            await self._client.close()
        self._client = self._loop = None

    async def complete(self, body: dict[str, Any]) -> Reply:
        """Send ``body`` until a completion comes back or the retry budget runs out.

        Failures (5xx, timeouts, connection) get ``max_attempts`` tries; 429s, the server
        asking to slow down, get their own budget of ``max_rate_limited`` waits.
        """
        s = self.settings
        failures = limited = 0
        last = "no attempt made"
        while True:
            t0 = time.perf_counter()
            try:
                async with self.limiter.slot():
                    raw = await self._send(self.client(), body)
                latency = time.perf_counter() - t0
                self.limiter.on_success(latency)
                return Reply(raw, http_attempts=failures + limited + 1, latency_s=latency)
            except _Retry as exc:
                last = exc.reason
                if exc.rate_limited:
                    limited += 1
                else:
                    failures += 1
                if failures >= s.max_attempts or limited >= s.max_rate_limited:
                    break
                delay = exc.delay if exc.delay is not None else backoff_delay(
                    failures + limited - 1, s.backoff_base_s, s.backoff_max_s, self.rng)
                log.debug("retrying in %.2fs after: %s", delay, last)
                await asyncio.sleep(delay)
            except openai.APIStatusError as exc:
                return Reply(None, http_attempts=failures + limited + 1, error_kind="rejected",
                             error=f"HTTP {exc.status_code}: {_message(exc)}",
                             latency_s=time.perf_counter() - t0)
        n = failures + limited
        return Reply(None, http_attempts=n, error_kind="transient",
                     error=f"gave up after {n} attempts ({limited} rate-limited); last: {last}")

    async def _send(self, client: openai.AsyncOpenAI, body: dict[str, Any]) -> dict[str, Any]:
        try:
            # The client's documented generic request (``client.post(path, cast_to=Response,
            # body=...)``): the same auth, timeouts and error classes as
            # ``chat.completions.create``, without re-validating the body we built against
            # the typed parameters (that walk cost more CPU than the rest of a call).
            response: Any = await client.post("/chat/completions", cast_to=_RESPONSE,
                                              body=body)
            raw = json.loads(response.content)
        except openai.RateLimitError as exc:
            self.limiter.on_overload()
            raise _Retry(f"HTTP 429: {_message(exc)}", retry_after(exc.response.headers),
                         rate_limited=True) from None
        except openai.APITimeoutError as exc:
            cause = str(exc.__cause__ or "")
            if "connect" in cause.lower():  # the aiohttp transport reports refusals so
                raise _Retry(f"connection error: {cause}") from None
            raise _Retry(f"no reply within {self.settings.timeout_s:g}s") from None
        except openai.APIConnectionError as exc:
            raise _Retry(f"connection error: {exc.__cause__ or exc}") from None
        except openai.APIStatusError as exc:
            if exc.status_code >= 500 or exc.status_code == 408:
                raise _Retry(f"HTTP {exc.status_code}: {_message(exc)}",
                             retry_after(exc.response.headers)) from None
            if exc.status_code in _FATAL:
                hint = _FATAL[exc.status_code].format(base=self.base_url or "the server")
                raise LLMUnavailable(f"{self.name}: HTTP {exc.status_code} "
                                     f"({_message(exc)}); {hint}") from None
            raise
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise _Retry(f"the server sent a body that is not JSON ({exc})") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("choices"), list):
            raise _Retry("the server sent JSON that is not a chat completion")
        return raw


def http_client(transport: str, timeout_s: float) -> Any:
    """The HTTP layer under the openai client: its official aiohttp transport when installed
    (``openai[aiohttp]``, about 40% less CPU per request than httpx), else its default."""
    if transport == "httpx":
        return None
    factory = getattr(openai, "DefaultAioHttpClient", None)
    try:
        if factory is None:
            raise RuntimeError("this openai client has no aiohttp transport")
        return factory(timeout=timeout_s)
    except RuntimeError as exc:  # the openai[aiohttp] extra is not installed
        if transport == "aiohttp":
            raise LLMUnavailable(f"http_transport=aiohttp: {exc}; pip install "
                                 "'openai[aiohttp]'") from None
        return None


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])[:500]
    return str(exc.message)[:500]
