"""Rewrite mode's input: an existing caption per scene (JSON Lines of {"scene_id" or "image",
"text"}), e.g. captions of co-registered optical images that the LLM rewrites into SAR terms."""

from __future__ import annotations

import json
from pathlib import Path

from narrator.errors import InputError
from narrator.records import Quarantine, SceneRefs


def load_rewrites(path: str | Path,
                  refs: SceneRefs) -> tuple[dict[str, str], list[Quarantine]]:
    """Scene id -> caption; lines that are unusable or name no known scene (in ``refs``, the
    dataset's scenes) are quarantined."""
    path = Path(path)
    out: dict[str, str] = {}
    problems: list[Quarantine] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read the captions to rewrite ({exc})") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(Quarantine("rewrite", str(path), f"not valid JSON: {exc.msg}",
                                       f"line {number}"))
            continue
        ref = item.get("scene_id") or item.get("image") if isinstance(item, dict) else None
        text = item.get("text") if isinstance(item, dict) else None
        scene_id = refs.find(str(ref)) if ref else None
        if not isinstance(text, str) or not text.strip() or scene_id is None:
            problems.append(Quarantine("rewrite", str(path),
                                       "needs a 'text' and the 'scene_id' or 'image' of a "
                                       "scene of this dataset", f"line {number}"))
            continue
        out[scene_id] = text.strip()
    return out, problems
