"""Throughput and CPU cost of narrator's LLM layer against the local test server.

The server runs in its own process (``python -m tests.fake_openai``) with a fixed
latency and capacity, so the ideal rate is capacity / latency (64 / 0.2 s = 320 requests/s).
narrator sends N structured-output requests through the real openai client with a journal
and a cache, as a shard task would, then sends them again (all cache hits). It prints JSON:
the achieved rate (all N requests over the whole wall time, ramp-up and tail included) and
its ratio to the ideal, narrator's CPU per request (this whole process: openai client and its
HTTP transport, keys, validation, journal) and the server's CPU (from its /stats) separately,
and the CPU per request of a cached rerun (narrator's own layer without HTTP).

The client keeps ``--concurrency`` requests in flight (default 1.5 x capacity, so the server,
like vLLM, always has a request queued while narrator handles a reply).

    python benchmarks/llm.py --requests 4000 --latency 0.2 --capacity 64 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from narrator.llm import LLM, CallCache, JournalWriter, LLMRequest, LLMSettings
from narrator.llm.openai_backend import OpenAIBackend

SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["caption", "objects"],
    "properties": {
        "caption": {"type": "string", "minLength": 1},
        "objects": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["category", "count"],
            "properties": {"category": {"type": "string"},
                           "count": {"type": "integer", "minimum": 0}}}},
    },
}

REPO = Path(__file__).resolve().parents[1]  # the fake server lives in tests/


def start_server(latency: float, capacity: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_openai", "--latency", str(latency),
         "--capacity", str(capacity)], stdout=subprocess.PIPE, text=True, cwd=REPO)
    line = proc.stdout.readline() if proc.stdout else ""
    if not line.startswith("listening on "):
        proc.kill()
        raise SystemExit(f"the test server did not start: {line!r}")
    return proc, line.split()[-1]


def server_stats(base_url: str) -> dict[str, Any]:
    with urllib.request.urlopen(base_url.removesuffix("/v1") + "/stats") as r:
        return json.loads(r.read())  # type: ignore[no-any-return]


def requests(n: int) -> list[LLMRequest]:
    return [LLMRequest(
        messages=[{"role": "system", "content": "You describe SAR scenes from facts."},
                  {"role": "user", "content": f"Scene {i}: 3 ships in the upper-left cell, "
                   f"1 bridge in the centre; water covers {i % 90} percent."}],
        schema=SCHEMA, schema_name="caption", params={"temperature": 0.7, "max_tokens": 256},
        prompt_id="bench", prompt_hash="h") for i in range(n)]


def timed(llm: LLM, reqs: list[LLMRequest]) -> dict[str, float]:
    """Wall and CPU time of one run; ``steady_rps``: the rate between the 25th and 75th
    percentile completions (without the ramp-up and the tail)."""
    done: list[float] = []
    cpu0, t0 = time.process_time(), time.perf_counter()
    results = llm.generate(reqs, on_result=lambda _i, _r: done.append(time.perf_counter()))
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    q1, q3 = len(done) // 4, 3 * len(done) // 4
    steady = (q3 - q1) / (done[q3] - done[q1]) if done[q3] > done[q1] else float("nan")
    ok = sum(r.ok for r in results)
    return {"wall_s": wall, "cpu_s": cpu, "ok": ok, "results": len(results),
            "steady_rps": steady, "first_s": done[0] - t0 if done else float("nan")}


def run(n: int, latency: float, capacity: int, concurrency: int, repeats: int,
        transport: str) -> dict[str, Any]:
    proc, base_url = start_server(latency, capacity)
    os.environ["OPENAI_BASE_URL"] = base_url
    os.environ.setdefault("OPENAI_API_KEY", "EMPTY")
    settings = LLMSettings(max_concurrency=concurrency, timeout_s=30, http_transport=transport)
    reqs = requests(n)
    rates, cpu_ms, server_ms, hit_us, steady, first = [], [], [], [], [], []
    try:  # warm-up: first imports (aiohttp, ...) and connections, not timed
        LLM(OpenAIBackend("narrator-test", settings), settings).generate(
            [LLMRequest([{"role": "user", "content": f"warm-up {i}"}]) for i in range(capacity)])
        for rep in range(repeats):
            with tempfile.TemporaryDirectory() as tmp:
                journal = Path(tmp) / "shard.jsonl"
                s0 = server_stats(base_url)
                with JournalWriter(journal) as writer:
                    llm = LLM(OpenAIBackend("narrator-test", settings), settings,
                              cache=CallCache(), journal=writer)
                    fresh = timed(llm, reqs)
                s1 = server_stats(base_url)
                sent = s1["chat_requests"] - s0["chat_requests"]
                if fresh["ok"] != n or sent != n:
                    raise SystemExit(f"run {rep}: {fresh['ok']} ok, {sent} sent, expected {n}")
                rates.append(n / fresh["wall_s"])
                steady.append(fresh["steady_rps"])
                first.append(fresh["first_s"])
                cpu_ms.append(fresh["cpu_s"] / n * 1000)
                server_ms.append((s1["cpu_s"] - s0["cpu_s"]) / n * 1000)
                again = LLM(OpenAIBackend("narrator-test", settings), settings,
                            cache=CallCache(journals=[journal]))
                cached = timed(again, reqs)
                if server_stats(base_url)["chat_requests"] != s1["chat_requests"]:
                    raise SystemExit("the cached rerun sent requests")
                hit_us.append(cached["cpu_s"] / n * 1e6)
    finally:
        proc.terminate()
        proc.wait(10)
    ideal = capacity / latency
    rate = statistics.median(rates)
    return {
        "benchmark": "llm-openai-testserver", "requests": n, "repeats": repeats,
        "latency_s": latency, "capacity": capacity, "client_concurrency": concurrency,
        "http_transport": transport, "ideal_rps": ideal,
        "rps_median": round(rate, 1), "rps_runs": [round(r, 1) for r in rates],
        "ratio_to_ideal": round(rate / ideal, 4),
        "steady_rps_median": round(statistics.median(steady), 1),
        "first_reply_s_median": round(statistics.median(first), 3),
        "narrator_cpu_ms_per_request_median": round(statistics.median(cpu_ms), 3),
        "narrator_cpu_ms_per_request_runs": [round(c, 3) for c in cpu_ms],
        "server_cpu_ms_per_request_median": round(statistics.median(server_ms), 3),
        "cached_rerun_cpu_us_per_request_median": round(statistics.median(hit_us), 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "cached_rerun_http_requests": 0,
        "python": platform.python_version(), "cpus": os.cpu_count(),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--requests", type=int, default=4000)
    p.add_argument("--latency", type=float, default=0.2)
    p.add_argument("--capacity", type=int, default=64)
    p.add_argument("--concurrency", type=int, default=None,
                   help="requests in flight (default: 1.5 x capacity)")
    p.add_argument("--transport", choices=["auto", "aiohttp", "httpx"], default="auto")
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    concurrency = a.concurrency or int(a.capacity * 1.5)
    print(json.dumps(run(a.requests, a.latency, a.capacity, concurrency, a.repeats,
                         a.transport), indent=2))


if __name__ == "__main__":
    main()
