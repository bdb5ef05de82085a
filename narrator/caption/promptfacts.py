"""The facts of a scene as an LLM prompt shows them: the same truth, in a bounded size.

The full facts list every object and every pair of objects, so a prompt built from them grows
with the square of the object count (a 59-ship HRSID scene: about 47,000 tokens). Here:

* objects: every object when there are at most ``MAX_LISTED``; otherwise the ``MAX_LISTED``
  largest, and per category the count in each grid cell, each size class and fine type, and
  the range of sizes in metres, so that every count and position a caption may state is
  still in the prompt;
* relations: per relation, the number of pairs per category pair, and at most
  ``MAX_RELATION_EXAMPLES`` example pairs between listed objects ``[i, relation, j]``;
* arrangement: per category, its label.

The prompt's size is then bounded by the number of categories, not of objects. The screener
still checks every text against the full facts.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from typing import Any

MAX_LISTED = 12
MAX_RELATION_EXAMPLES = 10
OBJECT_KEYS = ("category", "cell", "size_class", "size_m", "fine_type", "shape", "orientation")


def _compact(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: obj[k] for k in OBJECT_KEYS if obj.get(k) is not None}


def _listed(objects: list[dict[str, Any]]) -> list[int]:
    """Indexes of the objects listed one by one: all, or the largest, in their own order."""
    if len(objects) <= MAX_LISTED:
        return list(range(len(objects)))
    area = [float(o.get("area_px") or o.get("rel_area") or 0.0) for o in objects]
    largest = sorted(range(len(objects)), key=lambda i: (-area[i], i))[:MAX_LISTED]
    return sorted(largest)


def _per_category(objects: list[dict[str, Any]], key: str) -> dict[str, dict[str, int]]:
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for o in objects:
        if o.get(key) is not None:
            out[o["category"]][str(o[key])] += 1
    return {c: dict(sorted(n.items(), key=lambda kv: (-kv[1], kv[0])))
            for c, n in sorted(out.items())}


def _sizes_m(objects: list[dict[str, Any]]) -> dict[str, list[float]]:
    sizes: dict[str, list[float]] = defaultdict(list)
    for o in objects:
        if o.get("size_m") is not None:
            sizes[o["category"]].append(float(max(o["size_m"]) if isinstance(
                o["size_m"], list | tuple) else o["size_m"]))
    return {c: [round(min(v), 1), round(statistics.median(v), 1), round(max(v), 1)]
            for c, v in sorted(sizes.items())}


def _relations(facts: dict[str, Any], listed: list[int]) -> tuple[dict[str, Any], list[Any]]:
    """Pair counts per relation and category pair, and a few examples between listed ones."""
    objects = facts["objects"]
    position = {i: k for k, i in enumerate(listed)}
    summary: dict[str, dict[str, int]] = {}
    examples: list[list[Any]] = []
    relations = facts.get("relations") or {}
    per_kind = max(1, MAX_RELATION_EXAMPLES // max(1, len(relations)))
    order = sorted(relations, key=lambda n: (n != "near", n))  # nearness first
    for name in order:
        counts: Counter[str] = Counter()
        shown = 0
        for i, j in relations[name]:
            counts[f"{objects[i]['category']}-{objects[j]['category']}"] += 1
            if i in position and j in position and shown < per_kind:
                examples.append([position[i], name, position[j]])
                shown += 1
        if counts:
            summary[name] = dict(sorted(counts.items()))
    return summary, examples


def prompt_facts(facts: dict[str, Any]) -> dict[str, Any]:
    """The facts an LLM needs, without ids and raw boxes, bounded in size (see the module)."""
    objects = facts["objects"]
    listed = _listed(objects)
    out: dict[str, Any] = {
        "image_size_px": facts["size"], "counts": facts["counts"], "total": facts["total"],
        "objects": [_compact(objects[i]) for i in listed],
    }
    if len(listed) < len(objects):
        out["objects_note"] = (f"the {len(listed)} largest of {len(objects)} objects; the "
                               "per-category figures below cover all of them")
        out["cells"] = _per_category(objects, "cell")
        out["size_classes"] = _per_category(objects, "size_class")
        for key, name in (("fine_type", "fine_types"), ("shape", "shapes")):
            if any(o.get(key) is not None for o in objects):
                out[name] = _per_category(objects, key)
        if (sizes := _sizes_m(objects)):
            out["size_m_min_median_max"] = sizes
    out |= {"land_cover": facts.get("land_cover", {}),
            "dominant_land_cover": facts.get("dominant_land_cover"),
            "sensor": facts.get("geo", {})}
    if facts.get("arrangement"):
        out["arrangement"] = {c: a["label"] if isinstance(a, dict) else a
                              for c, a in sorted(facts["arrangement"].items())}
    if facts.get("relations"):
        summary, examples = _relations(facts, listed)
        if summary:
            out["relation_pairs"] = summary
        if examples:
            out["relation_examples"] = examples
    return out


def render_facts(facts: dict[str, Any]) -> str:
    """Prompt facts as JSON, one top-level key (and one listed object) per line."""
    lines = []
    for key, value in facts.items():
        if key == "objects" and value:
            inner = ",\n  ".join(json.dumps(o, ensure_ascii=False) for o in value)
            lines.append(f'"objects": [\n  {inner}]')
        else:
            lines.append(f"{json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}")
    return "{" + ",\n".join(lines) + "}"
