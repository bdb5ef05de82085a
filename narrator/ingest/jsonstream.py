"""Stream the top-level arrays of a large JSON object without holding the parsed file.

The file is read in chunks; the elements of the arrays named by the caller are decoded a
batch at a time by the standard library's C decoder (a batch is the run of whole elements
in the buffer, found by trying the cut after the last ``}`` that is followed by ``, {``;
a cut inside a string or a nested value cannot decode, and then one element is decoded on
its own) and handed to the caller, so memory stays flat while speed stays that of
``json.loads``. Anything unusual (not UTF-8, not an object at the top, a repeated top-level
key, invalid JSON) raises :class:`NotStreamable`: the caller then loads the file the plain
way, which gives the exact error message or the same result.
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

CHUNK = 1 << 20
_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


class NotStreamable(Exception):
    """The file is not a well-formed JSON object that the streaming scanner handles."""


class TooDeep:
    """Stands for an array element nested too deeply to decode: skipped, so that the caller
    quarantines that one record and keeps the rest of the file."""

    def __repr__(self) -> str:
        return "<a record nested too deeply to read (skipped)>"


class Streamed:
    """Stands for a top-level array whose elements were handed to the caller."""

    def __repr__(self) -> str:
        return "<streamed array>"


class _Buffer:
    """A window on the file: ``text[pos:]`` is what is not consumed yet."""

    def __init__(self, fh: TextIO) -> None:
        self.fh, self.text, self.pos, self.eof = fh, "", 0, False
        #: where a batch cut failed to decode: elements up to there are decoded one by one
        self.single_until = -1

    def more(self, size: int = CHUNK) -> bool:
        """Read another chunk (dropping the consumed part); False at the end of the file."""
        if self.eof:
            return False
        try:
            chunk = self.fh.read(max(size, len(self.text) - self.pos))
        except UnicodeDecodeError:
            raise NotStreamable("not UTF-8") from None
        if not chunk:
            self.eof = True
            return False
        self.single_until -= self.pos
        self.text = self.text[self.pos:] + chunk
        self.pos = 0
        return True

    def char(self) -> str:
        """The next non-blank character (not consumed); '' at the end of the file."""
        while True:
            self.pos = _WS.match(self.text, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self.more():
                return ""

    def expect(self, chars: str) -> str:
        c = self.char()
        if not c or c not in chars:
            raise NotStreamable(f"expected one of {chars!r}")
        self.pos += 1
        return c

    def value(self) -> Any:
        """Decode one whole value at the current position (reading more until it is whole)."""
        self.char()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.pos)
            except RecursionError:
                return self.skip()
            except json.JSONDecodeError:
                if not self.more():
                    raise NotStreamable("invalid JSON") from None
                continue
            if end == len(self.text) and self.more():
                continue  # a number or literal may go on in the next chunk
            self.pos = end
            return value

    def skip(self) -> TooDeep:
        """Step over the array or object at the current position without decoding it."""
        depth, in_string, escaped, i = 0, False, False, self.pos
        while True:
            if i >= len(self.text):
                offset = i - self.pos
                if not self.more():
                    raise NotStreamable("invalid JSON (unterminated value)")
                i = self.pos + offset
                continue
            c = self.text[i]
            i += 1
            if in_string:
                escaped, in_string = (False, True) if escaped else (c == "\\", c != '"')
            elif c == '"':
                in_string = True
            elif c in "[{":
                depth += 1
            elif c in "]}":
                depth -= 1
                if depth == 0:
                    self.pos = i
                    return TooDeep()

    def batch(self) -> list[Any]:
        """The whole elements (at least one) from here to the last clean cut in the buffer."""
        if len(self.text) - self.pos < CHUNK // 2:
            self.more()
        text, start = self.text, self.pos
        cut = text.rfind("}", start) if start >= self.single_until else -1
        while cut > start:
            after = _WS.match(text, cut + 1).end()  # type: ignore[union-attr]
            if after < len(text) and text[after] == ",":
                nxt = _WS.match(text, after + 1).end()  # type: ignore[union-attr]
                if nxt < len(text) and text[nxt] == "{":
                    try:
                        items, end = _DECODER.raw_decode(f"[{text[start:cut + 1]}]")
                    except (json.JSONDecodeError, RecursionError):
                        self.single_until = cut
                        break
                    # the array may close before the cut: then 'end' is just after its ']'
                    self.pos = min(cut + 1, start + end - 2)
                    return items  # type: ignore[no-any-return]
            cut = text.rfind("}", start, cut)
        return [self.value()]


def _array(buf: _Buffer, key: str, on_items: Callable[[str, list[Any]], None]) -> None:
    buf.expect("[")
    if buf.char() == "]":
        buf.pos += 1
        return
    while True:
        on_items(key, buf.batch())
        if buf.expect(",]") == "]":
            return


def stream_object(path: Path, arrays: Collection[str],
                  on_items: Callable[[str, list[Any]], None]) -> dict[str, Any]:
    """The top-level object of ``path``; the elements of the arrays under the keys ``arrays``
    go to ``on_items(key, batch)`` in file order and the key maps to a :class:`Streamed`.

    Raises OSError when the file cannot be read, NotStreamable for anything unusual. The
    garbage collector is paused meanwhile: decoded JSON holds no reference cycles, and each
    batch would otherwise be scanned again and again as it ages (a third of the time).
    """
    with _gc_paused():
        try:
            return _stream_object(path, arrays, on_items)
        except RecursionError:
            raise NotStreamable("nested too deeply") from None


@contextmanager
def _gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _stream_object(path: Path, arrays: Collection[str],
                   on_items: Callable[[str, list[Any]], None]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        buf = _Buffer(fh)
        buf.expect("{")
        if buf.char() == "}":
            buf.pos += 1
        else:
            while True:
                if buf.char() != '"':
                    raise NotStreamable("expected a key")
                key = buf.value()
                if key in out:
                    raise NotStreamable(f"repeated top-level key {key!r}")
                buf.expect(":")
                if key in arrays and buf.char() == "[":
                    _array(buf, key, on_items)
                    out[key] = Streamed()
                else:
                    out[key] = buf.value()
                if buf.expect(",}") == "}":
                    break
        if buf.char():
            raise NotStreamable("extra data after the object")
    return out
