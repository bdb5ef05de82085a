"""The ingest flow: read a dataset's annotations and metadata into the DuckDB file."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

from flows.generate import ingest_task
from narrator.ingest import load_config
from narrator.store import Store


@flow(name="narrator-ingest", log_prints=False)
def ingest_flow(dataset: str, db: str, fmt: str | None = None,
                images: str | None = None) -> dict[str, Any]:
    config = load_config(dataset, fmt, images)
    with Store(db) as store:
        result = ingest_task(config, store)
    get_run_logger().info("%s: %d scenes, %d quarantined, %d unreadable files", config.name,
                          len(result.scene_hashes), len(result.quarantine),
                          len(result.file_errors))
    return {"scenes": len(result.scene_hashes), "quarantined": len(result.quarantine),
            "file_errors": [str(e) for e in result.file_errors]}
