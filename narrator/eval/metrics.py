"""The seeds' metrics, reimplemented from their published descriptions and scripts.

- VQA: SARLANG-1M's matching rule (``Evaluate_VQA.py`` in github.com/Jimmyxichen/SARLANG-1M):
  question, ground truth and prediction lower-cased; a match when the ground truth is a
  substring of the prediction; else, for a ground truth of ``yes``, ``no`` or a number
  0-99, a match only when the prediction equals it; else SARLANG asks GPT-4o-mini whether
  the two mean the same. Here that last step is ``judge`` (a callable, e.g. through
  narrator's LLM layer) or, without one, an exact match after stripping punctuation and
  spaces (reported as ``undecided`` so the table says how many rows a judge would see).
- Boxes: accuracy at IoU 0.25/0.5/0.7 and mean IoU, as SARChat and VRSBench report them
  (VRSBench ``eval_fianl/compute_metrics.ipynb``: Acc@0.5/0.7 over parsed ``{<..>}`` boxes);
  boxes are paired in order, a missing predicted box scores IoU 0.
- Captions: BLEU-1..4, ROUGE-L and CIDEr by pycocoevalcap, as SARLANG's
  ``Evaluate_caption.py`` computes them (references and predictions lower-cased and split
  on non-word characters instead of the Java PTB tokenizer).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from narrator.eval.errors import EvalError
from narrator.export.boxes import iou, parse_boxes

IOU_THRESHOLDS = (0.25, 0.5, 0.7)
_CLOSED = {"yes", "no"} | {str(i) for i in range(100)}
Judge = Callable[[str, str, str], bool]


def _plain(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def sarlang_match(question: str, truth: str, predicted: str,
                  judge: Judge | None = None) -> tuple[int, bool]:
    """(1 or 0, whether the open-answer judge step decided it)."""
    truth, predicted = truth.lower(), predicted.lower()
    if truth in predicted:
        return 1, False
    if truth in _CLOSED:
        return int(truth == predicted), False
    if judge is not None:
        return int(bool(judge(question.lower(), truth, predicted))), True
    return int(_plain(truth) == _plain(predicted)), True


def box_scores(truth: str, predicted: str) -> dict[str, float] | None:
    """Mean IoU and accuracy at each threshold of one text, or None if it has no box."""
    want = parse_boxes(truth)
    if not want:
        return None
    got = parse_boxes(predicted)
    ious = [iou(w, got[i]) if i < len(got) else 0.0 for i, w in enumerate(want)]
    out = {"iou": sum(ious) / len(ious)}
    for t in IOU_THRESHOLDS:
        out[f"acc@{t}"] = sum(v >= t for v in ious) / len(ious)
    return out


def _tokens(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def caption_scores(truths: Sequence[str], predictions: Sequence[str]) -> dict[str, float]:
    """BLEU-1..4, ROUGE-L and CIDEr (pycocoevalcap) of paired captions."""
    try:
        from pycocoevalcap.bleu.bleu import Bleu
        from pycocoevalcap.cider.cider import Cider
        from pycocoevalcap.rouge.rouge import Rouge
    except ImportError:
        raise EvalError("caption metrics need pycocoevalcap: pip install "
                        "'sar-narrator[eval]' (or pycocoevalcap)") from None

    refs = {i: [_tokens(t)] for i, t in enumerate(truths)}
    hyps = {i: [_tokens(p) or "empty"] for i, p in enumerate(predictions)}
    bleu, _ = Bleu(4).compute_score(refs, hyps, verbose=0)
    rouge, _ = Rouge().compute_score(refs, hyps)
    out: dict[str, Any] = {f"BLEU-{n + 1}": float(b) for n, b in enumerate(bleu)}
    out["ROUGE-L"] = float(rouge)
    if len(refs) > 1:  # CIDEr's idf needs more than one reference
        cider, _ = Cider().compute_score(refs, hyps)
        out["CIDEr"] = float(cider)
    return out
