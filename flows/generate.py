"""The generate flow: ingest -> shards (facts, VQA, captions) -> the flow commits each shard.

Shard tasks never open the database: the flow hands them their scenes and alone writes what
they return, one transaction per LLM shard, per four rule shards. Resume lives in DuckDB (the ``processed`` table), not
in Prefect's result cache, so shard tasks use NO_CACHE and hash nothing.
"""

from __future__ import annotations

import queue
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from narrator import progress
from narrator.caption.hcot import CaptionLoopConfig
from narrator.caption.rewrite import load_rewrites
from narrator.errors import ConfigError
from narrator.ids import make_id
from narrator.ingest import (
    DatasetConfig,
    IngestResult,
    ingest_into,
    load_config,
    take_prefetched,
)
from narrator.pipeline import (
    GenerateConfig,
    LLMContext,
    Shard,
    ShardResult,
    plan_shards,
    run_shard,
    worker_processes,
)
from narrator.store import Store


@task(name="ingest", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=2)
def ingest_task(config: DatasetConfig, store: Store) -> IngestResult:
    """Read the dataset into the store, a batch of scenes at a time (memory stays flat), or
    take the result of the ingest the CLI started before Prefect (``prefetch_ingest``)."""
    prefetched = take_prefetched(store.path, config)
    if prefetched is not None:
        return prefetched.result()
    progress.start("ingest", None)
    return ingest_into(store, config, on_source=lambda _src, n: progress.advance("ingest", n))


@task(name="process-shard", cache_policy=NO_CACHE)
def shard_task(shard: Shard, vocabulary: list[str], config: GenerateConfig,
               llm: LLMContext | None = None) -> ShardResult:
    return run_shard(shard, vocabulary, config, llm)


def _run_shards(store: Store, shards: list[list[str]], fresh: set[str], vocabulary: list[str],
                gen: GenerateConfig, config_hash: str, llm: LLMContext | None,
                rewrites: dict[str, str], window: int) -> dict[str, Any]:
    """Load, submit and commit shards, at most ``window`` in flight (memory stays flat): each
    shard is committed as it finishes, then its LLM journal is folded."""
    logger = get_run_logger()
    # only LLM shards retry: their journal makes a retry resend nothing that finished
    task_fn = shard_task.with_options(retries=2, retry_delay_seconds=5) if llm else shard_task
    finished: queue.Queue[tuple[PrefectFuture[ShardResult], list[str]]] = queue.Queue()
    todo = zip(shards, store.iter_shards(shards))

    def submit() -> bool:
        ids, tables = next(todo, (None, None))
        if ids is None:
            return False
        shard = Shard(tables, {s: rewrites[s] for s in ids if s in rewrites})
        future = task_fn.submit(shard, vocabulary, gen, llm)
        future.add_done_callback(lambda f: finished.put((f, ids)))
        return True

    in_flight = sum(submit() for _ in range(window))
    llm_totals: Counter[str] = Counter()
    server: dict[str, Any] | None = None
    outcomes: Counter[str] = Counter()
    # rule shards are cheap to redo: commit a few per transaction (each commit flushes the
    # log; measured 14 s -> 9 s of a 50k-scene run); an LLM shard commits alone, at once
    group = 1 if llm else 4
    with ExitStack() as batch:
        for i in range(1, len(shards) + 1):
            future, ids = finished.get()
            result = future.result()
            if group == 1 or i % group == 1:
                batch.enter_context(store.transaction())
            store.commit_shard(result, config_hash, fresh=fresh.issuperset(ids))
            in_flight += submit() - 1
            logger.info("shard %d/%d done (%d scenes, %d QA pairs, %d captions)", i,
                        len(shards), len(result.scene_ids), len(result.vqa),
                        len(result.captions))
            if i % group == 0 or not in_flight:
                batch.close()
                logger.info("committed shards up to %d/%d", i, len(shards))
            if result.journal:
                store.fold_llm_journals([result.journal])
            llm_totals.update({k: v for k, v in (result.llm or {}).items()
                               if isinstance(v, int | float) and not isinstance(v, bool)})
            server = (result.llm or {}).get("server") or server  # what the probe found
            outcomes.update(result.caption_outcomes)
            progress.advance("generate", len(result.scene_ids))
    if not llm:
        return {}
    stats = dict(llm_totals) | {"model": gen.llm} | ({"server": server} if server else {})
    stats.setdefault("cost_usd", None)
    return {"llm": stats, "caption_outcomes": dict(outcomes)}


