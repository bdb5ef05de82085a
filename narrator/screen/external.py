"""Screen captions made elsewhere (``narrator screen``): one verdict per input line."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from narrator.errors import InputError
from narrator.screen.checks import screen_text
from narrator.store import Store


@dataclass
class ScreenSummary:
    lines: int = 0
    passed: int = 0
    failed: int = 0
    unusable: int = 0
    violations: Counter[str] = field(default_factory=Counter)
    #: claims checked to "unsupported" (the facts cannot tell), by claim kind
    unsupported: Counter[str] = field(default_factory=Counter)


class FactsIndex:
    """SceneFacts of the DB, found by scene id, image file name, path or stem."""

    def __init__(self, store: Store) -> None:
        self.refs = store.scene_refs()
        self.store = store
        self._cache: dict[str, dict[str, Any] | None] = {}

    def facts(self, ref: str) -> dict[str, Any] | None:
        scene_id = self.refs.find(ref)
        if scene_id is None:
            return None
        if scene_id not in self._cache:
            rows = self.store.query("SELECT facts FROM facts WHERE scene_id = ?", [scene_id])
            self._cache[scene_id] = rows[0]["facts"] if rows else None
        return self._cache[scene_id]


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with path.open(encoding="utf-8") as fh:
            yield from enumerate(fh, 1)
    except OSError as exc:
        raise InputError(path, f"cannot read the file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text") from None


def _verdict(raw: str, index: FactsIndex) -> dict[str, Any]:
    try:
        item = json.loads(raw)
    except json.JSONDecodeError as exc:
        return {"status": "unusable", "error": f"not valid JSON: {exc.msg}"}
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        return {"status": "unusable", "error": "expected an object with a 'text' string"}
    ref = item.get("scene_id") or item.get("image")
    out: dict[str, Any] = {"scene_id": item.get("scene_id"), "image": item.get("image")}
    if not ref:
        return out | {"status": "unusable", "error": "no 'scene_id' or 'image'"}
    facts = index.facts(str(ref))
    if facts is None:
        return out | {"status": "unusable",
                      "error": f"no scene {ref!r} with facts in the database "
                               "(run narrator generate on its dataset first)"}
    verdict = screen_text(item["text"], facts)
    return out | {"scene_id": facts["scene_id"],
                  "status": "accepted" if verdict.ok else "rejected",
                  "violations": [v.to_dict() for v in verdict.violations],
                  "claims": [o.to_dict() for o in verdict.outcomes]}


def screen_file(store: Store, captions: Path, out: Path,
                on_line: Callable[[], None] | None = None) -> ScreenSummary:
    """Write one JSON verdict per input line to ``out``; returns the tallies."""
    index = FactsIndex(store)
    summary = ScreenSummary()
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for number, raw in _lines(captions):
            if not raw.strip():
                continue
            verdict = {"line": number} | _verdict(raw, index)
            summary.lines += 1
            status = verdict["status"]
            if status == "accepted":
                summary.passed += 1
            elif status == "rejected":
                summary.failed += 1
                summary.violations.update({v["type"] for v in verdict["violations"]})
            else:
                summary.unusable += 1
            summary.unsupported.update(c["kind"] for c in verdict.get("claims", [])
                                       if c["status"] == "unsupported")
            fh.write(json.dumps(verdict, ensure_ascii=False) + "\n")
            if on_line:
                on_line()
    return summary
