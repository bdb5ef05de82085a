"""The generate flow: ingest -> shards (facts, VQA, captions) -> the flow commits each shard.

Shard tasks never open the database: the flow hands them their scenes and alone writes what
they return, one transaction per shard. Resume lives in DuckDB (the ``processed`` table), not
in Prefect's result cache, so shard tasks use NO_CACHE and hash nothing.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from narrator import progress
from narrator.caption.hcot import CaptionLoopConfig
from narrator.caption.rewrite import load_rewrites
from narrator.errors import ConfigError
from narrator.ids import make_id
from narrator.ingest import DatasetConfig, IngestResult, load_config, read_dataset
from narrator.pipeline import (
    GenerateConfig,
    LLMContext,
    Shard,
    ShardResult,
    plan_shards,
    process_shard,
)
from narrator.records import SceneBundle
from narrator.store import Store


@task(name="ingest", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=2)
def ingest_task(config: DatasetConfig) -> IngestResult:
    progress.start("ingest", None)
    return read_dataset(config, on_source=lambda _src, n: progress.advance("ingest", n))


@task(name="process-shard", cache_policy=NO_CACHE)
def shard_task(shard: Shard, vocabulary: list[str], config: GenerateConfig,
               llm: LLMContext | None = None) -> ShardResult:
    return process_shard(shard.bundles, vocabulary, config, llm, shard.rewrites)


def _run_shards(store: Store, shards: list[list[SceneBundle]], vocabulary: list[str],
                gen: GenerateConfig, config_hash: str, llm: LLMContext | None,
                rewrites: dict[str, str]) -> dict[str, Any]:
    """Submit every shard; commit each one as it finishes, then fold its LLM journal."""
    logger = get_run_logger()
    # only LLM shards retry: their journal makes a retry resend nothing that finished
    task_fn = shard_task.with_options(retries=2, retry_delay_seconds=5) if llm else shard_task
    futures = [task_fn.submit(Shard(shard, {b.scene.scene_id: rewrites[b.scene.scene_id]
                                            for b in shard if b.scene.scene_id in rewrites}),
                              vocabulary, gen, llm) for shard in shards]
    llm_totals: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    for i, future in enumerate(as_completed(futures), 1):
        result = future.result()
        store.commit_shard(result, config_hash)
        if result.journal:
            store.fold_llm_journals([result.journal])
        llm_totals.update({k: v for k, v in (result.llm or {}).items()
                           if isinstance(v, int | float) and not isinstance(v, bool)})
        outcomes.update(result.caption_outcomes)
        progress.advance("generate", len(result.scene_ids))
        logger.info("committed shard %d/%d (%d scenes, %d QA pairs, %d captions)", i,
                    len(shards), len(result.scene_ids), len(result.vqa), len(result.captions))
    if not llm:
        return {}
    stats = dict(llm_totals) | {"model": gen.llm}
    stats.setdefault("cost_usd", None)
    return {"llm": stats, "caption_outcomes": dict(outcomes)}


def _todo(store: Store, bundles: list[SceneBundle], config_hash: str) -> list[SceneBundle]:
    done = store.processed()
    return [b for b in bundles
            if done.get(b.scene.scene_id) != (b.content_hash, config_hash)]


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
                  shard_size: int = 256, class_list: bool = False,
                  vqa_options: dict[str, Any] | None = None, samples: int = 3,
                  rounds: int = 2, fallback: bool = True,
                  rewrite: str | None = None) -> dict[str, Any]:
    """Build VQA pairs and captions for ``dataset`` into the DuckDB file ``db``."""
    t0 = time.perf_counter()
    logger = get_run_logger()
    config = load_config(dataset, fmt, images)
    ingested = ingest_task(config)
    timings = {"ingest_s": time.perf_counter() - t0}
    gen = GenerateConfig(seed=seed, style=style, llm=llm, class_list=class_list,
                         vqa_options=tuple(sorted((vqa_options or {}).items())),
                         captions=CaptionLoopConfig(samples=samples, rounds=rounds,
                                                    fallback=fallback, seed=seed))
    gen.vqa()  # a bad --vqa-option fails here, before any work
    vocabulary = ingested.vocabulary
    rewrites, rewrite_problems = load_rewrites(rewrite, ingested.bundles) if rewrite \
        else ({}, [])
    ingested.quarantine.extend(rewrite_problems)
    config_hash = make_id(gen.config_hash(), vocabulary, rewrites)
    params = {"fmt": fmt, "llm": llm, "seed": seed, "style": style, "shard_size": shard_size,
              "class_list": class_list, "vqa_options": dict(gen.vqa_options),
              **({"samples": samples, "rounds": rounds, "fallback": fallback,
                  "rewrite": rewrite} if llm != "rules" else {})}
    run_id = make_id("generate", str(Path(dataset).resolve()), params)
    with Store(db) as store:
        store.start_run(run_id, "generate", str(dataset), params)
        store.write_ingest(config.name, ingested.bundles, ingested.quarantine)
        todo = _todo(store, ingested.bundles, config_hash)
        t1 = time.perf_counter()
        shards = plan_shards(todo, shard_size)
        logger.info("%s: %d scenes, %d to process in %d shards", config.name,
                    len(ingested.bundles), len(todo), len(shards))
        llm_ctx = LLMContext(str(db), str(store.prepare_llm_cache())) if llm != "rules" \
            else None
        progress.start("generate", len(todo))
        outcome = _run_shards(store, shards, vocabulary, gen, config_hash, llm_ctx, rewrites)
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
