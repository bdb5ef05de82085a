"""``narrator generate`` as a library: :class:`Generator` runs the pipeline, one
:class:`GenerateOptions` holds its settings, an executor says where shards compute."""

from narrator.generate.executors import (
    Executor,
    InlineExecutor,
    PoolExecutor,
    ShardWork,
    compute,
    local_executor,
    process_pool,
)
from narrator.generate.generator import Generator, Outcome, Plan, commit_result
from narrator.generate.options import GenerateOptions

__all__ = ["Executor", "GenerateOptions", "Generator", "InlineExecutor", "Outcome", "Plan",
           "PoolExecutor", "ShardWork", "commit_result", "compute", "local_executor",
           "process_pool"]
