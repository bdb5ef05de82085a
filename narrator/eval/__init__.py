"""``narrator eval``: a model's predictions on an exported split, scored per task with the
seeds' metrics (:mod:`narrator.eval.metrics`), and SARLANG-1M's ``VQA_result.csv``."""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from narrator.queries.export import eval_references
from narrator.eval.errors import EvalError
from narrator.eval.metrics import Judge, box_scores, caption_scores, sarlang_match
from narrator.eval.predictions import Prediction, key, read_predictions
from narrator.store import Store

CAPTION_TASKS = ("caption", "description")


@dataclass
class Scored:
    """One prediction tied to its text: ``kind`` is ``vqa``, ``box`` or ``caption``."""

    prediction: Prediction
    text_id: str
    task: str
    kind: str
    question: str
    truth: str
    image: str
    scores: dict[str, float] = field(default_factory=dict)
    undecided: bool = False


@dataclass
class EvalResult:
    rows: list[Scored]
    tasks: dict[str, dict[str, Any]]
    overall: dict[str, dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {"tasks": self.tasks, "overall": self.overall, "predictions": len(self.rows)}


class Texts:
    """The database's texts by id and by question key."""

    def __init__(self, store: Store) -> None:
        self.by_id: dict[str, tuple[str, str, str, str, str]] = {}
        self.by_key: dict[str, str] = {}
        self.captions: dict[str, str] = {}
        for tid, task, typ, question, answer, image in eval_references(store):
            self.by_id[tid] = (task, typ, question, answer, image)
            if question:
                self.by_key.setdefault(key(question), tid)
            else:  # a caption is found by its text (its prompt is one of a few)
                self.captions.setdefault(key(answer), tid)

    def find(self, p: Prediction) -> str | None:
        if p.text_id and p.text_id in self.by_id:
            return p.text_id
        if p.label and key(p.label) in self.captions:
            return self.captions[key(p.label)]
        prompt = key(p.prompt)
        if prompt in self.by_key:
            return self.by_key[prompt]
        hits = [k for k in self.by_key if k and k in prompt]
        return self.by_key[max(hits, key=len)] if hits else None


def score(store: Store, predictions: Path, reference: Path | None = None,
          judge: Judge | None = None) -> EvalResult:
    """Score every prediction in ``predictions`` against the texts of ``store``."""
    texts = Texts(store)
    rows, unmatched = [], []
    for p in read_predictions(predictions, reference):
        tid = texts.find(p)
        if tid is None:
            unmatched.append(p.line)
            continue
        task, typ, question, answer, image = texts.by_id[tid]
        truth = p.label if p.label is not None else answer
        kind = "caption" if typ == "caption" or task in CAPTION_TASKS else "vqa"
        row = Scored(p, tid, task, kind, question, truth, p.image or image)
        boxes = box_scores(truth, p.predicted) if kind == "vqa" else None
        if boxes is not None:
            row.kind, row.scores = "box", boxes
        elif kind == "vqa":
            ok, row.undecided = sarlang_match(question, truth, p.predicted, judge)
            row.scores = {"accuracy": float(ok)}
        rows.append(row)
    if unmatched:
        raise EvalError(f"{predictions}: {len(unmatched)} prediction(s) match no text of "
                        f"{store.path} (records {unmatched[:5]}...); pass --reference with the "
                        "exported file the model was run on")
    if not rows:
        raise EvalError(f"{predictions}: no prediction in the file")
    return EvalResult(rows, _table(rows, lambda r: r.task), _table(rows, lambda r: r.kind))


def _table(rows: list[Scored], group: Any) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[Scored]] = defaultdict(list)
    for r in rows:
        groups[group(r)].append(r)
    return {name: task_scores(members) for name, members in sorted(groups.items())}


def task_scores(members: list[Scored]) -> dict[str, Any]:
    """The mean of each metric over ``members`` (caption metrics over the whole group)."""
    entry: dict[str, Any] = {"n": len(members)}
    captions = [r for r in members if r.kind == "caption"]
    if captions:
        entry |= caption_scores([r.truth for r in captions],
                                [r.prediction.predicted for r in captions])
    scored = [r for r in members if r.kind != "caption"]
    for metric in sorted({m for r in scored for m in r.scores}):
        values = [r.scores[metric] for r in scored if metric in r.scores]
        entry[metric] = sum(values) / len(values)
    undecided = sum(r.undecided for r in members)
    if undecided:
        entry["undecided"] = undecided
    return entry


def write_sarlang_csv(result: EvalResult, path: Path) -> int:
    """SARLANG-1M's ``VQA_result.csv`` (no header; image, prediction, question, ground
    truth: the columns its ``Evaluate_VQA.py`` reads) of the VQA rows; the question as the
    model saw it where the prediction carries it, else the database's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [r for r in result.rows if r.kind == "vqa"]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        for r in rows:
            writer.writerow([Path(r.image).name, r.prediction.predicted,
                             r.prediction.question or r.question, r.truth])
    return len(rows)


__all__ = ["EvalError", "EvalResult", "score", "task_scores", "write_sarlang_csv"]
