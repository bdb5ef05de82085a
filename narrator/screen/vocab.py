"""The screener's view of templates/vocabulary.yaml: every word list compiled to patterns.

One vocabulary serves templates, rule captions, class maps and the screener; this module only
turns its lists into regular expressions and look-up tables.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from narrator.resources import template_path
from narrator.text import load_yaml


def alternation(words: list[str]) -> str:
    """A regex alternation of ``words``, longest first, spaces matching any whitespace/hyphen."""
    ordered = sorted(set(words), key=len, reverse=True)
    return "|".join(re.escape(w).replace(r"\ ", r"[\s-]+") for w in ordered)


def _word_re(words: list[str], flags: int = re.I) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w/-])(?:{alternation(words)})(?![\w/]|-(?!\s))", flags)


def _key(word: str) -> str:
    return re.sub(r"[\s-]+", " ", word.lower()).strip()


class ScreenVocabulary:
    """Compiled word lists of the one vocabulary file."""

    def __init__(self, path: Path | None = None) -> None:
        data: dict[str, Any] = load_yaml(path or template_path("vocabulary.yaml")) or {}
        self.categories: dict[str, set[str]] = {}
        for name, words in (data.get("other_objects") or {}).items():
            for w in words:  # objects no class map annotates: naming one is a hallucination
                self.categories.setdefault(_key(w), set()).add(str(name))
        for cat, spec in (data.get("categories") or {}).items():
            spec = spec or {}
            words = list(spec.get("synonyms") or [])
            words += [spec.get("singular", cat), spec.get("plural", cat + "s")]
            for w in words:
                self.categories.setdefault(_key(w), set()).add(cat)
        self.fine: dict[str, str] = {}          # word -> canonical fine type
        self.fine_category: dict[str, str] = {}  # fine type -> category
        for fine, spec in (data.get("fine_types") or {}).items():
            self.fine_category[str(fine)] = spec["category"]
            for w in spec.get("words") or []:
                self.fine[_key(str(w))] = str(fine)
                if not str(w).endswith("s") and str(w)[-1:].isalnum():
                    self.fine.setdefault(_key(str(w)) + "s", str(fine))
        self.fine_groups: dict[str, frozenset[str]] = {}
        for group, spec in (data.get("fine_type_groups") or {}).items():
            self.fine_groups[str(group)] = frozenset(str(t) for t in spec["types"])
            cats = {self.fine_category.get(str(t)) for t in spec["types"]} - {None}
            self.fine_category[str(group)] = sorted(cats)[0] if cats else "aircraft"
            for w in spec.get("words") or []:
                self.fine[_key(str(w))] = str(group)
        self.land: dict[str, str] = {}
        for cls, words in (data.get("land_cover") or {}).items():
            for w in words:
                self.land[_key(w)] = cls
        self.land_aliases = {_key(k): v for k, v in (data.get("land_cover_aliases") or {}).items()}
        self.re_category = _word_re(list(self.categories))
        self.re_fine = _word_re(list(self.fine))
        self.re_land = _word_re(list(self.land))
        self.re_land_word = _word_re(list(data.get("land_words") or []))
        self.re_context = _word_re(list(data.get("context_words") or []))
        heads = list(data.get("compound_heads") or ["farm"])
        self.re_compound = re.compile(rf"[\s-]+(?:{alternation(heads)})(?![\w-])", re.I)
        self.re_colour = re.compile(rf"(?<![\w/-])(?:{alternation(data.get('colours') or [])})"
                                    r"(?![\w/])", re.I)
        self.re_achromatic = re.compile(
            rf"(?<![\w/-])(?:{alternation(data.get('achromatic') or [])})(?![\w/])", re.I)
        self.tone_nouns = {_key(w) for w in data.get("tone_nouns") or []}
        self.re_optical = _word_re(list(data.get("optical") or []))
        self.re_radar_cue = re.compile(alternation(list(data.get("radar_cues") or [])), re.I)
        self.re_band = re.compile(rf"(?<![\w-])(?P<band>{alternation(data['bands'])})[\s-]band\b")
        self.re_pol = re.compile(
            rf"(?<![\w-])(?P<pol>{alternation(data['polarizations'])}"
            rf"(?:[/+&]|\s+and\s+|\s*\+\s*)?(?:{alternation(data['polarizations'])})?)(?![\w])"
            r"|(?P<kind>\b(?:dual|quad|full|single|cross|co)[\s-]?pol(?:arized|arised|arization"
            r"|arisation)?\b)", re.I)
        self.re_pol_case = re.compile(rf"(?:{alternation(data['polarizations'])})")
        self.modes = [str(m) for m in data.get("modes") or []]
        self.re_mode = re.compile(
            rf"(?<![\w-])(?P<mode>{alternation(self.modes)})(?![\w])"
            r"(?=[\s-]*(?:mode|acquisition|product|imagery|image|data|scene|collect|beam|swath))"
            r"|(?<![\w-])(?P<mode2>stripmap|strip-map|spotlight|sliding spotlight|scansar|"
            r"interferometric wide(?: swath)?|extra wide swath)(?![\w-])", re.I)
        self.platforms = [str(p) for p in data.get("platforms") or []]
        self.re_platform = re.compile(rf"(?<![\w-])(?:{alternation(self.platforms)})(?![\w])",
                                      re.I)
        self.places = [str(p) for p in data.get("places") or []]
        self.demonyms = {str(k): str(v) for k, v in (data.get("demonyms") or {}).items()}
        self.re_demonym = re.compile(
            rf"(?<![\w-])(?P<d>{alternation(list(self.demonyms) or ['Chinese'])})\s+(?:[a-z-]+\s+)?"
            r"(?:port|ports|harbou?rs?|airports?|coast|coastline|waters|city|river|shipyard|"
            r"terminal|naval\s+base|airfield|sea|bay|estuary|region|province|mainland|"
            r"seaport|container\s+port|anchorage|site|location)\b")
        self.re_place = re.compile(rf"(?<![\w-])(?:{alternation(self.places)})(?![\w])")

    def categories_of(self, word: str) -> set[str]:
        return self.categories.get(_key(word), set())

    def fine_of(self, word: str) -> str | None:
        return self.fine.get(_key(word))

    def land_of(self, word: str) -> str | None:
        return self.land.get(_key(word))

    def canonical_land(self, name: str) -> str:
        return self.land_aliases.get(_key(name), name)


@cache
def default_vocabulary() -> ScreenVocabulary:
    return ScreenVocabulary()
