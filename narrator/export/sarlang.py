"""SARLANG-1M's layout (github.com/Jimmyxichen/SARLANG-1M, README "Data Preparation"):

    OUT/SARimages/                                the 8-bit previews (``--images png``)
    OUT/Text/caption/Caption-training.csv|json    train captions, concise and complex mixed
    OUT/Text/caption/Caption_test.csv|json        test complex captions
    OUT/Text/caption/Caption_test1.csv|json       test concise captions
    OUT/Text/VQA/SARVQA1_train.csv|json           VQA of SARDet-100K-like scenes
    OUT/Text/VQA/SARVQA1_test.csv|json
    OUT/Text/VQA/SARVQA2_train.csv|json           VQA of every other scene
    OUT/Text/VQA/SARVQA2_test.csv|json
    OUT/Text/dataset_info.json                    LLaMA-Factory entries for the JSON files

SARLANG has train and test only: narrator's ``val`` split is written as train. A scene is
SARVQA1 when every object category of its dataset is one of SARDet-100K's six (SARLANG's
SARVQA1 files are its SARDet-100K part), else SARVQA2. On SARVQA1 questions narrator's own
class-list prefix is replaced by SARLANG's exact ones ("The classes are: tank, car,
aircraft, harbor, bridge, ship." and, for position questions, "The classes are: top,
center, bottom, left, right."; ``class_list=False`` leaves them out), and "storage tank" is
SARLANG's "tank". Answers are in SARLANG's short style: ``yes``/``no``, a number, a class
name, a position. The CSV column names are narrator's (``image, question, answer, task,
id, scene_id``; captions ``image, caption, type, id, scene_id``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from narrator.export.base import Emitted, ExportFormat, llama_factory_info
from narrator.export.chat import meta
from narrator.queries.export import dataset_categories, prompt_and_answer
from narrator.export.writers import SinkSet
from narrator.store import Store

SARDET_CLASSES = ("tank", "car", "aircraft", "harbor", "bridge", "ship")
CLASS_PREFIX = "The classes are: tank, car, aircraft, harbor, bridge, ship. "
POSITION_PREFIX = "The classes are: top, center, bottom, left, right. "
_OWN_PREFIX = re.compile(r"^The classes are: [^.?]*\.\s*")
_TANK = re.compile(r"\bstorage tank")
_YES_NO = re.compile(r"^(yes|no)\b", re.IGNORECASE)


def caption_style(kind: str | None) -> str:
    return "concise" if kind == "concise" else "complex"


def sarlang_answer(row: dict[str, Any]) -> str:
    """A VQA answer in SARLANG's short style (see the module docstring)."""
    answer, params = row["answer"].strip(), row["params"] or {}
    if _YES_NO.match(answer) and row["task"] == "presence":
        return _YES_NO.match(answer).group(1).lower()  # type: ignore[union-attr]
    if row["task"] in ("region_class", "dominant_class") and params.get("category"):
        return _TANK.sub("tank", str(params["category"]))
    if row["task"] == "position" and (params.get("position") or params.get("cell")):
        return str(params.get("position") or params.get("cell"))
    return _TANK.sub("tank", answer.rstrip("."))


class SarlangExport(ExportFormat):
    name = "sarlang"
    directory = True
    style = "sarlang"
    image_subdir = "SARimages"
    media_subdir = "Text"

    def prepare(self, store: Store) -> None:
        per_dataset = dataset_categories(store)
        self.vqa1 = {d for d, cats in per_dataset.items() if cats <= set(SARDET_CLASSES)}

    def stem(self, row: dict[str, Any]) -> Path:
        split = "test" if row["split"] == "test" else "train"
        if row["type"] == "vqa":
            part = "SARVQA1" if row["dataset"] in self.vqa1 else "SARVQA2"
            return self.out / "Text" / "VQA" / f"{part}_{split}"
        if split == "train":
            return self.out / "Text" / "caption" / "Caption-training"
        suffix = "1" if caption_style(row["kind"]) == "concise" else ""
        return self.out / "Text" / "caption" / f"Caption_{split}{suffix}"

    def question(self, row: dict[str, Any]) -> str:
        question = row["question"]
        if row["dataset"] not in self.vqa1:
            return question
        question = _TANK.sub("tank", _OWN_PREFIX.sub("", question))
        if not self.options.class_list:
            return question
        return (POSITION_PREFIX if row["task"] == "position" else CLASS_PREFIX) + question

    def emit(self, row: dict[str, Any]) -> Iterator[Emitted]:
        stem, image = self.stem(row), self.image(row)
        if row["type"] == "vqa":
            question, answer = self.question(row), sarlang_answer(row)
            flat = {"image": image, "question": question, "answer": answer,
                    "task": row["task"], "id": row["id"], "scene_id": row["scene_id"]}
            yield stem.with_suffix(".csv"), "sarlang_vqa", flat
        else:
            question, answer = prompt_and_answer(row)
            flat = {"image": image, "caption": answer, "type": caption_style(row["kind"]),
                    "id": row["id"], "scene_id": row["scene_id"]}
            yield stem.with_suffix(".csv"), "sarlang_caption", flat
        record = {"messages": [{"role": "user", "content": "<image>" + question},
                               {"role": "assistant", "content": answer}],
                  "images": [image], "meta": meta(row)}
        yield stem.with_suffix(".json"), "sharegpt", record

    def finish(self, sinks: SinkSet) -> None:
        text = self.out / "Text"
        files = {str(p.relative_to(text).with_suffix("")).replace("/", "_"):
                 str(p.relative_to(text)) for p in sinks.sinks if p.suffix == ".json"}
        if files:
            sinks.write_text(text / "dataset_info.json", llama_factory_info(files))
