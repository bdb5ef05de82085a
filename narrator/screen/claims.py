"""Claim extraction: what a caption asserts, found by our own code (no LLM).

A claim is a typed, hashable statement with the text span it came from: a count of a
category, a category mentioned as present or said to be absent, a position of a category, the
dominant land cover or a land-cover share, a sensor property, a colour word or an optical-only
phrase. ``narrator.screen.checks`` compares claims with SceneFacts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from narrator.resources import template_path
from narrator.text import NUMBER_WORDS, load_yaml

#: number words beyond narrator.text's, and vague quantities as (low, high) ranges
_EXTRA_NUMBERS = {"thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
                  "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
                  "a single": 1, "single": 1, "a pair of": 2, "a couple of": 2, "both": 2,
                  "no": 0, "zero": 0}
_VAGUE = {"several": (2, None), "multiple": (2, None), "many": (3, None), "numerous": (4, None),
          "a few": (2, 4), "few": (2, 4)}
_MODIFIER_STOP = {"of", "the", "these", "those", "and", "or", "with", "in", "on", "at", "are",
                  "is", "to", "from", "by", "other", "more", "than"}
POSITION_CELLS = {
    "top left": {"top left"}, "upper left": {"top left"},
    "top right": {"top right"}, "upper right": {"top right"},
    "bottom left": {"bottom left"}, "lower left": {"bottom left"},
    "bottom right": {"bottom right"}, "lower right": {"bottom right"},
    "top": {"top left", "top", "top right"}, "upper": {"top left", "top", "top right"},
    "bottom": {"bottom left", "bottom", "bottom right"},
    "lower": {"bottom left", "bottom", "bottom right"},
    "left": {"top left", "left", "bottom left"}, "right": {"top right", "right", "bottom right"},
    "center": {"center"}, "centre": {"center"}, "middle": {"center"},
}
_DOMINANT_CUES = r"(?:mostly|mainly|largely|predominantly|dominated by|covered by|primarily)"


@dataclass(frozen=True, slots=True)
class Claim:
    kind: str          # count, present, absent, position, land_dominant, land_share,
    #                    land_mention, platform, band, polarization, resolution, colour, optical
    subject: str       # category, land-cover class, or the word itself
    value: Any         # int count, (low, high) range, cell set, share, string ...
    span: tuple[int, int]
    text: str

    @property
    def key(self) -> tuple[str, str, str]:
        """What self-consistency votes on (spans differ between candidates)."""
        value = sorted(self.value) if isinstance(self.value, frozenset) else self.value
        return (self.kind, self.subject, repr(value))


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


class Lexicon:
    """The compiled word lists of templates/screen/lexicon.yaml."""

    def __init__(self, path: Path | None = None) -> None:
        data = load_yaml(path or template_path("screen", "lexicon.yaml")) or {}
        self.category_of = {w.lower(): cat for cat, ws in data["categories"].items() for w in ws}
        self.land_of = {w.lower(): cls for cls, ws in data["land_cover"].items() for w in ws}
        self.platforms = list(data["platforms"])
        numbers = {w: i for i, w in enumerate(NUMBER_WORDS)} | _EXTRA_NUMBERS
        self.numbers = numbers
        num = _alternation([*numbers, *_VAGUE]) + r"|\d+"
        cat = _alternation(list(self.category_of))
        self.re_category = re.compile(rf"\b(?:{cat})\b", re.I)
        self.re_count = re.compile(
            rf"\b(?P<num>{num})\s+(?P<mods>(?:[a-z-]+\s+){{0,2}}?)(?P<cat>{cat})\b", re.I)
        self.re_absent = re.compile(
            rf"\b(?:without|absence of|lack of|free of|not? (?:any|a single)|no visible)\s+"
            rf"(?:[a-z-]+\s+){{0,2}}?(?P<cat>{cat})\b", re.I)
        pos = _alternation(list(POSITION_CELLS))
        self.re_position = re.compile(rf"\bthe\s+(?P<pos>{pos})\b(?![- ]?band)", re.I)
        self.re_position_cue = re.compile(
            r"\b(?:of the (?:image|scene|frame)|part|side|corner|edge|portion|half|region)\b"
            r"|\bthe (?:center|centre|middle)\b", re.I)
        land = _alternation(list(self.land_of))
        self.re_land = re.compile(rf"\b(?:{land})\b", re.I)
        self.re_land_dominant = re.compile(rf"\b{_DOMINANT_CUES}\s+(?:by\s+)?(?P<land>{land})\b",
                                           re.I)
        self.re_land_share = re.compile(rf"\b(?P<land>{land})\s*\((?P<pct>\d+(?:\.\d+)?)\s*%\)",
                                        re.I)
        self.re_colour = re.compile(rf"\b(?:{_alternation(data['colours'])})\b", re.I)
        self.re_optical = re.compile(rf"\b(?:{_alternation(data['optical'])})\b", re.I)
        self.re_band = re.compile(rf"\b(?P<band>{_alternation(data['bands'])})[- ]band\b")
        self.re_pol = re.compile(rf"\b(?P<pol>{_alternation(data['polarizations'])})\b")
        self.re_platform = re.compile(rf"(?<![\w-])(?:{_alternation(self.platforms)})(?![\w-])",
                                      re.I)
        self.re_resolution = re.compile(
            r"(?P<val>\d+(?:\.\d+)?)\s*(?:-\s*)?(?:m|meters?|metres?)\b(?=[^.]*"
            r"\b(?:resolution|gsd|pixel spacing|ground sampling)\b)", re.I)


@cache
def default_lexicon() -> Lexicon:
    return Lexicon()


_SENTENCE = re.compile(r"[^.!?;]+[.!?;]?")


def _count_value(word: str, lex: Lexicon) -> tuple[int, int | None] | int:
    w = word.lower()
    if w.isdigit():
        return int(w)
    if w in lex.numbers:
        return lex.numbers[w]
    return _VAGUE[w]


def _count_claims(text: str, lex: Lexicon) -> list[Claim]:
    out = []
    for m in lex.re_count.finditer(text):
        mods = m.group("mods").split()
        if any(w.lower() in _MODIFIER_STOP for w in mods):
            continue
        if m.group("num").lower() == "a":
            continue
        value = _count_value(m.group("num"), lex)
        cat = lex.category_of[m.group("cat").lower()]
        out.append(Claim("count", cat, value, m.span(), m.group(0)))
    for m in lex.re_absent.finditer(text):
        out.append(Claim("count", lex.category_of[m.group("cat").lower()], 0, m.span(),
                         m.group(0)))
    return out


def _mentions(text: str, lex: Lexicon, counts: list[Claim]) -> list[Claim]:
    """Every category word not inside a count claim that says zero: asserted present."""
    zero_spans = [c.span for c in counts if c.value == 0]
    out = []
    for m in lex.re_category.finditer(text):
        if any(a <= m.start() < b for a, b in zero_spans):
            continue
        out.append(Claim("present", lex.category_of[m.group(0).lower()], True, m.span(),
                         m.group(0)))
    return out


def _position_claims(text: str, lex: Lexicon) -> list[Claim]:
    """Positions in a sentence belong to the nearest category mentioned before them."""
    out = []
    for sm in _SENTENCE.finditer(text):
        sentence, base = sm.group(0), sm.start()
        if not lex.re_position_cue.search(sentence):
            continue
        cats = [(m.start(), lex.category_of[m.group(0).lower()])
                for m in lex.re_category.finditer(sentence)]
        if not cats:
            continue
        for m in lex.re_position.finditer(sentence):
            before = [c for start, c in cats if start < m.start()]
            cat = before[-1] if before else cats[0][1]
            pos = m.group("pos").lower()
            out.append(Claim("position", cat, frozenset(POSITION_CELLS[pos]),
                             (base + m.start(), base + m.end()), m.group(0)))
    return out


def _land_claims(text: str, lex: Lexicon) -> list[Claim]:
    out = []
    for m in lex.re_land_dominant.finditer(text):
        out.append(Claim("land_dominant", lex.land_of[m.group("land").lower()], True, m.span(),
                         m.group(0)))
    for m in lex.re_land_share.finditer(text):
        out.append(Claim("land_share", lex.land_of[m.group("land").lower()],
                         float(m.group("pct")) / 100, m.span(), m.group(0)))
    for m in lex.re_land.finditer(text):
        out.append(Claim("land_mention", lex.land_of[m.group(0).lower()], True, m.span(),
                         m.group(0)))
    return out


def _sensor_claims(text: str, lex: Lexicon) -> list[Claim]:
    out = [Claim("band", m.group("band"), m.group("band"), m.span(), m.group(0))
           for m in lex.re_band.finditer(text)]
    out += [Claim("polarization", m.group("pol"), m.group("pol"), m.span(), m.group(0))
            for m in lex.re_pol.finditer(text)]
    out += [Claim("platform", m.group(0), m.group(0), m.span(), m.group(0))
            for m in lex.re_platform.finditer(text)]
    out += [Claim("resolution", "gsd", float(m.group("val")), m.span(), m.group(0))
            for m in lex.re_resolution.finditer(text)]
    return out


def extract_claims(text: str, lexicon: Lexicon | None = None) -> list[Claim]:
    """Every claim in ``text``, in order of appearance."""
    lex = lexicon or default_lexicon()
    counts = _count_claims(text, lex)
    claims = counts + _mentions(text, lex, counts) + _position_claims(text, lex)
    claims += _land_claims(text, lex) + _sensor_claims(text, lex)
    claims += [Claim("colour", m.group(0).lower(), True, m.span(), m.group(0))
               for m in lex.re_colour.finditer(text)]
    claims += [Claim("optical", m.group(0).lower(), True, m.span(), m.group(0))
               for m in lex.re_optical.finditer(text)]
    return sorted(claims, key=lambda c: (c.span, c.kind))
