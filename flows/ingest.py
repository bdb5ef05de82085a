"""The ingest flow: read a dataset's annotations and metadata into the DuckDB file."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from narrator import progress
from narrator.ingest import DatasetConfig, IngestResult, ingest_into, load_config
from narrator.store import Store


@task(name="ingest", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=2)
def ingest_task(config: DatasetConfig, store: Store) -> IngestResult:
    progress.start("ingest", None)
    return ingest_into(store, config, on_source=lambda _src, n: progress.advance("ingest", n))


@flow(name="narrator-ingest", log_prints=False)
def ingest_flow(dataset: str, db: str, fmt: str | None = None, images: str | None = None,
                class_map: str | None = None) -> dict[str, Any]:
    config = load_config(dataset, fmt, images, class_map)
    with Store(db) as store:
        result = ingest_task(config, store)
    get_run_logger().info("%s: %d scenes, %d quarantined, %d unreadable files", config.name,
                          result.scenes, len(result.quarantine),
                          len(result.file_errors))
    return {"scenes": result.scenes, "quarantined": len(result.quarantine),
            "file_errors": [str(e) for e in result.file_errors]}
