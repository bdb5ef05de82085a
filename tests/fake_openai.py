"""A fake OpenAI-compatible server for tests and benchmarks: real HTTP, scripted behaviour.

A test helper, not part of the installed library (nothing under narrator/ imports it).

It serves ``POST /v1/chat/completions`` and ``GET /v1/models`` like vLLM or OpenAI would, with:

* ``latency_s`` per request and ``capacity`` requests served at once (more wait in a queue, or
  get 429 with ``overload="reject"``), so the ideal throughput is ``capacity / latency_s``;
* fault injection by probability: ``500``, ``429`` (with ``Retry-After``), ``hang`` (never
  answers), ``malformed`` (HTTP 200 whose body is cut-off JSON), ``invalid_json`` and
  ``schema_invalid`` (the reply text), ``length`` and ``content_filter`` (finish reasons).
  Faults are drawn from a hash of (seed, request body, times seen), so a run is reproducible;
  ``max_faults_per_request`` caps the faults one request body can get;
* a pluggable ``responder(body) -> str | dict`` that writes the reply text (default: the
  smallest JSON value that matches the request's schema, or a short text);
* ``flavour``: how it presents itself and which structured-output form it takes, as the real
  servers do: ``openai`` (json_schema), ``llama.cpp`` (``/props`` with ``total_slots`` and
  the per-slot ``n_ctx``, ``owned_by: llamacpp``), ``llama-cpp-python`` (``owned_by: me``
  with ``permissions``; HTTP 500 for a json_schema response_format, json_object + schema
  accepted); ``n_ctx`` answers a longer prompt with HTTP 400 "maximum context length";
  ``error_500`` answers every chat request with that server error text;
* ``GET /stats`` (requests by kind, faults, most in flight, the server's CPU seconds) and
  ``POST /stats/reset``, so a test can count what reached the server.

Run it alone (from the repository root) with ``python -m tests.fake_openai --latency 0.2 --capacity 64``; it prints
``listening on http://HOST:PORT/v1`` when ready. In-process: ``with OpenAITestServer(...)``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import importlib
import json
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

FAULTS = ("500", "429", "hang", "malformed", "invalid_json", "schema_invalid", "length",
          "content_filter")
Responder = Callable[[dict[str, Any]], "str | dict[str, Any] | list[Any]"]
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
            429: "Too Many Requests", 500: "Internal Server Error"}


@dataclass
class ServerConfig:
    latency_s: float = 0.2
    latency_jitter_s: float = 0.0
    capacity: int = 64
    overload: Literal["queue", "reject"] = "queue"
    faults: dict[str, float] = field(default_factory=dict)
    max_faults_per_request: int | None = None
    retry_after_s: float = 1.0
    hang_s: float = 60.0
    seed: int = 0
    model: str = "narrator-test"
    api_key: str | None = None  # when set, other keys get 401
    flavour: Literal["openai", "llama.cpp", "llama-cpp-python"] = "openai"
    n_ctx: int | None = None       # context per request (prompt estimated at 4 chars/token)
    slots: int = 4                 # reported by llama.cpp's /props
    error_500: str | None = None   # every chat request gets HTTP 500 with this message

    def __post_init__(self) -> None:
        unknown = set(self.faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {FAULTS}")
        if sum(self.faults.values()) > 1:
            raise ValueError("fault probabilities add up to more than 1")


def example_instance(schema: dict[str, Any]) -> Any:
    """The smallest JSON value that matches a simple schema (objects, arrays, scalars, enums)."""
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return example_instance(schema[key][0])
    kind = schema.get("type", "object")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "object":
        props = schema.get("properties", {})
        return {k: example_instance(v) for k, v in props.items()}
    if kind == "array":
        return [example_instance(schema.get("items", {}))
                for _ in range(schema.get("minItems", 0))]
    if kind == "string":
        return "x" * max(1, schema.get("minLength", 1))
    if kind in ("integer", "number"):
        return schema.get("minimum", 0)
    return {"boolean": False, "null": None}.get(kind)


SCHEMA_IN_PROMPT = "matches this JSON Schema:\n"


def default_responder(body: dict[str, Any]) -> str | dict[str, Any] | list[Any]:
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return example_instance(fmt["json_schema"]["schema"])
    if fmt.get("type") == "json_object" and "schema" in fmt:
        return example_instance(fmt["schema"])
    last = body.get("messages", [{}])[-1].get("content")
    text = last if isinstance(last, str) else "a message with an image"
    if SCHEMA_IN_PROMPT in text:  # prompt-only structured output: the schema is in the text
        schema, _ = json.JSONDecoder().raw_decode(text.split(SCHEMA_IN_PROMPT, 1)[1])
        return example_instance(schema)
    return f"ok: {text[:40]}"


class OpenAITestServer:
    """The server; ``start()`` runs it on a thread, ``serve()`` inside a running loop."""

    __test__ = False  # not a pytest test class

    def __init__(self, config: ServerConfig | None = None, responder: Responder | None = None,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config or ServerConfig()
        self.responder = responder or default_responder
        self.host, self.port = host, port
        self.counts: Counter[str] = Counter()
        self.max_in_flight = self.in_flight = 0
        self._seen: Counter[str] = Counter()
        self._faulted: Counter[str] = Counter()
        self._sem = asyncio.Semaphore(self.config.capacity)  # binds to a loop on first use
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = time.monotonic()

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    async def serve(self) -> None:
        """Bind and serve until cancelled (``port`` is set once bound)."""
        self._server = await asyncio.start_server(self._connection, self.host, self.port,
                                                  backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]
        async with self._server:
            await self._server.serve_forever()

    def start(self) -> OpenAITestServer:
        ready = threading.Event()
        loop = self._loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            task = loop.create_task(self.serve())
            loop.call_soon(lambda: self._wait_bound(ready))
            try:
                loop.run_until_complete(task)
            except asyncio.CancelledError:
                pass

        self._thread = threading.Thread(target=run, name="openai-test-server", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the test server did not start within 10 s")
        return self

    def _wait_bound(self, ready: threading.Event) -> None:
        if self._server is not None:
            ready.set()
        else:
            asyncio.get_running_loop().call_later(0.005, lambda: self._wait_bound(ready))

    def stop(self) -> None:
        loop = self._loop
        if loop is None or self._thread is None:
            return

        def cancel_all() -> None:
            for task in asyncio.all_tasks(loop):
                task.cancel()

        loop.call_soon_threadsafe(cancel_all)
        self._thread.join(10)
        loop.close()
        self._loop = self._thread = None

    def __enter__(self) -> OpenAITestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- statistics --------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        counts = dict(self.counts)
        return {"requests": counts.get("requests", 0),
                "chat_requests": counts.get("chat", 0),
                "completions": counts.get("completions", 0),
                "faults": {k[6:]: v for k, v in counts.items() if k.startswith("fault:")},
                "status": {k[7:]: v for k, v in counts.items() if k.startswith("status:")},
                "max_in_flight": self.max_in_flight, "in_flight": self.in_flight,
                "cpu_s": time.process_time(),
                "uptime_s": time.monotonic() - self._started}

    def reset_stats(self) -> None:
        self.counts.clear()
        self._seen.clear()
        self._faulted.clear()
        self.max_in_flight = self.in_flight

    # -- HTTP --------------------------------------------------------------------------------
    async def _connection(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                method, target, headers = _parse_head(head)
                length = int(headers.get("content-length") or 0)
                body = await reader.readexactly(length) if length else b""
                self.counts["requests"] += 1
                reply = await self._route(method, target.split("?")[0], headers, body)
                if reply is None:  # a hang: answer nothing, drop the connection
                    break
                writer.write(reply)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError,
                ValueError):
            pass
        finally:
            writer.close()

    async def _route(self, method: str, path: str, headers: dict[str, str],
                     body: bytes) -> bytes | None:
        key = self.config.api_key
        if key and path.startswith("/v1/") and headers.get("authorization") != f"Bearer {key}":
            return self._json(401, {"error": {"message": "invalid API key"}})
        if method == "POST" and path == "/v1/chat/completions":
            return await self._chat(body)
        if method == "GET" and path == "/v1/models":
            return self._json(200, {"object": "list", "data": [self._model_entry()]})
        if method == "GET" and path == "/props" and self.config.flavour == "llama.cpp":
            return self._json(200, {"total_slots": self.config.slots,
                                    "model_alias": self.config.model,
                                    "default_generation_settings": {"n_ctx": self.config.n_ctx}})
        if method == "GET" and path == "/stats":
            return self._json(200, self.stats())
        if method == "POST" and path == "/stats/reset":
            self.reset_stats()
            return self._json(200, {"ok": True})
        return self._json(404, {"error": {"message": f"no route {method} {path}"}})

    def _model_entry(self) -> dict[str, Any]:
        c = self.config
        entry: dict[str, Any] = {"id": c.model, "object": "model", "owned_by": "narrator"}
        if c.flavour == "llama.cpp":
            entry |= {"owned_by": "llamacpp", "meta": {"n_ctx": c.n_ctx, "n_ctx_train": 8192}}
        elif c.flavour == "llama-cpp-python":
            entry |= {"owned_by": "me", "permissions": []}
        elif c.n_ctx:
            entry["max_model_len"] = c.n_ctx  # as vLLM reports it
        return entry

    def _refusal(self, body: dict[str, Any], raw: bytes) -> bytes | None:
        """The deterministic errors real servers give (see ServerConfig)."""
        c = self.config
        if c.error_500:
            return self._json(500, {"error": {"message": c.error_500}})
        fmt = body.get("response_format") or {}
        if c.flavour == "llama-cpp-python" and fmt.get("type") == "json_schema":
            return self._json(500, {"error": {"message": (
                "1 validation error for CreateChatCompletionRequest response_format.type "
                "Input should be 'text' or 'json_object' [type=literal_error]")}})
        prompt = sum(len(json.dumps(m.get("content"))) for m in body["messages"]) // 4
        if c.n_ctx and prompt > c.n_ctx:
            return self._json(400, {"error": {"code": "context_length_exceeded", "message": (
                f"This model's maximum context length is {c.n_ctx} tokens. However, you "
                f"requested {prompt} tokens ({prompt} in the messages, None in the "
                "completion). Please reduce the length of the messages or completion.")}})
        return None

    def _json(self, status: int, payload: Any, extra: dict[str, str] | None = None) -> bytes:
        return _response(status, json.dumps(payload).encode(), extra, self.counts)

    # -- chat completions --------------------------------------------------------------------
    async def _chat(self, raw: bytes) -> bytes | None:
        self.counts["chat"] += 1
        try:
            body = json.loads(raw)
            messages = body["messages"]
        except (ValueError, KeyError, TypeError):
            return self._json(400, {"error": {"message": "the body is not a chat request"}})
        refusal = self._refusal(body, raw)
        if refusal is not None:
            return refusal
        fault = self._draw_fault(raw)
        if fault:
            self.counts[f"fault:{fault}"] += 1
        if fault == "500":
            return self._json(500, {"error": {"message": "injected server error"}})
        if fault == "429":
            return self._too_many("injected rate limit")
        if fault == "hang":
            await asyncio.sleep(self.config.hang_s)
            return None
        if self.config.overload == "reject" and self.in_flight >= self.config.capacity:
            return self._too_many("server at capacity")
        async with self._sem:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                await asyncio.sleep(self._latency(raw))
            finally:
                self.in_flight -= 1
        if fault == "malformed":
            return _response(200, b'{"id": "chatcmpl-broken", "choices": [{"mess', None,
                             self.counts)
        self.counts["completions"] += 1
        return self._json(200, self._completion(body, messages, fault, len(raw)))

    def _too_many(self, message: str) -> bytes:
        return self._json(429, {"error": {"message": message}},
                          {"Retry-After": f"{self.config.retry_after_s:g}"})

    def _latency(self, raw: bytes) -> float:
        jitter = self.config.latency_jitter_s
        if not jitter:
            return self.config.latency_s
        return max(0.0, self.config.latency_s + random.uniform(-jitter, jitter))

    def _draw_fault(self, raw: bytes) -> str | None:
        faults = self.config.faults
        if not faults:
            return None
        digest = hashlib.blake2b(raw, digest_size=12).hexdigest()
        seen = self._seen[digest]
        self._seen[digest] += 1
        cap = self.config.max_faults_per_request
        if cap is not None and self._faulted[digest] >= cap:
            return None
        roll = random.Random(f"{self.config.seed}/{digest}/{seen}").random()
        for kind in FAULTS:
            roll -= faults.get(kind, 0.0)
            if roll < 0:
                self._faulted[digest] += 1
                return kind
        return None

    def _completion(self, body: dict[str, Any], messages: list[Any], fault: str | None,
                    body_len: int) -> dict[str, Any]:
        reply = self.responder(body)
        text: str | None = reply if isinstance(reply, str) else json.dumps(reply)
        finish = "stop"
        schema_kind = ((body.get("response_format") or {}).get("json_schema") or {}) \
            .get("schema", {}).get("type")
        if fault == "invalid_json":
            text = '{"reply": "cut short'
        elif fault == "schema_invalid":
            text = json.dumps({"not": "an array"} if schema_kind == "array" else ["not", "it"])
        elif fault == "length":
            text, finish = (text or "")[: max(1, len(text or "") // 2)], "length"
        elif fault == "content_filter":
            text, finish = None, "content_filter"
        return {"id": f"chatcmpl-{self.counts['completions']}", "object": "chat.completion",
                "created": int(time.time()), "model": body.get("model", self.config.model),
                "choices": [{"index": 0, "finish_reason": finish,
                             "message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": max(1, body_len // 4),
                          "completion_tokens": max(1, len(text or "") // 4),
                          "total_tokens": max(1, body_len // 4) + max(1, len(text or "") // 4)}}


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return method, target, headers


def _response(status: int, payload: bytes, extra: dict[str, str] | None,
              counts: Counter[str]) -> bytes:
    counts[f"status:{status}"] += 1
    head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}",
            "Content-Type: application/json", f"Content-Length: {len(payload)}",
            "Connection: keep-alive"]
    head += [f"{k}: {v}" for k, v in (extra or {}).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload


def load_responder(spec: str) -> Responder:
    """``package.module:function`` -> the function (for ``--responder``)."""
    module, _, name = spec.partition(":")
    try:
        return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]
    except (ImportError, AttributeError) as exc:
        raise SystemExit(f"--responder {spec}: {exc}") from None


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m tests.fake_openai",
                                description="Local OpenAI-compatible server for tests.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0: any free port")
    p.add_argument("--latency", type=float, default=0.2, help="seconds per request")
    p.add_argument("--jitter", type=float, default=0.0, help="+- seconds of latency noise")
    p.add_argument("--capacity", type=int, default=64, help="requests served at once")
    p.add_argument("--overload", choices=["queue", "reject"], default="queue")
    p.add_argument("--fault", action="append", default=[], metavar="KIND=P",
                   help=f"inject a fault with probability P; kinds: {', '.join(FAULTS)}")
    p.add_argument("--max-faults-per-request", type=int, default=None)
    p.add_argument("--retry-after", type=float, default=1.0)
    p.add_argument("--hang", type=float, default=60.0, help="seconds a hang lasts")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", default="narrator-test")
    p.add_argument("--api-key", default=None)
    p.add_argument("--responder", default=None, metavar="MODULE:FUNCTION")
    a = p.parse_args(argv)
    faults = {k: float(v) for k, _, v in (f.partition("=") for f in a.fault)}
    config = ServerConfig(a.latency, a.jitter, a.capacity, a.overload, faults,
                          a.max_faults_per_request, a.retry_after, a.hang, a.seed, a.model,
                          a.api_key)
    server = OpenAITestServer(config, load_responder(a.responder) if a.responder else None,
                              a.host, a.port)

    async def run() -> None:
        task = asyncio.create_task(server.serve())
        while server._server is None:
            await asyncio.sleep(0.005)
        print(f"listening on {server.base_url}", flush=True)
        await task

    from narrator.llm.base import event_loop_factory

    try:
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            runner.run(run())
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
