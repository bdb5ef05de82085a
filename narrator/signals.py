"""SIGTERM handled like Ctrl+C, so that every cleanup written for KeyboardInterrupt also runs
when a scheduler or ``kill`` stops the process."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def sigterm_interrupts(seen: threading.Event | None = None) -> Iterator[None]:
    """While open (in the main thread; elsewhere a no-op), SIGTERM raises KeyboardInterrupt.

    With ``seen``, the event is set and only the first SIGTERM raises (the caller can tell a
    SIGTERM from a Ctrl+C afterwards, e.g. to exit 143 instead of 130)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_term(_signum: int, _frame: Any) -> None:
        if seen is None:
            raise KeyboardInterrupt
        if not seen.is_set():
            seen.set()
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
