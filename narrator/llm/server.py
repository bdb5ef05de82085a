"""What an OpenAI-compatible server can do, found by asking it once (not assumed).

:func:`probe` runs lazily, before the first request that is actually sent (a rerun answered
from the cache sends nothing, not even this), and reads what the server exposes:

* ``GET {base}/models``: the served model names (``llm-check`` and generate stop when the
  model is not among them), vLLM's ``max_model_len``, llama.cpp's ``meta.n_ctx``, and
  llama-cpp-python's signature (``owned_by: "me"``, a ``permissions`` list);
* ``GET {root}/props`` (llama.cpp's C++ ``llama-server``): ``total_slots`` and the per-slot
  context ``default_generation_settings.n_ctx``.

From that: the structured-output form (``json_schema``; ``json_object`` with a ``schema``
for llama-cpp-python, whose server answers HTTP 500 to ``json_schema``; or ``prompt``: the
schema in the prompt, our own validation and repair), the context that prompt + max_tokens
must fit, and the slots that size the window of requests in flight. A form the server then
rejects is downgraded on the first reply (see ``OpenAIBackend``). Settings override each.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

log = logging.getLogger(__name__)

Form = Literal["json_schema", "json_object", "prompt"]
FORMS: tuple[Form, ...] = ("json_schema", "json_object", "prompt")
#: a server error that says the context is too small, with the context size when it gives one
CONTEXT_ERROR = re.compile(
    r"maximum context length is (?P<a>\d+)|context window of (?P<b>\d+)|max context size "
    r"\((?P<c>\d+) tokens\)|available context size \((?P<d>\d+) tokens\)|context size has "
    r"been exceeded|context_length_exceeded|exceed_context_size", re.I)
#: a server error that the same request would get again (never retried)
DETERMINISTIC = re.compile(
    r"context (size|length|window)|exceed|grammar|json.?schema|json_object|response.?format|"
    r"not supported|unsupported|literal_error|validation error|invalid (request|input|value)",
    re.I)
#: an error about the structured-output request itself (try the next form)
FORM_ERROR = re.compile(r"json.?schema|json_object|response.?format|grammar|literal_error",
                        re.I)


@dataclass
class ServerInfo:
    """What narrator found out about the endpoint (recorded in the run's LLM summary)."""

    kind: str = "openai-compatible"
    models: list[str] | None = None
    context: int | None = None      # tokens one request may use (prompt + reply)
    slots: int | None = None        # requests the server works on at once
    structured: Form = "json_schema"
    probed: list[str] = field(default_factory=list)  # the endpoints that answered

    def summary(self) -> dict[str, Any]:
        out = asdict(self)
        if self.models is not None and len(self.models) > 10:
            out["models"] = [*self.models[:10], f"... {len(self.models) - 10} more"]
        return out


def context_from_error(message: str) -> tuple[bool, int | None]:
    """``(is a context error, the context size it names or None)``."""
    match = CONTEXT_ERROR.search(message or "")
    if match is None:
        return False, None
    number = next((v for v in match.groupdict().values() if v), None)
    return True, int(number) if number else None


def prompt_size_from_error(message: str) -> int | None:
    """The prompt's token count a context error names (llama.cpp, llama-cpp-python, vLLM)."""
    match = re.search(r"requested (\d+) tokens|(?:request|input) \((\d+) tokens\)|"
                      r"(\d+) tokens? in the messages|prompt \(length (\d+)\)", message or "")
    return int(next(g for g in match.groups() if g)) if match else None


def read_models(payload: Any, info: ServerInfo, model: str) -> None:
    """Fill ``info`` from a ``/models`` answer."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list):
        return
    entries = [d for d in data if isinstance(d, dict) and isinstance(d.get("id"), str)]
    info.models = [d["id"] for d in entries]
    entry = next((d for d in entries if d["id"] == model), entries[0] if entries else {})
    meta = entry.get("meta") if isinstance(entry.get("meta"), dict) else {}
    if entry.get("owned_by") == "llamacpp":
        info.kind = "llama.cpp"
        info.context = _int(meta.get("n_ctx")) or info.context
    elif entry.get("max_model_len") is not None:
        info.kind = "vllm"
        info.context = _int(entry.get("max_model_len")) or info.context
    elif entry.get("owned_by") == "me" and "permissions" in entry:
        # llama-cpp-python's server: one request at a time, json_object + schema only
        info.kind, info.slots, info.structured = "llama-cpp-python", 1, "json_object"
    aliases = [a for d in entries for a in d.get("aliases") or [] if isinstance(a, str)]
    info.models += [a for a in aliases if a not in info.models]


def read_props(payload: Any, info: ServerInfo) -> None:
    """Fill ``info`` from llama.cpp's ``/props``."""
    if not isinstance(payload, dict) or "total_slots" not in payload:
        return
    info.kind = "llama.cpp"
    info.slots = _int(payload.get("total_slots")) or info.slots
    settings = payload.get("default_generation_settings") or {}
    info.context = _int(settings.get("n_ctx")) or info.context
    alias = payload.get("model_alias")
    if isinstance(alias, str) and info.models is not None and alias not in info.models:
        info.models.append(alias)


def model_known(model: str, models: list[str] | None) -> bool:
    """Whether ``model`` is served (unknown lists count as yes; Ollama's ``:latest`` too)."""
    if models is None:
        return True
    return model in models or f"{model}:latest" in models


def apply_settings(info: ServerInfo, structured: str, context: int | None,
                   slots: int | None) -> ServerInfo:
    if structured != "auto":
        info.structured = structured  # type: ignore[assignment]
    if context:
        info.context = context
    if slots:
        info.slots = slots
    return info


def _int(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def estimate_tokens(messages: list[dict[str, Any]]) -> int:
    """A cautious token count of chat messages without the model's tokenizer.

    2.5 characters per token, plus the chat template's few tokens per message: SmolLM2's
    tokenizer counts 2.7 characters per token on an HCoT prompt (JSON facts, digits) and
    about 4 on English prose, so this overestimates, as a check against a context should.
    """
    chars = 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            chars += len(content)
        elif isinstance(content, list):
            chars += sum(len(p.get("text", "")) for p in content if isinstance(p, dict))
            chars += 4 * 765 * sum(1 for p in content  # an image: ~765 tokens (OpenAI, 512 px)
                                   if isinstance(p, dict) and p.get("type") == "image_url")
    return chars * 2 // 5 + 8 * len(messages) + 8


def schema_instruction(schema: dict[str, Any]) -> str:
    return ("\n\nReply with only a JSON object, no other text, that matches this JSON Schema:\n"
            + json.dumps(schema, separators=(",", ":")))
