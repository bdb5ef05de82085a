"""CPU cost of the pure per-shard work (``narrator.pipeline.process_shard``); prints JSON.

Scenes are built in memory like benchmarks/scale.py's COCO dataset (800x800 images, about
gauss(10, 3) boxes of 6 categories, annotation-only: no polygons, regions or GSD), cut into
shards of ``--shard-size`` and run through ``process_shard`` with ``--llm rules``. Figures are
medians over ``--repeats`` of CPU milliseconds per scene (single process, so CPU time is what
one core spent, which stays meaningful on a shared machine), with a split by stage: facts
(``shard_facts``), vqa (``VQAEngine.rows``), captions (``RuleCaptioner.rows``) and json+hash
(the facts text and hash, the params text), each timed alone with the same calls and the
cyclic GC paused, and ``other``: the rest of the total (GC passes, glue, set-up).

``--against REF`` also runs the same benchmark on the code of git ref REF (exported to a
temporary folder) in a subprocess, and prints both with the ratio.

    python benchmarks/shard.py --scenes 5000 --repeats 5 --against main
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, os.environ.get("NARRATOR_BENCH_CODE", str(ROOT)))

from narrator.caption import RuleCaptioner  # noqa: E402
from narrator.facts import shard_facts  # noqa: E402

try:
    from narrator.facts import shard_facts_json as with_text
except ImportError:  # code before the per-shard optimisation
    with_text = None
from narrator.ids import canonical_json, make_id, text_hash  # noqa: E402
from narrator.pipeline import GenerateConfig, process_shard  # noqa: E402
from narrator.records import Object, Scene, SceneBundle  # noqa: E402
from narrator.vqa import VQAEngine, load_families  # noqa: E402

CATEGORIES = ["ship", "aircraft", "tank", "bridge", "harbor", "car"]


def make_bundles(n: int, seed: int = 0) -> list[SceneBundle]:
    """benchmarks/scale.py's scenes, as the COCO reader stores them."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        sid = make_id("scale", i)
        scene = Scene(sid, "bench", f"P{i // 16:05d}_{i:07d}.tif", None, 800, 800)
        objs = []
        for j in range(max(1, int(rng.gauss(10, 3)))):
            w, h = round(rng.uniform(8, 120), 1), round(rng.uniform(8, 120), 1)
            x, y = round(rng.uniform(0, 800 - w), 1), round(rng.uniform(0, 800 - h), 1)
            cat = CATEGORIES[rng.randint(1, len(CATEGORIES)) - 1]
            objs.append(Object(make_id(sid, j), sid, cat, x, y, x + w, y + h,
                               source_category=cat, source_id=str(j)))
        out.append(SceneBundle(scene, objs, []))
    return out


def _cpu_ms(fn: Callable[[], Any], collect: bool = True) -> float:
    """CPU milliseconds of ``fn()``; with ``collect`` False the cyclic GC is paused (as the
    optimised process_shard does), so that a stage's figure is its own work."""
    gc.collect()
    if not collect:
        gc.disable()
    try:
        t0 = time.process_time()
        fn()
        return (time.process_time() - t0) * 1000
    finally:
        gc.enable()


def _stages(shards: list[list[SceneBundle]], config: GenerateConfig) -> dict[str, float]:
    """CPU ms of each stage of process_shard over all shards, each stage timed alone."""
    facts = [shard_facts(s, CATEGORIES) for s in shards]
    engine = VQAEngine(load_families(), seed=config.seed, style=config.style,
                       options=config.vqa())
    captioner = RuleCaptioner()
    rows = [[r for f in fs for r in engine.rows(f)] for fs in facts]

    texts = [[t for _, t in with_text(s, CATEGORIES)] for s in shards] if with_text else None

    def json_hash() -> None:
        for k, (fs, rs) in enumerate(zip(facts, rows, strict=True)):
            for i, f in enumerate(fs):
                text_hash(canonical_json(f) if texts is None else texts[k][i])
            for r in rs:
                canonical_json(r["params"])

    facts_ms = _cpu_ms(lambda: [shard_facts(s, CATEGORIES) for s in shards], False)
    text_ms = 0.0
    if with_text is not None:  # this code writes the facts texts along with the documents
        text_ms = _cpu_ms(lambda: [with_text(s, CATEGORIES) for s in shards], False) - facts_ms
    return {
        "facts": facts_ms,
        "vqa": _cpu_ms(lambda: [engine.rows(f) for fs in facts for f in fs], False),
        "captions": _cpu_ms(lambda: [captioner.rows(f) for fs in facts for f in fs], False),
        "json_hash": _cpu_ms(json_hash, False) + text_ms,
    }


def measure(scenes: int, shard_size: int, repeats: int, style: str, seed: int) -> dict[str, Any]:
    bundles = make_bundles(scenes, seed)
    shards = [bundles[i:i + shard_size] for i in range(0, scenes, shard_size)]
    config = GenerateConfig(seed=seed, style=style)
    process_shard(shards[0], CATEGORIES, config)  # warm-up: templates, vocabulary
    totals, splits, qa = [], [], 0
    for _ in range(repeats):
        results: list[Any] = []
        totals.append(_cpu_ms(lambda: results.extend(
            process_shard(s, CATEGORIES, config) for s in shards)) / scenes)
        qa = sum(len(r.vqa) for r in results)
        split = {k: v / scenes for k, v in _stages(shards, config).items()}
        split["other"] = totals[-1] - sum(split.values())  # GC, glue, engine set-up
        splits.append(split)
    return {"scenes": scenes, "qa_pairs": qa, "shard_size": shard_size, "style": style,
            "repeats": repeats, "ms_per_scene": round(statistics.median(totals), 4),
            "ms_per_scene_min": round(min(totals), 4),
            "ms_per_scene_all": [round(t, 4) for t in totals],
            "split_ms_per_scene": {k: round(statistics.median(s[k] for s in splits), 4)
                                   for k in splits[0]}}


def _against(ref: str, argv: list[str]) -> dict[str, Any]:
    """The same benchmark on the code of git ref ``ref``, in a subprocess."""
    with tempfile.TemporaryDirectory(prefix="narrator-shard-") as tmp:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "narrator",
                                  "templates", "prompts"], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        env = os.environ | {"NARRATOR_BENCH_CODE": tmp}
        out = subprocess.run([sys.executable, __file__, *argv], env=env, check=True,
                             capture_output=True, text=True).stdout
    return json.loads(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=5000)
    ap.add_argument("--shard-size", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--style", default="generic", choices=["generic", "sarlang", "sarchat"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--against", metavar="REF", help="also run on git ref REF and compare")
    a = ap.parse_args()
    argv = [f"--scenes={a.scenes}", f"--shard-size={a.shard_size}", f"--repeats={a.repeats}",
            f"--style={a.style}", f"--seed={a.seed}"]
    new = measure(a.scenes, a.shard_size, a.repeats, a.style, a.seed)
    report: dict[str, Any] = {"benchmark": "process_shard", **new}
    if a.against:
        old = _against(a.against, argv)
        report = {"benchmark": "process_shard", "this": new, a.against: old,
                  "speedup": round(old["ms_per_scene"] / new["ms_per_scene"], 2),
                  "speedup_of_min": round(old["ms_per_scene_min"] / new["ms_per_scene_min"], 2),
                  "same_qa_pairs": old["qa_pairs"] == new["qa_pairs"]}
    report["load_average_1m"] = round(os.getloadavg()[0], 2)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
