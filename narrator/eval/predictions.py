"""Reading a model's predictions and finding the text each one answers.

Formats (one JSON object per line, or a JSON array):

- LLaMA-Factory ``generated_predictions.jsonl``: ``{"prompt", "predict", "label"}``, in the
  order of the dataset it predicted on;
- ms-swift ``swift infer --result_path``: ``{"response", "labels", "messages", "images",
  ...}`` (the input record's other columns, narrator's ``meta`` among them, are kept);
- narrator's own: ``{"id", "prediction"}``.

A prediction is tied to its text by ``id`` / ``meta.id`` / ``question_id``; else by the
``reference`` file (the exported file the model was run on: its n-th record is the n-th
prediction's); else by its question: the text whose question, without task tags, class-list
prefixes and boxes, is in the prompt. The ground truth is the prediction's label where it
has one (the export's wording), else the database's answer.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from narrator.eval.errors import EvalError
from narrator.export.boxes import BOX_TEXT

_PRED_KEYS = ("predict", "response", "prediction", "pred")
_LABEL_KEYS = ("label", "labels", "ground_truth", "answer")
_PREFIX = re.compile(r"the classes are: [^.?]*\.")
_TAG = re.compile(r"\[[a-z_]+\]")


@dataclass
class Prediction:
    line: int
    predicted: str
    label: str | None
    prompt: str
    image: str | None
    text_id: str | None
    question: str | None = None  # the user turn as exported (ms-swift records carry it)


def key(text: str) -> str:
    """A question without tags, class-list prefixes, boxes, case and punctuation."""
    text = BOX_TEXT.sub(" ", _PREFIX.sub(" ", _TAG.sub(" ", text.lower())))
    return " ".join(re.findall(r"[a-z0-9]+", text))


def read_records(path: Path) -> list[dict[str, Any]]:
    """The objects of a JSON array file or a JSON Lines file."""
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EvalError(f"{path}: cannot read it ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise EvalError(f"{path}: not UTF-8 text; pass the JSON Lines predictions file") \
            from None
    if raw.lstrip().startswith("["):
        try:
            records = json.loads(raw)
        except ValueError as exc:
            raise EvalError(f"{path}: not a JSON array ({exc})") from None
        return [_object(r, path, i + 1) for i, r in enumerate(records)]
    out = []
    for n, line in enumerate(raw.splitlines(), 1):
        if line.strip():
            try:
                out.append(_object(json.loads(line), path, n))
            except ValueError as exc:
                raise EvalError(f"{path}, line {n}: not JSON ({exc})") from None
    return out


def _object(value: Any, path: Path, n: int) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise EvalError(f"{path}, record {n}: expected a JSON object, got {type(value).__name__}")
    return value


def _text(value: Any) -> str | None:
    if isinstance(value, list):  # ms-swift labels may be a list of turns
        value = value[-1] if value else None
        if isinstance(value, dict):
            value = value.get("content")
    return None if value is None else str(value)


def record_id(r: dict[str, Any]) -> str | None:
    meta = r.get("meta") if isinstance(r.get("meta"), dict) else {}
    value = r.get("id") or meta.get("id") or r.get("question_id")
    return None if value is None else str(value)


def parse(record: dict[str, Any], n: int, path: Path) -> Prediction:
    predicted = next((_text(record[k]) for k in _PRED_KEYS if k in record), None)
    if predicted is None:
        raise EvalError(f"{path}, record {n}: no prediction (expected one of "
                        f"{', '.join(_PRED_KEYS)})")
    label = next((_text(record[k]) for k in _LABEL_KEYS if record.get(k) is not None), None)
    prompt = str(record.get("prompt") or record.get("question") or "")
    messages = record.get("messages") or []
    user = None
    if isinstance(messages, list):
        user = " ".join(str(m.get("content", "")) for m in messages
                        if isinstance(m, dict) and m.get("role") == "user") or None
        user = user.replace("<image>", "").strip() if user else None
    prompt = prompt or user or ""
    images = record.get("images") or []
    image = images[0] if isinstance(images, list) and images else record.get("image")
    if isinstance(image, dict):
        image = image.get("path")
    return Prediction(n, predicted, label, prompt, None if image is None else str(image),
                      record_id(record), user or record.get("question"))


def read_predictions(path: Path, reference: Path | None = None) -> list[Prediction]:
    preds = [parse(r, i + 1, path) for i, r in enumerate(read_records(path))]
    if reference is not None:
        ids = [record_id(r) for r in read_records(reference)]
        if len(ids) != len(preds):
            raise EvalError(f"{reference} has {len(ids)} records but {path} has {len(preds)} "
                            "predictions; pass the file the model was run on")
        for p, i in zip(preds, ids, strict=True):
            p.text_id = p.text_id or i
    return preds
