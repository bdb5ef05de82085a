"""Orchestration: Dask scale-out, deployments, docker-compose, crash-safe resume."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, run_cli
from tests.snapshots import snapshot


def test_compose_file_validates() -> None:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.skip("docker-compose is not installed (.ci/run installs it)")
    result = subprocess.run([exe, "-f", str(REPO / "docker-compose.yml"), "config", "-q"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(subprocess.run(
        [exe, "-f", str(REPO / "docker-compose.yml"), "config"], capture_output=True,
        text=True, check=True).stdout)
    services = config["services"]
    assert {"postgres", "prefect-server", "vllm", "worker"} <= set(services)
    assert "4200" in str(services["prefect-server"]["ports"])
    devices = services["vllm"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]
    assert "--structured-outputs-config" in services["vllm"]["command"]
    assert services["worker"]["environment"]["PREFECT_API_URL"].endswith("/api")
    # pinned vLLM (its flags are version-specific), readiness healthchecks the worker waits on,
    # ports on loopback unless BIND_ADDR says otherwise, one worker per DuckDB file
    assert not services["vllm"]["image"].endswith(":latest")
    for name in ("prefect-server", "vllm"):
        assert services[name]["healthcheck"]["test"]
        assert services["worker"]["depends_on"][name]["condition"] == "service_healthy"
        # docker-compose v1 prints "127.0.0.1:4200:4200/tcp", v2 a mapping with host_ip
        assert all((p.get("host_ip") if isinstance(p, dict) else p.split(":")[0])
                   == "127.0.0.1" for p in services[name]["ports"]), services[name]["ports"]
    assert services["worker"]["container_name"] == "narrator-worker"


def test_deployment_has_schedule_and_parameters(prefect_harness, tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.utilities.asyncutils import run_coro_as_sync

    from flows.deploy import deploy_generate, deployment_parameters

    (tmp_path / "data").mkdir()
    params = deployment_parameters(str(tmp_path / "data"), str(tmp_path / "x.duckdb"),
                                   llm="rules")
    dep_id = deploy_generate("hourly", params, cron="0 * * * *", pool="narrator-test")

    async def read():
        async with get_client() as client:
            return await client.read_deployment(dep_id)

    dep = run_coro_as_sync(read())
    assert dep.entrypoint == "flows.generate.generate_flow"
    assert dep.work_pool_name == "narrator-test"
    assert dep.parameters["dataset"] == str((tmp_path / "data").resolve())
    assert dep.parameters["llm"] == "rules"
    assert [s.schedule.cron for s in dep.schedules] == ["0 * * * *"]
    # one run at a time (DuckDB has one writer); a second one queues
    assert dep.global_concurrency_limit is not None
    assert dep.global_concurrency_limit.limit == 1
    assert dep.concurrency_options.collision_strategy == "ENQUEUE"


@pytest.mark.parametrize("args, message", [
    (["--cron", "61 * * * *"], "not a valid cron expression"),
    (["--cron", "0 * * * *", "--interval", "60"], "either a cron schedule or an interval"),
    (["--interval", "0"], "positive number of seconds"),
])
def test_deploy_refuses_a_bad_schedule(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "data").mkdir()
    result = run_cli("deploy", str(tmp_path / "data"), "--db", str(tmp_path / "x.duckdb"),
                     *args, env={"PREFECT_API_URL": "http://127.0.0.1:9/api"})
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_deploy_needs_a_reachable_server(tmp_path: Path) -> None:
    """A deployment on Prefect's temporary server would vanish with it: deploy needs a real one."""
    (tmp_path / "data").mkdir()
    args = ("deploy", str(tmp_path / "data"), "--db", str(tmp_path / "x.duckdb"), "--interval", "60")
    unset = run_cli(*args, env={"PREFECT_API_URL": ""})
    assert unset.returncode == 2 and "PREFECT_API_URL" in unset.stderr, unset.stderr
    down = run_cli(*args, env={"PREFECT_API_URL": "http://127.0.0.1:9/api"})
    assert down.returncode == 2 and "cannot reach the Prefect server" in down.stderr, down.stderr
    assert "Traceback" not in unset.stderr + down.stderr


def test_deploy_refuses_a_missing_dataset(tmp_path: Path) -> None:
    result = run_cli("deploy", str(tmp_path / "nope"), "--db", str(tmp_path / "x.duckdb"),
                     "--interval", "60", env={"PREFECT_API_URL": "http://127.0.0.1:9/api"})
    assert result.returncode != 0
    assert "nope" in result.stderr and "Traceback" not in result.stderr


def test_dask_local_cluster_gives_the_thread_runners_tables(prefect_harness, example_dir: Path,
                                                            tmp_path: Path) -> None:
    pytest.importorskip("prefect_dask")
    from flows.generate import build_task_runner, generate_flow

    thread_db, dask_db = tmp_path / "thread.duckdb", tmp_path / "dask.duckdb"
    generate_flow.with_options(task_runner=build_task_runner("thread"))(
        str(example_dir), str(thread_db), shard_size=2)
    summary = generate_flow.with_options(task_runner=build_task_runner("dask", workers=2))(
        str(example_dir), str(dask_db), shard_size=2)
    assert summary["processed_now"] == 8
    assert snapshot(dask_db) == snapshot(thread_db)


