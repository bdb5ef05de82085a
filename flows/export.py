"""The export flow: write the texts of a DuckDB file in a trainer format."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from narrator.export import ExportOptions, export
from narrator.store import Store


@task(name="export", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=2)
def export_task(db: str, out: str, fmt: str, single_file: bool = False) -> int:
    with Store(db, read_only=True) as store:
        return export(store, fmt, Path(out), ExportOptions(single_file=single_file)).texts


@flow(name="narrator-export", log_prints=False)
def export_flow(db: str, out: str, fmt: str = "jsonl", single_file: bool = False) -> int:
    """Every format of ``narrator export`` (default options: accepted texts, all splits, one
    file per split unless ``single_file``)."""
    n = export_task(db, out, fmt, single_file)
    get_run_logger().info("wrote %d %s records to %s", n, fmt, out)
    return n
