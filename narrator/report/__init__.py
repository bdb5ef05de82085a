"""``narrator report``: one HTML page with PNG plots and text statistics of a narrator
database (texts per task, categories, answer balance, answer skew per VQA family, caption
lengths, acceptance and violations, LLM tokens, latency and cost, SARChat-style word and
sentence counts)."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from narrator import __version__
from narrator.errors import ConfigError
from narrator.queries.report import Prices, ReportData, gather
from narrator.report.plots import PLOTS
from narrator.store import Store
from narrator.vqa.skew import SKEW_LIMIT, skewed

log = logging.getLogger(__name__)

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
td, th { border: 1px solid #ddd; padding: 0.25rem 0.75rem; text-align: right; }
td:first-child, th:first-child { text-align: left; }
figure { margin: 1.5rem 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9rem; }
"""


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:,.2f}"
        return f"{v:,}" if isinstance(v, int) else html.escape(str(v))
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _stats_section(data: ReportData) -> str:
    s = data.stats
    summary = _table(["metric", "value"], [
        ["Texts (VQA pairs + accepted captions)", s["texts"]],
        ["Total words", s["total_words"]], ["Total sentences", s["total_sentences"]],
        ["Average caption length (words)", s["avg_caption_words"]],
        ["Average question length (words)", s["avg_question_words"]],
        ["Average answer length (words)", s["avg_answer_words"]],
        ["Vocabulary (distinct lower-case words)", s["vocabulary"]],
    ])
    parts = _table(["part", "texts", "words", "sentences", "average words"],
                   [[p, v["texts"], v["words"], v["sentences"], v["avg_words"]]
                    for p, v in sorted(s["parts"].items())])
    counts = _table(["table", "rows"], [[t, n] for t, n in data.counts.items()])
    return (f"<h2>Text statistics</h2>{summary}{parts}"
            f"<h2>Database tables</h2>{counts}")


def _skew_section(data: ReportData) -> str:
    """Per VQA family, the share of its most common answer; over 60% is marked skewed."""
    if not data.skew:
        return ""
    rows = [[s["family"], s["rows"], str(s["top"]), f"{s['top_share'] * 100:.1f}%",
             "skewed" if s["top_share"] > SKEW_LIMIT and s["rows"] >= 20 else ""]
            for s in sorted(data.skew, key=lambda s: (-s["top_share"], s["family"]))]
    n = len(skewed(data.skew))
    return (f"<h2>Answer skew per VQA family</h2><p>{n} of {len(data.skew)} families have "
            f"one answer for more than {SKEW_LIMIT:.0%} of their rows (families of 20 rows "
            "or more).</p>" + _table(["family", "rows", "most common answer", "share", ""], rows))


def _llm_section(data: ReportData) -> str:
    models = data.llm.get("models") or []
    if not models:
        return "<h2>LLM calls</h2><p>No LLM calls recorded (texts came from templates).</p>"
    rows = [[m["model"], m["calls"], m["prompt_tokens"], m["completion_tokens"],
             m["latency_p50"] or 0.0, m["latency_p90"] or 0.0,
             "not recorded" if m["cost"] is None else m["cost"]] for m in models]
    status = ", ".join(f"{html.escape(str(s))}: {n:,}" for s, n in data.llm["status"])
    return ("<h2>LLM calls</h2>" + _table(["model", "calls", "prompt tokens",
                                           "completion tokens", "latency p50 (s)",
                                           "latency p90 (s)", "cost (USD)"], rows)
            + f"<p>Call status: {status}</p>")


def render_html(data: ReportData, db: Path) -> str:
    figures = "".join(
        f'<figure><img src="{name}" alt="{html.escape(caption)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        for name, caption, _ in PLOTS)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>narrator report: {html.escape(db.name)}</title><style>{_CSS}</style>"
            f"</head><body><h1>narrator report</h1><p>Database <code>{html.escape(str(db))}"
            f"</code>, written {when} by narrator {__version__}.</p>"
            f"{_stats_section(data)}{_skew_section(data)}<h2>Plots</h2>{figures}"
            f"{_llm_section(data)}"
            "</body></html>\n")


def write_report(store: Store, out: Path, on_plot: Callable[[], None] | None = None,
                 on_total: Callable[[int], None] | None = None,
                 prices: Prices | None = None) -> Path:
    """Write ``out/index.html`` and its PNG plots; returns the page's path. ``prices``
    (model -> USD per million prompt and completion tokens) gives the LLM cost when
    ``llm_calls`` records none."""
    out.mkdir(parents=True, exist_ok=True)
    if on_total:
        on_total(len(PLOTS) + 1)
    data = gather(store, prices)
    if on_plot:
        on_plot()
    for name, _, draw in PLOTS:
        draw(data, out / name)
        if on_plot:
            on_plot()
    page = out / "index.html"
    page.write_text(render_html(data, store.path), encoding="utf-8")
    log.info("wrote report %s", page)
    return page


def parse_price(text: str) -> tuple[str, tuple[float, float]]:
    """``"gpt-4o-mini=0.15,0.6"`` -> ``("gpt-4o-mini", (0.15, 0.6))`` (USD per 1M tokens)."""
    model, _, values = text.rpartition("=")
    try:
        prompt, completion = (float(v) for v in values.split(","))
    except ValueError:
        raise ConfigError(f"--price {text!r}: expected MODEL=PROMPT,COMPLETION in USD per "
                          "million tokens, e.g. gpt-4o-mini=0.15,0.6") from None
    if not model:
        raise ConfigError(f"--price {text!r}: the model name is missing")
    return model, (prompt, completion)
