"""VRSBench-SAR / GeoChat-style evaluation JSON Lines (github.com/lx709/VRSBench,
``prepare_eval_all.ipynb``): one object per text with ``question_id, image_id, question,
ground_truth, type, dataset`` (plus ``image``, the path, and narrator's ``id`` and ``task``), boxes written
``{<x1><y1><x2><y2>}`` on 0-100 of the image size as VRSBench does (``--boxes 1000`` for
0-1000; pixel scales are not VRSBench's and give 0-100 too).

Files: ``OUT/vrsbench_{caption,ref,vqa}_<split>.jsonl``; ``type`` is VRSBench's
(``caption``, ``ref``, or its VQA types: category, presence, quantity, position,
direction, size, shape, scene; other narrator tasks keep their name). ``question_id``
counts from 0 in each file.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from narrator.export.base import Emitted
from narrator.export.sarchat import SarchatExport
from narrator.queries.export import prompt_and_answer

TYPES = {"presence": "presence", "count": "quantity", "dominant_class": "category",
         "region_class": "category", "position": "position", "nine_grid": "position",
         "direction": "direction", "area": "size", "shape": "shape", "land_cover": "scene",
         "grounding": "ref", "caption": "caption", "description": "caption"}
_CAPTION_PROMPT = "Describe the image in detail"


class VrsbenchExport(SarchatExport):
    name = "vrsbench"
    directory = True
    style = None

    @property
    def scale(self) -> str:
        return "1000" if self.options.boxes == "1000" else "100"

    def emit(self, row: dict[str, Any]) -> Iterator[Emitted]:
        kind = TYPES.get(row["task"], row["task"])
        if row["type"] == "caption":
            question, answer = _CAPTION_PROMPT, prompt_and_answer(row)[1]
        else:
            question, answer, _, _ = self.turns(row)
            question = question.split("] ", 1)[-1] if question.startswith("[") else question
        if kind == "ref":  # VRSBench's ground truth is the box alone
            boxes = re.findall(r"\{<[^}]*\}", answer)
            answer = "".join(boxes) or answer
        part = kind if kind in ("caption", "ref") else "vqa"
        path = self.out / f"vrsbench_{part}_{row['split']}.jsonl"
        self.numbers = getattr(self, "numbers", Counter())
        image = self.image(row)
        record = {"question_id": self.numbers[path], "image_id": Path(image).name,
                  "image": image,
                  "question": question, "ground_truth": answer, "type": kind,
                  "dataset": row["dataset"], "id": row["id"], "task": row["task"]}
        self.numbers[path] += 1
        yield path, "vrsbench", record
