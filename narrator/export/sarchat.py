"""SARChat-Bench-2M's files (github.com/JimmyMa99/SARChat): ms-swift records
(``messages`` + ``images``), the user turn ``<image>\\n[tag] ...``, boxes in pixels by default.

File names are SARChat's test files as its ``infer/swift-eval.py`` lists them, and its one
merged training file as its ``train/swift_run/*.sh`` pass it to ``swift sft``::

    OUT/SARChat_total_task_train_modified.json          every train record
    OUT/SARChat_classify_count_test.json                     [count]
    OUT/SARChat_classify_identify_{single,multi}_test.json   [identify]
    OUT/SARChat_classify_refer_{single,multi}_test.json      [refer]
    OUT/SARChat_classify_grounding_{single,multi}_test.json  [grounding]
    OUT/SARChat_classify_test.json                           [cls]
    OUT/SARChat_describe_test.json                           captions
    OUT/SARChat_other_<task>_test.json                       [vqa] and the rest, per task

A text's file follows its leading tag (``--style sarchat`` writes them); a text without one
gets its task's: count [count], region_class [identify], grounding [refer], dominant_class
[cls], captions none.

``val`` records get the same names with ``_val``. ``single``/``multi``: the scene holds one
object of the asked category, or several. A ``[refer]`` answer is the box and its 3x3 cell,
as in SARChat's published record ``{<393><426><470><494>} (bottom right)``. Boxes in the
text are rewritten in ``--boxes`` scale from the objects' pixel boxes; with ``swift`` the
text holds ms-swift's ``<bbox>`` tokens and the record ``objects.bbox`` in pixels.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from narrator.export.base import Emitted, ExportFormat
from narrator.export.boxes import BOX_TEXT, box_text, cell, scaled
from narrator.export.chat import meta
from narrator.queries.export import (CAPTION_TASK, category_counts, object_boxes,
                                     prompt_and_answer, scene_sizes)
from narrator.store import Store

#: SARChat's task tag -> its file part; a text's tag (``--style sarchat``) picks its file
TAGS = {"count": "classify_count", "identify": "classify_identify",
        "refer": "classify_refer", "grounding": "classify_grounding", "cls": "classify",
        "caption": "describe"}
#: the tag of a text without one (other styles), by narrator task
TASK_TAGS = {"count": "count", "region_class": "identify", "grounding": "refer",
             "dominant_class": "cls", CAPTION_TASK: "caption"}
BY_COUNT = ("classify_identify", "classify_refer", "classify_grounding")
TRAIN_FILE = "SARChat_total_task_train_modified.json"
_LEAD_TAG = re.compile(r"^\s*\[([a-z_]+)\]")


def text_tag(row: dict[str, Any], question: str) -> str | None:
    """The SARChat tag of a text: its own leading tag, else its task's."""
    m = _LEAD_TAG.match(question)
    return m.group(1) if m else TASK_TAGS.get(row["task"])


def sarchat_file(tag: str | None, task: str) -> str:
    """The SARChat file part of a text (``other_<task>`` where SARChat has no such file)."""
    return TAGS.get(tag or "", f"other_{task}")


class SarchatExport(ExportFormat):
    name = "sarchat"
    directory = True
    style = "sarchat"

    @property
    def scale(self) -> str:
        return self.options.boxes

    def prepare(self, store: Store) -> None:
        self.sizes = scene_sizes(store)
        self.counts = category_counts(store)
        self.objects = object_boxes(store)

    def path(self, row: dict[str, Any], tag: str | None) -> str:
        if row["split"] == "train":
            return TRAIN_FILE
        part = sarchat_file(tag, row["task"])
        if part in BY_COUNT:
            category = (row["params"] or {}).get("category")
            part += "_single" if self.counts.get((row["scene_id"], category), 0) == 1 \
                else "_multi"
        return f"SARChat_{part}_{row['split']}.json"

    def turns(self, row: dict[str, Any]) -> tuple[str, str, str | None, dict[str, Any] | None]:
        """(user text after ``<image>\\n``, assistant text, tag, ms-swift ``objects``)."""
        question, answer = prompt_and_answer(row)
        tag = text_tag(row, question)
        if row["type"] != "vqa":
            return question, answer, tag, None
        w, h = self.sizes.get(row["scene_id"], (1, 1))
        found = PixelBoxes(self.objects.get(row["scene_id"], []), w, h, row["style"])
        params = row["params"] or {}
        if params.get("box") and tag == "refer" and "(" not in answer:
            answer = f"{answer} ({cell(params['box'], w, h)})"
        scale = self.scale
        question = BOX_TEXT.sub(lambda m: box_text(found.pixel(m), w, h, scale), question)
        answer = BOX_TEXT.sub(lambda m: box_text(found.pixel(m), w, h, scale), answer)
        if _LEAD_TAG.match(question) is None and tag:
            question = f"[{tag}] {question}"
        objects = None
        if scale == "swift" and found.used:
            objects = {"ref": [], "bbox": [list(b) for b in found.used]}
        return question, answer, tag, objects

    def emit(self, row: dict[str, Any]) -> Iterator[Emitted]:
        question, answer, tag, objects = self.turns(row)
        record: dict[str, Any] = {
            "messages": [{"role": "user", "content": "<image>\n" + question},
                         {"role": "assistant", "content": answer}],
            "images": [self.image(row)], "meta": meta(row)}
        if objects is not None:
            record["objects"] = objects
        yield self.out / self.path(row, tag), "sarchat", record


class PixelBoxes:
    """The pixel box behind each box written in a text: the scene object whose box, written
    in the text's style, reads the same (exact, where a rounded 0-100 box alone is not);
    else the numbers scaled back (0-100 for ``sarchat`` style, pixels otherwise)."""

    def __init__(self, objects: list[tuple[float, ...]], w: float, h: float,
                 style: str | None) -> None:
        self.objects, self.w, self.h, self.style = objects, w, h, style
        self.used: list[tuple[float, ...]] = []

    def written(self, box: tuple[float, ...], braces: bool) -> tuple[int, ...]:
        if braces:  # {<..>}: 0-100 (sarchat style)
            return tuple(scaled(box, self.w, self.h, "100"))
        x0, y0, x1, y1 = (int(v + 0.5) for v in box)
        return (x0, y0, x1 - x0, y1 - y0) if self.style == "sarlang" else (x0, y0, x1, y1)

    def pixel(self, m: re.Match[str]) -> tuple[float, ...]:
        braces = m.group(1) is not None
        nums = tuple(float(v) for v in m.groups() if v is not None)
        key = tuple(int(v) for v in nums)
        box = next((b for b in self.objects if self.written(b, braces) == key), None)
        if box is None:
            if braces:
                box = (nums[0] * self.w / 100, nums[1] * self.h / 100,
                       nums[2] * self.w / 100, nums[3] * self.h / 100)
            elif self.style == "sarlang":
                box = (nums[0], nums[1], nums[0] + nums[2], nums[1] + nums[3])
            else:
                box = nums
        self.used.append(box)
        return box
