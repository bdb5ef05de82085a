"""Exports of the texts in a narrator DuckDB file to the formats VLM trainers read.

Formats: ``jsonl``, ``llava``, ``sharegpt``, ``sarlang``, ``sarchat``, ``parquet``,
``vrsbench``, ``fusar``. Every
record written matches the format's JSON Schema (``narrator/export/schemas/``): validated
record by record, or, for the JSON Lines that DuckDB writes (:mod:`narrator.export.sqljson`),
valid by construction with the data-dependent constraints checked in SQL. Texts are
streamed in batches, so memory stays flat with the export's size.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from narrator.export.base import ExportFormat, ExportOptions, ExportResult
    from narrator.store import Store

#: the names this package exports, loaded on first use (PEP 562): ``narrator.queries.export``
#: reads ``narrator.export.splits`` and ``narrator.export.base`` reads it, so importing a
#: submodule must not import every format (that cycle broke ``import narrator.eval``)
_LAZY = {"ExportFormat": "base", "ExportOptions": "base", "ExportResult": "base",
         "run_export": "base", "export_jsonl": "jsonl", "SplitConfig": "splits",
         "assign_splits": "splits", "ExportError": "validate"}


@cache
def formats() -> dict[str, type[ExportFormat]]:
    """The export formats by name."""
    from narrator.export.chat import LlavaExport, ShareGptExport
    from narrator.export.fusar import FusarExport
    from narrator.export.jsonl import JsonlExport
    from narrator.export.parquet import ParquetExport
    from narrator.export.sarchat import SarchatExport
    from narrator.export.sarlang import SarlangExport
    from narrator.export.vrsbench import VrsbenchExport
    return {f.name: f for f in (JsonlExport, LlavaExport, ShareGptExport, SarlangExport,
                                SarchatExport, ParquetExport, VrsbenchExport, FusarExport)}


def __getattr__(name: str) -> Any:
    if name == "FORMATS":
        return formats()
    if name == "Filters":
        return importlib.import_module("narrator.queries.export").Filters
    if name in _LAZY:
        return getattr(importlib.import_module(f"narrator.export.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'narrator.export' has no attribute {name!r}")


def export(store: Store, fmt: str, out: Path, options: ExportOptions | None = None,
           on_total: Callable[[int], None] | None = None,
           on_rows: Callable[[int], None] | None = None) -> ExportResult:
    """Write the texts of ``store`` selected by ``options`` as format ``fmt`` to ``out``."""
    from narrator.export.base import ExportOptions, run_export
    from narrator.export.validate import ExportError

    if fmt not in formats():
        raise ExportError(f"unknown export format {fmt!r}; choose from {', '.join(formats())}")
    return run_export(store, formats()[fmt], out, options or ExportOptions(), on_total, on_rows)


__all__ = ["FORMATS", "ExportError", "ExportOptions", "ExportResult", "Filters",
           "SplitConfig", "assign_splits", "export", "export_jsonl"]
