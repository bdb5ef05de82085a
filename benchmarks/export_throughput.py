"""Export throughput and peak memory per format on a synthetic database.

Builds a DuckDB file with ``--texts`` VQA pairs and captions (one scene per 10 texts), or
takes ``--db`` (a database written by ``narrator generate``), then exports it in every
format, each run in a fresh child process, and prints JSON: the median seconds and texts per
second over ``--repeats`` runs, and the child's peak RSS. Formats that DuckDB writes (jsonl)
are also run by the record-by-record Python path (``"<format>/python"``), alternating with
the DuckDB runs, with the ratio of the medians; ``bytes_identical`` compares their files.
Run it at two sizes to see whether memory grows with the export (it should not).

    python benchmarks/export_throughput.py --texts 100000 --repeats 3
    python benchmarks/export_throughput.py --db n100k.duckdb --formats jsonl --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FORMATS = ("jsonl", "llava", "sharegpt", "sarlang", "sarchat", "parquet")


def build(db: Path, texts: int, seed: int = 0) -> None:
    from narrator.store import Store

    rng = random.Random(seed)
    n_scenes = max(1, texts // 10)
    with Store(db) as store:
        store.upsert("scenes", [{
            "scene_id": f"s{i:07d}", "dataset": "bench", "file_name": f"P{i // 4:05d}_0_800_"
            f"{i % 4 * 800}_{i % 4 * 800 + 800}.png", "image_path": f"images/{i}.png",
            "width": 800, "height": 800, "platform": "Sentinel-1A",
            "acquired_at": f"2024-01-01T00:00:00Z+{i // 4}",  # one acquisition per parent
            "center_lon": rng.uniform(-180, 180), "center_lat": rng.uniform(-60, 60)}
            for i in range(n_scenes)])
        tasks = ("presence", "count", "position")
        for start in range(0, texts, 50_000):
            rows = [{"qa_id": f"q{k:08d}", "scene_id": f"s{k // 10 % n_scenes:07d}",
                     "task": tasks[k % 3], "question": "How many ships are there in the image?",
                     "answer": str(k % 7), "params": {"category": "ship", "answer_key": "default"},
                     "template_id": "count.v1", "template_version": 1, "style": "generic"}
                    for k in range(start, min(texts, start + 50_000)) if k % 10 < 8]
            caps = [{"caption_id": f"c{k:08d}", "scene_id": f"s{k // 10 % n_scenes:07d}",
                     "kind": "concise" if k % 2 else "detailed", "status": "accepted",
                     "text": "A C-band SAR image of a port with three ships and two tanks.",
                     "generator": "rules", "template_id": "rules.concise.v1",
                     "params": {"facts_version": 1}}
                    for k in range(start, min(texts, start + 50_000)) if k % 10 >= 8]
            store.upsert("vqa", rows)
            store.upsert("captions", caps)


def child(fmt: str, db: str, out: str) -> None:
    from narrator.export import FORMATS as classes
    from narrator.export import ExportOptions
    from narrator.export.base import run_export
    from narrator.store import Store

    name, _, engine = fmt.partition("/")
    t0 = time.perf_counter()
    with Store(db, read_only=True) as store:
        result = run_export(store, classes[name], Path(out), ExportOptions(),
                            in_sql=engine != "python")
    print(json.dumps({"seconds": time.perf_counter() - t0, "texts": result.texts,
                      "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def run_child(fmt: str, db: Path, out: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, __file__, "--child", fmt, str(db), str(out)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def summary(runs: list[dict[str, float]]) -> dict[str, float]:
    seconds = statistics.median(r["seconds"] for r in runs)
    return {"median_s": round(seconds, 2), "texts_per_s": round(runs[0]["texts"] / seconds),
            "peak_rss_mb": round(max(r["maxrss_mb"] for r in runs), 1)}


def bench_format(fmt: str, db: Path, tmp: Path, repeats: int) -> dict[str, dict[str, float]]:
    """One format (and its Python path where DuckDB writes it), runs interleaved."""
    from narrator.export import FORMATS as classes

    suffix = classes[fmt].suffix
    engines = [fmt, f"{fmt}/python"] if hasattr(classes[fmt], "line_sql") else [fmt]
    runs: dict[str, list[dict[str, float]]] = {e: [] for e in engines}
    for r in range(repeats):
        for engine in engines:
            out = tmp / engine.replace("/", "-") / f"{r}{suffix}"
            runs[engine].append(run_child(engine, db, out))
            if r and out.is_file():  # keep disk use flat: only the first files are compared
                out.unlink()
    report = {e: summary(v) for e, v in runs.items()}
    if len(engines) == 2:
        first = [tmp / e.replace("/", "-") / f"0{suffix}" for e in engines]
        report[fmt]["speedup_vs_python"] = round(
            report[engines[1]]["median_s"] / report[fmt]["median_s"], 2)
        report[fmt]["bytes_identical"] = first[0].read_bytes() == first[1].read_bytes()
        for path in first:
            path.unlink()
    return report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", type=int, default=100_000)
    parser.add_argument("--db", type=Path, help="a database from narrator generate")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--child", nargs=3, metavar=("FORMAT", "DB", "OUT"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "bench.duckdb"
        t0 = time.perf_counter()
        if not args.db:
            build(db, args.texts)
        report = {"db": str(args.db) if args.db else f"synthetic, {args.texts} texts",
                  "build_s": round(time.perf_counter() - t0, 2), "repeats": args.repeats,
                  "cpus": os.cpu_count(), "formats": {}}
        for fmt in args.formats.split(","):
            report["formats"].update(bench_format(fmt, db, Path(tmp), args.repeats))
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
