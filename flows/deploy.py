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

import os
import re
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
    for key, value in params.items():
        if _holds_credential(value):
            raise ConfigError(
                f"parameter {key}: holds what looks like a credential, and deployment "
                f"parameters are stored in clear in Prefect's database; {_WHERE_KEYS_GO}")
    return params


#: names of environment variables that hold credentials: never stored as job variables
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH", re.I)
#: values that look like credentials whatever their name: API keys, URLs with a password
_SECRET_VALUE = re.compile(r"^(sk|pk|rk|hf|ghp|gho|xox[abp])[-_][A-Za-z0-9_-]{8,}|://[^/@\s]*:[^/@\s]*@")


_WHERE_KEYS_GO = ("give the key to the worker's own environment (OPENAI_API_KEY when starting "
                  "`prefect worker start`) or store it in a Prefect Secret block and pass "
                  "--api-key-secret NAME")


def _known_secrets() -> list[str]:
    """Values of this process's credential-named environment variables (OPENAI_API_KEY...):
    a key of any shape, e.g. vLLM's ``--api-key token-abc123``, is found by its value."""
    return [v for k, v in os.environ.items() if _SECRET_NAME.search(k) and len(v) >= 8
            and not v.startswith(("/", "~", ".")) and not os.path.exists(v)]  # not file names


def _holds_credential(value: Any) -> bool:
    """Whether ``value`` (a parameter: string, number, list or dict) carries a key-like string
    or the value of one of this process's credential variables."""
    if isinstance(value, dict):
        return any(_holds_credential(k) or _holds_credential(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_holds_credential(v) for v in value)
    if not isinstance(value, str):
        return False
    return bool(_SECRET_VALUE.search(value)) or any(s in value for s in _known_secrets())


def job_env(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``KEY=VALUE`` pairs for the worker's environment (stored in the deployment as job
    variables, readable by anyone with access to the Prefect server): credentials refused."""
    env: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--job-env {pair!r}: expected NAME=VALUE")
        name = name.strip()
        if _SECRET_NAME.search(name) or _holds_credential(value):
            raise ConfigError(
                f"--job-env {name}: looks like a credential, and job variables are stored in "
                f"clear in Prefect's database; {_WHERE_KEYS_GO}")
        env[name] = value
    return env


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
                    interval: int | None = None, pool: str = "narrator",
                    env: dict[str, str] | None = None) -> UUID:
    """Register a scheduled deployment of the generate flow in the process pool ``pool``;
    ``env`` (from :func:`job_env`, no credentials) goes to the worker's flow-run process."""
    schedule = _schedule(cron, interval)  # refuse a bad schedule before touching the server
    _require_server()
    try:
        run_coro_as_sync(_ensure_pool(pool))
        deployment = generate_flow.to_deployment(
            name=name, parameters=parameters, work_pool_name=pool, tags=["narrator"],
            entrypoint_type=EntrypointType.MODULE_PATH, concurrency_limit=CONCURRENCY_LIMIT,
            job_variables={"env": env} if env else None, **schedule,
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
