"""COCO run-length encoded masks, decoded and encoded without pycocotools.

A COCO RLE is ``{"size": [height, width], "counts": ...}``: run lengths of 0s and 1s over the
pixels in column-major order, starting with a run of 0s. ``counts`` is a list of integers
(uncompressed) or a string (pycocotools' compressed form: each count, from the third on as the
difference to the count two places back, in 5-bit groups with a continuation bit, offset by 48
to printable ASCII).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rasterio.features import shapes
from shapely import union_all
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

#: the largest RLE mask decoded (2 GiB of booleans)
MAX_PIXELS = 1 << 31


def counts_from_string(text: str) -> list[int]:
    """pycocotools' compressed counts string -> run lengths."""
    counts: list[int] = []
    p = 0
    while p < len(text):
        x = k = 0
        more = True
        while more:
            if p >= len(text):
                raise ValueError("compressed RLE string ends inside a number")
            c = ord(text[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def counts_to_string(counts: list[int]) -> str:
    """Run lengths -> pycocotools' compressed counts string."""
    out = []
    for i, count in enumerate(counts):
        x = count - counts[i - 2] if i > 2 else count
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = not ((c & 0x10) == 0 and x == 0 or (c & 0x10) and x == -1)
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return "".join(out)


def decode(rle: Any, shape: tuple[int, int] | None = None) -> np.ndarray:
    """A COCO RLE dict -> boolean mask of shape (height, width). ValueError if malformed,
    or if its size is not ``shape`` (checked before anything is allocated)."""
    if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
        raise ValueError("RLE segmentation needs 'size' and 'counts'")
    try:
        height, width = (int(v) for v in rle["size"])
    except (TypeError, ValueError):
        raise ValueError(f"RLE size must be [height, width], got {rle['size']!r}") from None
    raw = rle["counts"]
    try:
        counts = counts_from_string(raw) if isinstance(raw, str) else [int(v) for v in raw]
    except (TypeError, ValueError):
        raise ValueError(f"RLE counts must be a string or a list of integers, got "
                         f"{raw!r:.60}") from None
    if any(c < 0 for c in counts) or sum(counts) != height * width:
        raise ValueError(f"RLE counts add up to {sum(counts)}, not {height}x{width} pixels")
    if shape is not None and (height, width) != tuple(shape):
        raise ValueError(f"RLE segmentation is {width}x{height} but the image is "
                         f"{shape[1]}x{shape[0]}")
    if height * width > MAX_PIXELS:
        raise ValueError(f"RLE segmentation of {width}x{height} is too large to decode")
    values = np.zeros(len(counts), dtype=bool)
    values[1::2] = True
    flat = np.repeat(values, counts)
    return flat.reshape(width, height).T


def encode(mask: np.ndarray, compress: bool = True) -> dict[str, Any]:
    """A boolean (height, width) mask -> COCO RLE (the counts compressed unless asked not to)."""
    flat = np.asarray(mask, dtype=bool).T.reshape(-1)
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts = [0, *counts]
    height, width = mask.shape
    return {"size": [height, width],
            "counts": counts_to_string(counts) if compress else counts}


def mask_geometry(mask: np.ndarray) -> BaseGeometry | None:
    """The pixel-edge polygons of a boolean mask (None when the mask is empty)."""
    if not mask.any():
        return None
    data = mask.astype(np.uint8)
    polys = [shape(g) for g, v in shapes(data, mask=mask) if v == 1]
    return union_all(polys)
