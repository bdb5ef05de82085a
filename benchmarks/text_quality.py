"""Text quality of a generated database: per VQA family the share of its most common answer
(answer key, or the answer text where the key does not name the answer), distinct concise
captions per scene, texts saying "no annotated targets", and, given a dataset folder with a
narrator.yaml of COCO annotations, the independent VQA checker's wrong answers.

    PYTHONPATH=. python benchmarks/text_quality.py DB [--check DATASET_DIR] [--show N]
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

import duckdb

from narrator.vqa.skew import family_skew

def measure(db: Path, show: int = 0) -> dict:
    con = duckdb.connect(str(db), read_only=True)
    rows = con.sql("select count(*) from vqa").fetchall()[0][0]
    skew = {r.pop("family"): r for r in family_skew(con)}
    scenes = con.sql("select count(*) from scenes").fetchall()[0][0]
    concise = con.sql("select count(distinct text) from captions where kind='concise'"
                      ).fetchall()[0][0]
    texts = [t for (t,) in con.sql("select answer from vqa union all select text from captions")
             .fetchall()]
    out = {"scenes": scenes, "qa": rows,
           "distinct_concise_per_scene": round(concise / max(scenes, 1), 3),
           "no_annotated_targets": sum("no annotated targets" in t for t in texts),
           "other_as_noun": sum(bool(re.search(r"\b(an|the) others?\b|\bany others\b", t, re.I))
                                for t in texts),
           "families_over_60pct": {f: s for f, s in skew.items() if s["top_share"] > 0.6},
           "families": skew}
    if show:
        rng = random.Random(0)
        qa = con.sql("select question, answer from vqa").fetchall()
        caps = con.sql("select kind, text from captions").fetchall()
        out["examples"] = rng.sample(qa, min(show, len(qa))) + rng.sample(caps, min(show, len(caps)))
    return out


def check(db: Path, dataset: Path) -> list[str]:
    from tests.vqa_checker import Checker, load_raw
    con = duckdb.connect(str(db), read_only=True)
    files = dict(con.sql("select scene_id, file_name from scenes").fetchall())
    cols = ["scene_id", "task", "question", "answer", "params", "template_id", "style"]
    rows = [dict(zip(cols, r, strict=True)) for r in
            con.sql(f"select {', '.join(cols)} from vqa").fetchall()]
    for r in rows:
        r["params"] = json.loads(r["params"])
    return Checker(load_raw(dataset), files).check(rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("db", type=Path)
    ap.add_argument("--check", type=Path)
    ap.add_argument("--show", type=int, default=0)
    args = ap.parse_args()
    print(json.dumps(measure(args.db, args.show), indent=1, ensure_ascii=False))
    if args.check:
        errors = check(args.db, args.check)
        print(f"checker: {len(errors)} wrong answers")
        for e in errors[:10]:
            print("  ", e)


if __name__ == "__main__":
    main()
