"""Progress hooks: the library and flows report stages; the CLI decides how to show them.

The default reporter does nothing, so library users and tests see no output.
"""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    def start(self, stage: str, total: int | None) -> None: ...
    def advance(self, stage: str, n: int = 1) -> None: ...


class _Silent:
    def start(self, stage: str, total: int | None) -> None:
        pass

    def advance(self, stage: str, n: int = 1) -> None:
        pass


_current: Reporter = _Silent()


def set_reporter(reporter: Reporter | None) -> None:
    global _current
    _current = reporter or _Silent()


def start(stage: str, total: int | None) -> None:
    _current.start(stage, total)


def advance(stage: str, n: int = 1) -> None:
    _current.advance(stage, n)


def status(stage: str, text: str) -> None:
    """A short live note beside a stage's bar (e.g. tokens and cost of LLM calls).

    Reporters without a ``status`` method ignore it.
    """
    hook = getattr(_current, "status", None)
    if hook is not None:
        hook(stage, text)
