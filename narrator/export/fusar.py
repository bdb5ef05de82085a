"""FUSAR-GEOVL-1M-shaped captions: one flat object per image, ``image_id`` plus Terrain,
Functionality, Distribution, Layout, Boundary, Buildings, Roads, Water, each a sentence with
a fixed lead-in, from the ``fusar_fields`` captions (the eight fields of the H-CoT LLM
captioner, :mod:`narrator.caption.hcot`). Other texts are not written.

Lead-ins: "The terrain is classified as ...", "Spatial layout: ..." and "Water presence:
..." are FUSAR-GEOVL-1M's (from its published caption file); the other five are narrator's,
in the same manner. A field the model left empty or answered "none" is written as "not
observed" after its lead-in (FUSAR never writes "none"). Files: ``OUT/FUSAR_<split>.json``
(a JSON array).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from narrator.caption.schemas import FUSAR_FIELDS
from narrator.export.base import Emitted, ExportFormat
from narrator.export.validate import ExportError

LEAD_INS = {"terrain": "The terrain is classified as", "functionality": "Functional zone:",
            "distribution": "Object distribution:", "layout": "Spatial layout:",
            "boundary": "Boundary features:", "buildings": "Building presence:",
            "roads": "Road presence:", "water": "Water presence:"}
_NONE = {"", "none", "n/a", "null", "no", "unknown"}


def field_sentence(name: str, value: str) -> str:
    """One FUSAR field: its lead-in and the value, as a sentence."""
    lead, value = LEAD_INS[name], " ".join(str(value).split()).rstrip(".")
    if value.lower().startswith(lead.lower()):
        value = value[len(lead):].strip()
    if value.lower() in _NONE:
        value = "not observed"
    return f"{lead} {value}."


class FusarExport(ExportFormat):
    name = "fusar"
    directory = True
    empty_hint = ("the fusar export writes the fusar_fields captions of the LLM captioner "
                  "(narrator generate with an LLM); the selection has none")

    def keeps(self, row: dict[str, Any]) -> bool:
        return row["type"] == "caption" and row["kind"] == "fusar_fields"

    def emit(self, row: dict[str, Any]) -> Iterator[Emitted]:
        if not self.keeps(row):
            return
        try:
            fields = json.loads(row["text"])
        except ValueError:
            fields = None
        if not isinstance(fields, dict):
            raise ExportError(f"record {row['id']}: its fusar_fields caption is not a JSON "
                              "object; regenerate the captions")
        record = {"image_id": Path(row["image"]).stem} | {
            name.capitalize(): field_sentence(name, fields.get(name, ""))
            for name in FUSAR_FIELDS}
        yield self.out / f"FUSAR_{row['split']}.json", "fusar", record
