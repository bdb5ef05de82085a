"""SceneFacts: the deterministic, JSON-serialisable facts of one scene.

The one source of truth that templates verbalise, the LLM enriches and the screener checks.
Computed from stored records only (never from text), with numpy over all objects of a scene.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from narrator.ids import make_id
from narrator.records import SceneBundle

FACTS_VERSION = 1

#: 3x3 cells by object centre on thirds of the image, row-major from the top left
GRID_NAMES = (
    ("top left", "top", "top right"),
    ("left", "center", "right"),
    ("bottom left", "bottom", "bottom right"),
)
#: relative size classes: (minimum box-area / image-area, name), SARChat's thresholds
SIZE_CLASSES = ((0.4, "very large"), (0.25, "large"), (0.1, "medium"), (0.03, "small"),
                (0.0, "very small"))


def _size_class(rel_area: float) -> str:
    for threshold, name in SIZE_CLASSES:
        if rel_area >= threshold:
            return name
    return SIZE_CLASSES[-1][1]


def object_facts(bundle: SceneBundle) -> list[dict[str, Any]]:
    """Per-object facts: centre, 3x3 cell, nine-grid number, size class, size in metres."""
    scene = bundle.scene
    objs = bundle.objects
    if not objs:
        return []
    boxes = np.array([o.box for o in objs], dtype=np.float64)
    cx = (boxes[:, 0] + boxes[:, 2]) / 2
    cy = (boxes[:, 1] + boxes[:, 3]) / 2
    col = np.minimum((cx * 3 / scene.width).astype(int), 2)
    row = np.minimum((cy * 3 / scene.height).astype(int), 2)
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    rel_area = w * h / (scene.width * scene.height)
    gsd = scene.gsd_m
    out = []
    for i, o in enumerate(objs):
        fact: dict[str, Any] = {
            "object_id": o.object_id,
            "category": o.category,
            "box": [round(float(v), 2) for v in boxes[i]],
            "center": [round(float(cx[i]), 2), round(float(cy[i]), 2)],
            "cell": GRID_NAMES[row[i]][col[i]],
            "grid": int(row[i] * 3 + col[i] + 1),
            "size_class": _size_class(float(rel_area[i])),
            "rel_area": round(float(rel_area[i]), 6),
        }
        if o.fine_type:
            fact["fine_type"] = o.fine_type
        if gsd:
            fact["size_m"] = [round(float(w[i] * gsd), 1), round(float(h[i] * gsd), 1)]
        out.append(fact)
    return out


def scene_facts(bundle: SceneBundle, vocabulary: list[str]) -> dict[str, Any]:
    """The SceneFacts document of one scene; ``vocabulary`` is the dataset's category list."""
    scene = bundle.scene
    objects = object_facts(bundle)
    counts = Counter(o["category"] for o in objects)
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    land = sorted(((r.category, round(r.fraction, 4)) for r in bundle.regions),
                  key=lambda kv: (-kv[1], kv[0]))
    facts: dict[str, Any] = {
        "version": FACTS_VERSION,
        "scene_id": scene.scene_id,
        "size": [scene.width, scene.height],
        "objects": objects,
        "counts": dict(sorted(counts.items())),
        "total": len(objects),
        "dominant": ordered[0][0] if ordered and (len(ordered) == 1
                                                  or ordered[0][1] > ordered[1][1]) else None,
        "present": sorted(counts),
        "absent": sorted(set(vocabulary) - set(counts)),
        "land_cover": dict(land),
        "dominant_land_cover": land[0][0] if land else None,
        "geo": {
            k: getattr(scene, k)
            for k in ("platform", "band", "polarization", "mode", "incidence_angle",
                      "orbit_direction", "acquired_at", "gsd_m", "center_lon", "center_lat",
                      "crs")
            if getattr(scene, k) is not None
        },
    }
    if "gsd_m" in facts["geo"]:
        facts["geo"]["gsd_m"] = round(facts["geo"]["gsd_m"], 3)
    return facts


def facts_hash(facts: dict[str, Any]) -> str:
    return make_id(facts)