def test_worker_processes_give_the_thread_runners_tables(prefect_harness, example_dir: Path,
                                                         tmp_path: Path) -> None:
    """Rule-mode shards computed in worker processes (the CLI's default) equal in-thread."""
    from flows.generate import generate_flow

    thread_db, proc_db = tmp_path / "thread.duckdb", tmp_path / "proc.duckdb"
    generate_flow(str(example_dir), str(thread_db), shard_size=2, workers=1)  # no processes
    summary = generate_flow(str(example_dir), str(proc_db), shard_size=2, workers=2)
    assert summary["processed_now"] == 8
    assert snapshot(proc_db) == snapshot(thread_db)


def _annotation_only_dataset(root: Path, n_scenes: int) -> Path:
    """A COCO file of many small annotation-only scenes (sizes in the JSON, no images)."""
    import random

    rng = random.Random(5)
    cats = ["ship", "aircraft", "tank", "car"]
    images, anns = [], []
    for i in range(n_scenes):
        images.append({"id": i, "file_name": f"s{i:05d}.tif", "width": 512, "height": 512})
        for _ in range(rng.randint(1, 8)):
            x, y = rng.uniform(0, 450), rng.uniform(0, 450)
            anns.append({"id": len(anns), "image_id": i, "category_id": rng.randint(1, 4),
                         "bbox": [round(x, 1), round(y, 1), rng.randint(5, 60),
                                  rng.randint(5, 60)]})
    root.mkdir(parents=True)
    (root / "ann.json").write_text(json.dumps({
        "images": images, "annotations": anns,
        "categories": [{"id": i + 1, "name": c} for i, c in enumerate(cats)]}))
    return root


def _generate_cmd(dataset: Path, db: Path) -> list[str]:
    return [str(Path(sys.executable).with_name("narrator")), "generate", str(dataset), "--db",
            str(db), "--shard-size", "10"]


def _kill_after_commits(cmd: list[str], db: Path, env: dict[str, str], n: int) -> int:
    """Start ``cmd``, SIGKILL it once its log shows ``n`` committed shards; returns how many
    shards it had committed."""
    log = db.with_name(db.name + ".log")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if log.exists() and log.read_text(errors="replace").count("committed shard") >= n:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    committed = log.read_text(errors="replace").count("committed shard")
    assert committed >= n
    return committed


def test_sigkill_mid_run_then_rerun_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    dataset = _annotation_only_dataset(tmp_path / "data", 1200)
    env = os.environ | {"NO_COLOR": "1"}
    clean_db = tmp_path / "clean.duckdb"
    subprocess.run(_generate_cmd(dataset, clean_db), check=True, capture_output=True, env=env,
                   timeout=600)

    db = tmp_path / "killed.duckdb"
    committed = _kill_after_commits(_generate_cmd(dataset, db), db, env, 3)
    assert committed < 120  # killed mid-run (120 shards in all)

    rerun = subprocess.run(_generate_cmd(dataset, db), capture_output=True, text=True, env=env,
                           timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert snapshot(db) == snapshot(clean_db)


def test_sigkill_with_a_slow_llm_then_rerun_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    """The same with LLM captions: the test server answers slowly, the run is killed while
    calls are in flight, and the rerun repeats at most the calls that were in flight."""
    from narrator.example import write_example
    from tests.fake_openai import OpenAITestServer, ServerConfig
    from tests.caption_responder import CaptionResponder

    dataset = write_example(tmp_path / "data", n_scenes=24, size=128, seed=12)
    in_flight = 4
    base = ["--llm", "openai:narrator-test", "--samples", "2", "--shard-size", "2"]
    with OpenAITestServer(ServerConfig(latency_s=0.15, capacity=in_flight),
                          CaptionResponder(error_rate=0.3, seed=4)) as server:
        env = os.environ | {"NO_COLOR": "1", "OPENAI_BASE_URL": server.base_url,
                            "OPENAI_API_KEY": "test-key",
                            "NARRATOR_LLM_MAX_CONCURRENCY": str(in_flight)}
        clean_db = tmp_path / "clean.duckdb"
        subprocess.run(_generate_cmd(dataset, clean_db)[:-2] + base, check=True,
                       capture_output=True, env=env, timeout=600)
        uninterrupted = server.stats()["chat_requests"]
        server.reset_stats()

        db = tmp_path / "killed.duckdb"
        assert _kill_after_commits(_generate_cmd(dataset, db)[:-2] + base, db, env, 3) < 12
        rerun = subprocess.run(_generate_cmd(dataset, db)[:-2] + base, capture_output=True,
                               text=True, env=env, timeout=600)
        assert rerun.returncode == 0, rerun.stderr
        sent = server.stats()["chat_requests"]
    # raw responses carry the server's id and timestamp: compare everything else
    assert snapshot(db, ignore=frozenset({"response"})) == snapshot(
        clean_db, ignore=frozenset({"response"}))
    assert uninterrupted <= sent <= uninterrupted + in_flight * 2  # two shard threads
