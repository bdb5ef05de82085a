"""Locate the shipped ``templates/`` and ``prompts/`` folders.

In a wheel they live inside the package (``narrator/_data/...``); in a source checkout or an
editable install they are the top-level folders of the repository.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from narrator.errors import NarratorError

_PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def data_dir(name: str) -> Path:
    """Return the folder ``templates`` or ``prompts``."""
    for candidate in (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise NarratorError(
        f"the '{name}' folder is missing from this installation; reinstall sar-narrator"
    )


def template_path(*parts: str) -> Path:
    return data_dir("templates").joinpath(*parts)
