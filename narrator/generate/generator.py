"""The generate pipeline in one place: ingest -> plan shards -> run shards -> commit ->
summary, with the resume and incremental decisions.

The caller picks where shards compute (an executor, see narrator.generate.executors); the
Generator alone reads and writes the store (one writer), committing each shard as it
finishes. Resume lives in the ``processed`` table: a scene is redone when its content or the
settings that change its text (``config_hash``) changed.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from datetime import UTC, datetime
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from narrator import progress
from narrator.generate.executors import Executor, InlineExecutor, ShardWork
from narrator.generate.options import GenerateOptions
from narrator.ids import make_id
from narrator.llm import cache as llm_cache
from narrator.ingest import IngestResult, ingest_into, load_config, with_flag_masks
from narrator.pipeline import (
    TEXT_TABLES,
    GenerateConfig,
    LLMContext,
    Shard,
    ShardResult,
    plan_shards,
)
from narrator.queries import dataset_summary, yes_no_counts
from narrator.queries.sqljson import memory_limit
from narrator.vqa.skew import family_skew, skewed
from narrator.store import Store

log = logging.getLogger(__name__)

#: rule shards committed per transaction (an LLM shard commits alone). Rule shards are cheap
#: to redo, and a commit of 4 default shards (4,096 scenes) appends at least a row group to
#: every text table, which DuckDB then writes straight into the file (narrator.store.
#: ROW_GROUP_SIZE) instead of logging it and compressing it again at the next checkpoint
RULE_COMMIT_GROUP = 4
#: DuckDB's memory limit for the summary's counts (the writing limit is
#: ``narrator.store.DUCKDB_MEMORY``): the answer skew at 1M scenes (10M QA pairs) ran out at
#: 64MB
SUMMARY_MEMORY = "256MB"


@dataclass
class Plan:
    """What a run will do: the scenes to (re)do, cut into shards, and what they need."""

    ingested: IngestResult
    todo: list[str]
    shards: list[list[str]]
    #: the first scene of each shard whose scenes were never committed before (it need not
    #: delete old rows first); a shard's first scene names it, a set of every scene would
    #: cost memory with the dataset
    fresh: set[str]
    config_hash: str
    rewrites: dict[str, str] = field(default_factory=dict)
    llm: LLMContext | None = None


@dataclass
class Outcome:
    """What running the shards gave: LLM statistics and caption outcomes (LLM runs)."""

    shards: int = 0
    llm: Counter[str] = field(default_factory=Counter)
    caption_outcomes: Counter[str] = field(default_factory=Counter)
    #: what the LLM server probe found (structured-output form, context, slots)
    server: dict[str, Any] | None = None
    #: scenes left provisional (the LLM was unreachable for them): the next run redoes them
    provisional: int = 0
    #: why LLM calls failed: reason -> calls
    failure_reasons: Counter[str] = field(default_factory=Counter)
    #: seconds the committing thread waited for a shard to finish, and spent committing
    wait_s: float = 0.0
    commit_s: float = 0.0


class Generator:
    """``generate`` for one dataset into one store, step by step (:meth:`generate` does all).

    ``logger`` gets the per-shard progress lines (a flow passes Prefect's run logger)."""

    def __init__(self, store: Store, dataset: str | Path,
                 options: GenerateOptions | None = None,
                 logger: logging.Logger | logging.LoggerAdapter[Any] | None = None) -> None:
        self.t0 = time.perf_counter()
        self.store, self.dataset = store, str(dataset)
        self.options = (options or GenerateOptions()).validate()
        self.gen: GenerateConfig = self.options.config()
        o = self.options
        self.config = with_flag_masks(load_config(dataset, o.fmt, o.images, o.class_map),
                                      o.masks, o.mask_classes)
        self.run_id = make_id("generate", str(Path(dataset).resolve()), o.run_params())
        self.log = logger or log
        self._ingest: Future[IngestResult] | None = None
        self._begun = False

    # -- ingest --------------------------------------------------------------------------
    def start_ingest(self, on_source: Callable[[Path, int], None] | None = None) -> None:
        """Start reading the dataset into the store in a thread now (the CLI overlaps it
        with Prefect's start-up); :meth:`ingest` takes its result."""
        future: Future[IngestResult] = Future()
        # the run is recorded by the ingest thread, before it reads: the store's connection
        # serves one thread at a time, and ingest holds it until it is done
        self._begun = True

        def read() -> None:
            try:
                self.begin()
                future.set_result(ingest_into(self.store, self.config, on_source,
                                              reread=self.options.reread))
            except BaseException as exc:  # handed to whoever takes the result
                future.set_exception(exc)

        self._ingest = future
        threading.Thread(target=read, name="narrator-ingest", daemon=True).start()

    def ingest(self) -> IngestResult:
        """Read the dataset into the store (streamed: memory stays flat), or take the result
        of :meth:`start_ingest`."""
        started, self._ingest = self._ingest, None
        if started is not None:
            return started.result()
        progress.start("ingest", None)
        return ingest_into(self.store, self.config,
                           on_source=lambda _src, n: progress.advance("ingest", n),
                           reread=self.options.reread)

    # -- plan ------------------------------------------------------------------------------
    def plan(self, ingested: IngestResult) -> Plan:
        """Which scenes to (re)do, in which shards: new scenes, changed scenes and scenes
        made with other settings; the rest is kept."""
        from narrator.caption.rewrite import load_rewrites

        rewrites: dict[str, str] = {}
        if self.options.rewrite:
            rewrites, problems = load_rewrites(self.options.rewrite,
                                               self.store.scene_refs(self.config.name))
            self.store.write_quarantine(self.config.name, "rewrite", problems)
        config_hash = make_id(self.gen.config_hash(), ingested.vocabulary, rewrites)
        rows = self.store.to_process(self.config.name, config_hash)  # by DuckDB: no dict
        todo = [s for s, _ in rows]                                  # of every scene here
        before = {s for s, made in rows if made}
        del rows
        shards = plan_shards(todo, self.options.shard_scenes())
        fresh = {shard[0] for shard in shards if not any(s in before for s in shard)}
        self.log.info("%s: %d scenes, %d to process in %d shards", self.config.name,
                      ingested.scenes, len(todo), len(shards))
        llm = LLMContext(str(self.store.path), str(llm_cache.prepare(self.store))) \
            if self.options.uses_llm else None
        return Plan(ingested, todo, shards, fresh, config_hash, rewrites, llm)

    def processes(self, plan: Plan) -> int:
        """Worker processes worth starting for this plan's rule shards (0: none)."""
        return self.options.processes() if len(plan.shards) > 2 else 0

    def window(self) -> int:
        """Shards in flight at once (memory stays flat)."""
        o = self.options
        return 2 * max(o.workers if o.task_runner == "thread" else 0, 2)

    # -- run -------------------------------------------------------------------------------
    def run(self, plan: Plan, executor: Executor | None = None) -> Outcome:
        """Load, submit and commit the plan's shards, at most :meth:`window` in flight: each
        shard is committed as it finishes, then its LLM journal is folded."""
        executor = executor or InlineExecutor()
        store, outcome = self.store, Outcome()
        finished: queue.Queue[tuple[Any, list[str]]] = queue.Queue()
        loads = store.iter_shards(plan.shards)
        todo = zip(plan.shards, loads)
        vocabulary = plan.ingested.vocabulary

        def submit() -> bool:
            ids, tables = next(todo, (None, None))
            if ids is None:
                return False
            shard = Shard(tables, {s: plan.rewrites[s] for s in ids if s in plan.rewrites})
            future = executor.submit(ShardWork(shard, vocabulary, self.gen, plan.llm))
            future.add_done_callback(lambda f: finished.put((f, ids)))
            return True

        progress.start("generate", len(plan.todo))
        try:
            self._commit_all(plan, outcome, submit, finished)
        finally:
            # its staging tables go now, not when the collector finds the generator (that
            # could be during the next run on this connection, dropping that run's tables)
            loads.close()
        return outcome

    def _commit_all(self, plan: Plan, outcome: Outcome, submit: Callable[[], bool],
                    finished: queue.Queue[tuple[Any, list[str]]]) -> None:
        store = self.store
        in_flight = sum(submit() for _ in range(self.window()))
        group = 1 if plan.llm else RULE_COMMIT_GROUP
        total = len(plan.shards)
        with ExitStack() as batch:
            for i in range(1, total + 1):
                t0 = time.perf_counter()
                future, ids = finished.get()
                result: ShardResult = future.result()
                t1 = time.perf_counter()
                if group == 1 or i % group == 1:
                    batch.enter_context(store.transaction())
                commit_result(store, result, plan.config_hash, ids[0] in plan.fresh)
                t2 = time.perf_counter()
                in_flight += submit() - 1
                self.log.info("shard %d/%d done (%d scenes, %d QA pairs, %d captions)", i,
                              total, len(result.scene_ids), len(result.vqa),
                              len(result.captions))
                t3 = time.perf_counter()
                if i % group == 0 or not in_flight:
                    batch.close()
                    self.log.info("committed shards up to %d/%d", i, total)
                self._account(result, outcome)
                outcome.wait_s += t1 - t0
                outcome.commit_s += (t2 - t1) + (time.perf_counter() - t3)

    def _account(self, result: ShardResult, outcome: Outcome) -> None:
        if result.journal:
            llm_cache.fold_journals(self.store, [result.journal])
        outcome.shards += 1
        outcome.provisional += len(result.provisional)
        outcome.llm.update({k: v for k, v in (result.llm or {}).items()
                            if isinstance(v, int | float) and not isinstance(v, bool)})
        outcome.caption_outcomes.update(result.caption_outcomes)
        outcome.server = (result.llm or {}).get("server") or outcome.server
        outcome.failure_reasons.update((result.llm or {}).get("failure_reasons") or {})
        progress.advance("generate", len(result.scene_ids))

    # -- summary ---------------------------------------------------------------------------
    def summary(self, plan: Plan, outcome: Outcome, timings: dict[str, float]) -> dict[str, Any]:
        """The run's summary (what ``runs.summary`` records and the CLI prints)."""
        name, ingested = self.config.name, plan.ingested
        # counted over every text of the dataset once the workers are gone: the answer skew
        # groups by answer text, more than the writing limit holds at 1M scenes
        with memory_limit(self.store, SUMMARY_MEMORY):
            out = dataset_summary(self.store, name)
            out["yes_no"] = yes_no_counts(self.store, name)
            out["answer_skew"] = skewed(family_skew(self.store.con, name))
        if self.options.uses_llm:
            # no shard ran (everything already done): no calls, all counts zero
            stats = {k: 0 for k in LLM_COUNTS} | dict(outcome.llm) | {"model": self.gen.llm}
            if outcome.server:
                stats["server"] = outcome.server
            if outcome.failure_reasons:
                stats["failure_reasons"] = dict(outcome.failure_reasons.most_common(5))
            stats.setdefault("cost_usd", None)
            out |= {"llm": stats, "caption_outcomes": dict(outcome.caption_outcomes),
                    "provisional": outcome.provisional}
        return out | {"format": ingested.format, "processed_now": len(plan.todo),
                      "files_unchanged": ingested.unchanged,
                      "warnings": ingested.warnings[:20],
                      "file_errors": [str(e) for e in ingested.file_errors],
                      "sources": [vars(s) for s in ingested.stats],
                      "seconds": round(time.perf_counter() - self.t0, 2),
                      **{k: round(v, 2) for k, v in timings.items()}}

    # -- the whole run ---------------------------------------------------------------------
    def begin(self) -> None:
        self._begun = True
        self.store.start_run(self.run_id, "generate", self.dataset, self.options.run_params())

    def finish(self, summary: dict[str, Any]) -> dict[str, Any]:
        """Record the run's end; raise LLMUnavailable (after recording, so the templated
        VQA stays committed) when every LLM call sent found the server unreachable."""
        outage = llm_outage(summary)
        self.store.finish_run(self.run_id, "llm-unreachable" if outage else "completed",
                              summary)
        if outage:
            from narrator.llm.base import LLMUnavailable
            raise LLMUnavailable(outage)
        return summary

    def generate(self, executor_for: Callable[[Plan], AbstractContextManager[Executor]]
                 | None = None, ingest: Callable[[], IngestResult] | None = None
                 ) -> dict[str, Any]:
        """Every step: ingest (through ``ingest``, e.g. a retried task; default
        :meth:`ingest`), plan, run the shards on the executor ``executor_for(plan)`` opens
        (default: inline), commit, summary. Returns the summary."""
        if not self._begun:  # else the ingest thread that start_ingest started did it
            self.begin()
        ingested = (ingest or self.ingest)()
        t1 = time.perf_counter()
        plan = self.plan(ingested)
        with (executor_for or _inline)(plan) as executor:
            outcome = self.run(plan, executor)
        timings = {"ingest_s": plan.ingested.seconds, "generate_s": time.perf_counter() - t1,
                   "wait_s": outcome.wait_s, "commit_s": outcome.commit_s}
        return self.finish(self.summary(plan, outcome, timings))


@contextmanager
def _inline(_plan: Plan) -> Iterator[Executor]:
    yield InlineExecutor()


def commit_result(store: Store, result: ShardResult, config_hash: str,
                  fresh: bool = False) -> None:
    """A shard's texts into the store, its scenes marked processed with ``config_hash`` (what
    resume compares), in one transaction. Provisional scenes (captions that fell back because
    the LLM was unreachable) get ``provisional:<hash>``, which never matches: the next run
    redoes them."""
    now = datetime.now(UTC)
    provisional = set(result.provisional)
    store.commit_texts(
        result.scene_ids, {t: getattr(result, t) for t in TEXT_TABLES},
        [{"scene_id": s, "content_hash": result.content_hashes[s],
          "config_hash": PROVISIONAL + config_hash if s in provisional else config_hash,
          "committed_at": now} for s in result.scene_ids], fresh=fresh)


#: the config_hash prefix of a provisional scene's ``processed`` row
PROVISIONAL = "provisional:"


def llm_outage(summary: dict[str, Any]) -> str | None:
    """The one-line error of a run whose every sent LLM call found the server unreachable
    (None otherwise: some answered, or nothing was sent)."""
    stats = summary.get("llm") or {}
    sent = int(stats.get("calls") or 0) - int(stats.get("cached") or 0)
    if sent <= 0 or int(stats.get("unreachable") or 0) < sent:
        return None
    return (f"the LLM ({stats.get('model')}) was unreachable for all {sent} calls; "
            f"{summary.get('provisional', 0)} scenes got provisional rule captions (the "
            "templated VQA is committed); start the server (check OPENAI_BASE_URL) and rerun: "
            "only those scenes are redone")


#: the counters of an LLM run's statistics (narrator.llm.stats.LLMStats.summary)
LLM_COUNTS = ("calls", "cached", "failed", "errors", "unreachable", "http_requests",
              "prompt_tokens", "completion_tokens")
