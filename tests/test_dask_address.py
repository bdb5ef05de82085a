"""--dask-address pointing at something that accepts TCP but is not a Dask scheduler: one
ConfigError (one ``Error:`` line from the CLI) within NARRATOR_DASK_CONNECT_S, whatever the
impostor does (tests/test_outage.py covers a silent socket and an HTTP server end to end)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from narrator.errors import ConfigError
from narrator.example import write_example
from tests.conftest import run_cli

pytest.importorskip("distributed")


def _echo(conn: socket.socket) -> None:
    while data := conn.recv(4096):
        conn.sendall(data)


#: what each impostor does with a connection it accepts
IMPOSTORS: dict[str, Callable[[socket.socket], None]] = {
    "closes at once": lambda c: None,
    "ssh banner": lambda c: c.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"),
    "random bytes": lambda c: c.sendall(os.urandom(64)),
    "echo server": _echo,  # sends back the identity request itself: a dict, no "type"
}


@contextmanager
def _impostor(behave: Callable[[socket.socket], None]) -> Iterator[str]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)

    def serve() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=_handle, args=(conn,), daemon=True).start()

    def _handle(conn: socket.socket) -> None:
        with conn:
            try:
                behave(conn)
            except OSError:
                pass

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"tcp://127.0.0.1:{srv.getsockname()[1]}"
    finally:
        srv.close()


@pytest.mark.parametrize("name", IMPOSTORS)
def test_an_impostor_is_one_config_error_within_the_bound(name: str) -> None:
    from narrator.generate.executors import check_scheduler

    with _impostor(IMPOSTORS[name]) as address:
        t0 = time.monotonic()
        with pytest.raises(ConfigError) as err:
            check_scheduler(address, timeout_s=2)
        took = time.monotonic() - t0
    message = str(err.value)
    assert message.startswith(f"--dask-address {address}: something listens there but it is "
                              "not a Dask scheduler ("), message
    assert "\n" not in message and "None" not in message and "Error(" not in message
    assert took < 2 + 1.5, took  # the bound, plus a little for a loaded machine


def test_generate_against_an_ssh_banner_is_one_error_line(tmp_path: Path) -> None:
    root = write_example(tmp_path / "d", n_scenes=2, size=64, seed=1)
    with _impostor(IMPOSTORS["ssh banner"]) as address:
        t0 = time.monotonic()
        proc = run_cli("generate", str(root), "--db", str(tmp_path / "n.duckdb"),
                       "--task-runner", "dask", "--dask-address", address,
                       env={"NARRATOR_DASK_CONNECT_S": "3"}, timeout=90)
        took = time.monotonic() - t0
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0] == (
        f"Error: --dask-address {address}: something listens there but it is not a Dask "
        "scheduler (it answered in another protocol); check the address and port (`dask "
        "scheduler` prints them)"), lines
    assert took < 30 and not (tmp_path / "n.duckdb").exists()
