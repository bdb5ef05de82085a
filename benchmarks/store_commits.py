"""Store commit benchmark: a 100k-scene generate's text rows committed the way the
Generator commits them (a transaction per group of shards), under DuckDB's defaults and
under the store's settings (16,384-row groups, zstd facts), in one run.

The rows are seeded stand-ins of the real ones: a SceneFacts-like JSON document per scene
(about 10 objects, ~5.5 KB), ~10.5 QA pairs and 2 captions per scene, a processed row.
Prints, per variant: seconds in inserts, in COMMIT, at close (the last checkpoint), CPU
seconds, the file size, and the ratio of the totals.

    python benchmarks/store_commits.py [--scenes 100000] [--commit-scenes 16384]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa

from narrator.store import ROW_GROUP_SIZE, Store

CATEGORIES = ["ship", "aircraft", "tank", "bridge", "harbor", "car"]


def make_rows(n: int, seed: int = 0) -> dict[str, pa.Table]:
    rng = random.Random(seed)
    facts, vqa, captions = [], [], []
    for s in range(n):
        sid = f"{rng.getrandbits(64):016x}"
        objects = [{"area_px": round(rng.uniform(50, 9000), 2), "aspect": round(rng.uniform(1, 5), 4),
                    "border": rng.random() < 0.1, "box": [round(rng.uniform(0, 800), 1)
                                                          for _ in range(4)],
                    "category": rng.choice(CATEGORIES), "cell": "center",
                    "center": [round(rng.uniform(0, 800), 2)] * 2, "direction": None,
                    "object_id": f"{rng.getrandbits(64):016x}", "on": None,
                    "overlaps": rng.random() < 0.2, "position": "top left",
                    "rel_area": round(rng.random() / 100, 6), "size_class": "very small",
                    "width_px": round(rng.uniform(5, 90), 1), "length_px": round(rng.uniform(5, 120), 1),
                    "shape": "wide", "grid": rng.randint(1, 9), "fine_type": None,
                    "area_m2": None, "length_m": None, "width_m": None, "size_m": None,
                    "pos_margin": round(rng.random() / 5, 4), "polygon": False,
                    "elongation": round(rng.uniform(1, 5), 4), "orientation": None}
                   for _ in range(max(1, int(rng.gauss(10, 3))))]
        doc = json.dumps({"scene_id": sid, "objects": objects, "counts": {}}, sort_keys=True)
        facts.append({"scene_id": sid, "version": 3, "facts_hash": f"{hash(doc):x}", "facts": doc})
        for q in range(rng.randint(8, 13)):
            cat = rng.choice(CATEGORIES)
            vqa.append({"qa_id": f"{sid}{q:04d}", "scene_id": sid, "task": "count",
                        "question": f"How many {cat}s are there in the image?",
                        "answer": str(rng.randint(0, 12)), "params": json.dumps({"category": cat}),
                        "template_id": "count.v1", "template_version": 1, "style": "sarlang"})
        for kind in ("concise", "detailed"):
            captions.append({"caption_id": f"{sid}{kind}", "scene_id": sid, "kind": kind,
                             "text": " ".join(rng.choice(CATEGORIES) for _ in range(30)),
                             "status": "accepted", "generator": "rules",
                             "template_id": "caption.v1", "params": "{}"})
    return {"facts": pa.Table.from_pylist(facts), "vqa": pa.Table.from_pylist(vqa),
            "captions": pa.Table.from_pylist(captions),
            "processed": pa.table({"scene_id": [f["scene_id"] for f in facts],
                                   "content_hash": ["c"] * n, "config_hash": ["h"] * n})}


def commit_all(con: duckdb.DuckDBPyConnection, tables: dict[str, pa.Table], n: int,
               per_commit: int) -> dict[str, float]:
    t_insert = t_commit = 0.0
    c0, t0 = time.process_time(), time.perf_counter()
    for start in range(0, n, per_commit):
        con.execute("BEGIN")
        t = time.perf_counter()
        for name, table in tables.items():
            per = table.num_rows / n
            part = table.slice(int(start * per), int(min(n, start + per_commit) * per) - int(start * per))
            con.register("_part", part)
            con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM _part")
            con.unregister("_part")
        t2 = time.perf_counter()
        con.execute("COMMIT")
        t_insert += t2 - t
        t_commit += time.perf_counter() - t2
    t3 = time.perf_counter()
    con.close()
    end = time.perf_counter()
    return {"insert_s": round(t_insert, 2), "commit_s": round(t_commit, 2),
            "close_s": round(end - t3, 2), "total_s": round(end - t0, 2),
            "cpu_s": round(time.process_time() - c0, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=100_000)
    parser.add_argument("--commit-scenes", type=int, default=16_384)
    args = parser.parse_args()
    tables = make_rows(args.scenes)
    out: dict[str, object] = {"benchmark": "store_commits", "scenes": args.scenes,
                              "rows": {k: t.num_rows for k, t in tables.items()},
                              "facts_mb": round(tables["facts"]["facts"].nbytes / 2**20)}
    with tempfile.TemporaryDirectory(prefix="narrator-commits-") as tmp:
        for variant in ("duckdb-defaults", "store"):
            path = Path(tmp) / f"{variant}.duckdb"
            Store(path).close()  # the schema, migrations and all
            if variant == "store":
                con = Store(path).con  # attached with the store's row group size
            else:  # the same schema with DuckDB's defaults: facts FSST-analysed, 122,880 rows
                con = duckdb.connect(str(path))
                con.execute("CREATE OR REPLACE TABLE facts (scene_id VARCHAR PRIMARY KEY, "
                            "version INTEGER, facts_hash VARCHAR, facts VARCHAR)")
            con.execute("SET memory_limit = '300MB'")
            con.execute("SET checkpoint_threshold = '256MB'")
            figures = commit_all(con, tables, args.scenes, args.commit_scenes)
            figures["file_mb"] = round(os.path.getsize(path) / 2**20)
            out[variant] = figures
    out["row_group_size"] = ROW_GROUP_SIZE
    out["ratio_store_to_defaults"] = round(
        out["store"]["total_s"] / out["duckdb-defaults"]["total_s"], 2)  # type: ignore[index]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
