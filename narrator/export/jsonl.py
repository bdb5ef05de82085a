"""JSON Lines: one record per text (VQA pair or caption) with scene, task, params and
provenance.

The record layout of earlier versions is kept (``id, type, scene_id, image, image_path,
dataset, split, task, question, answer, params, template_id, style`` for a VQA pair; ``id,
type, scene_id, image, image_path, dataset, split, kind, text, status, generator,
template_id`` for a caption). Added: ``task`` (``caption``) and ``params`` on captions,
``status`` on VQA pairs, and on every record ``source_split`` (the dataset's own split),
``group`` (the scene group its split follows) and ``provenance``. ``split`` is the export's
train/val/test split.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from narrator import __version__
from narrator.export.base import Emitted, ExportFormat, ExportOptions, run_export
from narrator.export.select import Filters
from narrator.store import Store

_COMMON = ("id", "type", "scene_id", "image", "image_path", "dataset", "split", "task")
_VQA = _COMMON + ("question", "answer", "params", "template_id", "style", "status")
_CAPTION = _COMMON + ("kind", "text", "status", "generator", "template_id", "params", "style")


def provenance(row: dict[str, Any]) -> dict[str, Any]:
    return {"template_id": row["template_id"], "template_version": row["template_version"],
            "generator": row["generator"] or "template", "facts_hash": row["facts_hash"],
            "facts_version": row["facts_version"], "narrator_version": __version__}


class JsonlExport(ExportFormat):
    name = "jsonl"
    suffix = ".jsonl"

    def emit(self, row: dict[str, Any]) -> Iterator[Emitted]:
        keys = _VQA if row["type"] == "vqa" else _CAPTION
        record = {k: row[k] for k in keys}
        record.update(source_split=row["source_split"], group=row["group"],
                      provenance=provenance(row))
        yield self.target(row), "jsonl", record


def export_jsonl(store: Store, out: Path, options: ExportOptions | None = None,
                 **hooks: Any) -> int:
    """Write the selected texts as JSON Lines; returns the number of records."""
    options = options or ExportOptions(filters=Filters())
    return run_export(store, JsonlExport, out, options, **hooks).texts
