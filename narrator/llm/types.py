"""What crosses the LLM layer's boundary: a request, a backend's reply, a call's result.

A *call* is one logical request (one prompt, one sample); it may take several HTTP attempts
(transport retries) and several rounds (a reply that fails validation is sent back with the
error). Its identity, the cache key, hashes the model, the messages, the schema, the sampling
parameters and the sample index, nothing else.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from narrator.ids import make_id

#: succeeded: a usable reply. failed: the model replied, but unusably (invalid after the
#: feedback rounds, cut by max_tokens, filtered); final, a rerun does not resend it.
#: error: no usable reply from the server within the retry budget (5xx, 429, timeouts,
#: connection, other HTTP errors); recorded with its reason, and a rerun sends it again.
Status = Literal["succeeded", "failed", "error"]
FINAL_STATUSES: frozenset[str] = frozenset({"succeeded", "failed"})

_DATA_URL = re.compile(r"^data:(?P<mime>[\w/+.-]+);base64,")


@dataclass(frozen=True)
class LLMRequest:
    """One call: chat messages, an optional JSON Schema for the reply, sampling parameters.

    ``params`` holds OpenAI chat parameters (temperature, top_p, max_tokens, seed, ...). With a
    ``seed``, sample ``i`` is sent with ``seed + i`` so that samples differ but reproduce.
    ``prompt_id``/``prompt_hash`` are recorded with the call; ``tag`` is the caller's own data
    (a scene id, say) and is neither hashed nor sent.
    """

    messages: list[dict[str, Any]]
    schema: dict[str, Any] | None = None
    schema_name: str = "reply"
    params: dict[str, Any] = field(default_factory=dict)
    sample_index: int = 0
    prompt_id: str = ""
    prompt_hash: str = ""
    tag: Any = None

    def key(self, model: str) -> str:
        """The cache key: 32 hex digits (128 bits)."""
        return make_id("llm-call/1", model, redact_images(self.messages), self.schema,
                       self.schema_name if self.schema else None, self.params,
                       self.sample_index, length=32)


@dataclass
class Reply:
    """What a backend returns for one request body: an OpenAI-shaped completion or an error.

    ``error_kind``: None (a completion came back), ``transient`` (gave up retrying: a rerun
    may succeed) or ``rejected`` (the server refused this request for good, e.g. HTTP 400).
    """

    raw: dict[str, Any] | None
    http_attempts: int = 1
    error: str | None = None
    error_kind: Literal["transient", "rejected"] | None = None
    latency_s: float = 0.0


#: what the OpenAI backend's last error says when the server was not reached or did not reply
UNREACHABLE_SIGNS = ("connection error", "no reply within")


@dataclass
class LLMResult:
    """The outcome of one call, fresh or from the cache."""

    key: str
    status: Status
    text: str | None = None
    parsed: Any = None
    error: str | None = None
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    http_attempts: int = 0
    rounds: int = 0
    cached: bool = False
    request: LLMRequest | None = None
    #: why there is no reply (status "error"): ``transient`` (unreachable, timed out: a
    #: rerun may succeed) or ``rejected``; see :class:`Reply`
    error_kind: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    @property
    def unreachable(self) -> bool:
        """No reply because the server could not be reached or did not answer in time (the
        last of the retries: a connection error or a timeout, not an HTTP error)."""
        return self.status == "error" and self.error_kind == "transient" and any(
            sign in (self.error or "") for sign in UNREACHABLE_SIGNS)


@lru_cache(maxsize=4096)
def _image_ref(url: str) -> str:
    match = _DATA_URL.match(url)
    if not match:
        return url
    digest = hashlib.blake2b(url.encode("ascii", "replace"), digest_size=16).hexdigest()
    return f"data:{match['mime']};blake2b={digest};chars={len(url)}"


def redact_images(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``messages`` with every base64 data URL replaced by a short content hash.

    Keys and stored requests use this form: the hash still changes with the image, and the
    database does not hold a copy of the picture per call.
    """
    out = []
    for message in messages:
        content = message.get("content")
        if not isinstance(content, list):
            out.append(message)
            continue
        parts = []
        for part in content:
            url = part.get("image_url", {}).get("url") if isinstance(part, dict) else None
            if isinstance(url, str) and url.startswith("data:"):
                part = {**part, "image_url": {**part["image_url"], "url": _image_ref(url)}}
            parts.append(part)
        out.append({**message, "content": parts})
    return out
