"""Where shards compute: an executor is anything with ``submit(work) -> future`` whose future
has ``result()`` and ``add_done_callback(fn)`` (concurrent.futures and Prefect futures both
do). The Generator never creates one behind the caller's back: it is passed in.

- :class:`InlineExecutor`: in the calling thread, one shard at a time (library use, tests);
- :func:`process_pool`: a local pool of worker processes forked from a server that has
  imported the pipeline once (they start in milliseconds and never import Prefect);
- flows.generate adapts a Prefect task runner (thread, process or Dask) the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context
from typing import Any, Protocol

from narrator.pipeline import GenerateConfig, LLMContext, Shard, ShardResult, run_shard


class ShardWork:
    """One shard's job: picklable, and opaque to Prefect (it walks lists and dataclasses of
    task inputs object by object; this class has neither)."""

    __slots__ = ("shard", "vocabulary", "config", "llm")

    def __init__(self, shard: Shard, vocabulary: list[str], config: GenerateConfig,
                 llm: LLMContext | None) -> None:
        self.shard, self.vocabulary, self.config, self.llm = shard, vocabulary, config, llm

    def __getstate__(self) -> tuple[Any, ...]:
        return self.shard, self.vocabulary, self.config, self.llm

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self.shard, self.vocabulary, self.config, self.llm = state

    def __call__(self) -> ShardResult:
        return run_shard(self.shard, self.vocabulary, self.config, self.llm)


class Executor(Protocol):
    def submit(self, work: ShardWork) -> Any: ...


class InlineExecutor:
    """Runs each shard at once, in the calling thread."""

    def submit(self, work: ShardWork) -> Future[ShardResult]:
        future: Future[ShardResult] = Future()
        try:
            future.set_result(work())
        except BaseException as exc:  # handed to whoever takes the result
            future.set_exception(exc)
        return future


class PoolExecutor:
    """Shards on a concurrent.futures executor (e.g. :func:`process_pool`)."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    def submit(self, work: ShardWork) -> Future[ShardResult]:
        return self.pool.submit(work)


def compute(work: ShardWork, pool: Any = None) -> ShardResult:
    """A shard's result, computed in ``pool`` when given (rule shards only: an LLM shard
    waits on HTTP and stays where it is), else here."""
    if pool is not None and work.llm is None:
        return pool.submit(work).result()
    return work()


@contextmanager
def process_pool(n: int) -> Iterator[ProcessPoolExecutor | None]:
    """``n`` worker processes while open (None when ``n`` < 2: not worth their start)."""
    if n < 2:
        yield None
        return
    ctx = get_context("forkserver")
    ctx.set_forkserver_preload(["narrator.pipeline"])
    pool = ProcessPoolExecutor(max_workers=n, mp_context=ctx)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
