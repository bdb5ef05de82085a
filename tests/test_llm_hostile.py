"""``narrator generate --llm openai:...`` against a hostile server (tests/hostile_llm.py):
each attack ends within 30 s as failed calls with their reasons (or, for a 401, one Error
line and no further requests), the other scenes are processed, peak RSS stays under 1 GB,
and a secret placed in the API key and in the base URL's password appears in no output."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import duckdb
import pytest

from tests.caption_responder import CaptionResponder
from tests.fake_openai import ServerConfig
from tests.hostile_llm import MODES, HostileServer
from tests.test_hostile_inputs import _CHILD

#: what the failed calls of each mode say (in llm_calls.error)
REASONS = {"trickle": "no reply within", "huge": "larger than the limit",
           "deep": "nests JSON deeper", "deep_text": "nested deeper than",
           "object_content": "content is a JSON dict", "null_choice": "first choice is null",
           "missing": "no choices list", "non_utf8": "not JSON", "echo": "",
           "echo_error": "HTTP 500"}
LIMIT_S = 30.0
#: the issue's bound on a generate run's peak RSS (the land mask used to take 930 MB of it:
#: narrator/landmask.py), and what an attack may add to the same run against a benign server
LIMIT_RSS = 1024**3
LIMIT_EXTRA_RSS = 256 * 1024**2


@pytest.fixture(scope="module")
def prefect_api(prefect_harness) -> tuple[str, Path]:  # type: ignore[no-untyped-def]
    """The running test server's API URL (so that no run pays for a server start) and the
    folder of its database (searched for secrets)."""
    from prefect.settings import PREFECT_API_DATABASE_CONNECTION_URL, PREFECT_API_URL

    db_url = str(PREFECT_API_DATABASE_CONNECTION_URL.value())
    return str(PREFECT_API_URL.value()), Path(db_url.split(":///", 1)[-1]).parent


def run_measured(args: list[str], env: dict[str, str], folder: Path
                 ) -> tuple[subprocess.CompletedProcess[str], float, int]:
    """``narrator ARGS`` in a child process that writes its own peak RSS (VmHWM) at exit, as
    tests/test_hostile_inputs.py does: (result, wall seconds, peak RSS in bytes); killed after
    twice the time limit."""
    folder.mkdir(parents=True, exist_ok=True)
    out_path, err_path, hwm = folder / "stdout.txt", folder / "stderr.txt", folder / "hwm"
    full_env = os.environ | {"NO_COLOR": "1", "COLUMNS": "200",
                             "PYTHONPATH": str(Path(__file__).resolve().parents[1])} | env
    t0 = time.monotonic()
    with open(out_path, "w") as out, open(err_path, "w") as err:
        proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(hwm), *args], stdout=out,
                                stderr=err, stdin=subprocess.DEVNULL, env=full_env)
        killer = threading.Timer(2 * LIMIT_S, proc.kill)
        killer.start()
        try:
            _, status, _ = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
    wall = time.monotonic() - t0
    result = subprocess.CompletedProcess(proc.args, os.waitstatus_to_exitcode(status),
                                         out_path.read_text("utf-8", "replace"),
                                         err_path.read_text("utf-8", "replace"))
    peak = int(hwm.read_text()) * 1024 if hwm.exists() else 0
    for path in (out_path, err_path, hwm):
        path.unlink(missing_ok=True)
    return result, wall, peak


def files_containing(markers: list[bytes], roots: list[Path]) -> list[str]:
    return [f"{p}: {m!r}" for root in roots if root.exists() for p in sorted(root.rglob("*"))
            if p.is_file() for m in markers if m in p.read_bytes()]


def _generate(mode: str, share: float, dataset: Path, folder: Path, prefect_url: str
              ) -> tuple[HostileServer, subprocess.CompletedProcess[str], float, int, list[str]]:
    """One generate run against ``HostileServer(mode)``; the secrets it was given."""
    secrets = [f"KEYMARK{uuid.uuid4().hex}", f"PWMARK{uuid.uuid4().hex}"]
    key = f"sk-{secrets[0]}"
    server = HostileServer(mode, CaptionResponder(seed=3), share=share, trickle_s=1.0,
                           config=ServerConfig(latency_s=0.0, api_key=key))
    with server:
        base = server.base_url.replace("http://", f"http://narrator:{secrets[1]}@")
        env = {"OPENAI_API_KEY": key, "OPENAI_BASE_URL": base, "PREFECT_API_URL": prefect_url,
               "NARRATOR_LLM_TIMEOUT_S": "2", "NARRATOR_LLM_IDLE_TIMEOUT_S": "1",
               "NARRATOR_LLM_MAX_ATTEMPTS": "2", "NARRATOR_LLM_BACKOFF_MAX_S": "0.2"}
        result, wall, rss = run_measured(
            ["generate", str(dataset), "--db", str(folder / "out" / "n.duckdb"), "--llm",
             "openai:narrator-test", "--samples", "2"], env, folder / "std")
    return server, result, wall, rss, secrets


@pytest.fixture(scope="module")
def baseline_rss(example_dir: Path, prefect_api: tuple[str, Path],
                 tmp_path_factory: pytest.TempPathFactory) -> int:
    """The peak RSS of the same run against a server that attacks nothing."""
    _, result, wall, rss, _ = _generate("echo", 0.0, example_dir,
                                        tmp_path_factory.mktemp("benign"), prefect_api[0])
    assert result.returncode == 0, result.stderr[-3000:]
    print(f"MEASURED benign run: wall={wall:.1f}s peak_rss={rss / 2**20:.0f}MiB")
    return rss


@pytest.mark.parametrize("mode", MODES)
def test_generate_against_a_hostile_server(mode: str, example_dir: Path, tmp_path: Path,
                                           prefect_api: tuple[str, Path],
                                           baseline_rss: int) -> None:
    server, result, wall, rss, (key_secret, pw_secret) = _generate(
        mode, 0.5, example_dir, tmp_path, prefect_api[0])
    db = tmp_path / "out" / "n.duckdb"
    stats = server.stats()
    errors = [line for line in (result.stdout + result.stderr).splitlines()
              if line.startswith("Error")]
    print(f"MEASURED mode={mode} rc={result.returncode} wall={wall:.1f}s "
          f"peak_rss={rss / 2**20:.0f}MiB hostile={server.hostile} "
          f"chat={stats['chat_requests']} error_line={errors[:1]}")
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert wall < LIMIT_S, (mode, wall)
    assert rss < LIMIT_RSS and rss - baseline_rss < LIMIT_EXTRA_RSS, (mode, rss, baseline_rss)
    assert server.hostile > 0
    if mode == "unauthorized":
        assert result.returncode != 0 and len(errors) == 1, result.stdout + result.stderr
        assert "HTTP 401" in errors[0] and "no further requests" in errors[0]
        assert "127.0.0.1" in errors[0] and "narrator:" not in errors[0]
        assert server.hostile <= 64  # the requests in flight at most: none sent after
    else:
        assert result.returncode == 0, result.stdout + result.stderr[-3000:]
        warned = [line for line in (result.stdout + result.stderr).splitlines()
                  if "LLM calls failed:" in line]  # one line that says why
        if REASONS[mode]:
            assert warned and REASONS[mode] in warned[0], result.stdout + result.stderr
        with duckdb.connect(str(db), read_only=True) as con:
            calls = con.sql("SELECT status, error FROM llm_calls").fetchall()
            scenes = con.sql("SELECT count(*) FROM captions").fetchall()[0][0]
        assert scenes > 0 and any(s == "succeeded" for s, _ in calls), calls[:5]
        assert any(s != "succeeded" and REASONS[mode] in (e or "") for s, e in calls), \
            {e for _, e in calls}
    leaks = [m for m in (key_secret, pw_secret) if m in result.stdout + result.stderr]
    leaks += files_containing([key_secret.encode(), pw_secret.encode()],
                              [tmp_path / "out", prefect_api[1]])
    assert not leaks, leaks
