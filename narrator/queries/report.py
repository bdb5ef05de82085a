"""The numbers behind ``narrator report``: aggregate queries over the store (DuckDB does the
counting, so a million texts cost no Python memory)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from narrator.store import Store
from narrator.vqa.skew import family_skew

# words: runs of non-space; sentences: runs of . ! ? ending a sentence, plus one for a text
# that does not end with one ("3" and "Yes" are one sentence each).
_WORDS = "len(regexp_split_to_array(trim({t}), '\\s+'))"
_SENTENCES = ("len(regexp_extract_all({t}, '[.!?]+(\\s|$)')) + "
              "CASE WHEN regexp_matches({t}, '[.!?]\\s*$') THEN 0 ELSE 1 END")
_TEXTS = """
SELECT 'question' AS part, question AS t FROM vqa WHERE trim(question) <> ''
UNION ALL SELECT 'answer', answer FROM vqa WHERE trim(answer) <> ''
UNION ALL SELECT 'caption', text FROM captions WHERE status = 'accepted' AND trim(text) <> ''
"""
#: caption length histogram: lengths above this many words are counted in the last bin
MAX_WORDS = 200
COST_COLUMNS = ("cost_usd", "cost")


@dataclass
class ReportData:
    counts: dict[str, int] = field(default_factory=dict)
    tasks: list[tuple[str, int]] = field(default_factory=list)
    categories: list[tuple[str, int]] = field(default_factory=list)
    land_cover: list[tuple[str, int]] = field(default_factory=list)
    answers: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    caption_lengths: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    caption_status: dict[str, dict[str, int]] = field(default_factory=dict)
    violations: list[tuple[str, int]] = field(default_factory=list)
    llm: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    #: per VQA family: rows, most common answer and its share (narrator.vqa.skew)
    skew: list[dict[str, Any]] = field(default_factory=list)


def _pairs(store: Store, sql: str) -> list[tuple[Any, int]]:
    return [(r[0], int(r[1])) for r in store.con.execute(sql).fetchall()]


def texts_per_task(store: Store) -> list[tuple[str, int]]:
    vqa = _pairs(store, "SELECT task, count(*) FROM vqa GROUP BY task ORDER BY 2 DESC, 1")
    cap = _pairs(store, "SELECT 'caption: ' || coalesce(kind, '?'), count(*) FROM captions "
                        "WHERE status = 'accepted' GROUP BY 1 ORDER BY 1")
    return vqa + cap


def answer_balance(store: Store, top: int = 6) -> dict[str, list[tuple[str, int]]]:
    """Per task, its ``top`` most frequent answers (case and final period folded; an answer
    about a grid cell counted by its ``params.cell``) and the rest as ``other``."""
    rows = store.con.execute(
        "SELECT task, coalesce(json_extract_string(params, '$.cell'), "
        "lower(rtrim(trim(answer), '.'))) AS a, count(*) AS n FROM vqa "
        "GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2").fetchall()
    grouped: dict[str, list[tuple[str, int]]] = {}
    for task, answer, n in rows:
        grouped.setdefault(task, []).append((answer, int(n)))
    out = {}
    for task, items in grouped.items():
        head, rest = items[:top], items[top:]
        out[task] = head + ([("other", sum(n for _, n in rest))] if rest else [])
    return out


def caption_lengths(store: Store) -> dict[str, list[tuple[int, int]]]:
    rows = store.con.execute(
        f"SELECT coalesce(kind, '?'), least({_WORDS.format(t='text')}, {MAX_WORDS}) AS w, "
        "count(*) FROM captions WHERE status = 'accepted' GROUP BY 1, 2 ORDER BY 1, 2"
    ).fetchall()
    out: dict[str, list[tuple[int, int]]] = {}
    for kind, words, n in rows:
        out.setdefault(kind, []).append((int(words), int(n)))
    return out


def caption_status(store: Store) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for kind, status, n in store.con.execute(
            "SELECT coalesce(kind, '?'), coalesce(status, '?'), count(*) FROM captions "
            "GROUP BY 1, 2 ORDER BY 1, 2").fetchall():
        out.setdefault(kind, {})[status] = int(n)
    return out


def violation_type(v: Any) -> str:
    """The type of one violation: a dict's type/kind/check/claim field, or a string's
    prefix before ':'."""
    if isinstance(v, dict):
        for key in ("type", "kind", "check", "claim", "code"):
            if v.get(key):
                return str(v[key])
        return "other"
    return str(v).split(":", 1)[0].strip() or "other"


def violations(store: Store) -> list[tuple[str, int]]:
    counts: Counter[str] = Counter()
    sql = "SELECT violations FROM candidates WHERE violations IS NOT NULL"
    for batch in store.iter_batches(sql):
        for text in batch.column(0).to_pylist():
            try:
                items = json.loads(text)
            except (TypeError, ValueError):
                items = [text]
            if isinstance(items, dict):
                items = [{"type": k} for k, v in items.items() if v]
            for v in items if isinstance(items, list) else [items]:
                counts[violation_type(v)] += 1
    return counts.most_common()


#: model -> (USD per million prompt tokens, USD per million completion tokens)
Prices = dict[str, tuple[float, float]]


def _cost(model: str, stored: float | None, prompt: int, completion: int,
          prices: Prices) -> float | None:
    """The stored cost if llm_calls has one, else tokens x the given price, else None."""
    if stored is not None:
        return float(stored)
    if model in prices:
        return (prompt * prices[model][0] + completion * prices[model][1]) / 1e6
    return None


def llm_usage(store: Store, prices: Prices | None = None) -> dict[str, Any]:
    """Tokens, latency and cost per model, from llm_calls (empty when no LLM ran)."""
    cols = set(store.columns("llm_calls"))
    cost_col = next((c for c in COST_COLUMNS if c in cols), None)
    cost = f"sum({cost_col})" if cost_col else "NULL"
    models = store.con.execute(
        f"SELECT coalesce(model, '?'), count(*), sum(coalesce(prompt_tokens, 0)), "
        f"sum(coalesce(completion_tokens, 0)), median(latency_s), quantile_cont(latency_s, 0.9),"
        f" {cost} FROM llm_calls GROUP BY 1 ORDER BY 1").fetchall()
    latencies = _pairs(store, "SELECT floor(latency_s * 10) / 10 AS s, count(*) FROM llm_calls "
                              "WHERE latency_s IS NOT NULL GROUP BY 1 ORDER BY 1")
    status = _pairs(store, "SELECT coalesce(status, '?'), count(*) FROM llm_calls GROUP BY 1 "
                           "ORDER BY 1")
    return {"models": [{"model": m, "calls": int(n), "prompt_tokens": int(p or 0),
                        "completion_tokens": int(c or 0), "latency_p50": p50,
                        "latency_p90": p90,
                        "cost": _cost(m, cst, int(p or 0), int(c or 0), prices or {})}
                       for m, n, p, c, p50, p90, cst in models],
            "latency_hist": latencies, "status": status, "cost_column": cost_col}


def text_stats(store: Store) -> dict[str, Any]:
    """SARChat-style statistics: total words and sentences, average caption length."""
    rows = store.con.execute(
        f"SELECT part, count(*), sum({_WORDS.format(t='t')}), "
        f"sum({_SENTENCES.format(t='t')}), avg({_WORDS.format(t='t')}) "
        f"FROM ({_TEXTS}) GROUP BY part").fetchall()
    parts = {p: {"texts": int(n), "words": int(w or 0), "sentences": int(s or 0),
                 "avg_words": float(a or 0)} for p, n, w, s, a in rows}
    vocab = store.scalar(
        f"SELECT count(DISTINCT w) FROM (SELECT unnest(regexp_split_to_array("
        f"lower(regexp_replace(t, '[^A-Za-z0-9 ]', ' ', 'g')), '\\s+')) AS w FROM ({_TEXTS})) "
        "WHERE w <> ''")
    total_texts = store.count("vqa") + store.count("captions", "status = 'accepted'")
    return {"texts": total_texts,
            "total_words": sum(p["words"] for p in parts.values()),
            "total_sentences": sum(p["sentences"] for p in parts.values()),
            "avg_caption_words": parts.get("caption", {}).get("avg_words", 0.0),
            "avg_question_words": parts.get("question", {}).get("avg_words", 0.0),
            "avg_answer_words": parts.get("answer", {}).get("avg_words", 0.0),
            "vocabulary": int(vocab or 0), "parts": parts}


def gather(store: Store, prices: Prices | None = None) -> ReportData:
    return ReportData(
        counts=store.counts(),
        tasks=texts_per_task(store),
        categories=_pairs(store, "SELECT category, count(*) FROM objects GROUP BY 1 "
                                 "ORDER BY 2 DESC, 1"),
        land_cover=_pairs(store, "SELECT category, count(DISTINCT scene_id) FROM regions "
                                 "GROUP BY 1 ORDER BY 2 DESC, 1"),
        answers=answer_balance(store),
        caption_lengths=caption_lengths(store),
        caption_status=caption_status(store),
        violations=violations(store),
        llm=llm_usage(store, prices),
        stats=text_stats(store),
        skew=family_skew(store.con),
    )
