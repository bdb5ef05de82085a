"""API keys reach scheduled runs from the worker's environment or a Prefect Secret block,
never from job variables or parameters stored in Prefect's database."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from narrator.errors import ConfigError
from narrator.example import write_example
from tests.caption_responder import CaptionResponder
from tests.conftest import run_cli
from tests.fake_openai import OpenAITestServer, ServerConfig


@pytest.mark.parametrize("pair", [
    "OPENAI_API_KEY=abc123", "HF_TOKEN=abc", "my_password=hunter2", "Auth=Bearer x",
    "OPENAI_BASE_URL=http://user:s3cret@llm.internal:8000/v1", "SOMETHING=sk-proj-abcdefghijkl",
])
def test_job_env_refuses_credentials(pair: str) -> None:
    from flows.deploy import job_env

    with pytest.raises(ConfigError, match="credential") as err:
        job_env([pair])
    assert pair.partition("=")[2] not in str(err.value)  # the value is not echoed


def test_job_env_keeps_plain_settings() -> None:
    from flows.deploy import job_env

    env = job_env(["OPENAI_BASE_URL=http://llm.internal:8000/v1", "NARRATOR_LLM_TIMEOUT_S=60"])
    assert env == {"OPENAI_BASE_URL": "http://llm.internal:8000/v1",
                   "NARRATOR_LLM_TIMEOUT_S": "60"}
    with pytest.raises(ConfigError, match="NAME=VALUE"):
        job_env(["JUSTANAME"])


def test_deploy_with_a_key_in_job_env_is_one_error_line(tmp_path: Path) -> None:
    data = write_example(tmp_path / "d", n_scenes=2, size=64, seed=1)
    proc = run_cli("deploy", str(data), "--db", str(tmp_path / "n.duckdb"),
                   "--job-env", "OPENAI_API_KEY=sk-marker-0123456789", "--interval", "60")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: --job-env OPENAI_API_KEY"), lines
    assert "--api-key-secret" in lines[0] and "sk-marker" not in proc.stdout + proc.stderr


def test_job_env_refuses_the_deployers_key_under_any_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """A key of no known shape (vLLM's --api-key accepts anything) is found by its value."""
    from flows.deploy import job_env

    monkeypatch.setenv("OPENAI_API_KEY", "token-0a1b2c3d4e")
    with pytest.raises(ConfigError, match="--job-env OPENAI_BASE_URL: looks like a credential"):
        job_env(["OPENAI_BASE_URL=http://llm:8000/v1?api_key=token-0a1b2c3d4e"])
    assert job_env(["OPENAI_BASE_URL=http://llm:8000/v1"])  # the same name without the key


def test_parameters_holding_a_key_are_refused(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.deploy import deployment_parameters

    data = write_example(tmp_path / "d", n_scenes=1, size=64, seed=1)
    db = str(tmp_path / "n.duckdb")
    monkeypatch.setenv("MY_LLM_TOKEN", "zq9-unshaped-key-77")
    with pytest.raises(ConfigError, match="parameter vqa_options: holds what looks like a "
                                          "credential") as err:
        deployment_parameters(str(data), db, vqa_options={"note": "zq9-unshaped-key-77"})
    assert "zq9-unshaped" not in str(err.value) and "--api-key-secret" in str(err.value)
    with pytest.raises(ConfigError, match="parameter dask_address"):
        deployment_parameters(str(data), db, dask_address="tls://admin:pw1234@dask.internal:8786")
    params = deployment_parameters(str(data), db, dask_address="tcp://dask.internal:8786",
                                   vqa_options={"quota.count": 3})
    assert params["dask_address"] == "tcp://dask.internal:8786"


def test_deploy_with_a_key_in_a_parameter_is_one_error_line(tmp_path: Path) -> None:
    data = write_example(tmp_path / "d", n_scenes=2, size=64, seed=1)
    proc = run_cli("deploy", str(data), "--db", str(tmp_path / "n.duckdb"), "--interval", "60",
                   "--task-runner", "dask", "--dask-address", "tls://u:s3cr3t-pw@dask:8786")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: parameter dask_address"), lines
    assert "s3cr3t" not in proc.stdout + proc.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_flow_loads_the_key_from_a_secret_block(prefect_harness, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The server only accepts the key in the block; the environment has a wrong one."""
    from prefect.blocks.system import Secret

    from flows.generate import generate_flow
    from narrator.store import Store

    key = "narrator-secret-marker-7f3a"
    Secret(value=key).save("narrator-test-key", overwrite=True)
    data = write_example(tmp_path / "d", n_scenes=2, size=64, seed=2)
    port = _free_port()
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "a-wrong-key")
    with OpenAITestServer(ServerConfig(latency_s=0.0, api_key=key), CaptionResponder(seed=1),
                          port=port) as server:
        summary = generate_flow(str(data), str(tmp_path / "n.duckdb"),
                                llm="openai:narrator-test", samples=1, rounds=1,
                                api_key_secret="narrator-test-key")
        assert server.stats()["requests"] > 0
    assert summary["llm"]["calls"] > 0 and summary["llm"].get("failed", 0) == 0, summary
    with Store(tmp_path / "n.duckdb", read_only=True) as store:
        assert store.count("captions", "generator LIKE 'llm:%'") > 0
    db_bytes = (tmp_path / "n.duckdb").read_bytes()
    assert key.encode() not in db_bytes


def test_a_missing_secret_block_is_a_clear_error(prefect_harness, tmp_path: Path) -> None:
    from flows.generate import generate_flow

    data = write_example(tmp_path / "d", n_scenes=1, size=64, seed=2)
    with pytest.raises(ConfigError, match="no such Prefect Secret block"):
        generate_flow(str(data), str(tmp_path / "n.duckdb"), api_key_secret="nope-missing")
