"""Journal folding survives any journal content: every bad line is skipped and counted, the
good ones are folded, and the database is never left in an aborted transaction (issue 22)."""

from __future__ import annotations

import json
import random
from pathlib import Path

from narrator.llm import cache as llm_cache
from narrator.llm import journal as journal_mod
from narrator.llm.journal import JournalStats, JournalWriter, journal_path, read_journal
from narrator.store import Store
from tests.test_llm_store import _row


def _hostile_lines(rng: random.Random) -> list[bytes]:
    good = _row("0" * 32)
    wrong = [dict(good, call_key=k) for k in (7, "", None)]
    wrong += [dict(good, call_key=f"{i:032x}", **change) for i, change in enumerate([
        {"latency_s": "fast"}, {"prompt_tokens": 2**40}, {"status": "exploded"},
        {"created_at": "yesterday"}, {"model": {"a": 1}}, {"completion_tokens": True},
        {"error": ["x"]}], start=100)]
    lines = [json.dumps(r).encode() for r in wrong]
    lines += [b"[" * 100_000 + b"]" * 100_000,               # deep nesting
              bytes(rng.getrandbits(8) for _ in range(5000)).replace(b"\n", b""),  # garbage
              b'{"call_key": "' + b"\xff\xfe" * 10 + b'"}',   # not UTF-8
              json.dumps(dict(good, call_key="d" * 32, error="\ud800")).encode(),
              b"42", b"null", b'"a string"']
    return lines


def test_fold_skips_every_bad_line_and_keeps_the_good(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(journal_mod, "MAX_LINE_BYTES", 1_000_000)
    db = tmp_path / "n.duckdb"
    path = journal_path(db, "s1")
    rng = random.Random(22)
    with JournalWriter(path) as w:
        w.write(_row("a" * 32))
    bad = _hostile_lines(rng)
    with open(path, "ab") as f:
        for line in bad:
            f.write(line + b"\n")
        f.write(b"x" * 3_000_000 + b"\n")                     # a line over the limit
    with JournalWriter(path) as w:
        w.write(_row("b" * 32))
    with open(path, "ab") as f:
        f.write(b'{"call_key": "cccc", "sta')                # cut short by a crash
    stats = JournalStats()
    rows = list(read_journal(path, stats))
    assert [r["call_key"] for r in rows] == ["a" * 32, "b" * 32]
    assert stats.skipped == len(bad) + 2, stats.reasons
    with Store(db) as store:
        llm_cache.prepare(store)                            # folds, deletes the journal
        assert llm_cache.call_counts(store) == {"succeeded": 2}
        llm_cache.upsert_calls(store, [_row("e" * 32)])             # the store still takes writes
        assert llm_cache.call_counts(store) == {"succeeded": 3}
    assert not path.exists()


def test_a_record_too_large_is_journaled_as_an_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(journal_mod, "MAX_LINE_BYTES", 10_000)
    path = journal_path(tmp_path / "n.duckdb", "s")
    with JournalWriter(path) as w:
        w.write(_row("f" * 32, text="y" * 50_000))
        w.write(dict(_row("9" * 32), error="lone \ud800 surrogate"))
    assert path.stat().st_size < 10_000
    rows = list(read_journal(path))
    assert [(r["call_key"], r["status"]) for r in rows] == [("f" * 32, "error")]
    assert "exceeds the journal's limit" in rows[0]["error"]
