"""Small English helpers shared by templates and captions: plurals, articles, number words."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from narrator.errors import ConfigError
from narrator.resources import template_path
from narrator.safeyaml import read_yaml_file

NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                "ten", "eleven", "twelve")


def number_word(n: int) -> str:
    return NUMBER_WORDS[n] if 0 <= n < len(NUMBER_WORDS) else str(n)


def cell_phrase(cell: str) -> str:
    """A 3x3 cell name as a phrase: ``"top left"`` -> ``"at the top left of the image"``."""
    if cell == "center":
        return "in the center of the image"
    if cell in ("left", "right"):
        return f"on the {cell} side of the image"
    return f"at the {cell} of the image"


def join_list(items: list[str]) -> str:
    """``["a", "b", "c"]`` -> ``"a, b and c"``."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


@dataclass(frozen=True, slots=True)
class Noun:
    singular: str
    plural: str
    article: str

    def count(self, n: int, words: bool = True) -> str:
        """``3`` -> ``"three ships"``, ``1`` -> ``"one ship"``."""
        num = number_word(n) if words else str(n)
        return f"{num} {self.singular if n == 1 else self.plural}"


def load_yaml(path: Path) -> Any:
    try:
        return read_yaml_file(path)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read template file: {exc}") from None


class Vocabulary:
    """Category name -> Noun, from templates/vocabulary.yaml with a generic fallback."""

    def __init__(self, path: Path | None = None) -> None:
        path = path or template_path("vocabulary.yaml")
        data = load_yaml(path) or {}
        self._nouns: dict[str, Noun] = {}
        for name, spec in (data.get("categories") or {}).items():
            singular = spec.get("singular", name)
            self._nouns[name] = Noun(singular, spec.get("plural", singular + "s"),
                                     spec.get("article", article(singular)))

    def __getitem__(self, category: str) -> Noun:
        noun = self._nouns.get(category)
        if noun is None and is_catch_all(category):
            noun = self._nouns[category] = CATCH_ALL_NOUN  # never "an other"
        if noun is None:
            word = category.replace("_", " ")
            noun = Noun(word, word if word.endswith("s") else word + "s", article(word))
            self._nouns[category] = noun
        return noun


#: class names that only say "none of the named classes" (SAR-AIRcraft's "other")
CATCH_ALL = frozenset({"other", "others", "unknown", "misc", "miscellaneous", "other type",
                       "other types", "others type", "unclassified"})
CATCH_ALL_NOUN = Noun("object of another type", "objects of other types", "an")


def is_catch_all(name: str | None) -> bool:
    """A catch-all class name: it may not be used as a noun nor as a reference object."""
    return name is not None and " ".join(name.replace("_", " ").lower().split()) in CATCH_ALL


def article(word: str) -> str:
    """The indefinite article before ``word``, by its first letter ("an oceanic", "a humid")."""
    return "an" if word[:1].lower() in "aeiou" else "a"


@cache
def default_vocabulary() -> Vocabulary:
    return Vocabulary()
