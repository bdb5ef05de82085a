"""The generate flow: Prefect tasks and retries around narrator.generate.Generator's steps.

Its parameters are ``dataset``, ``db`` and every field of GenerateOptions (derived, not
listed here). Resume, shard planning and commit grouping live in the Generator.
"""

from __future__ import annotations

import inspect
import os
from contextlib import ExitStack, contextmanager
from dataclasses import fields
from typing import Any, get_type_hints

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from narrator.errors import ConfigError
from narrator.generate import GenerateOptions, Generator, ShardWork, compute, process_pool
from narrator.generate.executors import check_scheduler
from narrator.ingest import IngestResult
from narrator.pipeline import ShardResult
from narrator.store import Store


@task(name="ingest", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=2)
def ingest_task(generator: Generator) -> IngestResult:
    return generator.ingest()


@task(name="process-shard", cache_policy=NO_CACHE)
def shard_task(work: ShardWork, pool: Any = None) -> ShardResult:
    return compute(work, pool)


class PrefectExecutor:
    """Shards as Prefect tasks on the flow's task runner; rule shards compute in ``pool``
    (worker processes) when given. Only LLM shards retry: their journal makes a retry resend
    nothing that finished."""

    def __init__(self, llm: bool, pool: Any = None) -> None:
        self.task = shard_task.with_options(retries=2, retry_delay_seconds=5) if llm else shard_task
        self.pool = pool

    def submit(self, work: ShardWork) -> Any:
        return self.task.submit(work, self.pool)


@contextmanager
def _executor(generator: Generator, plan: Any) -> Any:
    # worker processes only under a thread runner (others already run shards elsewhere)
    threads = isinstance(FlowRunContext.get().task_runner, ThreadPoolTaskRunner)
    with process_pool(generator.processes(plan) if threads else 0) as pool:
        yield PrefectExecutor(generator.options.uses_llm, pool)


def _load_api_key(secret: str) -> None:
    """OPENAI_API_KEY for this flow run's process from the Prefect Secret block ``secret``:
    the deployment stores only the block's name, the key stays in Prefect's secret store."""
    from prefect.blocks.system import Secret

    try:
        value = Secret.load(secret).get()
    except ValueError as e:
        raise ConfigError(f"--api-key-secret {secret!r}: no such Prefect Secret block; create "
                          f"it with Secret(value=KEY).save({secret!r})") from e
    os.environ["OPENAI_API_KEY"] = str(value)


def generate_flow(dataset: str, db: str, prepared: Generator | None = None,
                  api_key_secret: str | None = None, **options: Any) -> dict[str, Any]:
    """Build VQA pairs and captions for ``dataset`` into the DuckDB file ``db`` (a
    ``prepared`` Generator, e.g. the CLI's with its ingest already started, is used as is;
    ``api_key_secret`` names a Prefect Secret block holding the OpenAI-compatible API key)."""
    if api_key_secret:
        _load_api_key(api_key_secret)
    with ExitStack() as stack:
        generator = prepared or Generator(stack.enter_context(Store(db)), dataset,
                                          GenerateOptions.from_params(options))
        generator.log = get_run_logger()
        return generator.generate(executor_for=lambda plan: _executor(generator, plan),
                                  ingest=lambda: ingest_task(generator))


def _signature() -> inspect.Signature:
    """``(dataset, db, <every GenerateOptions field>, prepared, api_key_secret)``: Prefect's
    parameters."""
    hints = get_type_hints(GenerateOptions)
    kw = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=str)
              for n in ("dataset", "db")]
    defaults = GenerateOptions()
    for f in fields(GenerateOptions):
        default, hint = getattr(defaults, f.name), hints[f.name]
        if isinstance(default, dict):  # no mutable default: None stands for {}
            default, hint = None, hint | None
        params.append(inspect.Parameter(f.name, kw, default=default, annotation=hint))
    params.append(inspect.Parameter("prepared", kw, default=None, annotation=Any))
    params.append(inspect.Parameter("api_key_secret", kw, default=None, annotation=str | None))
    return inspect.Signature(params, return_annotation=dict[str, Any])


generate_flow.__signature__ = _signature()  # type: ignore[attr-defined]
generate_flow.__annotations__ = {  # what Prefect validates the parameters against
    p.name: p.annotation for p in generate_flow.__signature__.parameters.values()}  # type: ignore[attr-defined]
# the module attribute keeps the function's name: deployments' entrypoint
# flows.generate.generate_flow finds the flow
generate_flow = flow(name="narrator-generate",  # type: ignore[assignment]
                     task_runner=ThreadPoolTaskRunner(max_workers=2),
                     log_prints=False)(generate_flow)


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
        check_scheduler(address)
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1})
