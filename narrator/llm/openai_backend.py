"""``--llm openai:MODEL``: any OpenAI-compatible chat server through the official client.

Serves OpenAI, vLLM's ``vllm serve``, SGLang, the llama.cpp server and Ollama. The client's own
retries are off; this module retries instead, so that it can tell the cases apart:

* 429: wait ``Retry-After`` (else back off) and halve the window of requests in flight;
* 5xx, timeouts, connection errors, a body that is not JSON: exponential back-off with jitter;
* 401, 403, 404: the whole run stops with a clear error (key, permissions, model name);
* other 4xx, and 5xx whose text says the same request would fail again (context exceeded,
  unsupported parameter, grammar or schema errors): this request is rejected at once, never
  retried (recorded as an error with the server's text);
* a prompt larger than the model's context: the whole run stops with one line naming the
  model, its context and the prompt size.

Before the first request it sends, the backend probes the server once (see
:mod:`narrator.llm.server`): the model must be one it serves, requests in flight start at its
slot count, prompt + max_tokens are fitted to its context, and JSON is asked for in the form
it takes (downgraded json_schema -> json_object -> prompt if the first replies reject it).
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
from narrator.llm.guard import (ReplyTooLarge, completion_problem, json_depth_exceeds,
                                lone_surrogate, public_url, read_capped, redact, redact_bytes)
from narrator.llm.limits import AdaptiveLimiter, backoff_delay, retry_after
from narrator.llm.server import (DETERMINISTIC, FORM_ERROR, FORMS, ServerInfo, apply_settings,
                                 context_from_error, estimate_tokens, model_known,
                                 prompt_size_from_error, read_models, read_props)
from narrator.llm.structured import adapt_body
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


#: the fewest reply tokens worth sending a request for
MIN_REPLY_TOKENS = 64


class _Rejected(Exception):
    """The server refused this request in a way a resend would not change."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status, self.message = status, message


