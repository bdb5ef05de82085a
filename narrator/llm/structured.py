"""Structured output: the request field that asks for JSON, and checking what came back.

Every call that expects JSON sends the OpenAI ``response_format`` of type ``json_schema``
(vLLM, SGLang, llama.cpp's ``llama-server``, Ollama and OpenAI honour it; vLLM's old
``guided_json`` field is ignored since v0.12), or the form the server was found to take (see
:mod:`narrator.llm.server` and :func:`adapt_body`), and every reply is re-validated here with
jsonschema, because servers differ in how strictly they enforce a schema. The schema sent has
no ``maxLength``: grammar-based backends (llama.cpp) expand a string bound into one nested
optional rule per character and fail to compile it; lengths are enforced here and asked for
in the prompt. :func:`interpret` works on the raw completion,
so it runs again on every cache read: changing how replies are parsed needs no new calls.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jsonschema

from narrator.errors import ConfigError
from narrator.ids import canonical_json
from narrator.llm.guard import clip, json_depth_exceeds

_FENCE = re.compile(r"^\s*```(?:json)?\s*\n?(.*?)\n?\s*```\s*$", re.S)
#: finish reasons that mean the text is not a whole answer
BAD_FINISH = {"length": "the reply was cut at max_tokens (finish_reason=length)",
              "content_filter": "the reply was withheld by a content filter "
                                "(finish_reason=content_filter)"}


def response_format(schema: dict[str, Any], name: str) -> dict[str, Any]:
    """The OpenAI ``response_format`` asking for JSON that matches ``schema``."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name):
        raise ConfigError(f"schema name {name!r} must be 1-64 letters, digits, '_' or '-'")
    return {"type": "json_schema",
            "json_schema": {"name": name, "schema": wire_schema(schema), "strict": True}}


def wire_schema(schema: Any) -> Any:
    """``schema`` as sent to a server: without ``maxLength`` (validated on our side)."""
    if isinstance(schema, dict):
        return {k: wire_schema(v) for k, v in schema.items() if k != "maxLength"}
    if isinstance(schema, list):
        return [wire_schema(v) for v in schema]
    return schema


def adapt_body(body: dict[str, Any], form: str) -> dict[str, Any]:
    """``body`` (with an OpenAI ``json_schema`` response_format) in the server's ``form``:
    ``json_object`` + ``schema`` (llama-cpp-python) or ``prompt`` (the schema in the last
    user message, no response_format)."""
    fmt = body.get("response_format")
    if form == "json_schema" or not fmt or fmt.get("type") != "json_schema":
        return body
    schema = fmt["json_schema"]["schema"]
    if form == "json_object":
        return {**body, "response_format": {"type": "json_object", "schema": schema}}
    from narrator.llm.server import schema_instruction

    messages = [dict(m) for m in body["messages"]]
    last = next(m for m in reversed(messages) if m.get("role") == "user")
    note = schema_instruction(schema)
    if isinstance(last["content"], str):
        last["content"] = last["content"] + note
    else:
        last["content"] = [*last["content"], {"type": "text", "text": note.strip()}]
    return {k: v for k, v in body.items() if k != "response_format"} | {"messages": messages}


@lru_cache(maxsize=256)
def _validator(schema_text: str) -> jsonschema.protocols.Validator:
    schema = json.loads(schema_text)
    cls = jsonschema.validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ConfigError(f"invalid JSON Schema for an LLM reply: {exc.message}") from None
    return cls(schema)


def validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    """A cached validator for ``schema`` (raises ConfigError if the schema itself is bad)."""
    return _validator(canonical_json(schema))


def parse_json_reply(text: str, schema: dict[str, Any]) -> tuple[Any, str | None]:
    """``(value, None)`` when ``text`` is JSON valid under ``schema``, else ``(None, error)``.

    A reply wrapped in a Markdown code fence is accepted (some servers add one), and so are
    raw control characters inside strings (measured: 2 of 6 SmolLM2 replies via
    llama-cpp-python's grammar had a literal newline in a string).
    """
    fenced = _FENCE.match(text)
    body = fenced.group(1) if fenced else text
    if json_depth_exceeds(body.encode("utf-8", "replace"), MAX_REPLY_DEPTH):
        return None, f"JSON nested deeper than {MAX_REPLY_DEPTH} levels"
    try:  # strict=False: a raw newline or tab inside a string is fine (llama.cpp's JSON
        value = json.loads(body, strict=False)  # grammar lets the model write them)
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    except RecursionError:
        return None, "JSON nested too deeply to parse"
    error = jsonschema.exceptions.best_match(validator(schema).iter_errors(value))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        return None, f"does not match the schema at {where}: {error.message}"
    return value, None


@dataclass(frozen=True)
class Outcome:
    """What a raw completion means: usable or not, and whether feedback may fix it."""

    ok: bool
    text: str | None
    parsed: Any
    error: str | None
    finish_reason: str | None
    fixable: bool = False  # a JSON or schema error: worth one more round with the error


def completion_parts(raw: dict[str, Any]) -> tuple[str | None, str | None, int, int]:
    """``(text, finish_reason, prompt_tokens, completion_tokens)`` of an OpenAI completion."""
    choice = (raw.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    usage = raw.get("usage") or {}
    return (message.get("content"), choice.get("finish_reason"),
            int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))


def interpret(raw: dict[str, Any], schema: dict[str, Any] | None) -> Outcome:
    """Judge a raw completion: finish reason first, then JSON and schema if one was asked."""
    text, finish, _, _ = completion_parts(raw)
    if finish in BAD_FINISH:
        return Outcome(False, text, None, BAD_FINISH[finish], finish)
    if text is None:
        refusal = ((raw.get("choices") or [{}])[0].get("message") or {}).get("refusal")
        reason = f"the model refused: {refusal}" if refusal else "the reply has no text"
        return Outcome(False, None, None, reason, finish)
    if schema is None:
        return Outcome(True, text, None, None, finish)
    parsed, error = parse_json_reply(text, schema)
    if error is not None:
        return Outcome(False, text, None, f"the reply is {error}", finish, fixable=True)
    return Outcome(True, text, parsed, None, finish)


#: the deepest JSON nesting a reply's text may have (captions and answers need a few levels)
MAX_REPLY_DEPTH = 32

#: the most characters of a rejected reply sent back in a feedback round
FEEDBACK_CHARS = 4000


def feedback_messages(reply_text: str, error: str) -> list[dict[str, Any]]:
    """The two messages appended to a conversation to ask for a corrected reply."""
    return [  # clipped: a long or garbage reply is never sent back whole
        {"role": "assistant", "content": clip(reply_text, FEEDBACK_CHARS)},
        {"role": "user", "content": (
            f"Your previous reply was rejected: {clip(error, 500)}. Reply again with only a JSON value "
            "that matches the required schema, with no other text.")},
    ]
