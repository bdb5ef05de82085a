"""The LLM front end: ``generate``/``agenerate`` over any backend, with cache and journal.

For each request: compute its key; a finished call in the cache is answered from there (its
raw response parsed again, so parsing changes apply without new calls); otherwise the backend
is asked, an invalid JSON reply is sent back with the validation error (``feedback_rounds``
times at most), and the finished call is appended to the journal before its result is
returned. Identical requests in one batch are sent once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from narrator import progress
from narrator.llm.base import Backend, event_loop_factory
from narrator.llm.cache import CallCache
from narrator.llm.config import LLMSettings
from narrator.llm.journal import JournalWriter
from narrator.llm.stats import LLMStats
from narrator.llm.structured import completion_parts, feedback_messages, interpret
from narrator.llm.structured import response_format
from narrator.llm.types import LLMRequest, LLMResult, Reply, Status, redact_images
from narrator.signals import interrupted, on_interrupt

log = logging.getLogger(__name__)
OnResult = Callable[[int, LLMResult], None]

#: the batches being generated (event loop, task), each in its own thread: Ctrl+C cancels them
#: all at once (narrator.signals), so no thread waits for a slow server's reply at exit
_running: set[tuple[asyncio.AbstractEventLoop, asyncio.Task[Any]]] = set()
_running_lock = threading.Lock()


def cancel_running() -> None:
    """Cancel every batch being generated, in any thread (thread-safe, does not wait)."""
    with _running_lock:
        for loop, task in list(_running):
            if not loop.is_closed():
                loop.call_soon_threadsafe(task.cancel)


on_interrupt(cancel_running)


async def _registered(coro: Any) -> Any:
    """Await ``coro`` as a batch that :func:`cancel_running` can cancel."""
    entry = (asyncio.get_running_loop(), asyncio.current_task())
    with _running_lock:
        _running.add(entry)  # type: ignore[arg-type]
    if interrupted():  # a batch that starts after Ctrl+C: cancelled like the running ones
        entry[1].cancel()  # type: ignore[union-attr]
    try:
        return await coro
    finally:
        with _running_lock:
            _running.discard(entry)  # type: ignore[arg-type]


class LLM:
    """Generate replies for :class:`LLMRequest` s through ``backend``.

    ``cache`` answers calls already made (see :mod:`narrator.llm.cache`); ``journal`` receives
    every call finished here. Both are optional: without them every request is sent.
    """

    def __init__(self, backend: Backend, settings: LLMSettings | None = None,
                 cache: CallCache | None = None, journal: JournalWriter | None = None,
                 stage: str = "llm") -> None:
        self.backend = backend
        self.settings = settings or LLMSettings()
        self.cache = cache if cache is not None else CallCache()
        self.journal = journal
        self.stage = stage
        self.stats = LLMStats(backend.name, self.settings.prices)

    # -- public -------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the journal (every line is already on disk)."""
        if self.journal is not None:
            self.journal.close()

    def __enter__(self) -> LLM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def generate(self, requests: Sequence[LLMRequest],
                 on_result: OnResult | None = None) -> list[LLMResult]:
        """Blocking :meth:`agenerate` (runs its own event loop, in a thread if one is running)."""
        async def run() -> list[LLMResult]:
            try:
                return await self.agenerate(requests, on_result)
            finally:
                info = getattr(self.backend, "info", None)
                if info is not None:  # what the server was found to be (a probe ran)
                    self.stats.server = info.summary()
                await self.backend.aclose()

        def run_loop() -> list[LLMResult]:
            with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
                return runner.run(_registered(run()))

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return run_loop()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(run_loop).result()

    async def agenerate(self, requests: Sequence[LLMRequest],
                        on_result: OnResult | None = None) -> list[LLMResult]:
        """One result per request, in order. Cancelling (Ctrl+C) keeps every finished call.

        Workers take requests in order and compute keys as they go (sending starts at once);
        a request whose key is already being called waits for that call instead.
        """
        results: list[LLMResult | None] = [None] * len(requests)
        calls: dict[str, asyncio.Future[LLMResult]] = {}
        progress.start(self.stage, len(requests))
        todo = iter(range(len(requests)))

        async def worker() -> None:
            for i in todo:
                results[i] = result = await self._shared_call(requests[i], calls)
                if on_result:
                    on_result(i, result)
                progress.advance(self.stage)
                self.stats.report(self.stage)

        n_workers = min(len(requests), 2 * max(1, self.backend.max_concurrency))
        workers = [asyncio.create_task(worker()) for _ in range(n_workers)]
        try:
            await asyncio.gather(*workers)
        except BaseException:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise
        self.stats.report(self.stage, force=True)
        return [r for r in results if r is not None]

    async def _shared_call(self, request: LLMRequest,
                           calls: dict[str, asyncio.Future[LLMResult]]) -> LLMResult:
        """:meth:`call`, once per key within one batch (duplicates share the result)."""
        key = request.key(self.backend.name)
        pending = calls.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future = calls[key] = asyncio.get_running_loop().create_future()
        try:
            result = await self.call(request, key)
        except BaseException:
            future.cancel()
            raise
        future.set_result(result)
        return result

    async def call(self, request: LLMRequest, key: str | None = None) -> LLMResult:
        """One call: from the cache if finished before, else through the backend."""
        key = key or request.key(self.backend.name)
        if self.backend.records:
            row = self.cache.get(key)
            if row is not None:
                result = result_from_row(row, request)
                self.stats.add(result)
                return result
        result, row = await self._send(request, key)
        if self.backend.records:
            if self.journal is not None:
                self.journal.write(row)
            self.cache.add(row)
        self.stats.add(result)
        return result

    # -- one call -----------------------------------------------------------------------------
    def body(self, request: LLMRequest) -> dict[str, Any]:
        """The OpenAI chat body of ``request``."""
        params = dict(request.params)
        if "n" in params:
            raise ValueError("use LLMRequest.sample_index for several samples, not 'n'")
        if params.get("seed") is not None:
            params["seed"] = int(params["seed"]) + request.sample_index
        body: dict[str, Any] = {"model": _served_name(self.backend), "messages":
                                list(request.messages), **params}
        if request.schema is not None:
            body["response_format"] = response_format(request.schema, request.schema_name)
        return body

    async def _send(self, request: LLMRequest, key: str) -> tuple[LLMResult, dict[str, Any]]:
        body = self.body(request)
        t0 = time.perf_counter()
        status: Status
        attempts = rounds = prompt_tokens = completion_tokens = 0
        served_s = 0.0  # time the server spent on this call's requests (no queueing here)
        while True:
            rounds += 1
            reply = await self.backend.complete(body)
            attempts += reply.http_attempts
            served_s += reply.latency_s
            if reply.raw is None:
                status, outcome = "error", None  # no usable answer: a rerun resends it
                break
            _, _, p, c = completion_parts(reply.raw)
            prompt_tokens, completion_tokens = prompt_tokens + p, completion_tokens + c
            outcome = interpret(reply.raw, request.schema)
            if outcome.ok or not outcome.fixable or rounds > self.settings.feedback_rounds:
                status = "succeeded" if outcome.ok else "failed"
                break
            body = {**body, "messages": [*body["messages"],
                                         *feedback_messages(outcome.text or "", outcome.error or "")]}
        result = LLMResult(
            key=key, status=status, text=outcome.text if outcome else None,
            parsed=outcome.parsed if outcome else None,
            error=outcome.error if outcome else reply.error,
            finish_reason=outcome.finish_reason if outcome else None,
            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
            latency_s=time.perf_counter() - t0, http_attempts=attempts, rounds=rounds,
            request=request, error_kind=None if outcome else reply.error_kind)
        row = self._row(request, key, body, reply, result)
        row["request"]["server_s"] = round(served_s, 4)
        return result, row

    def _row(self, request: LLMRequest, key: str, body: dict[str, Any], reply: Reply,
             result: LLMResult) -> dict[str, Any]:
        """The llm_calls row (and journal line) of a finished call."""
        stored = {**body, "messages": redact_images(body["messages"])}
        return {
            "call_key": key, "model": self.backend.name, "prompt_id": request.prompt_id,
            "prompt_hash": request.prompt_hash,
            "request": {"body": stored, "sample_index": request.sample_index,
                        "http_attempts": result.http_attempts, "rounds": result.rounds},
            "response": reply.raw, "parsed": result.parsed, "status": result.status,
            "error": result.error, "finish_reason": result.finish_reason,
            "latency_s": round(result.latency_s, 4), "prompt_tokens": result.prompt_tokens,
            "completion_tokens": result.completion_tokens,
            "created_at": datetime.now(UTC).isoformat(),
        }


def result_from_row(row: dict[str, Any], request: LLMRequest | None = None) -> LLMResult:
    """A cached call as a result, its raw response judged again by today's parser."""
    raw = row.get("response")
    schema = request.schema if request is not None else None
    base = dict(key=row["call_key"], prompt_tokens=int(row.get("prompt_tokens") or 0),
                completion_tokens=int(row.get("completion_tokens") or 0),
                latency_s=float(row.get("latency_s") or 0.0), cached=True, request=request)
    if not isinstance(raw, dict):
        return LLMResult(status=row["status"], error=row.get("error"),
                         finish_reason=row.get("finish_reason"), **base)
    outcome = interpret(raw, schema)
    return LLMResult(status="succeeded" if outcome.ok else "failed", text=outcome.text,
                     parsed=outcome.parsed, error=outcome.error,
                     finish_reason=outcome.finish_reason, **base)


def _served_name(backend: Backend) -> str:
    return getattr(backend, "model", backend.name)
