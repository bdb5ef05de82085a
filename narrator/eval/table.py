"""The tables ``narrator eval`` prints: one per kind of text, its tasks and an overall row."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from narrator.eval import EvalResult, task_scores

EVAL_COLUMNS = {"vqa": ("accuracy", "undecided"),
                "box": ("iou", "acc@0.25", "acc@0.5", "acc@0.7"),
                "caption": ("BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "ROUGE-L", "CIDEr")}
EVAL_TITLES = {"vqa": "VQA (SARLANG-1M matching rule)", "box": "boxes (IoU)",
               "caption": "captions (pycocoevalcap)"}


def eval_tables(result: EvalResult) -> list[Table]:
    """One table per kind of text: its tasks and the kind's overall row."""
    tables = []
    for kind, columns in EVAL_COLUMNS.items():
        if kind not in result.overall:
            continue
        tasks = sorted({r.task for r in result.rows if r.kind == kind})
        table = Table(title=EVAL_TITLES[kind])
        for col in ("task", "n", *columns):
            table.add_column(col, justify="left" if col == "task" else "right")
        for name in [*tasks, None]:
            entry = result.overall[kind] if name is None else _kind_entry(result, kind, name)
            table.add_row(name or "[bold]all[/]", str(entry["n"]), *(
                "" if c not in entry else f"{entry[c]:.3f}" if isinstance(entry[c], float)
                else str(entry[c]) for c in columns))
        tables.append(table)
    return tables


def _kind_entry(result: EvalResult, kind: str, task: str) -> dict[str, Any]:
    return task_scores([r for r in result.rows if r.kind == kind and r.task == task])
