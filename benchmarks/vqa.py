"""Throughput of SceneFacts + templated VQA on generated scenes; prints JSON.

Scenes are made in memory by seeded code (about ``--objects`` rotated targets each, with
polygons, a GSD and two or three land-cover regions), cut into shards as the flow does, and
run through ``shard_facts`` + ``facts_hash`` + ``VQAEngine.rows`` (the VQA part of
``narrator.pipeline.process_shard``; captions and DuckDB writes are not timed). Each repeat
times the whole run (wall clock and CPU time); the figures are medians. ``--workers N`` runs
shards in N processes.

    python benchmarks/vqa.py --scenes 10000 --objects 10 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from narrator.facts import facts_hash, shard_facts  # noqa: E402
from narrator.ids import make_id  # noqa: E402
from narrator.records import Object, Region, Scene, SceneBundle  # noqa: E402
from narrator.vqa import VQAEngine, VQAOptions, yes_no_balance  # noqa: E402

CATEGORIES = ["ship", "aircraft", "tank", "bridge", "harbor", "car", "vehicle", "building"]


def _regions(scene_id: str, size: int, rng: np.random.Generator) -> list[Region]:
    cut = rng.uniform(0.3, 0.7) * size
    water = shapely.Polygon([(0, cut), (size, cut + rng.uniform(-50, 50)), (size, size),
                             (0, size)])
    land = shapely.box(0, 0, size, size).difference(water)
    veg = land.intersection(shapely.box(0, 0, rng.uniform(0.2, 0.5) * size, size))
    built = land.difference(veg)
    out = []
    for name, geom in (("water", water), ("vegetation", veg), ("built-up", built)):
        if not geom.is_empty:
            out.append(Region(make_id(scene_id, name), scene_id, name, geom.area,
                              geom.area / size ** 2, geom.wkb))
    return out


def make_scenes(n: int, objects: int, seed: int = 0, size: int = 512) -> list[SceneBundle]:
    """``n`` scenes of about ``objects`` targets (Poisson), some in aligned rows."""
    rng = np.random.default_rng(seed)
    bundles = []
    for i in range(n):
        sid = make_id("bench", i)
        scene = Scene(sid, "bench", f"s{i}.tif", None, size, size, gsd_m=float(rng.choice(
            [0.5, 1.0, 3.0, 10.0])), platform="Sentinel-1A", band="C", polarization="VV")
        k = int(rng.poisson(objects))
        cats = rng.choice(CATEGORIES[: rng.integers(2, len(CATEGORIES))], size=k)
        cx, cy = rng.uniform(20, size - 20, k), rng.uniform(20, size - 20, k)
        if k >= 4 and rng.random() < 0.3:  # an aligned row of the first four
            cy[:4] = cy[0] + rng.normal(0, 1.0, 4)
            cats[:4] = cats[0]
        length, width = rng.uniform(8, 60, k), rng.uniform(4, 20, k)
        rects = shapely.box(cx - length / 2, cy - width / 2, cx + length / 2, cy + width / 2)
        polys = [shapely.affinity.rotate(r, a, origin="centroid")
                 for r, a in zip(rects, rng.uniform(0, 180, k), strict=True)]
        bounds = shapely.bounds(np.array(polys, dtype=object)) if k else np.zeros((0, 4))
        objs = [Object(make_id(sid, j), sid, str(cats[j]),
                       *np.clip(bounds[j], 0, size).tolist(), poly_wkb=polys[j].wkb)
                for j in range(k)]
        bundles.append(SceneBundle(scene, objs, _regions(sid, size, rng)))
    return bundles


def run_shard(args: tuple[list[SceneBundle], list[str], dict[str, Any]]) -> tuple[int, int, int]:
    bundles, vocabulary, cfg = args
    engine = VQAEngine(seed=cfg["seed"], style=cfg["style"], options=VQAOptions())
    n_rows = yes = 0
    for facts in shard_facts(bundles, vocabulary):
        facts_hash(facts)
        rows = engine.rows(facts)
        n_rows += len(rows)
        yes += yes_no_balance(rows)["yes"]
    return len(bundles), n_rows, yes


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _one_run(shards: list[list[SceneBundle]], vocabulary: list[str], cfg: dict[str, Any],
             workers: int) -> tuple[float, float, int]:
    jobs = [(s, vocabulary, cfg) for s in shards]
    t0, c0 = time.perf_counter(), _cpu_s()
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            results = list(pool.map(run_shard, jobs))
    else:
        results = [run_shard(j) for j in jobs]
    return time.perf_counter() - t0, _cpu_s() - c0, sum(r[1] for r in results)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=10_000)
    ap.add_argument("--objects", type=int, default=10)
    ap.add_argument("--shard-size", type=int, default=256)
    ap.add_argument("--style", default="generic", choices=["generic", "sarlang", "sarchat"])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    t0 = time.perf_counter()
    bundles = make_scenes(a.scenes, a.objects, a.seed)
    make_s = time.perf_counter() - t0
    shards = [bundles[i:i + a.shard_size] for i in range(0, len(bundles), a.shard_size)]
    cfg = {"seed": a.seed, "style": a.style}
    runs = [_one_run(shards, CATEGORIES, cfg, a.workers) for _ in range(a.repeats)]
    seconds = statistics.median(r[0] for r in runs)
    cpu = statistics.median(r[1] for r in runs)
    qa = runs[0][2]
    cores = min(a.workers, os.cpu_count() or 1)
    print(json.dumps({
        "benchmark": "facts+vqa", "scenes": a.scenes,
        "objects": sum(len(b.objects) for b in bundles), "qa_pairs": qa,
        "style": a.style, "workers": a.workers, "repeats": a.repeats,
        "seconds_median": round(seconds, 3), "seconds_all": [round(r[0], 3) for r in runs],
        "scenes_per_s": round(a.scenes / seconds, 1), "qa_pairs_per_s": round(qa / seconds, 1),
        "qa_pairs_per_s_per_core": round(qa / seconds / cores, 1),
        # CPU time is what a core spent, so it stays meaningful on a shared, loaded machine
        "cpu_seconds_median": round(cpu, 3), "qa_pairs_per_cpu_s": round(qa / cpu, 1),
        "scenes_per_cpu_s": round(a.scenes / cpu, 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "generate_scenes_s": round(make_s, 2), "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
    }, indent=1))


if __name__ == "__main__":
    main()
