"""A scheduled deployment on a real, long-lived Prefect server with a real process worker.

What a data engineer does: `prefect server start`, `narrator deploy --interval`, `prefect worker
start`; the server's scheduler creates runs, the worker runs them, and a run after new scenes
were added processes only those. This catches what `prefect_test_harness` cannot: the
dependency versions the installed server needs (fastapi, SQLAlchemy), the worker's entrypoint,
and parameters that must survive a trip through the server.
"""

from __future__ import annotations

import functools
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest
import yaml

from narrator.example import write_example
from tests.caption_responder import CaptionResponder
from tests.conftest import run_cli
from tests.fake_openai import OpenAITestServer, ServerConfig

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(args, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def _wait_health(url: str, server: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"prefect server exited: {log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(1)
    pytest.fail(f"prefect server not healthy after {timeout} s: {log.read_text()[-3000:]}")


def _flow_runs(env: dict[str, str]) -> list[dict]:
    """Flow runs as the server reports them (the list endpoint fastapi 0.151-0.154 broke)."""
    body = json.dumps({"limit": 50, "sort": "EXPECTED_START_TIME_ASC"}).encode()
    req = urllib.request.Request(f"{env['PREFECT_API_URL']}/flow_runs/filter", data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def _post(env: dict[str, str], path: str, body: dict | None = None) -> list[dict]:
    req = urllib.request.Request(f"{env['PREFECT_API_URL']}{path}",
                                 data=json.dumps(body or {}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def _wait_completed(env: dict[str, str], n: int, logs: list[Path], timeout: float) -> list:
    deadline = time.monotonic() + timeout
    runs: list[dict] = []
    while time.monotonic() < deadline:
        runs = _flow_runs(env)
        done = [r for r in runs if r["state_type"] == "COMPLETED"]
        failed = [r for r in runs if r["state_type"] in ("FAILED", "CRASHED")]
        if failed:
            pytest.fail(f"flow run failed: {failed[0]['state_name']}; "
                        + "\n".join(p.read_text()[-3000:] for p in logs))
        if len(done) >= n:
            return runs
        time.sleep(2)
    pytest.fail(f"{n} completed runs not seen in {timeout} s; states: "
                f"{[r['state_name'] for r in runs]}\n"
                + "\n".join(p.read_text()[-3000:] for p in logs))


def _last_summary(db: Path) -> dict | None:
    """The last completed generate's summary (a run of the same settings updates its row)."""
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error:
        return None  # a flow run holds the file: look again later
    try:
        row = con.execute("SELECT summary FROM runs WHERE status = 'completed' "
                          "ORDER BY finished_at DESC LIMIT 1").fetchone()
    finally:
        con.close()
    return json.loads(row[0]) if row else None


def _wait_summary(db: Path, scenes: int, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    summary = None
    while time.monotonic() < deadline:
        summary = _last_summary(db)
        if summary and summary["scenes"] == scenes:
            return summary
        time.sleep(2)
    pytest.fail(f"no completed run over {scenes} scenes in {timeout} s; last: {summary}")


def _hold_back_scenes(data: Path, n: int = 2) -> None:
    """Split train.json into annotations/first.json and second.json (its last ``n`` images),
    the new scenes that arrive later in a new annotation file."""
    coco = json.loads((data / "annotations" / "train.json").read_text())
    held = {img["id"] for img in coco["images"][-n:]}
    for name, keep in (("first", False), ("second", True)):
        part = dict(coco, images=[i for i in coco["images"] if (i["id"] in held) == keep],
                    annotations=[a for a in coco["annotations"] if (a["image_id"] in held) == keep])
        (data / "annotations" / f"{name}.json").write_text(json.dumps(part))


def test_scheduled_deployment_runs_on_a_real_server(tmp_path: Path) -> None:
    """The LLM's key comes from a Prefect Secret block the worker's flow runs load."""
    _scheduled_deployment(tmp_path, {}, key_via="secret")


def _postgres_bin() -> Path | None:
    """The folder of PostgreSQL's server programs (Debian puts them outside PATH)."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return versions[-1].parent if versions else None


@contextmanager
def _postgres() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on a free port; yields its SQLAlchemy URL for Prefect.
    initdb refuses to run as root, so as root the cluster belongs to the postgres user."""
    bin_dir = _postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="narrator-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(root, pw.pw_uid, pw.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    data = root / "data"
    run = functools.partial(subprocess.run, check=True, capture_output=True, text=True,
                            timeout=120)
    try:
        run([*as_user, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust",
             "-U", "prefect", "--no-sync"])
        run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "pg.log"),
             "-w", "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off",
             "start"])
        yield f"postgresql+asyncpg://prefect@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "stop"], capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def test_scheduled_deployment_runs_on_a_real_server_with_postgres(tmp_path: Path) -> None:
    """The same scheduled deployment with the server's database in PostgreSQL, as a team
    running one long-lived Prefect server would set it up."""
    pytest.importorskip("asyncpg")
    import asyncio

    import asyncpg

    with _postgres() as url:
        # the LLM's key comes from the worker's own environment
        _scheduled_deployment(tmp_path, {"PREFECT_API_DATABASE_CONNECTION_URL": url},
                              key_via="worker-env")

        async def completed() -> int:  # the runs live in PostgreSQL, not a SQLite file
            con = await asyncpg.connect(url.replace("+asyncpg", ""))
            try:
                return await con.fetchval(
                    "SELECT count(*) FROM flow_run WHERE state_type = 'COMPLETED'")
            finally:
                await con.close()

        assert asyncio.run(completed()) >= 2
    assert not list((tmp_path / "prefect-home").glob("*.db")), "the server used SQLite"


def _scheduled_deployment(tmp_path: Path, server_env: dict[str, str], key_via: str) -> None:
    """Interval deployment, process worker, an incremental second run; LLM captions from a
    local OpenAI-compatible server that answers only the right key, which the worker gets
    from a Secret block (``key_via="secret"``, its environment holding a wrong key) or from
    its environment (``"worker-env"``); no Prefect record holds the key."""
    key = "narrator-secret-marker-c41d-" + key_via
    llm = OpenAITestServer(ServerConfig(latency_s=0.0, api_key=key), CaptionResponder(seed=3))
    with llm:
        _deploy_and_run(tmp_path, server_env, key_via, key, llm)
        status = llm.stats()["status"]
        assert llm.stats()["chat_requests"] > 0 and "401" not in status, llm.stats()


def _deploy_and_run(tmp_path: Path, server_env: dict[str, str], key_via: str, key: str,
                    llm: OpenAITestServer) -> None:
    data = write_example(tmp_path / "data", n_scenes=8, size=128, seed=3)
    held = 2
    _hold_back_scenes(data, held)
    cfg_path = data / "narrator.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    # several annotation files: each one's name is its scenes' split
    cfg["annotations"] = ["annotations/first.json", "annotations/val.json"]
    cfg_path.write_text(yaml.safe_dump(cfg))
    db = tmp_path / "out.duckdb"

    port = _free_port()
    env = os.environ | {
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # a short scheduler loop and worker poll so the test sees runs within seconds
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2",
        "PREFECT_WORKER_QUERY_SECONDS": "2",
        "PREFECT_WORKER_PREFETCH_SECONDS": "5",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    } | server_env
    env.pop("OPENAI_API_KEY", None)  # the deployer never holds the key
    server_log, worker_log = tmp_path / "server.log", tmp_path / "worker.log"
    server = _start([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
                     "--port", str(port)], env, server_log)
    worker = None
    try:
        _wait_health(env["PREFECT_API_URL"], server, server_log)
        key_args: list[str] = []
        worker_env = env | {"OPENAI_API_KEY": key}
        if key_via == "secret":  # a Secret block on the server; the deployment names it
            made = subprocess.run(
                [sys.executable, "-c", "from prefect.blocks.system import Secret; "
                 f"Secret(value={key!r}).save('narrator-llm-key', overwrite=True)"],
                env=env, capture_output=True, text=True, timeout=120)
            assert made.returncode == 0, made.stderr
            key_args = ["--api-key-secret", "narrator-llm-key"]
            worker_env["OPENAI_API_KEY"] = "a-wrong-key"  # the block wins over it
        dep = run_cli("deploy", str(data), "--db", str(db), "--name", "every-20s",
                      "--interval", "20", "--pool", "narrator-ci", *key_args,
                      "--llm", "openai:narrator-test", "--samples", "1", "--rounds", "1",
                      "--job-env", f"OPENAI_BASE_URL={llm.base_url}", env=env, timeout=180)
        assert dep.returncode == 0, dep.stdout + dep.stderr
        worker = _start([str(BIN / "prefect"), "worker", "start", "--pool", "narrator-ci",
                         "--type", "process"], worker_env, worker_log)
        logs = [server_log, worker_log]
        _wait_completed(env, 1, logs, timeout=240)
        first = _last_summary(db)
        assert first and first["processed_now"] == first["scenes"] > 0, first
        assert first["llm"]["calls"] > 0 and not first["llm"].get("failed"), first

        # new scenes arrive in a new annotation file: the next run processes only those
        cfg["annotations"].append("annotations/second.json")
        cfg_path.write_text(yaml.safe_dump(cfg))
        second = _wait_summary(db, first["scenes"] + held, timeout=240)
        assert second["processed_now"] == held, second
        runs = _wait_completed(env, 2, logs, timeout=60)
        tasks = _post(env, "/task_runs/filter", {"limit": 200})
        flow_states = Counter(r["state_name"] for r in runs)
        task_states = Counter(f"{t['name'].rsplit('-', 1)[0]}:{t['state_name']}" for t in tasks)
        print(f"[{key_via}] flow run states: {dict(flow_states)}; task run states: "
              f"{dict(task_states)}; runs: {first['processed_now']} then "
              f"{second['processed_now']} scenes processed, {first['llm']['calls']} LLM calls")
        assert flow_states["Completed"] >= 2
        assert all(t["state_type"] == "COMPLETED" for t in tasks), task_states
        assert {t["name"].rsplit("-", 1)[0] for t in tasks} >= {"ingest", "process-shard"}
        # the worker used the key (the LLM server answers no other); no record holds it
        records = json.dumps([runs, tasks, _post(env, "/deployments/filter"),
                              _post(env, "/logs/filter", {"limit": 200}),
                              _post(env, "/work_pools/filter"), _post(env, "/variables/filter")])
        assert "OPENAI_BASE_URL" in records and key not in records
        assert ("narrator-llm-key" in records) == (key_via == "secret")
    finally:
        if worker is not None:
            _stop(worker)
        _stop(server)
