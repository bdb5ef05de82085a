"""SARLANG-1M-style folder: caption and VQA files per split, each as CSV and as JSON.

Layout (after SARLANG-1M's ``Text/`` folder; the column names are narrator's)::

    OUT/Text/caption/Caption-training.csv|json   train captions, concise and complex mixed
    OUT/Text/caption/Caption_<split>.csv|json    val/test complex captions
    OUT/Text/caption/Caption_<split>1.csv|json   val/test concise captions
    OUT/Text/VQA/SARVQA_<split>.csv|json         VQA pairs (column ``task`` = question type)
    OUT/Text/dataset_info.json                   LLaMA-Factory entries for the JSON files

A caption of kind ``concise`` is SARLANG's concise caption; every other kind (``detailed``,
LLM captions) is its complex caption. The JSON files are LLaMA-Factory sharegpt arrays
(``messages`` + ``images``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from narrator.export.base import Emitted, ExportFormat, llama_factory_info
from narrator.export.chat import sharegpt_record

from narrator.export.writers import SinkSet


def caption_style(kind: str | None) -> str:
    return "concise" if kind == "concise" else "complex"


class SarlangExport(ExportFormat):
    name = "sarlang"
    directory = True

    def stem(self, row: dict[str, Any]) -> Path:
        split = row["split"]
        if row["type"] == "vqa":
            return self.out / "Text" / "VQA" / f"SARVQA_{split}"
        if split == "train":
            return self.out / "Text" / "caption" / "Caption-training"
        suffix = "1" if caption_style(row["kind"]) == "concise" else ""
        return self.out / "Text" / "caption" / f"Caption_{split}{suffix}"

    def emit(self, row: dict[str, Any]) -> Iterator[Emitted]:
        stem, image = self.stem(row), self.image(row)
        if row["type"] == "vqa":
            flat = {"image": image, "question": row["question"], "answer": row["answer"],
                    "task": row["task"], "id": row["id"], "scene_id": row["scene_id"]}
            yield stem.with_suffix(".csv"), "sarlang_vqa", flat
        else:
            flat = {"image": image, "caption": row["text"], "type": caption_style(row["kind"]),
                    "id": row["id"], "scene_id": row["scene_id"]}
            yield stem.with_suffix(".csv"), "sarlang_caption", flat
        yield stem.with_suffix(".json"), "sharegpt", sharegpt_record(row, image)

    def finish(self, sinks: SinkSet) -> None:
        text = self.out / "Text"
        files = {str(p.relative_to(text).with_suffix("")).replace("/", "_"):
                 str(p.relative_to(text)) for p in sinks.sinks if p.suffix == ".json"}
        if files:
            (text / "dataset_info.json").write_text(llama_factory_info(files))
