"""Captions: rule captions from SceneFacts (no LLM) and, later, the HCoT chain."""

from narrator.caption.rules import RuleCaptioner

__all__ = ["RuleCaptioner"]
