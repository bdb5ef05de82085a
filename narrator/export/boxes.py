"""Boxes in the text of an export: finding them, writing them in a seed's scale, parsing them
back (for ``narrator eval``).

Scales (``--boxes``): ``pixel`` (SARChat's published record, ``{<393><426><470><494>}``),
``1000`` (0-1000 of the image size, Qwen2-VL style), ``100`` (0-100 as in MiniGPT-v2,
GeoChat and VRSBench), ``swift`` (ms-swift's ``<bbox>`` token, the box itself in the
record's ``objects`` in pixels, which ms-swift rescales for each model).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from narrator.export.validate import ExportError

BOX_SCALES = ("pixel", "1000", "100", "swift")
_NUM = r"-?\d+(?:\.\d+)?"
#: a box as narrator's styles write one: ``{<x0><y0><x1><y1>}`` or ``[a, b, c, d]``
BOX_TEXT = re.compile(r"\{<(%s)><(%s)><(%s)><(%s)>\}|\[(%s), ?(%s), ?(%s), ?(%s)\]"
                      % ((_NUM,) * 8))
_TAG = re.compile(r"^\s*\[[a-z_]+\]\s*")


def scaled(box: Sequence[float], width: float, height: float, scale: str) -> list[int]:
    """``box`` (pixel corners) in ``scale``, as integers rounded half up."""
    if scale not in BOX_SCALES:
        raise ExportError(f"--boxes {scale!r}: choose from {', '.join(BOX_SCALES)}")
    x0, y0, x1, y1 = box
    if scale in ("pixel", "swift"):
        vals = [x0, y0, x1, y1]
    else:
        k = float(scale)
        vals = [x0 / width * k, y0 / height * k, x1 / width * k, y1 / height * k]
    return [int(v + 0.5) for v in vals]


def box_text(box: Sequence[float], width: float, height: float, scale: str) -> str:
    """The box as MiniGPT-v2/SARChat write it: ``{<x0><y0><x1><y1>}`` (``<bbox>`` for
    ``swift``)."""
    if scale == "swift":
        return "<bbox>"
    return "{" + "".join(f"<{v}>" for v in scaled(box, width, height, scale)) + "}"


def replace_box(text: str, new: str) -> str:
    """``text`` with its first box (in any of narrator's styles) replaced by ``new``."""
    return BOX_TEXT.sub(new.replace("\\", "\\\\"), text, count=1)


def strip_tag(text: str) -> str:
    """``text`` without a leading task tag such as ``[vqa]``."""
    return _TAG.sub("", text, count=1)


def cell(box: Sequence[float], width: float, height: float) -> str:
    """The 3x3 cell of the box centre: ``top left`` ... ``center`` ... ``bottom right``."""
    cx, cy = (box[0] + box[2]) / 2 / width, (box[1] + box[3]) / 2 / height
    row = ("top", "", "bottom")[min(2, int(cy * 3))]
    col = ("left", "", "right")[min(2, int(cx * 3))]
    return " ".join(p for p in (row, col) if p) or "center"


def parse_boxes(text: str) -> list[tuple[float, float, float, float]]:
    """Every box in ``text`` (``{<a><b><c><d>}``, ``[a, b, c, d]`` or ``(a,b),(c,d)``)."""
    found = [tuple(float(v) for v in m.groups() if v is not None)
             for m in BOX_TEXT.finditer(text)]
    if not found:
        pair = re.findall(r"\((%s),\s*(%s)\)\s*,?\s*\((%s),\s*(%s)\)" % ((_NUM,) * 4), text)
        found = [tuple(float(v) for v in p) for p in pair]
    return [b for b in found if len(b) == 4]  # type: ignore[misc]


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two corner boxes (continuous coordinates)."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
