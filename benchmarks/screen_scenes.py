"""Rebuild the SceneFacts of the screening corpora's scenes from seeded code and shared data.

The corpora (benchmarks/data/screen_corpus_*.jsonl) were written against scenes of these
datasets; their scene ids are narrator's ids, which depend on the dataset's folder name, so
each dataset is materialised in a folder of the name it had when the corpora were written:

- ``ex``: ``narrator example`` with 20 scenes, seed 7 (the CLI default)
- ``ex2``: ``narrator example`` with 30 scenes, seed 11
- ``ex3``: ``narrator example`` with 25 scenes, seed 23 (held-out corpus E)
- ``truth``: a synthetic SAR-AIRcraft-style airport COCO (seeded below, 1 m pixels)
- ``truth2``: the same generator with seed 99 and 25 scenes (held-out corpus E)
- ``inshore`` / ``offshore``: HRSID's inshore_test.json / offshore_train.json from
  /work/shared/data (skipped when absent)
- two hand-described real scenes: the Sen1Floods11 Spain chip (water share from its hand
  label) and the Umbra Mount Yasur clip (skipped when their files are absent)
"""

from __future__ import annotations

import dataclasses
import json
import random
import shutil
from pathlib import Path
from typing import Any

SHARED = Path("/work/shared/data")
AIR_TYPES = ["A220", "A320/321", "A330", "ARJ21", "Boeing737", "Boeing787", "other"]
AIR_LENGTH = {"A220": 35, "A320/321": 40, "A330": 60, "ARJ21": 33, "Boeing737": 36,
              "Boeing787": 57, "other": 30}


def write_airport(out: Path, seed: int = 20261204, n_scenes: int = 30) -> Path:
    """A COCO file of square aircraft boxes of seven SAR-AIRcraft types on 1000 px images."""
    rng = random.Random(seed)
    imgs, anns, aid = [], [], 1
    for i in range(n_scenes):
        size = 1000
        imgs.append({"id": i + 1, "file_name": f"airport_{i:03d}.jpg", "width": size,
                     "height": size})
        placed: list[tuple[float, float]] = []
        for _ in range(rng.choice([1, 2, 3, 4, 5, 6, 8, 11, 14])):
            kind = rng.choice(AIR_TYPES)
            s = AIR_LENGTH[kind] * rng.uniform(0.9, 1.1)
            for _ in range(100):
                x, y = rng.uniform(10, size - s - 10), rng.uniform(10, size - s - 10)
                if all(abs(x - px) > s + 5 or abs(y - py) > s + 5 for px, py in placed):
                    break
            placed.append((x, y))
            anns.append({"id": aid, "image_id": i + 1, "category_id": AIR_TYPES.index(kind) + 1,
                         "bbox": [round(x, 1), round(y, 1), round(s, 1), round(s, 1)],
                         "area": s * s, "iscrowd": 0})
            aid += 1
    out.mkdir(parents=True, exist_ok=True)
    path = out / "air.json"
    cats = [{"id": i + 1, "name": t} for i, t in enumerate(AIR_TYPES)]
    path.write_text(json.dumps({"images": imgs, "annotations": anns, "categories": cats}))
    return path


def _facts_of(dataset: Path, fmt: str | None = None, class_map: str | None = None,
              gsd: float | None = None) -> dict[str, dict[str, Any]]:
    from narrator.facts import scene_facts
    from narrator.ingest import load_config, read_dataset

    result = read_dataset(load_config(dataset, fmt, class_map=class_map))
    out = {}
    for bundle in result.bundles:
        if gsd is not None and bundle.scene.gsd_m is None:
            bundle = dataclasses.replace(bundle, scene=dataclasses.replace(bundle.scene,
                                                                           gsd_m=gsd))
        facts = scene_facts(bundle, result.vocabulary)
        out[facts["scene_id"]] = facts
    return out


def _hand_scenes() -> dict[str, dict[str, Any]]:
    """The two real scenes described by hand from their files in /work/shared/data."""
    out: dict[str, dict[str, Any]] = {}
    label = SHARED / "sen1floods11/sample/Labels/Spain_7370579_LabelHand.tif"
    if label.exists():
        import rasterio

        with rasterio.open(label) as r:
            a = r.read(1)
        valid = a >= 0
        water = float((a == 1).sum() / valid.sum())
        out["sen1floods11_Spain_7370579"] = _bare(
            "sen1floods11_Spain_7370579", 512, {"water": round(water, 6),
                                                "not water": round(1 - water, 6)},
            {"platform": "Sentinel-1", "band": "C", "polarization": "VV VH", "mode": "IW",
             "gsd_m": 10.0, "center_lon": -0.76, "center_lat": 38.11,
             "product": "GRD", "place": "Segura river, Murcia, Alicante",
             "region": "south-eastern Spain, Iberian Peninsula, Mediterranean coast, Europe",
             "country": "Spain"})
    if (SHARED / "umbra").exists():
        out["umbra_mount_yasur"] = _bare(
            "umbra_mount_yasur", 2000, {},
            {"platform": "Umbra", "band": "X", "polarization": "VV", "gsd_m": 0.59, "product": "GEC",
             "mode": "spotlight",
             "center_lon": 169.45, "center_lat": -19.53,
             "place": "Mount Yasur, Tanna island, Yasur volcano",
             "region": "Tafea province, Melanesia, South Pacific, Oceania", "country": "Vanuatu"})
    return out


def _bare(scene_id: str, size: int, land: dict[str, float], geo: dict[str, Any]) -> dict:
    ordered = sorted(land.items(), key=lambda kv: -kv[1])
    return {"version": 2, "scene_id": scene_id, "size": [size, size], "objects": [],
            "counts": {}, "total": 0, "dominant": None, "present": [], "absent": [],
            "relations": {}, "arrangement": {}, "land_cover": dict(ordered),
            "dominant_land_cover": ordered[0][0] if ordered else None, "in_region": {},
            "geo": geo}


def build_facts(work: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """dataset name -> scene id -> SceneFacts, for every dataset whose inputs are available
    (scene ids of the two example datasets overlap: the dataset tells them apart)."""
    from narrator.example import write_example

    facts: dict[str, dict[str, dict[str, Any]]] = {}
    for name, n, seed in (("ex", 20, 7), ("ex2", 30, 11), ("ex3", 25, 23)):
        root = work / name
        if not (root / "narrator.yaml").exists():
            shutil.rmtree(root, ignore_errors=True)
            write_example(root, n, 512, seed)
        facts[name] = _facts_of(root)
    facts["truth"] = _facts_of(write_airport(work / "truth"), "coco", "sar-aircraft", gsd=1.0)
    facts["truth2"] = _facts_of(write_airport(work / "truth2", seed=99, n_scenes=25), "coco",
                                "sar-aircraft", gsd=1.0)
    hrsid = SHARED / "hrsid/modified_hrsid_annotations"
    for name, file in (("inshore", "inshore_test.json"), ("offshore", "offshore_train.json")):
        if (hrsid / name / file).exists():
            facts[name] = _facts_of(hrsid / name / file, "coco")
    facts["hand"] = _hand_scenes()
    return facts