def build_task_runner(kind: str = "thread", address: str | None = None,
                      workers: int = 2) -> TaskRunner:
    """``thread`` (default), ``process`` (a local process pool: CPU-bound template work on
    every core) or ``dask`` (prefect-dask; a local cluster unless ``address``)."""
    if kind == "thread":
        return ThreadPoolTaskRunner(max_workers=workers)
    if kind == "process":
        return ProcessPoolTaskRunner(max_workers=workers)
    if kind != "dask":
        raise ConfigError(f"unknown task runner {kind!r}; use thread, process or dask")
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError:
        raise ConfigError("--task-runner dask needs the dask extra: "
                          "pip install 'sar-narrator[dask]'") from None
    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1})


@flow(name="narrator-generate", task_runner=ThreadPoolTaskRunner(max_workers=2),
      log_prints=False)
def generate_flow(dataset: str, db: str, fmt: str | None = None, images: str | None = None,
                  llm: str = "rules", seed: int = 0, style: str = "generic",
                  shard_size: int | None = None, class_list: bool = False,
                  vqa_options: dict[str, Any] | None = None, samples: int = 3,
                  rounds: int = 2, fallback: bool = True,
                  rewrite: str | None = None, processes: int = 0) -> dict[str, Any]:
    """Build VQA pairs and captions for ``dataset`` into the DuckDB file ``db``.

    ``shard_size``: scenes per shard task (default: 256 with an LLM, whose shards retry and
    journal as a unit; 1024 with rules, where fewer tasks mean less orchestration).
    ``processes`` > 1: rule-mode shards compute in that many worker processes (with the
    thread task runner; other runners already run shards in their own processes). As with
    any multiprocessing code, a script that calls the flow this way must guard its entry
    point with ``if __name__ == "__main__":`` (the workers re-import the main module)."""
    t0 = time.perf_counter()
    logger = get_run_logger()
    config = load_config(dataset, fmt, images)
    gen = GenerateConfig(seed=seed, style=style, llm=llm, class_list=class_list,
                         vqa_options=tuple(sorted((vqa_options or {}).items())),
                         captions=CaptionLoopConfig(samples=samples, rounds=rounds,
                                                    fallback=fallback, seed=seed))
    gen.vqa()  # a bad --vqa-option fails here, before any work
    params = {"fmt": fmt, "llm": llm, "seed": seed, "style": style, "shard_size": shard_size,
              "class_list": class_list, "vqa_options": dict(gen.vqa_options),
              **({"samples": samples, "rounds": rounds, "fallback": fallback,
                  "rewrite": rewrite} if llm != "rules" else {})}
    run_id = make_id("generate", str(Path(dataset).resolve()), params)
    with Store(db) as store:
        store.start_run(run_id, "generate", str(dataset), params)
        ingested = ingest_task(config, store)
        timings = {"ingest_s": ingested.seconds}
        vocabulary = ingested.vocabulary
        rewrites, rewrite_problems = load_rewrites(rewrite, store.scene_refs(config.name)) \
            if rewrite else ({}, [])
        if rewrite:
            store.write_quarantine(config.name, "rewrite", rewrite_problems)
        config_hash = make_id(gen.config_hash(), vocabulary, rewrites)
        done = store.processed()
        todo = [s for s, h in ingested.scene_hashes.items() if done.get(s) != (h, config_hash)]
        t1 = time.perf_counter()
        shards = plan_shards(todo, shard_size or (1024 if llm == "rules" else 256))
        logger.info("%s: %d scenes, %d to process in %d shards", config.name,
                    len(ingested.scene_hashes), len(todo), len(shards))
        llm_ctx = LLMContext(str(db), str(store.prepare_llm_cache())) if llm != "rules" \
            else None
        progress.start("generate", len(todo))
        with worker_processes(processes if llm == "rules" and len(shards) > 2 else 0):
            outcome = _run_shards(store, shards, {s for s in todo if s not in done},
                                  vocabulary, gen, config_hash, llm_ctx, rewrites,
                                  window=2 * max(processes, 2))
        timings["generate_s"] = time.perf_counter() - t1
        summary = store.dataset_summary(config.name)
        summary["yes_no"] = store.yes_no_counts(config.name)
        summary |= outcome | {"format": ingested.format, "processed_now": len(todo),
                    "file_errors": [str(e) for e in ingested.file_errors],
                    "sources": [vars(s) for s in ingested.stats],
                    "seconds": round(time.perf_counter() - t0, 2),
                    **{k: round(v, 2) for k, v in timings.items()}}
        store.finish_run(run_id, "completed", summary)
    return summary
