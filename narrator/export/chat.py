"""Conversation exports: LLaVA (``conversations`` with ``<image>``) and ShareGPT-style
``messages`` + ``images`` (what LLaMA-Factory's sharegpt formatting and ms-swift read).

One record per text: a VQA pair is (question, answer); a caption is (an instruction for its
kind, the caption). ``meta`` carries the provenance; trainers ignore it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from narrator.export.base import Emitted, ExportFormat, llama_factory_info
from narrator.queries.export import prompt_and_answer
from narrator.export.validate import check
from narrator.export.writers import SinkSet

_META = ("id", "type", "scene_id", "dataset", "task", "kind", "style", "split", "group",
         "template_id")


def meta(row: dict[str, Any]) -> dict[str, Any]:
    """The provenance a conversation record carries (keys without a value are left out)."""
    return {k: row[k] for k in _META if row.get(k) is not None}


def sharegpt_record(row: dict[str, Any], image: str) -> dict[str, Any]:
    question, answer = prompt_and_answer(row)
    return {"messages": [{"role": "user", "content": "<image>" + question},
                         {"role": "assistant", "content": answer}],
            "images": [image], "meta": meta(row)}


class LlavaExport(ExportFormat):
    name = "llava"
    suffix = ".json"

    def emit(self, row: dict[str, Any]) -> Iterator[Emitted]:
        question, answer = prompt_and_answer(row)
        record = {"id": row["id"], "image": self.image(row),
                  "conversations": [{"from": "human", "value": "<image>\n" + question},
                                    {"from": "gpt", "value": answer}],
                  "meta": meta(row)}
        yield self.target(row), "llava", record


class ShareGptExport(ExportFormat):
    """One record per text, or with ``conversations`` one per image and kind of text (its
    VQA pairs, then its captions): the turns in export order, ``<image>`` in the first user
    turn only, ``meta.ids`` the texts' ids. Texts come sorted by scene within each kind, so a
    conversation is complete when the scene (or kind) changes."""

    name = "sharegpt"
    suffix = ".json"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.turns: list[dict[str, Any]] = []

    def emit(self, row: dict[str, Any]) -> Iterator[Emitted]:
        if not self.options.conversations:
            yield self.target(row), "sharegpt", sharegpt_record(row, self.image(row))
            return
        if self.turns and (self.turns[0]["scene_id"], self.turns[0]["type"]) != \
                (row["scene_id"], row["type"]):
            yield self.conversation()
        self.turns.append(row)

    def conversation(self) -> Emitted:
        rows, self.turns = self.turns, []
        messages = []
        for i, row in enumerate(rows):
            question, answer = prompt_and_answer(row)
            messages += [{"role": "user", "content": ("<image>" if i == 0 else "") + question},
                         {"role": "assistant", "content": answer}]
        first = rows[0]
        record = {"messages": messages, "images": [self.image(first)],
                  "meta": {k: v for k, v in meta(first).items()
                           if k in ("scene_id", "dataset", "split", "group", "type")}
                  | {"ids": [r["id"] for r in rows], "tasks": [r["task"] for r in rows]}}
        return self.target(first), "sharegpt_conversation", record

    def finish(self, sinks: SinkSet) -> None:
        if self.turns:
            path, schema, record = self.conversation()
            check(schema, record)
            sink = sinks.get(path) or sinks.add(self.open(path, schema))
            sink.write(record)
        super().finish(sinks)
        if self.per_split and sinks.sinks:  # a folder LLaMA-Factory can use as dataset_dir
            files = {f"narrator_{p.stem}": p.name for p in sinks.sinks}
            sinks.write_text(self.out / "dataset_info.json", llama_factory_info(files))
