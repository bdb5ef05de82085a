"""SARChat-style folder: one ms-swift JSON file per task and split,
``OUT/SARChat_<task>_<split>.json``, each an array of ``{"messages", "images"}`` records.

narrator's tasks map to SARChat's task names where the two mean the same thing; every other
task keeps its narrator name (see ``TASK_NAMES``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from narrator.export.base import Emitted, ExportFormat
from narrator.export.chat import sharegpt_record
from narrator.export.select import CAPTION_TASK

#: narrator task -> SARChat task (file name part). Captions are SARChat's fine-grained
#: descriptions; presence questions its cross-modal identification.
TASK_NAMES = {
    CAPTION_TASK: "describe",
    "presence": "identify",
    "count": "count",
    "dominant_class": "classify",
    "grounding": "grounding",
    "region_class": "refer",
}


def sarchat_task(task: str) -> str:
    return TASK_NAMES.get(task, task)


class SarchatExport(ExportFormat):
    name = "sarchat"
    directory = True

    def emit(self, row: dict[str, Any]) -> Iterator[Emitted]:
        path = self.out / f"SARChat_{sarchat_task(row['task'])}_{row['split']}.json"
        yield path, "sharegpt", sharegpt_record(row, self.image(row))
