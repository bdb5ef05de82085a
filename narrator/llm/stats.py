"""Counters of one LLM run: calls, cache hits, outcomes, HTTP attempts, tokens and cost."""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from narrator import progress
from narrator.llm.config import cost_usd
from narrator.llm.types import LLMResult


@dataclass
class LLMStats:
    model: str
    prices: dict[str, tuple[float, float]] = field(default_factory=dict)
    calls: int = 0
    cached: int = 0
    succeeded: int = 0
    failed: int = 0
    errors: int = 0
    #: errors because the server was unreachable or timed out (a rerun may succeed)
    unreachable: int = 0
    http_requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0
    cached_completion_tokens: int = 0
    #: why calls failed: reason (numbers masked, cut to 100 characters) -> calls
    reasons: Counter[str] = field(default_factory=Counter)
    #: what the server was found to be (narrator.llm.server.ServerInfo), when it was probed
    server: dict[str, Any] | None = None
    _last_report: float = 0.0

    def add(self, result: LLMResult) -> None:
        self.calls += 1
        if result.status == "succeeded":
            self.succeeded += 1
        elif result.status == "failed":
            self.failed += 1
        else:
            self.errors += 1
            self.unreachable += result.unreachable
        if result.status != "succeeded" and not result.cached:
            self.reasons[failure_reason(result.error)] += 1
        if result.cached:
            self.cached += 1
            self.cached_prompt_tokens += result.prompt_tokens
            self.cached_completion_tokens += result.completion_tokens
            return
        self.http_requests += result.http_attempts
        self.prompt_tokens += result.prompt_tokens
        self.completion_tokens += result.completion_tokens

    @property
    def cost_usd(self) -> float | None:
        """What the calls sent in this run cost (None without a price for the model)."""
        name = self.model.partition(":")[2] or self.model
        return cost_usd(name, self.prompt_tokens, self.completion_tokens, self.prices)

    def line(self) -> str:
        """One line for a progress bar: tokens, cost, cache hits, failures."""
        tokens = self.prompt_tokens + self.completion_tokens
        cost = self.cost_usd
        parts = [f"{tokens:,} tok", f"${cost:,.4f}" if cost is not None else "cost n/a",
                 f"{self.cached:,} cached"]
        if self.failed or self.errors:
            parts.append(f"{self.failed + self.errors:,} failed")
        return " · ".join(parts)

    def report(self, stage: str, force: bool = False, every_s: float = 0.5) -> None:
        now = time.monotonic()
        if force or now - self._last_report >= every_s:
            self._last_report = now
            progress.status(stage, self.line())

    def summary(self) -> dict[str, Any]:
        """The figures a run summary shows (JSON-ready)."""
        cost = self.cost_usd
        return {
            "model": self.model, "calls": self.calls, "cached": self.cached,
            "sent": self.calls - self.cached, "succeeded": self.succeeded,
            "failed": self.failed, "errors": self.errors,
            "unreachable": self.unreachable, "http_requests": self.http_requests,
            "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
            "cached_tokens": self.cached_prompt_tokens + self.cached_completion_tokens,
            "cost_usd": round(cost, 6) if cost is not None else None,
            **({"server": self.server} if self.server else {}),
            **({"failure_reasons": dict(self.reasons.most_common(5))} if self.reasons else {}),
        }


def failure_reason(error: str | None) -> str:
    """A failed call's reason as one short line, long numbers (ports, ids, sizes) masked so
    that the same cause counts once ("no reply within 2s from http://127.0.0.1:N/v1"); HTTP
    statuses and small counts stay."""
    line = " ".join((error or "unknown").split())
    line = re.sub(r"\d{4,}", "N", line)
    return line if len(line) <= 100 else line[:97] + "..."
