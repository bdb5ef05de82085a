"""Scale benchmark: a SARLANG-1M-sized templated run, as a user runs it.

Generates (seeded) a COCO dataset of N annotation-only scenes with about 10 objects each,
runs `narrator generate --llm rules` (a Prefect flow run, or `--no-server`) and `narrator
export --format jsonl` as subprocesses, and prints JSON per size: seconds per stage (and the
generate run's own split: ingest, shards, the committing thread's waits and commits), the CPU
seconds of every kind of process in the tree (narrator, worker processes, Prefect's server),
the worker processes' idle share, each command's peak RSS and peak tree PSS, and the I/O floor
measured in the same run (reading the input JSON and writing the same number of output rows
with no processing) with the ratio to it. ``--repeat`` runs each size that many times and
adds the medians.

    python benchmarks/scale.py --scenes 10000 100000 [--no-server] [--repeat 3]
    python benchmarks/scale.py --big          # 1,000,000 scenes (about 10M texts): not in CI
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CATEGORIES = ["ship", "aircraft", "tank", "bridge", "harbor", "car"]


def make_dataset(root: Path, n_scenes: int, seed: int = 0) -> Path:
    """Write the COCO file as it is made (a million scenes never sit in memory at once)."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    path = root / "annotations.json"
    boxes: list[list[float]] = []  # (image id, box) of every annotation, made with the images
    with path.open("w") as fh:
        fh.write('{"images": [')
        for i in range(n_scenes):
            fh.write(("," if i else "") + json.dumps(
                {"id": i + 1, "file_name": f"P{i // 16:05d}_{i:07d}.tif", "width": 800,
                 "height": 800}))
            for _ in range(max(1, int(rng.gauss(10, 3)))):
                w, h = rng.uniform(8, 120), rng.uniform(8, 120)
                x, y = rng.uniform(0, 800 - w), rng.uniform(0, 800 - h)
                boxes.append([i + 1, rng.randint(1, len(CATEGORIES)), round(x, 1), round(y, 1),
                              round(w, 1), round(h, 1)])
        fh.write('], "annotations": [')
        for k, (image, cat, x, y, w, h) in enumerate(boxes):
            fh.write(("," if k else "") + json.dumps(
                {"id": k + 1, "image_id": int(image), "category_id": int(cat),
                 "bbox": [x, y, w, h], "area": round(w * h, 1), "iscrowd": 0}))
        fh.write('], "categories": ' + json.dumps(
            [{"id": i + 1, "name": c} for i, c in enumerate(CATEGORIES)]) + "}")
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


