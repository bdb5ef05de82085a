"""Where shards compute: an executor is anything with ``submit(work) -> future`` whose future
has ``result()`` and ``add_done_callback(fn)`` (concurrent.futures and Prefect futures both
do). The Generator never creates one behind the caller's back: it is passed in.

- :class:`InlineExecutor`: in the calling thread, one shard at a time (library use, tests);
- :func:`process_pool`: a local pool of worker processes forked from a server that has
  imported the pipeline once (they start in milliseconds and never import Prefect);
- :func:`local_executor`: what Prefect's thread runner does, without Prefect: rule shards in
  worker processes, LLM shards on threads with retries (``narrator generate --no-server``);
- flows.generate adapts a Prefect task runner (thread, process or Dask) the same way.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context
from typing import Any, Protocol

from narrator.errors import ConfigError
from narrator.pipeline import GenerateConfig, LLMContext, Shard, ShardResult, run_shard
from narrator.signals import wait_unless_interrupted


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


class LocalExecutor:
    """Rule shards straight into the worker ``pool`` (when there is one), everything else on
    ``threads``; an LLM shard is retried like the flow's task (its journal makes a retry
    resend nothing that finished)."""

    def __init__(self, threads: ThreadPoolExecutor, pool: Any = None, retries: int = 0,
                 delay_s: float = 5.0) -> None:
        self.threads, self.pool, self.retries, self.delay_s = threads, pool, retries, delay_s

    def submit(self, work: ShardWork) -> Future[ShardResult]:
        if self.pool is not None and work.llm is None:
            return self.pool.submit(work)
        return self.threads.submit(self._run, work)

    def _run(self, work: ShardWork) -> ShardResult:
        for attempt in range(self.retries + 1):
            try:
                return work()
            except Exception:  # no retry once Ctrl+C or SIGTERM stopped the run
                if attempt == self.retries or wait_unless_interrupted(self.delay_s):
                    raise
        raise AssertionError("unreachable")


@contextmanager
def local_executor(workers: int, processes: int, llm: bool) -> Iterator[LocalExecutor]:
    """Shards on this machine with no Prefect: ``processes`` worker processes for rule
    shards (none when < 2) and ``workers`` threads; LLM shards retry twice."""
    threads = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="narrator-shard")
    try:
        with process_pool(processes) as pool:
            yield LocalExecutor(threads, pool, retries=2 if llm else 0)
    finally:  # every shard was taken on success; on Ctrl+C do not wait for the queued ones
        threads.shutdown(wait=False, cancel_futures=True)


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


def check_scheduler(address: str, timeout_s: float | None = None) -> None:
    """Raise ConfigError (one line) unless a TCP connection to the Dask scheduler at
    ``address`` (``tcp://host:port``) opens within ``timeout_s`` (NARRATOR_DASK_CONNECT_S,
    default 5 s): Dask itself would wait 30 s and end in an OSError."""
    if timeout_s is None:
        timeout_s = float(os.environ.get("NARRATOR_DASK_CONNECT_S", "5"))
    scheme, _, rest = address.rpartition("://")
    if scheme not in ("", "tcp", "tls"):
        return  # inproc://, ucx://: nothing to probe with a socket
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--dask-address {address!r}: expected tcp://HOST:PORT")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            pass
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise ConfigError(f"--dask-address {address}: cannot reach the Dask scheduler "
                          f"({reason}); start it (`dask scheduler`) or check the address") \
            from None
    _check_identity(address, timeout_s)


def _check_identity(address: str, timeout_s: float) -> None:
    """Something listens at ``address``: ask it who it is, as a Dask client would, and refuse
    anything that is not a Dask scheduler (a web server, a database, a silent socket) within
    ``timeout_s`` instead of Dask's own 30 s wait and an internal error."""
    try:
        import asyncio

        from distributed.comm import connect
    except ImportError:
        return  # no Dask installed: the task runner says so itself

    async def identity() -> Any:
        comm = await connect(address, timeout=timeout_s)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    try:
        reply = asyncio.run(asyncio.wait_for(identity(), timeout_s))
    except Exception as exc:  # noqa: BLE001 - any failure means: not a scheduler we can use
        # a banner or garbage decodes to a bogus frame (MemoryError, ValueError...)
        reason = (f"no Dask answer within {timeout_s:g} s" if isinstance(exc, TimeoutError)
                  else "it answered in another protocol")
        raise _not_a_scheduler(address, reason) from None
    kind = reply.get("type") if isinstance(reply, dict) else None
    if kind in ("Worker", "Nanny"):
        raise ConfigError(f"--dask-address {address}: this is a Dask {kind}, not the "
                          "scheduler; give the scheduler's address")
    if kind != "Scheduler":
        raise _not_a_scheduler(address, "its answer is not a Dask scheduler's identity")


def _not_a_scheduler(address: str, reason: str) -> ConfigError:
    return ConfigError(f"--dask-address {address}: something listens there but it is not a "
                       f"Dask scheduler ({reason}); check the address and port (`dask "
                       "scheduler` prints them)")
