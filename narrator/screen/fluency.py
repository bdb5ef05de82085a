"""Degenerate text: repetition loops, word lists instead of sentences, length out of bounds."""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from narrator.screen.checks import Violation

MIN_WORDS = 3
MAX_WORDS = 400
#: an n-gram (n <= 4) repeated back to back this many times is a loop
MAX_REPEATS = 4
#: share of distinct words below which a long text (>= 40 words) is degenerate
MIN_DISTINCT = 0.25
#: a list: at least this many comma-separated items of at most two words each, mostly
LIST_ITEMS = 10
_WORD = re.compile(r"[A-Za-z0-9][\w'/-]*")
_LOOP = re.compile(r"\b((?:[\w'-]+[\s,;.]+){1,4}?)\1{%d,}" % (MAX_REPEATS - 1), re.I)


def fluency_violations(text: str) -> list[Violation]:
    """At most one ``degenerate_text`` violation, naming what is wrong."""
    from narrator.screen.checks import Violation

    words = _WORD.findall(text)
    n = len(words)
    if n < MIN_WORDS:
        return [Violation("degenerate_text", (0, len(text)), text[:80], f"{n} words")]
    if n > MAX_WORDS:
        return [Violation("degenerate_text", (0, len(text)), text[:80],
                          f"{n} words (more than {MAX_WORDS})")]
    loop = _LOOP.search(text + " ")
    if loop:
        return [Violation("degenerate_text", loop.span(), loop.group(0)[:80],
                          f"{loop.group(1).strip()!r} repeated")]
    distinct = len({w.lower() for w in words}) / n
    if n >= 40 and distinct < MIN_DISTINCT:
        return [Violation("degenerate_text", (0, len(text)), text[:80],
                          f"{distinct:.0%} distinct words")]
    top = Counter(w.lower() for w in words).most_common(1)[0]
    items = [i.strip() for i in re.split(r"[,;\n]", text) if i.strip()]
    short = [i for i in items if len(_WORD.findall(i)) <= 2]
    if len(items) >= LIST_ITEMS and len(short) >= 0.7 * len(items):
        return [Violation("degenerate_text", (0, len(text)), text[:80],
                          f"a list of {len(items)} items, not sentences")]
    if n >= 40 and top[1] > 0.3 * n:
        return [Violation("degenerate_text", (0, len(text)), text[:80],
                          f"{top[0]!r} is {top[1]} of {n} words")]
    return []