class _BadReply(Exception):
    """A reply that is too large, too deep or not a chat completion: one failed call."""


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
        #: without ``user:password@``: never sent in the URL (the aiohttp transport refuses
        #: credentials beside the key's Authorization header), logged or stored
        self.base_url = public_url(self.settings.endpoint())
        self.rng = random.Random()
        self._client: openai.AsyncOpenAI | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._probe_lock: asyncio.Lock | None = None
        self.info: ServerInfo | None = None
        self._form_confirmed = False
        #: the per-request timeout: ``timeout_s`` (doubled after a timeout on a server with
        #: fixed slots), and at least twice
        #: what the server's measured speed needs for this prompt + max_tokens (a small model
        #: on a busy CPU takes minutes per request: a fixed 120 s would time out every one)
        self._timeout_s = self.settings.timeout_s
        self._s_per_token: float | None = None
        #: set by a 401/403: no further request is sent by this backend
        self._fatal: str | None = None

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
            self._probe_lock = asyncio.Lock()
        return self._client

    async def aclose(self) -> None:
        if self._client is not None and self._loop is asyncio.get_running_loop():
            await self._client.close()
        self._client = self._loop = None

    async def complete(self, body: dict[str, Any]) -> Reply:
        """Send ``body`` until a completion comes back or the retry budget runs out.

        Failures (5xx, timeouts, connection) get ``max_attempts`` tries; 429s, the server
        asking to slow down, get their own budget of ``max_rate_limited`` waits; a
        deterministic refusal gets none.
        """
        s = self.settings
        if self._fatal:
            raise LLMUnavailable(self._fatal)
        info = await self.server_info()
        failures = limited = 0
        last = "no attempt made"
        while True:
            form, sent, t0 = info.structured, body, time.perf_counter()
            try:
                async with self.limiter.slot():  # the form as it stands when this is sent
                    t0 = time.perf_counter()     # latency: the server's, not our queue's
                    form = info.structured
                    sent = self._fit(adapt_body(body, form), info)
                    raw = await self._send(self.client(), sent)
                latency = time.perf_counter() - t0
                self.limiter.on_success(latency)
                self._measure(raw, latency)
                self._form_confirmed = self._form_confirmed or "response_format" in body
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
            except _Rejected as exc:
                failures += 1
                if self._downgrade(info, form, exc, "response_format" in body):
                    continue
                self._check_context(exc, sent)
                return Reply(None, http_attempts=failures + limited, error_kind="rejected",
                             error=redact(str(exc)), latency_s=time.perf_counter() - t0)
            except _BadReply as exc:
                return Reply(None, http_attempts=failures + limited + 1, error_kind="rejected",
                             error=redact(str(exc)), latency_s=time.perf_counter() - t0)
        n = failures + limited
        return Reply(None, http_attempts=n, error_kind="transient",
                     error=f"gave up after {n} attempts ({limited} rate-limited); last: {last}")

    # -- what the server can do ---------------------------------------------------------------
    async def server_info(self) -> ServerInfo:
        """The probed :class:`ServerInfo` (once per backend, i.e. per shard task: two GETs)."""
        if self.info is not None:
            return self.info
        client = self.client()
        assert self._probe_lock is not None
        async with self._probe_lock:
            if self.info is None:
                self._adopt(await self._probe(client))
        assert self.info is not None
        return self.info

    async def _probe(self, client: openai.AsyncOpenAI) -> ServerInfo:
        info = ServerInfo()
        root = str(client.base_url).rstrip("/").removesuffix("/v1")
        timeout = min(60.0, self.settings.timeout_s)  # a busy one-slot server is slow to answer
        for path, read in (("/models", lambda p: read_models(p, info, self.model)),
                           (f"{root}/props", lambda p: read_props(p, info))):
            try:
                response: Any = await client.get(path, cast_to=_RESPONSE,
                                                 options={"timeout": timeout})
                read(json.loads(response.content))
                info.probed.append(path.removeprefix(root))
            except openai.APIStatusError as exc:
                if exc.status_code in (401, 403):
                    self._fatal = self._refused(exc.status_code, _message(exc))
                    raise LLMUnavailable(self._fatal) from None
            except (openai.APIError, ValueError, RecursionError, TypeError, AttributeError,
                    KeyError) as exc:  # unreachable, timeout, not JSON, not the shape expected
                log.debug("probe %s: %s", path, exc)
        s = self.settings
        apply_settings(info, s.structured_output, s.context_tokens, s.server_slots)
        log.info("%s: %s server; context %s, slots %s, structured output %s", self.name,
                 info.kind, info.context or "unknown", info.slots or "unknown", info.structured)
        return info

    def _adopt(self, info: ServerInfo) -> None:
        if not model_known(self.model, info.models):
            raise LLMUnavailable(
                f"{self.name}: the server at {public_url(self.base_url) or 'OPENAI_BASE_URL'} "
                f"does not "
                f"serve model {self.model!r}; it lists: {', '.join(info.models or [])}")
        if info.slots:
            self.max_concurrency = min(self.settings.max_concurrency, info.slots)
            self.limiter = AdaptiveLimiter(self.max_concurrency)
        self.info = info

    def _fit(self, body: dict[str, Any], info: ServerInfo) -> dict[str, Any]:
        """``body`` with max_tokens lowered so that prompt + reply fit the context (or stop)."""
        if not info.context:
            return body
        prompt = estimate_tokens(body["messages"])
        room = info.context - prompt
        wanted = body.get("max_tokens")
        if room < min(MIN_REPLY_TOKENS, wanted or MIN_REPLY_TOKENS):
            raise LLMUnavailable(self._too_long(prompt, info.context, "estimated"))
        if wanted and wanted > room:
            return {**body, "max_tokens": room}
        return body

    def _too_long(self, prompt: int, context: int, how: str) -> str:
        slot = " per slot" if self.info and self.info.kind == "llama.cpp" else ""
        return (f"{self.name}: a prompt of {prompt:,} tokens ({how}) does not fit the model's "
                f"context of {context:,} tokens{slot} with room for a reply; start the server "
                "with a larger context (llama-server -c N, shared by its -np slots; "
                "llama-cpp-python --n_ctx N; vllm --max-model-len N) or set "
                "NARRATOR_LLM_CONTEXT_TOKENS if the server reports it wrongly")

    def _downgrade(self, info: ServerInfo, form: str, exc: _Rejected, structured: bool) -> bool:
        """On a refusal of the structured-output form before any reply confirmed it: the
        next form (json_schema -> json_object -> prompt). True when there is one to try."""
        if (not structured or self._form_confirmed or not FORM_ERROR.search(exc.message)
                or self.settings.structured_output != "auto" or info.structured != form
                or form == FORMS[-1]):
            return structured and info.structured != form  # another request moved on: resend
        info.structured = FORMS[FORMS.index(form) + 1]
        log.warning("%s refused response_format %s (%s); using %s", self.name, form,
                    exc.message[:200], info.structured)
        return True

    def _check_context(self, exc: _Rejected, body: dict[str, Any]) -> None:
        """A context error that names the context size: the prompt cannot fit, stop."""
        is_context, size = context_from_error(exc.message)
        if is_context and size:
            prompt = prompt_size_from_error(exc.message)
            raise LLMUnavailable(self._too_long(
                prompt or estimate_tokens(body["messages"]), size,
                "counted by the server" if prompt else "estimated"))

    def _measure(self, raw: dict[str, Any], latency: float) -> None:
        """Seconds per token (prompt + completion) of the server, from a successful reply."""
        usage = raw.get("usage") or {}
        tokens = int(usage.get("prompt_tokens") or 0) + int(usage.get("completion_tokens") or 0)
        if tokens > 0:
            rate = latency / tokens
            self._s_per_token = rate if self._s_per_token is None else max(
                rate, 0.8 * self._s_per_token + 0.2 * rate)

    def request_timeout(self, body: dict[str, Any]) -> float:
        """This request's timeout (see ``_timeout_s``), at most an hour."""
        timeout = self._timeout_s
        if self._s_per_token is not None:
            tokens = estimate_tokens(body["messages"]) + int(body.get("max_tokens") or 1024)
            timeout = max(timeout, 2 * self._s_per_token * tokens)
        return min(timeout, 3600.0)

    def _slow_server(self) -> None:
        if self.info is not None and self.info.slots:
            # a server with fixed slots (llama.cpp) keeps working on an abandoned request,
            # so a resend queues behind it: the next try waits twice as long
            self._timeout_s = min(2 * self._timeout_s, 3600.0)

    def _refused(self, status: int, message: str) -> str:
        """The one line a 401/403/404 stops the run with (no credentials in it)."""
        hint = _FATAL[status].format(base=public_url(self.base_url) or "the server")
        where = public_url(self.base_url) or "https://api.openai.com/v1"
        return redact(f"{self.name}: HTTP {status} from {where} ({message}); {hint}; "
                      "no further requests sent")

    async def _post(self, client: openai.AsyncOpenAI, body: dict[str, Any],
                    timeout: float) -> bytes:
        """The body of one chat request, bounded in bytes, in idle time and in total time.

        The client's documented generic request (``client.post(path, cast_to=Response,
        body=..., stream=True)``): the same auth, timeouts and error classes as
        ``chat.completions.create``, without re-validating the body we built against the
        typed parameters (that walk cost more CPU than the rest of a call); streamed so that
        the body is read here, in chunks, under a cap."""
        s = self.settings
        async with asyncio.timeout(timeout):  # a server trickling bytes is bounded too
            response: Any = await client.post("/chat/completions", cast_to=_RESPONSE,
                                              body=body, options={"timeout": timeout},
                                              stream=True)
            try:
                return await read_capped(response, s.max_reply_bytes,
                                         min(s.idle_timeout_s, timeout))
            finally:
                await response.aclose()

    def _decode(self, data: bytes) -> dict[str, Any]:
        """A reply body as a chat completion (secrets echoed in it replaced), or _BadReply."""
        if json_depth_exceeds(data, self.settings.max_reply_depth):
            raise _BadReply(f"the reply nests JSON deeper than "
                            f"{self.settings.max_reply_depth} levels "
                            "(NARRATOR_LLM_MAX_REPLY_DEPTH)")
        try:
            raw = json.loads(redact_bytes(data))
        except RecursionError:
            raise _BadReply("the reply nests JSON too deeply to parse") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise _Retry(f"the server sent a body that is not JSON ({exc})") from None
        problem = completion_problem(raw) or lone_surrogate(data, raw)
        if problem:
            raise _BadReply(problem)
        return raw  # type: ignore[no-any-return]

    async def _send(self, client: openai.AsyncOpenAI, body: dict[str, Any]) -> dict[str, Any]:
        timeout = self.request_timeout(body)
        try:
            data = await self._post(client, body, timeout)
        except ReplyTooLarge as exc:
            raise _BadReply(str(exc)) from None
        except TimeoutError as exc:
            self._slow_server()
            raise _Retry(str(exc) or f"no reply within {timeout:g}s (a complete reply; "
                         "NARRATOR_LLM_TIMEOUT_S)") from None
        except openai.RateLimitError as exc:
            self.limiter.on_overload()
            raise _Retry(f"HTTP 429: {_message(exc)}", retry_after(exc.response.headers),
                         rate_limited=True) from None
        except openai.APITimeoutError as exc:
            cause = str(exc.__cause__ or "")
            if "connect" in cause.lower():  # the aiohttp transport reports refusals so
                raise _Retry(f"connection error: {cause}") from None
            self._slow_server()
            raise _Retry(f"no reply within {timeout:g}s") from None
        except openai.APIConnectionError as exc:
            raise _Retry(redact(f"connection error: {exc.__cause__ or exc}")) from None
        except openai.APIStatusError as exc:
            message = _message(exc)
            if exc.status_code in _FATAL:
                self._fatal = self._fatal or self._refused(exc.status_code, message)
                raise LLMUnavailable(self._fatal) from None
            if (exc.status_code >= 500 or exc.status_code == 408) \
                    and not DETERMINISTIC.search(message):
                raise _Retry(f"HTTP {exc.status_code}: {message}",
                             retry_after(exc.response.headers)) from None
            raise _Rejected(exc.status_code, message) from None
        return self._decode(data)


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
            return redact(str(inner["message"])[:500])
    return redact(str(exc.message)[:500])
