"""JSON Schemas of the caption prompts' replies (each beside the prompt that asks for it).

They are strict-mode compatible (every property required, no additional properties), so an
OpenAI-compatible server can enforce them with ``response_format`` of type ``json_schema``;
every reply is validated again on our side.
"""

from __future__ import annotations

from typing import Any

FUSAR_FIELDS = ("terrain", "functionality", "distribution", "layout", "boundary", "buildings",
                "roads", "water")


def _strings(names: tuple[str, ...], max_length: int) -> dict[str, Any]:
    return {n: {"type": "string", "minLength": 1, "maxLength": max_length} for n in names}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties),
            "additionalProperties": False}


CAPTION_PAIR = _object({
    "concise": {"type": "string", "minLength": 10, "maxLength": 400},
    "detailed": {"type": "string", "minLength": 20, "maxLength": 2000},
})

TARGET = _object({
    "count": {"type": "integer", "minimum": 0},
    **_strings(("location", "size", "category", "distribution"), 300),
})

HCOT = _object({
    **_strings(("l1_imaging", "l2_land_use", "l3_scattering", "l4_instances",
                "l5_calibration"), 1500),
    **CAPTION_PAIR["properties"],
    "fields": _object(_strings(FUSAR_FIELDS, 600)),
    "target": {"anyOf": [{"type": "null"}, TARGET]},
})
