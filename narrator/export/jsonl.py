"""JSON Lines: one record per text (VQA pair or caption) with scene, task, params and
provenance.

Every record has the same keys (``KEYS`` plus ``provenance``), so that HF ``datasets``
loads any mix of VQA pairs and captions: a caption's ``question`` is the instruction for its
kind and its ``answer`` the caption; ``params`` is JSON text (its keys differ per task);
``image`` is the path a trainer opens (absolute, or the 8-bit preview with ``--images png``)
and ``source_image`` the stored one. ``split`` is the export's train/val/test split,
``source_split`` the dataset's own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from narrator import __version__
from narrator.export.base import Emitted, ExportFormat, ExportOptions, run_export
from narrator.queries.export import Filters, prompt_and_answer
from narrator.queries.sqljson import jsonl_line
from narrator.export.validate import ExportError
from narrator.store import Store

#: every record has these keys, in this order (one schema for VQA pairs and captions, so
#: that ``datasets.load_dataset("json", ...)`` reads any mix of them)
KEYS = ("id", "type", "scene_id", "image", "source_image", "dataset", "split", "source_split",
        "group", "task", "kind", "style", "question", "answer", "status", "generator",
        "template_id", "params")


def provenance(row: dict[str, Any]) -> dict[str, Any]:
    return {"template_id": row["template_id"], "template_version": row["template_version"],
            "generator": row["generator"] or "template", "facts_hash": row["facts_hash"],
            "facts_version": row["facts_version"], "narrator_version": __version__}


def params_text(params: Any) -> str | None:
    """``params`` as JSON text: its keys differ between tasks, so it is one string column."""
    return None if params is None else json.dumps(params, ensure_ascii=False)


class JsonlExport(ExportFormat):
    name = "jsonl"
    suffix = ".jsonl"

    def emit(self, row: dict[str, Any]) -> Iterator[Emitted]:
        if row["params"] is not None and not isinstance(row["params"], dict):
            raise ExportError(f"record {row['id']}: its params are not a JSON object; this "
                              "is a hand-edited or damaged database, regenerate it")
        question, answer = prompt_and_answer(row)
        value = row | {"image": self.image(row), "source_image": row["image_path"] or
                       row["image"], "question": question, "answer": answer,
                       "params": params_text(row["params"])}
        record = {k: value[k] for k in KEYS}
        record["provenance"] = provenance(row)
        yield self.target(row), "jsonl", record

    def line_sql(self, text_type: str) -> tuple[str, list[str]] | None:
        """The record of :meth:`emit` as DuckDB builds it (VQA pairs, and captions with their
        prompts joined in), and the checks of the values its schema constrains (non-empty
        strings, a non-null dataset, params JSON text of an object or null)."""
        return jsonl_line(KEYS, text_type, __version__)


def export_jsonl(store: Store, out: Path, options: ExportOptions | None = None,
                 **hooks: Any) -> int:
    """Write the selected texts as JSON Lines; returns the number of records."""
    options = options or ExportOptions(filters=Filters())
    return run_export(store, JsonlExport, out, options, **hooks).texts
