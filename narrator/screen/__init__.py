"""Screening: extract claims from captions and check them against SceneFacts."""

from narrator.screen.checks import (VIOLATION_TYPES, Outcome, Policy, Verdict, Violation,
                                    extract_claims, screen_text)
from narrator.screen.claims import Claim

__all__ = ["VIOLATION_TYPES", "Claim", "Outcome", "Policy", "Verdict", "Violation",
           "extract_claims", "screen_text"]
