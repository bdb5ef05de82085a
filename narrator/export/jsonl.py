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
from narrator.export import sqljson as sj
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

    def line_sql(self, text_type: str) -> tuple[str, list[str]]:
        """The record of :meth:`emit` as DuckDB builds it, and the checks of the values its
        schema constrains (``jsonl.json``: non-empty strings, a non-null dataset, params a
        JSON object or null; the keys, types and constants follow from the SQL)."""
        keys = _VQA if text_type == "vqa" else _CAPTION
        value = {k: sj.text(f"t.{k}") for k in keys} | {
            "split": sj.text("sp.split"), "params": "t.params_json"}
        fields = [(k, value[k]) for k in keys] + [
            ("source_split", sj.text("t.source_split")), ("group", sj.text("sp.grp")),
            ("provenance", sj.obj([
                ("template_id", sj.text("t.template_id")),
                ("template_version", sj.integer("t.template_version")),
                ("generator", sj.text("coalesce(nullif(t.generator, ''), 'template')")),
                ("facts_hash", sj.text("t.facts_hash")),
                ("facts_version", sj.integer("t.facts_version")),
                ("narrator_version", sj.text(sj.literal(__version__)))]))]
        required = ("id", "scene_id", "image", "task", "status") + (
            ("question", "answer") if text_type == "vqa" else ("kind", "text"))
        checks = [sj.non_empty(f"t.{k}") for k in required] + [
            "t.dataset IS NOT NULL", sj.params_ok("t.params", "t.params_pretty"),
            "t.type = " + sj.literal(text_type), sj.literal(__version__) + " <> ''"]
        return sj.obj(fields), checks


def export_jsonl(store: Store, out: Path, options: ExportOptions | None = None,
                 **hooks: Any) -> int:
    """Write the selected texts as JSON Lines; returns the number of records."""
    options = options or ExportOptions(filters=Filters())
    return run_export(store, JsonlExport, out, options, **hooks).texts
