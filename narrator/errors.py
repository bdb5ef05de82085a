"""Error classes. Each message says which file or record is wrong and what to do about it.

The CLI turns any ``NarratorError`` into ``Error: <message>`` with exit status 2 and no
traceback. Per-record problems do not raise: they become quarantine rows and the run goes on.
"""

from __future__ import annotations

import re


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` safe to print and store: file-name bytes that are not UTF-8 (which Python
    keeps as surrogate escapes) and control characters (terminal escape codes) are shown as
    ``\\xNN``."""
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


class NarratorError(Exception):
    """Base class of every error narrator reports to a user."""


class InputError(NarratorError):
    """A dataset file cannot be read at all (missing, truncated, not the declared format)."""

    def __init__(self, path: object, reason: str) -> None:
        self.path = printable(str(path))
        self.reason = printable(reason)
        super().__init__(f"{self.path}: {reason}")


class FormatNotDetected(NarratorError):
    """No reader recognises the dataset; the user should pass --format."""


class ConfigError(NarratorError):
    """A setting or option has a value narrator cannot use."""


class StoreError(NarratorError):
    """The DuckDB file cannot be opened or written (locked by another process, corrupt, ...)."""
