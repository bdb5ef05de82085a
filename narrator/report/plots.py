"""The report's figures, drawn with matplotlib's object API on the Agg canvas (no pyplot, no
display, no global backend state). Each function saves one PNG; a plot without data says so
in the image instead of being left out."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import EngFormatter

from narrator.queries.report import MAX_WORDS, ReportData

STATUS_COLORS = {"accepted": "#2e7d32", "rejected": "#c62828"}


def _figure(width: float = 7.0, height: float = 4.0) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _no_data(ax: Any, title: str, why: str) -> None:
    ax.set_title(title)
    ax.text(0.5, 0.5, f"no data\n{why}", ha="center", va="center", fontsize=12,
            color="#777777", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _barh(ax: Any, items: Sequence[tuple[str, int]], title: str, why: str,
          color: str = "#1565c0", limit: int = 30) -> None:
    items = list(items)[:limit]
    if not items:
        _no_data(ax, title, why)
        return
    labels = [str(k) for k, _ in items][::-1]
    values = [v for _, v in items][::-1]
    bars = ax.barh(labels, values, color=color)
    ax.bar_label(bars, labels=[f"{v:,}" for v in values], padding=3, fontsize=8)
    ax.set_title(title)
    ax.margins(x=0.15)


def tasks_plot(data: ReportData, path: Path) -> None:
    fig = _figure(7, max(3.0, 0.35 * len(data.tasks) + 1.2))
    _barh(fig.add_subplot(), data.tasks, "Texts per task (captions: accepted)",
          "no VQA pairs or captions yet")
    fig.savefig(path)


def categories_plot(data: ReportData, path: Path) -> None:
    rows = max(len(data.categories[:30]), len(data.land_cover), 3)
    fig = _figure(10, 0.3 * rows + 1.5)
    left, right = fig.subplots(1, 2)
    _barh(left, data.categories, "Objects per category", "no annotated objects")
    _barh(right, data.land_cover, "Scenes per land-cover class", "no land-cover masks",
          color="#6d4c41")
    fig.savefig(path)


def answers_plot(data: ReportData, path: Path) -> None:
    tasks = sorted(data.answers)
    fig = _figure(9, max(3.0, 0.55 * len(tasks) + 1.5))
    ax = fig.add_subplot()
    if not tasks:
        _no_data(ax, "Answer balance per question type", "no VQA pairs yet")
        fig.savefig(path)
        return
    colors = [f"C{i}" for i in range(10)]
    for y, task in enumerate(tasks):
        total = sum(n for _, n in data.answers[task]) or 1
        left = 0.0
        for i, (answer, n) in enumerate(data.answers[task]):
            share = n / total
            ax.barh(y, share, left=left, color="#bdbdbd" if answer == "other" else colors[i % 10],
                    edgecolor="white")
            if share > 0.07:
                label = answer if len(answer) <= 18 else answer[:17] + "…"
                ax.text(left + share / 2, y, f"{label}\n{share:.0%}", ha="center",
                        va="center", fontsize=7)
            left += share
    ax.set_yticks(range(len(tasks)), tasks)
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_xlabel("share of the task's answers (top 6, rest as other)")
    ax.set_title("Answer balance per question type")
    fig.savefig(path)


def caption_length_plot(data: ReportData, path: Path) -> None:
    fig = _figure()
    ax = fig.add_subplot()
    if not data.caption_lengths:
        _no_data(ax, "Caption length", "no accepted captions yet")
        fig.savefig(path)
        return
    for i, (kind, hist) in enumerate(sorted(data.caption_lengths.items())):
        ax.bar([w for w, _ in hist], [n for _, n in hist], width=1.0, alpha=0.6,
               color=f"C{i}", label=kind)
    ax.set_xlabel(f"words per caption (last bin: {MAX_WORDS} or more)")
    ax.set_ylabel("captions")
    ax.set_title("Caption length (accepted captions)")
    ax.legend()
    fig.savefig(path)


def acceptance_plot(data: ReportData, path: Path) -> None:
    fig = _figure(10, 4)
    left, right = fig.subplots(1, 2)
    kinds = sorted(data.caption_status)
    if kinds:
        statuses = sorted({s for v in data.caption_status.values() for s in v})
        bottom = [0] * len(kinds)
        for status in statuses:
            values = [data.caption_status[k].get(status, 0) for k in kinds]
            left.bar(kinds, values, bottom=bottom, label=status,
                     color=STATUS_COLORS.get(status, "#9e9e9e"))
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        left.set_title("Caption acceptance by kind")
        left.legend()
    else:
        _no_data(left, "Caption acceptance by kind", "no captions yet")
    _barh(right, data.violations, "Screening violations by type",
          "no candidate has recorded violations", color="#c62828")
    fig.savefig(path)


def llm_plot(data: ReportData, path: Path) -> None:
    fig = _figure(12, 4)
    tokens_ax, latency_ax, cost_ax = fig.subplots(1, 3)
    models = data.llm.get("models") or []
    if models:
        names = [m["model"] for m in models]
        prompt = [m["prompt_tokens"] for m in models]
        tokens_ax.barh(names, prompt, label="prompt", color="#1565c0")
        tokens_ax.barh(names, [m["completion_tokens"] for m in models], left=prompt,
                       label="completion", color="#90caf9")
        tokens_ax.xaxis.set_major_formatter(EngFormatter())
        tokens_ax.set_title("LLM tokens per model")
        tokens_ax.legend(loc="lower right")
    else:
        _no_data(tokens_ax, "LLM tokens per model", "no LLM calls recorded")
    hist = data.llm.get("latency_hist") or []
    if hist:
        latency_ax.bar([s for s, _ in hist], [n for _, n in hist], width=0.1, align="edge")
        latency_ax.set_xlabel("seconds per call")
        latency_ax.set_title("LLM latency")
    else:
        _no_data(latency_ax, "LLM latency", "no LLM calls recorded")
    costs = [(m["model"], m["cost"]) for m in models if m.get("cost") is not None]
    if costs:
        bars = cost_ax.barh([c[0] for c in costs], [c[1] for c in costs], color="#ef6c00")
        cost_ax.bar_label(bars, labels=[f"${c[1]:,.2f}" for c in costs], fontsize=8)
        cost_ax.set_title("LLM cost per model (USD)")
    else:
        why = ("no LLM calls recorded" if not models
               else "no cost recorded; pass --price MODEL=IN,OUT")
        _no_data(cost_ax, "LLM cost", why)
    fig.savefig(path)


#: file name, caption, function: the report's plots in page order
PLOTS = (
    ("tasks.png", "Texts per task", tasks_plot),
    ("categories.png", "Category distribution", categories_plot),
    ("answers.png", "Answer balance per question type", answers_plot),
    ("caption_length.png", "Caption length histogram", caption_length_plot),
    ("acceptance.png", "Acceptance and violations by type", acceptance_plot),
    ("llm.png", "LLM tokens, latency and cost", llm_plot),
)
