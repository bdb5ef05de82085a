"""Screening: extract claims from captions and check them against SceneFacts."""

from narrator.screen.checks import VIOLATION_TYPES, Verdict, Violation, screen_text
from narrator.screen.claims import Claim, extract_claims

__all__ = ["VIOLATION_TYPES", "Claim", "Verdict", "Violation", "extract_claims", "screen_text"]