def _proc_stat(pid: int) -> tuple[float, float] | None:
    """(CPU seconds, start time in clock ticks) of a process, None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICK, int(fields[19]) / _TICK


_TICK = os.sysconf("SC_CLK_TCK")


def _role(pid: int, root: int, parent_role: str | None) -> str:
    """What a process of the tree is: narrator (the command), forkserver, workers (shard
    processes: forked by the forkserver, so with its command line), prefect-server, other."""
    if pid == root:
        return "narrator"
    if parent_role in ("forkserver", "workers"):
        return "workers"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmd = fh.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "other"
    if "uvicorn" in cmd or "prefect" in cmd and "server" in cmd:
        return "prefect-server"
    if "forkserver" in cmd and "main" in cmd and "spawn_main" not in cmd:
        return "forkserver"
    if "multiprocessing" in cmd:
        return "workers"
    return "other"


def _tree(root: int) -> list[tuple[int, int]]:
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
    out, todo = [], [(root, 0)]
    while todo:  # parents before their children
        pid, parent = todo.pop()
        out.append((pid, parent))
        todo.extend((c, pid) for c in children.get(pid, []))
    return out


def run_measured(cmd: list[str]) -> dict[str, Any]:
    """Run ``cmd``, sampling its process tree every 50 ms: seconds, the peak RSS of the
    biggest process (ru_maxrss), the peak of the tree's summed PSS (Prefect's server and the
    worker processes count too), CPU seconds per kind of process (each process's last sample)
    and the worker processes' idle share (1 - their CPU / their lifetime)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak_tree = 0
    seen: dict[tuple[int, float], dict[str, Any]] = {}  # (pid, start) -> role, cpu, first, last
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        now, pss, roles = time.perf_counter(), 0, {}
        for p, parent in _tree(proc.pid):
            stat = _proc_stat(p)
            if stat is None:
                continue
            pss += _pss(p)
            entry = seen.setdefault((p, stat[1]), {
                "role": _role(p, proc.pid, roles.get(parent)), "first": now})
            roles[p] = entry["role"]
            entry |= {"cpu": stat[0], "last": now}
        peak_tree = max(peak_tree, pss)
        time.sleep(0.05)
    seconds = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        sys.exit(f"{' '.join(cmd)} failed:\n{err[-2000:]}")
    cpu: dict[str, float] = {}
    for e in seen.values():
        cpu[e["role"]] = cpu.get(e["role"], 0.0) + e["cpu"]
    workers = [e for e in seen.values() if e["role"] == "workers"]
    life = sum(max(e["last"] - e["first"], 0.05) for e in workers)
    idle = 1 - sum(e["cpu"] for e in workers) / life if workers else None
    return {"seconds": seconds, "rss": usage.ru_maxrss * 1024, "tree_pss": peak_tree,
            "cpu_s": {k: round(v, 1) for k, v in sorted(cpu.items())},
            "workers": len(workers),
            "workers_idle_share": None if idle is None else round(max(idle, 0.0), 3)}


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


def bench(n_scenes: int, workdir: Path, no_server: bool = False) -> dict[str, Any]:
    narrator = str(Path(sys.executable).with_name("narrator"))
    root = workdir / f"d{n_scenes}"
    annotation = root / "annotations.json"
    if not annotation.exists():
        make_dataset(root, n_scenes)
    db, out = workdir / f"n{n_scenes}.duckdb", workdir / f"t{n_scenes}.jsonl"
    for stale in (db, db.with_name(db.name + ".wal"), out):
        stale.unlink(missing_ok=True)
    gen = run_measured([narrator, "generate", str(annotation), "--db", str(db), "--llm", "rules",
                        *(["--no-server"] if no_server else [])])
    exp = run_measured([narrator, "export", "--db", str(db), "--format", "jsonl",
                        "--out", str(out)])
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    qa = con.execute("SELECT count(*) FROM vqa").fetchall()[0][0]
    caps = con.execute("SELECT count(*) FROM captions").fetchall()[0][0]
    summary = json.loads(con.execute("SELECT summary FROM runs").fetchall()[0][0])
    con.close()
    rerun = run_measured([narrator, "generate", str(annotation), "--db", str(db), "--llm",
                          "rules", *(["--no-server"] if no_server else [])])
    floor = io_floor(annotation, qa + caps, workdir / "floor.jsonl")
    total = gen["seconds"] + exp["seconds"]
    return {"scenes": n_scenes, "mode": "no-server" if no_server else "prefect",
            "qa_pairs": qa, "captions": caps,
            "seconds": {"generate": round(gen["seconds"], 2),
                        "export": round(exp["seconds"], 2), "total": round(total, 2),
                        "rerun_generate": round(rerun["seconds"], 2),
                        "in_flow": {k: summary.get(k) for k in
                                    ("ingest_s", "generate_s", "wait_s", "commit_s")}},
            "cpu_s": {"generate": gen["cpu_s"], "export": exp["cpu_s"]},
            "workers": gen["workers"], "workers_idle_share": gen["workers_idle_share"],
            "peak_rss_mb": {"generate": round(gen["rss"] / 2**20),
                            "export": round(exp["rss"] / 2**20)},
            "peak_tree_pss_mb": {"generate": round(gen["tree_pss"] / 2**20),
                                 "export": round(exp["tree_pss"] / 2**20)},
            "io_floor_s": round(floor, 2), "ratio_to_io_floor": round(total / floor, 2),
            "rerun_share": round(rerun["seconds"] / total, 3),
            "qa_pairs_per_s": round(qa / total)}


def _medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def med(path: tuple[str, ...]) -> float:
        values = []
        for r in runs:
            v: Any = r
            for k in path:
                v = v[k]
            values.append(v)
        return round(statistics.median(values), 2)

    return {"runs": len(runs), "total_s": med(("seconds", "total")),
            "generate_s": med(("seconds", "generate")), "export_s": med(("seconds", "export")),
            "rerun_generate_s": med(("seconds", "rerun_generate")),
            "io_floor_s": med(("io_floor_s",)), "ratio_to_io_floor": med(("ratio_to_io_floor",)),
            "peak_tree_pss_mb": med(("peak_tree_pss_mb", "generate"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--big", action="store_true", help="1,000,000 scenes (not in CI)")
    parser.add_argument("--no-server", action="store_true",
                        help="generate --no-server (no Prefect) instead of a flow run")
    parser.add_argument("--repeat", type=int, default=1, help="runs per size (medians)")
    args = parser.parse_args()
    sizes = [1_000_000] if args.big else args.scenes
    out: dict[str, Any] = {"benchmark": "scale", "cpus": os.cpu_count(), "runs": [],
                           "medians": {}}
    with tempfile.TemporaryDirectory(prefix="narrator-scale-") as tmp:
        for n in sizes:
            runs = [bench(n, Path(tmp), args.no_server) for _ in range(args.repeat)]
            out["runs"] += runs
            out["medians"][str(n)] = _medians(runs)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
