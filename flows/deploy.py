"""Deployments of the generate flow: scheduled runs that pick up new scenes.

Kept apart from the flow code. Two ways to run them:
- ``serve_generate``: this process serves the deployment and runs it on schedule
  (``flow.serve``), no work pool needed;
- ``deploy_generate``: registers the deployment in a process work pool (created if missing),
  and a worker started with ``prefect worker start --pool narrator`` runs it. The entrypoint is
  the module path ``flows.generate.generate_flow``, so the installed package is all a worker
  needs.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.client.schemas.schedules import CronSchedule
from prefect.deployments.runner import EntrypointType
from prefect.exceptions import ObjectNotFound
from prefect.utilities.asyncutils import run_coro_as_sync

from flows.generate import generate_flow
from narrator.errors import ConfigError


def deployment_parameters(dataset: str, db: str, **options: Any) -> dict[str, Any]:
    """Flow parameters with absolute paths (a worker runs elsewhere than the caller).

    The dataset must exist now (a typo would otherwise fail every scheduled run) and the
    database's folder too."""
    if not Path(dataset).expanduser().exists():
        raise ConfigError(f"{dataset}: no such dataset folder or annotation file")
    if not Path(db).expanduser().resolve().parent.is_dir():
        raise ConfigError(f"{db}: its folder does not exist")
    params = {"dataset": str(Path(dataset).expanduser().resolve()),
              "db": str(Path(db).expanduser().resolve())}
    params.update({k: v for k, v in options.items() if v is not None})
    for key in ("images", "rewrite", "class_map"):  # paths (a class map may be a name)
        path = Path(params[key]).expanduser() if params.get(key) else None
        if path is not None and (key != "class_map" or path.is_file()):
            params[key] = str(path.resolve())
    return params


#: one run of a deployment at a time: DuckDB has a single writer, so a second run started while
#: one is going waits in the queue (Prefect's ENQUEUE collision strategy) instead of failing
CONCURRENCY_LIMIT = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE)


def _schedule(cron: str | None, interval: int | None) -> dict[str, Any]:
    if cron and interval:
        raise ConfigError("give either a cron schedule or an interval, not both")
    if interval is not None and interval <= 0:
        raise ConfigError("--interval must be a positive number of seconds")
    if cron:
        try:
            CronSchedule(cron=cron)
        except ValueError as e:
            raise ConfigError(f"--cron {cron!r} is not a valid cron expression (five fields: "
                              "minute hour day-of-month month day-of-week, e.g. '0 * * * *')") from e
        return {"cron": cron}
    if interval:
        return {"interval": timedelta(seconds=interval)}
    return {}


async def _ensure_pool(name: str) -> None:
    async with get_client() as client:
        try:
            await client.read_work_pool(name)
        except ObjectNotFound:
            await client.create_work_pool(WorkPoolCreate(name=name, type="process"))


def _require_server() -> None:
    if not PREFECT_API_URL.value():
        raise ConfigError("deploy needs a running Prefect server: start one with `prefect server "
                          "start` and set PREFECT_API_URL (e.g. http://127.0.0.1:4200/api); "
                          "without it the deployment would live on a temporary server that "
                          "stops when this command ends")


def deploy_generate(name: str, parameters: dict[str, Any], cron: str | None = None,
                    interval: int | None = None, pool: str = "narrator") -> UUID:
    """Register a scheduled deployment of the generate flow in the process pool ``pool``."""
    schedule = _schedule(cron, interval)  # refuse a bad schedule before touching the server
    _require_server()
    try:
        run_coro_as_sync(_ensure_pool(pool))
        deployment = generate_flow.to_deployment(
            name=name, parameters=parameters, work_pool_name=pool, tags=["narrator"],
            entrypoint_type=EntrypointType.MODULE_PATH, concurrency_limit=CONCURRENCY_LIMIT,
            **schedule,
        )
        return deployment.apply()
    except httpx.TransportError as e:
        raise ConfigError(
            f"cannot reach the Prefect server at {PREFECT_API_URL.value() or '(PREFECT_API_URL unset)'}"
            f" ({type(e).__name__}): start one with `prefect server start` and set "
            "PREFECT_API_URL to its /api address") from e


def serve_generate(name: str, parameters: dict[str, Any], cron: str | None = None,
                   interval: int | None = None) -> None:
    """Serve the deployment from this process until stopped (Ctrl+C)."""
    schedule = _schedule(cron, interval)
    _require_server()
    generate_flow.serve(name=name, parameters=parameters, tags=["narrator"],
                        entrypoint_type=EntrypointType.MODULE_PATH, limit=1, **schedule)
