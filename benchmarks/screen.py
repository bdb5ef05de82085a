"""Screening benchmark: recall per fault type and false rejections on labelled captions.

    python benchmarks/screen.py                       # every bundled corpus
    python benchmarks/screen.py --corpus FILE [...]   # any file in that format

A corpus line: {"scene_id", "source"?, "text", "label": "true"|"error", "fault"?, "span"?,
"truth"?}. The scenes' facts are rebuilt from seeded code and /work/shared/data
(benchmarks/screen_scenes.py); lines whose scene cannot be rebuilt count as unusable.
Recall: share of error captions rejected; "span hit": share whose violations overlap the
labelled span. False rejection: share of true captions rejected.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from screen_scenes import build_facts  # noqa: E402

from narrator.screen import screen_text  # noqa: E402

CORPORA = sorted((HERE / "data").glob("screen_corpus_*.jsonl"))


def _facts_for(item: dict[str, Any], facts: dict[str, dict[str, dict]]) -> dict | None:
    sid, source = str(item.get("scene_id")), str(item.get("source") or "")
    if source:
        name = next((n for key, n in SOURCES if key in source), None)
        if name is not None:
            return facts.get(name, {}).get(sid)
    found = [f[sid] for f in facts.values() if sid in f]
    return found[0] if len(found) == 1 else None


SOURCES = [("seed 23", "ex3"), ("seed 99", "truth2"), ("seed 11", "ex2"), ("seed 0", "ex"), ("example", "ex"), ("inshore", "inshore"),
           ("offshore", "offshore"), ("airport", "truth"), ("AIRcraft", "truth"),
           ("Sen1Floods11", "hand"), ("Umbra", "hand")]


def _overlaps(violations: list, text: str, span: str | None) -> bool:
    if not span or span not in text:
        return False
    a = text.index(span)
    b = a + len(span)
    return any(v.span[0] < b and a < v.span[1] for v in violations)


def run(paths: list[Path], facts: dict[str, dict[str, dict]], verbose: bool) -> dict:
    per: dict[str, Counter] = defaultdict(Counter)
    tally: Counter = Counter()
    misses = []
    for path in paths:
        for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
                text, label = item["text"], item["label"]
            except (json.JSONDecodeError, KeyError, TypeError):
                tally["unusable"] += 1
                continue
            f = _facts_for(item, facts)
            if f is None or label not in ("true", "error"):
                tally["unusable"] += 1
                continue
            v = screen_text(text, f)
            if label == "true":
                tally["true"] += 1
                tally["false_rejections"] += not v.ok
                if not v.ok:
                    misses.append(("FALSE-REJECT", path.name, n, text,
                                   [(x.type, x.text, x.expected) for x in v.violations]))
            else:
                fault = str(item.get("fault") or "unlabelled")
                per[fault]["n"] += 1
                per[fault]["caught"] += not v.ok
                per[fault]["span"] += _overlaps(v.violations, text, item.get("span"))
                if v.ok:
                    misses.append(("MISSED " + fault, path.name, n, text,
                                   [item.get("span"), item.get("truth")]))
    if verbose:
        for m in misses:
            print(*m, sep=" | ")
    return {"per": per, "tally": tally}


def report(result: dict) -> None:
    per, tally = result["per"], result["tally"]
    print(f"{'fault type':24} {'n':>5} {'recall':>7} {'span hit':>9}")
    for fault in sorted(per):
        c = per[fault]
        print(f"{fault:24} {c['n']:5d} {c['caught'] / c['n']:7.3f} {c['span'] / c['n']:9.3f}")
    n_err = sum(c["n"] for c in per.values())
    caught = sum(c["caught"] for c in per.values())
    span = sum(c["span"] for c in per.values())
    print(f"{'ALL ERRORS':24} {n_err:5d} {caught / max(n_err, 1):7.3f} {span / max(n_err, 1):9.3f}")
    print(f"true captions: {tally['true']}, falsely rejected: {tally['false_rejections']} "
          f"(false-rejection rate {tally['false_rejections'] / max(tally['true'], 1):.3f})")
    print(f"unusable lines: {tally['unusable']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, nargs="*", help="corpus files (default: bundled)")
    ap.add_argument("--work", type=Path, help="folder for rebuilt datasets (default: temp)")
    ap.add_argument("-v", "--verbose", action="store_true", help="list misses")
    args = ap.parse_args()
    paths = args.corpus or CORPORA
    for p in paths:
        if not p.is_file():
            sys.exit(f"Error: {p}: no such corpus file")
    with tempfile.TemporaryDirectory() as tmp:
        facts = build_facts(args.work or Path(tmp))
    if len(paths) > 1:
        for p in paths:
            print(f"== {p.name}")
            report(run([p], facts, False))
            print()
        print("== all corpora")
    report(run(paths, facts, args.verbose))


if __name__ == "__main__":
    main()
