"""A hostile OpenAI-compatible server for tests: the fake server of tests/fake_openai.py whose
chat replies to a share of requests are attacks instead of completions (issue 22).

Modes (``HostileServer(mode, ...)``), applied to every chat request whose body hashes into
the hostile share (``share``; retries of one body and feedback rounds of one conversation stay hostile), the others
answered normally:

* ``trickle``: a valid completion sent 1 byte per ``trickle_s`` seconds;
* ``huge``: 50 MB of JSON without a Content-Length, until the client hangs up;
* ``deep``: a body of 10,000 nested arrays; ``deep_text``: content of 100,000 nested arrays;
* ``object_content``: ``message.content`` an object; ``null_choice``: ``choices: [null]``;
  ``missing``: ``{}``; ``non_utf8``: a body with bytes that are not UTF-8;
* ``echo``: a completion whose text repeats the request's headers (the API key among them);
  ``echo_error``: HTTP 500 whose message repeats them;
* ``unauthorized``: HTTP 401 to every chat request (whose message repeats the key).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

from tests.fake_openai import OpenAITestServer, ServerConfig, _parse_head, _response

MODES = ("trickle", "huge", "deep", "deep_text", "object_content", "null_choice", "missing",
         "non_utf8", "echo", "echo_error", "unauthorized")
HUGE_BYTES = 50 * 1024 * 1024


class HostileServer(OpenAITestServer):
    def __init__(self, mode: str, responder: Any = None, share: float = 0.5,
                 trickle_s: float = 1.0, config: ServerConfig | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; known: {MODES}")
        super().__init__(config or ServerConfig(latency_s=0.0), responder)
        self.mode, self.share, self.trickle_s = mode, share, trickle_s
        self.hostile = 0

    def _is_hostile(self, body: bytes) -> bool:
        """Hostile by the conversation's opening: a retry of a body, and a feedback round
        after a hostile reply (which may echo random headers), stay hostile."""
        if self.mode == "unauthorized" or self.share >= 1:
            return True
        return hashlib.sha256(_opening(body)).digest()[0] < 256 * self.share

    async def _connection(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                method, target, headers = _parse_head(head)
                length = int(headers.get("content-length") or 0)
                body = await reader.readexactly(length) if length else b""
                self.counts["requests"] += 1
                path = target.split("?")[0]
                if method == "POST" and path == "/v1/chat/completions" \
                        and self._is_hostile(body):
                    self.counts["chat"] += 1
                    self.hostile += 1
                    if not await self._attack(writer, body, headers):
                        break
                    continue
                reply = await self._route(method, path, headers, body)
                if reply is None:
                    break
                writer.write(reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError,
                ValueError):
            pass
        finally:
            writer.close()

    async def _attack(self, writer: asyncio.StreamWriter, body: bytes,
                      headers: dict[str, str]) -> bool:
        """Send this mode's reply; False when the connection is to be closed."""
        mode, echoed = self.mode, json.dumps(headers)
        if mode == "trickle":
            reply = self._json(200, _completion("a" * 20))
            for i in range(len(reply)):
                writer.write(reply[i:i + 1])
                await writer.drain()
                await asyncio.sleep(self.trickle_s)
            return True
        if mode == "huge":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Connection: close\r\n\r\n")
            chunk = b'{"choices": [{"message": {"content": "' + b"x" * 65536
            sent = 0
            while sent < HUGE_BYTES:
                writer.write(chunk)
                await writer.drain()
                sent += len(chunk)
                chunk = b"x" * 65536
            writer.write(b'"}}]}')
            await writer.drain()
            return False
        payload: Any
        status = 200
        if mode == "deep":
            writer.write(_response(200, b"[" * 10_000 + b"]" * 10_000, None, self.counts))
            return True
        if mode == "non_utf8":
            writer.write(_response(200, b'{"choices": [{"message": {"content": "\xff\xfe\xfd"}}]}',
                                   None, self.counts))
            return True
        if mode == "deep_text":
            payload = _completion("[" * 100_000 + "]" * 100_000)
        elif mode == "object_content":
            payload = {"choices": [{"message": {"role": "assistant", "content": {"a": [1]}},
                                    "finish_reason": "stop"}]}
        elif mode == "null_choice":
            payload = {"choices": [None]}
        elif mode == "missing":
            payload = {}
        elif mode == "echo":
            payload = _completion(f"your request headers were {echoed}")
        else:  # echo_error, unauthorized
            status = 500 if mode == "echo_error" else 401
            payload = {"error": {"message": f"bad request with headers {echoed}"}}
        writer.write(self._json(status, payload))
        await writer.drain()
        return True


def _completion(text: str) -> dict[str, Any]:
    return {"id": "chatcmpl-hostile", "object": "chat.completion", "model": "narrator-test",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5}}


def _opening(body: bytes) -> bytes:
    """A chat body's messages before the first assistant turn (the body if it is not JSON)."""
    try:
        messages = json.loads(body)["messages"]
        first = next((i for i, m in enumerate(messages) if m.get("role") == "assistant"),
                     len(messages))
        return json.dumps(messages[:first], sort_keys=True).encode()
    except (ValueError, KeyError, TypeError, AttributeError):
        return body
