"""JSON Lines: one record per text (VQA pair or accepted caption) with scene and provenance."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from narrator.store import Store

VQA_SQL = """
SELECT v.qa_id AS id, 'vqa' AS type, v.scene_id, s.file_name AS image, s.image_path,
       s.dataset, s.split, v.task, v.question, v.answer, v.params, v.template_id, v.style
FROM vqa v JOIN scenes s USING (scene_id) ORDER BY v.scene_id, v.task, v.qa_id
"""
CAPTION_SQL = """
SELECT c.caption_id AS id, 'caption' AS type, c.scene_id, s.file_name AS image, s.image_path,
       s.dataset, s.split, c.kind, c.text, c.status, c.generator, c.template_id
FROM captions c JOIN scenes s USING (scene_id) WHERE c.status = 'accepted'
ORDER BY c.scene_id, c.kind
"""


def export_jsonl(store: Store, out: Path, on_rows: Callable[[int], None] | None = None,
                 on_total: Callable[[int], None] | None = None) -> int:
    """Write every VQA pair and accepted caption; returns the number of records."""
    if on_total:
        on_total(store.count("vqa") + store.count("captions", "status = 'accepted'"))
    out.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    tmp = out.with_name(out.name + ".part")
    with tmp.open("w", encoding="utf-8") as fh:
        for sql in (VQA_SQL, CAPTION_SQL):
            for batch in store.iter_batches(sql):
                rows = batch.to_pylist()
                for row in rows:
                    if isinstance(row.get("params"), str):
                        row["params"] = json.loads(row["params"])
                    fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                n += len(rows)
                if on_rows:
                    on_rows(len(rows))
    tmp.replace(out)
    return n
