"""Parquet: one flat row per text, loadable with ``datasets.load_dataset("parquet", ...)``
(or pandas/pyarrow/DuckDB).

Columns: the text row (``id, type, scene_id, image, image_path, dataset, split,
source_split, group, task, kind, style, question, answer, text, status, generator,
template_id, template_version, facts_hash, facts_version``), ``params`` as a JSON string
(its keys differ between tasks), and ``messages`` + ``images`` in the sharegpt layout, so
that LLaMA-Factory and ms-swift can train from the same file. A folder ``--out`` gets
``train.parquet``, ``val.parquet``, ``test.parquet``, which ``load_dataset("parquet",
data_dir=OUT)`` reads as the train, validation and test splits.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from narrator.export.base import Emitted, ExportFormat
from narrator.export.chat import sharegpt_record


_STRINGS = ("id", "type", "scene_id", "image", "image_path", "dataset", "split",
            "source_split", "group", "task", "kind", "style", "question", "answer", "text",
            "status", "generator", "template_id")
_MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
SCHEMA = pa.schema(
    [(name, pa.string()) for name in _STRINGS]
    + [("template_version", pa.int32()), ("facts_hash", pa.string()),
       ("facts_version", pa.int32()), ("params", pa.string()),
       ("messages", pa.list_(_MESSAGE)), ("images", pa.list_(pa.string()))]
)


class ParquetExport(ExportFormat):
    name = "parquet"
    suffix = ".parquet"
    arrow_schema = SCHEMA

    def emit(self, row: dict[str, Any]) -> Iterator[Emitted]:
        image = self.image(row)
        chat = sharegpt_record(row, image)
        record = {name: row[name] for name in _STRINGS}
        record.update(template_version=row["template_version"], facts_hash=row["facts_hash"],
                      facts_version=row["facts_version"],
                      params=json.dumps(row["params"], sort_keys=True, ensure_ascii=False),
                      messages=chat["messages"], images=chat["images"])
        yield self.target(row), "parquet", record
