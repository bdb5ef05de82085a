"""Exports of the texts in a narrator DuckDB file to the formats VLM trainers read.

Formats: ``jsonl``, ``llava``, ``sharegpt``, ``sarlang``, ``sarchat``, ``parquet``,
``vrsbench``, ``fusar``. Every
record written matches the format's JSON Schema (``narrator/export/schemas/``): validated
record by record, or, for the JSON Lines that DuckDB writes (:mod:`narrator.export.sqljson`),
valid by construction with the data-dependent constraints checked in SQL. Texts are
streamed in batches, so memory stays flat with the export's size.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from narrator.export.base import ExportFormat, ExportOptions, ExportResult, run_export
from narrator.export.chat import LlavaExport, ShareGptExport
from narrator.export.jsonl import JsonlExport, export_jsonl
from narrator.export.parquet import ParquetExport
from narrator.export.sarchat import SarchatExport
from narrator.export.fusar import FusarExport
from narrator.export.sarlang import SarlangExport
from narrator.export.vrsbench import VrsbenchExport
from narrator.queries.export import Filters
from narrator.export.splits import SplitConfig, assign_splits
from narrator.export.validate import ExportError
from narrator.store import Store

FORMATS: dict[str, type[ExportFormat]] = {
    f.name: f for f in (JsonlExport, LlavaExport, ShareGptExport, SarlangExport,
                        SarchatExport, ParquetExport, VrsbenchExport, FusarExport)
}


def export(store: Store, fmt: str, out: Path, options: ExportOptions | None = None,
           on_total: Callable[[int], None] | None = None,
           on_rows: Callable[[int], None] | None = None) -> ExportResult:
    """Write the texts of ``store`` selected by ``options`` as format ``fmt`` to ``out``."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose from {', '.join(FORMATS)}")
    return run_export(store, FORMATS[fmt], out, options or ExportOptions(), on_total, on_rows)


__all__ = ["FORMATS", "ExportError", "ExportOptions", "ExportResult", "Filters",
           "SplitConfig", "assign_splits", "export", "export_jsonl"]
