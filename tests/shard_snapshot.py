"""The readable snapshot of the templated texts: what ``process_shard`` makes for the seeded
fixture scenes of tests/shard_scenes.py, one JSON line per text, in
tests/snapshot_data/shard_texts.jsonl.

An intended change (a template edited, a phrasing fixed) shows up in the test's failure as a
per-line diff; accept it by regenerating the file and committing it with the change:

    PYTHONPATH=. python -m tests.shard_snapshot --write

Correctness is not judged here but by the independent VQA checker (tests/vqa_checker.py).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from narrator.pipeline import GenerateConfig, process_shard
from tests.shard_scenes import VOCABULARY, make_bundles

SNAPSHOT = Path(__file__).parent / "snapshot_data" / "shard_texts.jsonl"

#: name -> (settings, how many of the fixture's scenes); the first scenes hold the edge
#: cases (no object, one object, no GSD, 60+ objects)
CONFIGS: dict[str, tuple[GenerateConfig, int]] = {
    "generic": (GenerateConfig(), 24),
    "sarlang": (GenerateConfig(style="sarlang", class_list=True, seed=1), 12),
    "sarchat": (GenerateConfig(style="sarchat", seed=3), 12),
    "options": (GenerateConfig(seed=5, families=("presence", "count", "position", "grounding",
                                                 "area", "land_under", "describe"),
                               vqa_options=(("max_per_scene", 30), ("quota.presence", 6),
                                            ("allow_border", True))), 12),
}


def _params(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def snapshot_lines() -> list[str]:
    """The snapshot of the code checked out, line by line (scenes by file name)."""
    bundles = make_bundles()
    lines = []
    for name, (config, n) in CONFIGS.items():
        shard = bundles[:n]
        result = process_shard(shard, VOCABULARY, config)
        names = {b.scene.scene_id: b.scene.file_name for b in shard}
        rows: list[dict[str, Any]] = []
        for f in result.facts:
            rows.append({"config": name, "scene": names[f["scene_id"]], "part": "facts",
                         "version": f["version"], "facts_hash": f["facts_hash"]})
        for q in result.vqa:
            rows.append({"config": name, "scene": names[q["scene_id"]], "part": "vqa",
                         "template": q["template_id"], "question": q["question"],
                         "answer": q["answer"], "params": _params(q["params"]),
                         "qa_id": q["qa_id"]})
        for c in result.captions:
            rows.append({"config": name, "scene": names[c["scene_id"]], "part": c["kind"],
                         "template": c["template_id"], "text": c["text"],
                         "status": c["status"], "caption_id": c["caption_id"]})
        lines += [json.dumps(r, ensure_ascii=False, sort_keys=False) for r in rows]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description="Print or (--write) regenerate the snapshot.")
    parser.add_argument("--write", action="store_true", help=f"write {SNAPSHOT}")
    args = parser.parse_args()
    lines = snapshot_lines()
    if args.write:
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"wrote {len(lines)} lines to {SNAPSHOT}")
    else:
        print("\n".join(lines))


if __name__ == "__main__":
    main()
