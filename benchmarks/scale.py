"""Scale benchmark: a SARLANG-1M-sized templated run, as a user runs it.

Generates (seeded) a COCO dataset of N annotation-only scenes with about 10 objects each,
runs `narrator generate --llm rules` and `narrator export --format jsonl` as subprocesses,
and prints JSON: scenes, QA pairs, captions, seconds per stage, each command's peak RSS, and
the I/O floor measured in the same run (reading the input JSON and writing the same number of
output rows with no processing) with the ratio to it.

    python benchmarks/scale.py --scenes 10000 50000 100000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CATEGORIES = ["ship", "aircraft", "tank", "bridge", "harbor", "car"]


def make_dataset(root: Path, n_scenes: int, seed: int = 0) -> Path:
    rng = random.Random(seed)
    images, anns = [], []
    for i in range(n_scenes):
        images.append({"id": i + 1, "file_name": f"P{i // 16:05d}_{i:07d}.tif", "width": 800,
                       "height": 800})
        for _ in range(max(1, int(rng.gauss(10, 3)))):
            w, h = rng.uniform(8, 120), rng.uniform(8, 120)
            x, y = rng.uniform(0, 800 - w), rng.uniform(0, 800 - h)
            anns.append({"id": len(anns) + 1, "image_id": i + 1,
                         "category_id": rng.randint(1, len(CATEGORIES)),
                         "bbox": [round(x, 1), round(y, 1), round(w, 1), round(h, 1)],
                         "area": round(w * h, 1), "iscrowd": 0})
    root.mkdir(parents=True, exist_ok=True)
    path = root / "annotations.json"
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": [
        {"id": i + 1, "name": c} for i, c in enumerate(CATEGORIES)]}))
    return path


def _pss(pid: int) -> int:
    """Proportional set size: resident bytes with pages shared between processes (a forked
    worker's copy of the parent's libraries) split between them, so that a sum is honest."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _tree_pss(root: int) -> int:
    """Memory (PSS) of ``root`` and all its descendants now (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += _pss(pid)
        todo.extend(children.get(pid, []))
    return total


def run_measured(cmd: list[str]) -> tuple[float, int, int]:
    """Seconds, the peak RSS of the biggest single process (ru_maxrss) and the peak of the
    whole process tree's summed PSS (sampled every 50 ms: Prefect's server and the worker
    processes count too)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak_tree = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        peak_tree = max(peak_tree, _tree_pss(proc.pid))
        time.sleep(0.05)
    seconds = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        sys.exit(f"{' '.join(cmd)} failed:\n{err[-2000:]}")
    return seconds, usage.ru_maxrss * 1024, peak_tree


def io_floor(annotation: Path, n_rows: int, out: Path) -> float:
    """Read the input JSON, write ``n_rows`` JSON lines of similar size: no processing."""
    t0 = time.perf_counter()
    data = json.loads(annotation.read_text())
    row = {"id": "0123456789abcdef", "type": "vqa", "scene_id": "0123456789abcdef",
           "image": data["images"][0]["file_name"], "task": "count",
           "question": "How many ships are there in the image?", "answer": "3",
           "params": {"category": "ship"}, "template_id": "count.v1"}
    with out.open("w") as fh:
        line = json.dumps(row) + "\n"
        for _ in range(n_rows):
            fh.write(line)
    return time.perf_counter() - t0


def bench(n_scenes: int, workdir: Path) -> dict[str, Any]:
    narrator = str(Path(sys.executable).with_name("narrator"))
    root = workdir / f"d{n_scenes}"
    annotation = make_dataset(root, n_scenes)
    db, out = workdir / f"n{n_scenes}.duckdb", workdir / f"t{n_scenes}.jsonl"
    gen_s, gen_rss, gen_tree = run_measured([narrator, "generate", str(annotation), "--db", str(db),
                                   "--llm", "rules"])
    exp_s, exp_rss, exp_tree = run_measured([narrator, "export", "--db", str(db), "--format", "jsonl",
                                   "--out", str(out)])
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    qa = con.execute("SELECT count(*) FROM vqa").fetchall()[0][0]
    caps = con.execute("SELECT count(*) FROM captions").fetchall()[0][0]
    summary = json.loads(con.execute("SELECT summary FROM runs").fetchall()[0][0])
    con.close()
    floor = io_floor(annotation, qa + caps, workdir / "floor.jsonl")
    total = gen_s + exp_s
    return {"scenes": n_scenes, "qa_pairs": qa, "captions": caps,
            "seconds": {"generate": round(gen_s, 2), "export": round(exp_s, 2),
                        "total": round(total, 2),
                        "in_flow": {k: summary.get(k) for k in ("ingest_s", "generate_s")}},
            "peak_rss_mb": {"generate": round(gen_rss / 2**20), "export": round(exp_rss / 2**20)},
            "peak_tree_pss_mb": {"generate": round(gen_tree / 2**20),
                                 "export": round(exp_tree / 2**20)},
            "io_floor_s": round(floor, 2), "ratio_to_io_floor": round(total / floor, 2),
            "qa_pairs_per_s": round(qa / total)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, nargs="+", default=[10_000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="narrator-scale-") as tmp:
        results = [bench(n, Path(tmp)) for n in args.scenes]
    print(json.dumps({"benchmark": "scale", "cpus": os.cpu_count(), "runs": results}, indent=1))


if __name__ == "__main__":
    main()
