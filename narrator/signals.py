"""SIGTERM handled like Ctrl+C, so that every cleanup written for KeyboardInterrupt also runs
when a scheduler or ``kill`` stops the process; and work running in other threads (LLM
requests waiting on a slow server) told to stop at once, before the main thread unwinds."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_hooks: list[Callable[[], None]] = []
#: set by Ctrl+C or SIGTERM until the next command starts: work that would start or retry
#: after it (a shard's next attempt, a new LLM batch) stops instead
_interrupted = threading.Event()


def interrupted() -> bool:
    """Whether Ctrl+C or SIGTERM interrupted the running command."""
    return _interrupted.is_set()


def wait_unless_interrupted(seconds: float) -> bool:
    """Sleep ``seconds``, cut short by an interrupt; True when interrupted."""
    return _interrupted.wait(seconds)


def on_interrupt(hook: Callable[[], None]) -> None:
    """Call ``hook`` (from the signal handler, so quick and thread-safe) when Ctrl+C or SIGTERM
    interrupts a command: e.g. cancel the event loops of other threads, whose pending work
    would otherwise hold the process at exit (Python joins worker threads)."""
    if hook not in _hooks:
        _hooks.append(hook)


def interrupt_others() -> None:
    """Mark the command interrupted and run the :func:`on_interrupt` hooks (errors
    ignored)."""
    _interrupted.set()
    for hook in list(_hooks):
        try:
            hook()
        except Exception:  # noqa: BLE001 - a failing hook must not mask the interrupt
            pass


@contextmanager
def sigterm_interrupts(seen: threading.Event | None = None) -> Iterator[None]:
    """While open (in the main thread; elsewhere a no-op), SIGTERM raises KeyboardInterrupt,
    and both SIGTERM and Ctrl+C first run the :func:`on_interrupt` hooks (a SIGINT that the
    process was started to ignore stays ignored).

    With ``seen``, the event is set and only the first SIGTERM raises (the caller can tell a
    SIGTERM from a Ctrl+C afterwards, e.g. to exit 143 instead of 130)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_term(_signum: int, _frame: Any) -> None:
        if seen is None:
            interrupt_others()
            raise KeyboardInterrupt
        if not seen.is_set():
            seen.set()
            interrupt_others()
            raise KeyboardInterrupt

    def on_int(_signum: int, _frame: Any) -> None:
        interrupt_others()
        raise KeyboardInterrupt

    _interrupted.clear()
    previous = signal.signal(signal.SIGTERM, on_term)
    previous_int = signal.getsignal(signal.SIGINT)
    if previous_int is signal.default_int_handler:
        signal.signal(signal.SIGINT, on_int)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        if previous_int is signal.default_int_handler:
            signal.signal(signal.SIGINT, previous_int)
