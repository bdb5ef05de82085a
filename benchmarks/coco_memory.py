"""COCO reader cost: seconds and peak RSS of reading scale-sized COCO files, old vs new code.

For each N, writes the seeded dataset of benchmarks/scale.py (N annotation-only scenes, about
10 boxes each) and reads it in a fresh subprocess per (code, N), so that each peak RSS is
that run's own (ru_maxrss; VmHWM beside it as a check): the reader's ``read_source`` is iterated to the end and every bundle dropped
as it comes (what a streaming consumer does), so the figures are the reader's own cost.
"old" is the ``narrator`` package at ``--baseline`` (a git ref, extracted with git archive),
"new" the working tree. Each process reports its RSS after the imports (the floor), its
peak RSS, wall and CPU seconds, and the seconds to the first yielded item (the parse; CPU
seconds are the fairer figure on a shared machine).
A second, untimed pass per code hashes every yielded record, the source stats and the class
counts, to show the two readers give identical output. Prints one JSON document.

    python benchmarks/coco_memory.py --scenes 10000 50000 100000 --baseline main
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

DRIVER = r"""
import hashlib, json, resource, sys, time
from pathlib import Path

def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

from narrator.ingest import load_config
from narrator.ingest.registry import reader_for
path, check = Path(sys.argv[1]), sys.argv[2] == "check"
reader = reader_for(load_config(path))
floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
digest = hashlib.blake2b(digest_size=16)
counts = {"scenes": 0, "objects": 0, "quarantined": 0}
first = first_cpu = None
t0, c0 = time.perf_counter(), cpu()
for source in reader.sources():
    for item in reader.read_source(source):
        if first is None:
            first, first_cpu = time.perf_counter() - t0, cpu() - c0
        if hasattr(item, "objects"):
            counts["scenes"] += 1
            counts["objects"] += len(item.objects)
        else:
            counts["quarantined"] += 1
        if check:
            digest.update(repr(item).encode())
        del item
wall, cpu_s = time.perf_counter() - t0, cpu() - c0
if check:
    digest.update(repr(sorted((k, repr(v)) for k, v in reader.stats.items())).encode())
    digest.update(repr((sorted(reader.declared), sorted(reader.class_map.unknown.items()))).encode())
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps(counts | {"vmhwm_mb": round(hwm / 1024),
    "wall_s": round(wall, 2), "cpu_s": round(cpu_s, 2), "first_item_s": round(first or 0, 2),
    "first_item_cpu_s": round(first_cpu or 0, 2),
    "floor_rss_mb": round(floor / 1024), "peak_rss_mb": round(peak / 1024),
    "reader_rss_mb": round((peak - floor) / 1024), "digest": digest.hexdigest() if check else None}))
"""


def run(code: Path, annotation: Path, check: bool) -> dict[str, Any]:
    env = os.environ | {"PYTHONPATH": str(code)}
    out = subprocess.run([sys.executable, "-c", DRIVER, str(annotation),
                          "check" if check else "time"], env=env, check=True,
                         capture_output=True, text=True, cwd=code)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def generate(root: Path, n: int) -> Path:
    """benchmarks/scale.py's dataset, written by a child process: this one stays small, so
    that it does not raise the peak RSS its children inherit until they exec."""
    code = (f"import sys; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); "
            f"from scale import make_dataset; from pathlib import Path; "
            f"print(make_dataset(Path({str(root)!r}), {n}))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True)
    return Path(out.stdout.strip())


def extract(ref: str, into: Path) -> Path:
    """The narrator package (and its templates) as they are at git ``ref``."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", ref, "narrator", "templates", "prompts"], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, nargs="+", default=[10_000, 50_000, 100_000])
    parser.add_argument("--baseline", default="main",
                        help="git ref of the old code ('none': measure the working tree only)")
    parser.add_argument("--no-check", action="store_true", help="skip the identical-output pass")
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory(prefix="narrator-coco-") as tmp:
        codes = {"new": ROOT}
        if args.baseline != "none":
            codes = {"old": extract(args.baseline, Path(tmp) / "old")} | codes
        for n in args.scenes:
            annotation = generate(Path(tmp) / f"d{n}", n)
            row: dict[str, Any] = {"scenes": n, "file_mb": round(annotation.stat().st_size / 2**20)}
            for name, code in codes.items():
                row[name] = run(code, annotation, check=False)
                if not args.no_check:
                    row[name]["digest"] = run(code, annotation, check=True)["digest"]
            if "old" in row and not args.no_check:
                row["identical"] = row["old"]["digest"] == row["new"]["digest"]
            if "old" in row:
                row["cpu_ratio_new_old"] = round(row["new"]["cpu_s"] / row["old"]["cpu_s"], 2)
            runs.append(row)
            print(json.dumps(row), file=sys.stderr)
    print(json.dumps({"benchmark": "coco_memory", "cpus": os.cpu_count(),
                      "baseline": args.baseline, "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
