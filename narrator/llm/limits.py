"""Client-side flow control: how many requests may be in flight, and how long to wait.

:class:`AdaptiveLimiter` is an AIMD window: it starts at the configured maximum, halves when
the server answers 429 (at most once per round trip, so one burst of 429s counts once, as TCP
does) and grows by one slot per window's worth of successes, back up to the maximum.
:func:`backoff_delay` is exponential back-off with full jitter; :func:`retry_after` reads a
server's ``Retry-After`` header.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from email.utils import parsedate_to_datetime


class AdaptiveLimiter:
    """An asyncio semaphore whose size follows AIMD between 1 and ``maximum``."""

    def __init__(self, maximum: int, cooldown_s: float = 0.5) -> None:
        self.maximum = max(1, int(maximum))
        self.limit = float(self.maximum)
        self.cooldown_s = cooldown_s  # until a round trip has been measured
        self.rtt_s: float | None = None
        self.in_flight = 0
        self.decreases = 0
        self._last_decrease = -1e9
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def window(self) -> int:
        return max(1, int(self.limit))

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        await self.acquire()
        try:
            yield
        finally:
            self.release()

    async def acquire(self) -> None:
        if self.in_flight < self.window and not self._waiters:
            self.in_flight += 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        try:
            await future  # release() counted us in before waking us
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # woken and cancelled at once: give the slot back
            else:
                self._waiters.remove(future)
            raise

    def release(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self.window:
            future = self._waiters.popleft()
            if not future.done():
                self.in_flight += 1
                future.set_result(None)

    def on_success(self, latency_s: float | None = None) -> None:
        """Additive increase: about one slot more per window of successes."""
        if latency_s is not None:
            self.rtt_s = latency_s if self.rtt_s is None else 0.8 * self.rtt_s + 0.2 * latency_s
        if self.limit < self.maximum:
            self.limit = min(float(self.maximum), self.limit + 1.0 / self.window)
            self._wake()

    def on_overload(self) -> None:
        """Multiplicative decrease on a 429 (once per round trip)."""
        now = time.monotonic()
        if now - self._last_decrease < (self.rtt_s or self.cooldown_s):
            return
        self._last_decrease = now
        self.limit = max(1.0, self.limit / 2)
        self.decreases += 1


def backoff_delay(attempt: int, base_s: float, cap_s: float,
                  rng: random.Random | None = None) -> float:
    """Full-jitter exponential back-off: uniform in [0, min(cap, base * 2**attempt)]."""
    ceiling = min(cap_s, base_s * (2 ** max(0, attempt)))
    return (rng or random).uniform(0, ceiling)


def retry_after(headers: Mapping[str, str] | None, cap_s: float = 300.0) -> float | None:
    """Seconds from a ``Retry-After`` (or ``retry-after-ms``) header; None if absent or bad."""
    if not headers:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return min(cap_s, max(0.0, float(millis) / 1000))
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return min(cap_s, max(0.0, float(value)))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(cap_s, max(0.0, when.timestamp() - time.time()))
