"""Defences against a hostile or broken LLM server: bounded replies and no leaked secrets.

* :func:`read_capped`: a reply body read in chunks, at most ``max_bytes``, with an idle
  timeout between chunks (the whole read is bounded by the caller's total timeout);
* :func:`json_depth_exceeds`: the nesting depth of a JSON text, found by a scan of its
  brackets (outside strings) before ``json.loads`` can recurse into it;
* :func:`completion_problem`: why a parsed body is not a usable chat completion (choices
  ``[null]``, content that is an object, usage of the wrong type...), or None;
* :func:`strip_credentials` and :func:`redact`: URLs without ``user:password@`` and texts
  without the API key or the base URL's password, for every message that is logged, stored
  or printed;
* :func:`clip`: a bounded excerpt of a long text (what feedback rounds send back).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REDACTED = "[redacted]"
_BRACKETS = re.compile(rb'["\\\[\]{}]')
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]*@")


class ReplyTooLarge(Exception):
    """The server sent more than the configured cap."""


async def read_capped(response: Any, max_bytes: int, idle_s: float) -> bytes:
    """The body of a streamed ``response``, at most ``max_bytes`` (else
    :class:`ReplyTooLarge`), with ``TimeoutError`` when no byte comes for ``idle_s``."""
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise ReplyTooLarge(f"the reply declares {int(declared):,} bytes, more than the "
                            f"limit of {max_bytes:,} (NARRATOR_LLM_MAX_REPLY_BYTES)")
    chunks, size = [], 0
    stream = response.aiter_bytes().__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(stream.__anext__(), idle_s)
        except StopAsyncIteration:
            break
        except TimeoutError:
            raise TimeoutError(f"no reply within {idle_s:g}s of silence in the middle of a "
                               "reply (NARRATOR_LLM_IDLE_TIMEOUT_S)") from None
        size += len(chunk)
        if size > max_bytes:
            raise ReplyTooLarge(f"the reply is larger than the limit of {max_bytes:,} bytes "
                                "(NARRATOR_LLM_MAX_REPLY_BYTES); not read further")
        chunks.append(chunk)
    return b"".join(chunks)


def json_depth_exceeds(data: bytes, max_depth: int) -> bool:
    """True when ``data`` (JSON text) nests arrays/objects deeper than ``max_depth``."""
    depth, in_string, skip_at = 0, False, -1
    for match in _BRACKETS.finditer(data):
        char, at = match.group(), match.start()
        if at == skip_at:  # the byte after a backslash in a string
            continue
        if in_string:
            if char == b"\\":
                skip_at = at + 1
            elif char == b'"':
                in_string = False
        elif char == b'"':
            in_string = True
        elif char in (b"[", b"{"):
            depth += 1
            if depth > max_depth:
                return True
        elif char in (b"]", b"}"):
            depth -= 1
    return False


def completion_problem(raw: Any) -> str | None:
    """Why ``raw`` is not a usable chat completion, or None when its shape is sound."""
    if not isinstance(raw, dict):
        return f"the reply is a JSON {type(raw).__name__}, not a chat completion object"
    choices = raw.get("choices")
    if not isinstance(choices, list) or not choices:
        return "the reply has no choices list"
    choice = choices[0]
    if not isinstance(choice, dict):
        return f"the reply's first choice is {_kind(choice)}, not an object"
    message = choice.get("message")
    if not isinstance(message, dict):
        return f"the reply's message is {_kind(message)}, not an object"
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        return f"the reply's content is {_kind(content)}, not a string"
    for field in ("finish_reason", "refusal"):
        value = choice.get(field) if field == "finish_reason" else message.get(field)
        if value is not None and not isinstance(value, str):
            return f"the reply's {field} is {_kind(value)}, not a string"
    usage = raw.get("usage")
    if usage is not None and not isinstance(usage, dict):
        return f"the reply's usage is {_kind(usage)}, not an object"
    for field in ("prompt_tokens", "completion_tokens"):
        value = (usage or {}).get(field)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or not 0 <= value < 2**31):
            return f"the reply's usage.{field} is not a token count"
    return None


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def lone_surrogate(data: bytes, raw: Any) -> str | None:
    """Why ``raw`` (parsed from ``data``) cannot be stored: a lone UTF-16 surrogate in it."""
    if not _SURROGATE_ESCAPE.search(data):  # the common case: no escaped surrogate at all
        return None
    try:
        json.dumps(raw, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return "the reply contains a lone UTF-16 surrogate (not valid Unicode)"
    return None


def _kind(value: Any) -> str:
    return "null" if value is None else f"a JSON {type(value).__name__}"


def strip_credentials(text: str | None) -> str:
    """``text`` with the ``user:password@`` part of every URL in it removed."""
    if not text:
        return text or ""
    return _URL_CREDENTIALS.sub(r"\1", text)


def secrets() -> list[str]:
    """The secrets narrator must never write: the API key and the base URL's credentials."""
    found = [os.environ.get("OPENAI_API_KEY") or ""]
    for url in (os.environ.get("OPENAI_BASE_URL"), os.environ.get("NARRATOR_LLM_BASE_URL")):
        try:
            parts = urlsplit(url or "")
        except ValueError:
            continue
        found.append(parts.password or "")  # the user name is not a secret
    return sorted({s for s in found if len(s) >= 4}, key=len, reverse=True)


def redact(text: str | None) -> str:
    """``text`` without URL credentials, the API key or the base URL's password."""
    text = strip_credentials(text)
    for secret in secrets():
        text = text.replace(secret, REDACTED)
    return text


def redact_bytes(data: bytes) -> bytes:
    """A raw reply body with every secret replaced (a server may echo the key back)."""
    for secret in secrets():
        data = data.replace(secret.encode("utf-8", "replace"), REDACTED.encode())
    return data


def public_url(url: str | None) -> str | None:
    """``url`` without ``user:password@`` (what may be logged or stored)."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return strip_credentials(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def clip(text: str | None, limit: int = 4000) -> str:
    """At most ``limit`` characters of ``text`` (the rest counted, not repeated)."""
    text = text or ""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit:,} more characters not repeated]"
