"""Ingest throughput: annotation records read per second, per format, on generated data.

Writes a COCO file and a folder of Pascal VOC files holding ``--records`` annotation records
(boxes with polygon segmentations for COCO; 10 objects per image), annotation-only (sizes
from the annotations, no imagery, so the figure is the readers' own cost), then times
``read_dataset`` and the DuckDB write of the result. Prints one JSON document: medians of
``--repeats`` runs, and records per second (records / median read seconds).

    python benchmarks/ingest.py --records 100000 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from narrator.ingest import load_config, read_dataset
from narrator.store import Store

PER_IMAGE = 10
SIZE = 800


def _boxes(rng: random.Random, n: int) -> list[tuple[int, int, int, int]]:
    out = []
    for _ in range(n):
        w, h = rng.randint(4, 60), rng.randint(4, 60)
        out.append((rng.randint(0, SIZE - w), rng.randint(0, SIZE - h), w, h))
    return out


def write_coco(root: Path, records: int, seed: int) -> Path:
    rng = random.Random(seed)
    images, anns = [], []
    for i in range(records // PER_IMAGE):
        images.append({"id": i, "file_name": f"img_{i:06d}.png", "width": SIZE, "height": SIZE})
        for j, (x, y, w, h) in enumerate(_boxes(rng, PER_IMAGE)):
            anns.append({"id": i * PER_IMAGE + j, "image_id": i, "category_id": j % 3,
                         "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0,
                         "segmentation": [[x, y, x + w, y, x + w, y + h, x, y + h]]})
    cats = [{"id": k, "name": n} for k, n in enumerate(("ship", "aircraft", "tank"))]
    path = root / "coco" / "annotations.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": cats}))
    return path


def write_voc(root: Path, records: int, seed: int) -> Path:
    rng = random.Random(seed)
    folder = root / "voc" / "Annotations"
    folder.mkdir(parents=True)
    for i in range(records // PER_IMAGE):
        objects = "".join(
            f"<object><name>ship</name><difficult>0</difficult><bndbox><xmin>{x + 1}</xmin>"
            f"<ymin>{y + 1}</ymin><xmax>{x + w}</xmax><ymax>{y + h}</ymax></bndbox></object>"
            for x, y, w, h in _boxes(rng, PER_IMAGE))
        (folder / f"img_{i:06d}.xml").write_text(
            f"<annotation><filename>img_{i:06d}.png</filename><size><width>{SIZE}</width>"
            f"<height>{SIZE}</height><depth>1</depth></size>{objects}</annotation>")
    return folder.parent


def measure(dataset: Path, fmt: str, records: int, repeats: int, db: Path) -> dict[str, Any]:
    read_s, store_s = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        config = load_config(dataset, fmt)
        result = read_dataset(config)
        read_s.append(time.perf_counter() - t0)
        n = sum(len(b.objects) for b in result.bundles)
        if n != records:
            raise SystemExit(f"{fmt}: read {n} records, expected {records}")
        db.unlink(missing_ok=True)
        t1 = time.perf_counter()
        with Store(db) as store:
            store.write_ingest(config.name, result.bundles, result.quarantine)
        store_s.append(time.perf_counter() - t1)
    median = statistics.median(read_s)
    return {"read_s": [round(s, 3) for s in read_s], "read_s_median": round(median, 3),
            "records_per_s": round(records / median),
            "store_write_s_median": round(statistics.median(store_s), 3),
            "records_per_s_with_store": round(records / (median + statistics.median(store_s)))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    records = args.records - args.records % PER_IMAGE
    with tempfile.TemporaryDirectory(prefix="narrator-bench-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        datasets = {"coco": write_coco(root, records, args.seed),
                    "voc": write_voc(root, records, args.seed)}
        gen_s = time.perf_counter() - t0
        results = {fmt: measure(path, fmt, records, args.repeats, root / f"{fmt}.duckdb")
                   for fmt, path in datasets.items()}
    print(json.dumps({"benchmark": "ingest", "records": records, "images": records // PER_IMAGE,
                      "repeats": args.repeats, "generate_s": round(gen_s, 2),
                      "python": platform.python_version(), "formats": results}, indent=2))


if __name__ == "__main__":
    main()
