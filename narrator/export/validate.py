"""The JSON Schemas of every export, shipped in ``narrator/export/schemas/``, and their
compiled validators.

Every record is checked before it is written. The schemas are JSON Schema draft-07 files;
they are compiled once per export with fastjsonschema (Python code generated from the
schema, about 30x faster than interpreting it with jsonschema, which matters at a million
records); ``jsonschema`` checks the schema files themselves against the draft-07 meta-schema.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

import fastjsonschema
import jsonschema

from narrator.errors import NarratorError

Validator = Callable[[dict[str, Any]], Any]


class ExportError(NarratorError):
    """An export cannot be written (a record that breaks its format's schema, a bad option)."""


def schema_names() -> list[str]:
    folder = resources.files("narrator.export").joinpath("schemas")
    return sorted(p.name.removesuffix(".json") for p in folder.iterdir()
                  if p.name.endswith(".json"))


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The schema ``schemas/<name>.json``, checked against the draft-07 meta-schema."""
    path = resources.files("narrator.export").joinpath("schemas", f"{name}.json")
    try:
        schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ExportError(f"{path}: cannot read the export schema ({exc}); reinstall "
                          "sar-narrator") from None
    jsonschema.Draft7Validator.check_schema(schema)
    return schema


@cache
def compiled(name: str) -> Validator:
    return fastjsonschema.compile(load_schema(name))  # type: ignore[no-any-return]


def check(name: str, record: dict[str, Any]) -> None:
    """Raise ExportError unless ``record`` matches schema ``name``."""
    try:
        compiled(name)(record)
    except fastjsonschema.JsonSchemaValueException as exc:
        rid = record.get("id") or (record.get("meta") or {}).get("id") or "?"
        raise ExportError(f"record {rid} does not match the {name} export schema: "
                          f"{exc.message}; this is a bug in narrator or a hand-edited "
                          "database, please report it") from None


def columns(name: str) -> list[str]:
    """The property names of a flat schema, in file order (the CSV header)."""
    return list(load_schema(name)["properties"])
