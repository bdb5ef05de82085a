"""The error of ``narrator eval``."""

from __future__ import annotations

from narrator.errors import NarratorError


class EvalError(NarratorError):
    """Predictions that cannot be read or tied to the database's texts."""
