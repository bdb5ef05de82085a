"""Claim extraction: what a caption asserts about objects, found by our own code (no LLM).

A caption is split into sentences and clauses. In each sentence the object mentions are found
(category words and fine types of the vocabulary, with the quantity and adjectives before them,
and pronouns such as "two of them", "another", "the rest"), then the image regions, each given
to the mention it describes. From these come the claims: counts (whole scene, subgroups summed,
or scoped to a region), presence, absence (scoped or not), position (one, most or all members
in a region), size, fine type and length in metres. ``narrator.screen.scene_claims`` finds the
claims about the scene itself (metadata, land cover, tone, optical phrases, places).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from narrator.screen.quantity import (QUANTITY, Where, combined_region, quantity_range,
                                      regions_in)
from narrator.screen.vocab import ScreenVocabulary, default_vocabulary


@dataclass(frozen=True, slots=True)
class Claim:
    kind: str          # see README "Screening": count, present, absent, position, size, ...
    subject: str       # category (several joined by "|"), fine type, class or the word itself
    value: Any         # a (low, high) range, a region phrase, a share, a string ...
    span: tuple[int, int]
    text: str
    detail: Any = field(default=None, compare=False, hash=False)  # e.g. the region predicate

    @property
    def key(self) -> tuple[str, str, str]:
        """What self-consistency votes on (spans differ between candidates)."""
        return (self.kind, self.subject, repr(self.value))


@dataclass
class Mention:
    start: int
    end: int
    cats: frozenset[str]
    fine: str | None = None
    qty: tuple[int, int | None] | None = None
    qstart: int = -1
    mode: str = "exists"        # all, most, subset, exact, exists, none
    adjectives: tuple[str, ...] = ()
    negated: bool = False
    pronoun: bool = False
    blocker: bool = False       # a land or tone noun: owns regions but claims nothing
    total: tuple[int, int | None] | None = None  # "three of the five ships": five
    appositive: bool = False    # "one aircraft, an ARJ21, ...": the ARJ21 is that aircraft
    additive: bool = False      # "two more", "another": a group besides those named before
    anaphora: bool = False      # "four smaller ones", "a medium one"
    superlative: str | None = None  # "max" / "min": the largest / smallest of its kind
    regions: list[Where] = field(default_factory=list)


_STOP = {"of", "the", "these", "those", "and", "or", "with", "in", "on", "at", "are", "is",
         "to", "from", "by", "other", "more", "than", "them", "which", "their", "its", "as",
         "a", "an", "that", "this", "there", "be", "were", "was", "appear", "appears", "visible",
         "seen", "for", "into", "near", "each", "all", "some", "any", "most", "while"}
_PRE = re.compile(rf"(?:{QUANTITY.pattern})\s+(?P<adj>(?:[A-Za-z][\w/-]*,?\s+){{0,3}}?)$", re.I)
_ADJ_ONLY = re.compile(r"(?P<adj>(?:[A-Za-z][\w/-]*,?\s+){0,3}?)$")
_ALL = re.compile(r"(?:\ball(?:\s+of)?(?:\s+the)?|\bevery|\beach(?:\s+of\s+the)?|\bthe|\bboth"
                  r"|\bthese|\bthose)\s+$", re.I)
_MOST = re.compile(r"\b(?:most|the\s+majority|the\s+bulk|majority)(?:\s+of)?(?:\s+the)?\s+$",
                   re.I)
_SUBSET = re.compile(r"\bof\s+(?:the|these|those|them|which)\s+(?:[\w-]+\s+){0,3}$", re.I)
_NEG = re.compile(
    r"(?:\bno|\bwithout(?:\s+any)?|\bfree\s+of|\bdevoid\s+of|\black\s+of|\babsence\s+of|"
    r"\bnot?\s+(?:a\s+single|any|even\s+a)|\bnor\s+(?:any|are\s+there\s+any)?|\bneither|"
    r"\bno\s+(?:sign|signs|evidence|trace|indication)\s+of(?:\s+any)?|\bnot\s+a|\bnone\s+of\s+the"
    r"|\bany|\bzero)\s+(?:[\w-]+\s+){0,2}$", re.I)
_ANY_AFTER_NEG = re.compile(r"\b(?:no|not|without|nor|never|none|absent|lack)\b[^,;]*$", re.I)
_NEG_OTHER = re.compile(r"\bno\s+(?:other|additional|further|more|extra|obvious\s+other)\s+"
                        r"(?:[\w-]+\s+){0,2}$", re.I)
_POST_NEG = re.compile(r"^\s*(?:are|is|appear|seem|were)\s+(?:entirely\s+|completely\s+)?"
                       r"(?:absent|missing|not\s+(?:present|visible|seen|detected))", re.I)
_PRONOUN = re.compile(
    r"(?<![\w-])(?:(?P<all>all\s+of\s+them|all\s+(?:four|five|six|seven|eight|nine|ten|three|two)"
    r"|they|both\s+of\s+them)|(?P<exists>another|a\s+second|a\s+third|a\s+fourth|a\s+fifth|"
    r"the\s+other(?!s)(?!\s+(?:two|three|four|five|six|seven|eight|nine|ten|\d+)\b)|the\s+last|the\s+fourth|the\s+fifth|the\s+sixth|the\s+largest|the\s+biggest|the\s+smallest|the\s+brightest|"
    r"the\s+latter|the\s+former|the\s+first|the\s+second|the\s+third|one(?=\s+(?:of|sits|lies|"
    r"is|near|in|at|on|along|toward|towards|further|closer|slightly)))"
    r"|(?P<most>(?:more\s+than\s+)?half\s+of\s+them|most\s+of\s+them|the\s+majority(?:\s+of\s+them)?"
    r"|the\s+bulk(?:\s+of\s+them)?)"
    r"|(?P<super>the\s+(?:\w+most|largest|biggest|smallest|brightest|longest|nearest|closest|"
    r"furthest|farthest|lowest|highest|uppermost|topmost|leftmost|rightmost))"
    r"|(?P<more>(?:a\s+few|several|some|many|a\s+couple|a\s+handful|a\s+pair)\s+(?:more|others|"
    r"other|of\s+them))"
    r"|(?P<subset>(?:the\s+(?:other|remaining)|the\s+rest|the\s+others|remaining|others)"
    r"(?:\s+(?P<sn>two|three|four|five|six|seven|eight|nine|ten|\d+))?)"
    r"|(?P<none>none(?:\s+of\s+(?:them|these|those))?)"
    r"|(?P<bare>(?P<bn>one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\d+)"
    r"(?:\s+(?:more|others|other|further))?(?:\s+of\s+(?:them|these|those|which))?"
    r"(?!\s*(?:m\b|%|per|metres|meters|metre|meter|degrees|deg|°|px|pixels|km|x\b|by\b|-|"
    r"\.\d|/|:|times|January|February|March|April|May|June|July|August|September|October|"
    r"November|December|\d))(?!\s+(?:[\w-]+\s+)?(?:targets?|returns?|objects?|echoes|signatures?|"
    r"spots?|blobs?|features?|detections?)\b)))(?![\w-])", re.I)
_CLAUSE = re.compile(r"[,;:()\u2013\u2014]|\s-\s|\b(?:while|whereas|but|and|with|plus|"
                     r"although|though|which|where)\b", re.I)
_SPREAD = re.compile(r"\b(?:from|between)\s+(?:the\s+)?$", re.I)
_SPREAD_AFTER = re.compile(r"^\s*(?:to|and|through|towards|toward)\s+(?:the\s+)?", re.I)
_MOSTLY = re.compile(r"\b(?:mostly|mainly|largely|predominantly|primarily|chiefly|generally|"
                     r"mostly\s+concentrated|most\s+of\s+them|the\s+majority)\b[\w\s-]{0,30}$",
                     re.I)
_LOOSE = re.compile(r"\b(?:extend|extends|extending|stretch|stretches|stretching|spread|spreads|"
                    r"dispersed|disperse|disperses|dotted|sprinkled|distributed|"
                    r"spanning|range|ranging|reach|reaching|towards|toward|facing|pointing|"
                    r"heading|oriented)\b[\w\s-]{0,15}$", re.I)
LARGE = {"large", "big", "huge", "massive", "sizeable", "sizable", "giant", "enormous",
         "dominant", "very large", "oversized", "immense", "vast"}
SMALL = {"small", "tiny", "little", "minute", "point-like", "pointlike", "diminutive",
         "miniature", "minuscule"}
_FILLS = re.compile(r"\b(?:fill(?:s|ing|ed)?|dominat(?:e|es|ing|ed)|occup(?:ies|ying|y)|"
                    r"tak(?:es|ing)\s+up|cover(?:s|ing)?|span(?:s|ning)?)\s+(?P<how>most|much|"
                    r"the\s+majority|the\s+bulk|nearly\s+all|almost\s+all|(?:a\s+)?(?:large|"
                    r"big|substantial|significant|sizeable|considerable|good)\s+(?:part|portion|"
                    r"share|fraction|chunk|area)|the\s+(?:whole|entire))?(?:\s+of)?\s*"
                    r"(?:the\s+)?(?:frame|image|scene|picture|view|chip)\b", re.I)
_DOMINANT_FEATURE = re.compile(r"[\s,]+(?:(?:each|both|all)\s+)?(?:is\s+|are\s+|being\s+)?"
                               r"((?:a|the)\s+(?:dominant|major|large|prominent\s+large)\s+"
                               r"(?:feature|element|object|structure)s?)", re.I)
_METRES = re.compile(
    r"(?<![\w.,])(?P<a>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?:\s*(?:-|\u2013|to)\s*"
    r"(?P<b>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?))?\s*"
    r"(?:m|metres?|meters?)(?![\w\u00b2/])(?!\s*/\s*(?:px|pixel))(?P<long>[\s-]*(?:long|in\s+length|length|-long|"
    r"in\s+(?:wing)?span|(?:wing)?span|from\s+(?:nose|bow|end)))?",
    re.I)
_RES_CUE = re.compile(r"^[\s-]*(?:\w+\s+){0,2}?(?:resolution|pixel|pixels|spacing|gsd|ground[\s-]"
                      r"sampl|posting|sampling|grid|res\b|per\s+pixel|/\s*px)", re.I)
_RES_BEFORE = re.compile(r"(?:resolution|spacing|gsd|sampling|pixels?)\s+(?:\w+\s+){0,3}$", re.I)
_LEN_BEFORE = re.compile(r"(?:length|long|measur\w*|spann\w*|roughly|about|approximately|"
                         r"around|estimated|some|up\s+to|nearly|over)\s+(?:\w+\s+){0,2}$", re.I)


def sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans (a full stop after a digit or one-letter abbreviation does not end one)."""
    out, start = [], 0
    for m in re.finditer(r"(?<!\d)[.!?](?!\d)|[.!?](?=\s)|\n+", text):
        if m.end() - start > 1:
            out.append((start, m.end()))
        start = m.end()
    if start < len(text) and text[start:].strip():
        out.append((start, len(text)))
    return out


def _noun_mentions(s: str, base: int, vocab: ScreenVocabulary, masked: list[tuple[int, int]]
                   ) -> list[Mention]:
    out: list[Mention] = []
    taken: list[tuple[int, int]] = []
    for m in vocab.re_fine.finditer(s):
        fine = vocab.fine_of(m.group(0))
        if fine is None or _inside(m.start() + base, masked):
            continue
        out.append(Mention(m.start(), m.end(), frozenset({vocab.fine_category[fine]}), fine))
        taken.append(m.span())
    for m in vocab.re_category.finditer(s):
        if _inside(m.start() + base, masked):
            continue
        prev = next((x for x in out if x.fine and x.start <= m.start() < x.end + 2), None)
        if prev is not None:  # "Boeing 787 aircraft": one mention
            prev.end = max(prev.end, m.end())
            continue
        out.append(Mention(m.start(), m.end(), frozenset(vocab.categories_of(m.group(0)))))
    for mn in out:
        t = re.match(r"\s+of\s+(?:an\s+)?(?:other|another|a\s+different|unknown|other,?\s+"
                     r"unspecified)\s+types?", s[mn.end:], re.I)
        if t and mn.fine is None and "other" in vocab.fine_category:
            mn.fine, mn.end = "other", mn.end + t.end()
    out = [x for x in out if not (x.fine == "other" and any(
        y is not x and y.start <= x.start < y.end for y in out))]
    for m in _anaphora(s):
        before = [x for x in out if x.end <= m.start()]
        if before:
            out.append(Mention(m.start(), m.end(), before[-1].cats, None, anaphora=True))
    return sorted(out, key=lambda x: x.start)


_ANAPHORA = re.compile(r"(?<![\w-])ones(?![\w-])|\b(?:a|an|the)\s+(?:[a-z-]+\s+){1,2}?"
                       r"(?P<one>one)(?![\w-])(?!\s+of\b)", re.I)


def _anaphora(s: str) -> list[re.Match[str]]:
    """"four smaller ones", "a medium one": a noun left out, the kind named before."""
    out = []
    for m in _ANAPHORA.finditer(s):
        if m.group("one"):
            words = s[m.start():m.start("one")].split()[1:]
            if not words or any(w.lower() in ("of", "other", "only", "single", "same", "and",
                                              "first", "last", "second", "third") for w in words):
                continue
            out.append(_Span(m.start("one"), m.end("one")))
        else:
            out.append(_Span(m.start(), m.end()))
    return out


@dataclass
class _Span:
    a: int
    b: int

    def start(self) -> int:
        return self.a

    def end(self) -> int:
        return self.b


def _inside(pos: int, spans: list[tuple[int, int]]) -> bool:
    return any(a <= pos < b for a, b in spans)


_QTY_END = re.compile(rf"(?:{QUANTITY.pattern})\s*$", re.I)
_OF_HEAD = re.compile(rf"(?:(?:{QUANTITY.pattern})|(?P<w>most|none|all|each|some|any|either|"
                      r"neither|the\s+majority|the\s+rest|the\s+remainder))\s+of\s+"
                      r"(?:the|these|those|its|their|our)\s+$", re.I)
_ADJ_STOP = (_STOP - {"other", "more"}) | {"no", "not", "without", "nor", "none"}
_LIST_GLUE = re.compile(r"^\s*(?:,|/|or|nor|and|,\s*or|,\s*and|,\s*nor)\s*$", re.I)
_ELSEWHERE = re.compile(r"\b(?:rest|remainder|remaining\s+(?:area|part)|elsewhere|anywhere\s+"
                        r"else|other\s+(?:part|parts|area|areas))\b", re.I)


def _adjectives(before: str) -> tuple[tuple[str, ...], int]:
    """The words right before a noun that describe it, and where they start in ``before``."""
    words = list(re.finditer(r"[A-Za-z][\w/-]*", before))
    adj: list[str] = []
    k, pos = len(words), len(before)
    while k > 0 and len(adj) < 3:
        w = words[k - 1]
        if re.search(r"[^\s,-]", before[w.end():pos]):
            break
        lw = w.group(0).lower()
        if lw in _ADJ_STOP or QUANTITY.fullmatch(lw) or lw in FIXED_WORDS:
            break
        adj.insert(0, lw)
        pos = w.start()
        k -= 1
    return tuple(adj), pos


_UNITS = {"m", "metre", "metres", "meter", "meters", "km", "px", "pixel", "pixels", "percent",
          "ft", "feet", "deg", "degrees", "x"}
FIXED_WORDS = {"a", "an", "both", "several", "many", "numerous", "multiple", "various", "few",
               "only", "sole",
               "some", "dozens", "lots", "plenty", "single", "lone", "twin", "countless"}


def _qualify(mn: Mention, s: str, prev_end: int, prev: Mention | None) -> None:
    """Quantity, adjectives, group mode and negation of a noun mention from the words before."""
    before = s[prev_end:mn.start]
    mn.adjectives, adj_at = _adjectives(before)
    mn.superlative = _superlative(" ".join(mn.adjectives))
    lead = before[:adj_at]
    if mn.adjectives and mn.adjectives[0] in _UNITS:  # "a 300 m tanker": not 300 tankers
        lead = re.sub(r"[\d,.]+\s*(?:-\s*)?$", "", lead)
    m = _QTY_END.search(lead)
    if m and (rng := quantity_range(m)) is not None:
        mn.qty, mn.qstart = rng, prev_end + m.start()
    head = s[:mn.qstart if mn.qstart >= 0 else prev_end + adj_at]
    sub = _OF_HEAD.search(head)
    if _NEG_OTHER.search(s[:mn.start]) or ((_NEG.search(head) or mn.qty == (0, 0)) and (
            _ELSEWHERE.search(s[mn.end:mn.end + 40]) or _ELSEWHERE.search(head[-45:]))):
        mn.mode = "none"
        return
    neg_list = prev is not None and prev.negated and _LIST_GLUE.match(s[prev.end:mn.start])
    if sub is not None and (sub.group("w") or "").lower() in ("none", "neither"):
        mn.negated, mn.qty, mn.mode, mn.qstart = True, (0, 0), "exact", sub.start()
        return
    if mn.qty == (0, 0) or _NEG.search(head) or _POST_NEG.match(s[mn.end:]) or neg_list:
        mn.negated, mn.qty, mn.mode = True, (0, 0), "exact"
        return
    if sub is not None:
        _subset(mn, sub)
    elif _MOST.search(head):
        mn.mode = "most"
    elif mn.qty is not None:
        low, high = mn.qty
        mn.mode = "exists" if high is None and low <= 1 else "exact"
        if _ALL.search(head):
            mn.mode = "all"
    elif _plural(s[mn.start:mn.end]) and (_ALL.search(head) or not re.search(
            r"\b(?:the|this|that)\s+$", head, re.I)):
        mn.mode = "all"


def _subset(mn: Mention, sub: re.Match[str]) -> None:
    """"three of the five ships": the whole is a count, the part is what regions describe."""
    word = (sub.group("w") or "").lower()
    mn.total, mn.qstart = mn.qty, sub.start()
    if word.startswith("most") or word == "the majority":
        mn.mode, mn.qty = "most", None
    elif word in ("all", "each"):
        mn.mode, mn.qty = "all", None
    elif word:
        mn.mode, mn.qty = "subset", None
    else:
        rng = quantity_range(sub)
        mn.qty = rng
        mn.mode = "exact" if rng and rng[0] >= 2 and rng[1] is not None else "subset"


_ORDINALS = {"second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6}


def _superlative(words: str) -> str | None:
    if re.search(r"(?<![\w-])(?:largest|biggest|longest)\b", words, re.I):
        return "max"
    if re.search(r"(?<![\w-])(?:smallest|tiniest|shortest)\b", words, re.I):
        return "min"
    return None


def _plural(word: str) -> bool:
    w = word.lower().split()[-1]
    return w.endswith("s") and not w.endswith("ss") or w in ("aircraft", "ferries", "lorries")


def _pronouns(s: str, nouns: list[Mention], vocab_spans: list[tuple[int, int]],
              last: Mention | None) -> list[Mention]:
    out = []
    for m in _PRONOUN.finditer(s):
        if any(x.start - 2 <= m.start() < x.end or (x.qstart >= 0 and x.qstart <= m.start()
                                                    < x.end) for x in nouns):
            continue
        if _inside(m.start(), vocab_spans):
            continue
        nxt = [x for x in nouns if x.start >= m.end()]
        if nxt and re.fullmatch(r"\s*(?:[a-z-]+\s+){0,2}", s[m.end():nxt[0].start], re.I) and not (
                set(s[m.end():nxt[0].start].lower().split()) & (_STOP - {"all"})):
            continue  # "the other two vessels": a noun mention follows
        prev = [x for x in nouns if x.end <= m.start()]
        ref = prev[-1] if prev else last
        if ref is None or ref.blocker:
            continue
        mn = Mention(m.start(), m.end(), ref.cats, None, pronoun=True)
        if m.group("all"):
            mn.mode = "all"
        elif m.group("exists") and re.match(r"another|a\s+(?:second|third|fourth|fifth)",
                                            m.group(0), re.I):
            mn.additive = True
        elif m.group("exists") and (k := _ORDINALS.get(m.group(0).lower().split()[-1])):
            said = [x.qty[1] or x.qty[0] for x in nouns if x.qty and x.end <= m.start()]
            said += [x.total[0] for x in nouns if x.total and x.end <= m.start()]
            mn.additive = k > max(said, default=k)
        elif m.group("most"):
            mn.mode = "most"
        elif m.group("super"):
            mn.mode = "subset"
            mn.superlative = _superlative(m.group(0))
        elif m.group("more"):
            mn.mode, mn.additive = "subset", "of them" not in m.group(0).lower()
            lead = re.match(r"(a\s+few|several|some|many|a\s+couple|a\s+handful|a\s+pair)",
                            m.group(0), re.I)
            key = re.sub(r"\s+", " ", lead.group(1).lower()) if lead else ""
            mn.qty = {"a few": (2, 4), "several": (3, 7), "some": (1, None), "many": (6, None),
                      "a couple": (2, 2), "a handful": (3, 6), "a pair": (2, 2)}.get(key)
        elif m.group("none"):
            mn.qty, mn.mode, mn.negated = (0, 0), "exact", True
        elif m.group("bare"):
            n = quantity_range(QUANTITY.match(m.group("bn")))  # type: ignore[arg-type]
            mn.qty, mn.mode = n, "subset"
            mn.additive = bool(re.search(r"\b(?:more|others?|further)\b", m.group(0), re.I)
                               and "of" not in m.group(0).lower())
        elif m.group("subset"):
            mn.mode = "subset"
            mn.additive = bool(m.group("sn"))
            if m.group("sn"):
                mn.qty = quantity_range(QUANTITY.match(m.group("sn")))  # type: ignore[arg-type]
        out.append(mn)
    return out + _quantity_pronouns(s, nouns, out, last)


_FOLLOW = re.compile(r"\s+(?:of\s+(?:them|these|those|which)\b|(?:are|is|lie|lies|sit|sits|"
                     r"cluster|clustered|form|appear|line|lining|occupy|crowd|gather|stand|"
                     r"located|positioned|grouped|scattered|spread|in|near|at|on|along|toward|"
                     r"towards|close|further|farther)\b)", re.I)


def _quantity_pronouns(s: str, nouns: list[Mention], pron: list[Mention],
                       last: Mention | None) -> list[Mention]:
    """A quantity with no noun ("about a dozen cluster along the right side"): of the last
    kind named."""
    out = []
    taken = [(x.qstart if x.qstart >= 0 else x.start, x.end) for x in nouns + pron]
    for m in QUANTITY.finditer(s):
        if any(a <= m.start() < b or m.start() <= a < m.end() for a, b in taken):
            continue
        if not m.group("mod") and not m.group("fixed"):
            continue  # bare numbers are handled by _PRONOUN
        if (m.group("fixed") or "").lower() in ("a", "an", "some", "no", "the only", "both"):
            continue
        if not _FOLLOW.match(s[m.end():]):
            continue
        prev = [x for x in nouns if x.end <= m.start()]
        ref = prev[-1] if prev else last
        rng = quantity_range(m)
        if ref is None or rng is None:
            continue
        out.append(Mention(m.start(), m.end(), ref.cats, None, qty=rng, mode="subset",
                           pronoun=True))
    return out


def _blockers(s: str, vocab: ScreenVocabulary) -> list[Mention]:
    out = []
    for rx in (vocab.re_land, vocab.re_land_word, vocab.re_context):
        out += [Mention(m.start(), m.end(), frozenset(), blocker=True) for m in rx.finditer(s)]
    for m in re.finditer(r"\b(?:returns?|targets?|echoes|signatures?|scatterers?|reflectors?|"
                         r"spots?|blobs?|features?|objects?)\b", s, re.I):
        out.append(Mention(m.start(), m.end(), frozenset(), blocker=True))
    return out


_GROUP = re.compile(r"\b(?:clusters?|groups?|concentrations?|formations?|arrangements?|rows?|"
                    r"lines?|strings?|chains?)\b", re.I)


def _group_blockers(s: str, nouns: list[Mention]) -> list[Mention]:
    """"the largest cluster is on the left": a group noun with no object named before it in
    its clause is what the place describes (not the ships of an earlier clause)."""
    out = []
    for m in _GROUP.finditer(s):
        before = [x for x in nouns if x.end <= m.start()]
        if before and not _CLAUSE.search(s[before[-1].end:m.start()]):
            continue
        out.append(Mention(m.start(), m.end(), frozenset(), blocker=True))
    return out


_PREP = re.compile(r"^(?:at|on|in|to|toward|towards|near|along|across|within|inside|"
                   r"throughout|into|over|from|by|hugging|lining)\b", re.I)
_RELATIVE = re.compile(r"\b(?:away\s+from|far\s+from|outside(?:\s+of)?|clear\s+of|apart\s+from|"
                       r"above|below|beyond|off|beside|except|other\s+than|besides|"
                       r"rather\s+than|instead\s+of|not)\s+(?:the\s+)?$", re.I)
_NUDGE = re.compile(r"\b(?:slightly|a\s+little|a\s+bit|somewhat|just)\b[\w\s-]{0,14}$", re.I)
_UNION = re.compile(r"^\s*(?:,\s*)?(?:and|or|to|through|towards|toward|into|,)\s+(?:the\s+)?"
                    r"(?:(?:very|far)\s+)?$", re.I)
_EMPTY_AFTER = re.compile(
    r"^(?:\s+of\s+the\s+(?:image|scene|frame|chip|picture|view))?\s*,?\s*(?:(?:is|are|remains|"
    r"stays|looks|appears|seems|was|lies|sits)\s+(?:otherwise\s+|entirely\s+|completely\s+|"
    r"largely\s+|totally\s+|essentially\s+|almost\s+|virtually\s+|fully\s+)?|(?:is\s+)?left\s+)"
    r"(?:empty|clear|vacant|unoccupied|devoid|free|target-free|object-free)\b(?:\s+of\s+"
    r"(?P<w>[\w-]+(?:\s+[\w-]+)?))?"
    r"|^(?:\s+of\s+the\s+(?:image|scene|frame|chip|picture|view))?\s+(?:contains|holds|shows|"
    r"has|hosts)\s+(?:nothing|none|no\s+(?:targets|objects|returns|annotated\s+objects|"
    r"detections))\b", re.I)
_EMPTY_BEFORE = re.compile(r"\b(?:nothing|no\s+(?:targets?|objects?|returns?|detections?)|none\s+of\s+"
                           r"the\s+(?:\w+\s+)?(?:targets|objects|returns|detections))\s+"
                           r"(?:\w+\s+){0,3}$", re.I)


def _empty_claims(s: str, base: int, regions: list[Where], vocab: ScreenVocabulary
                  ) -> tuple[list[Claim], set[int]]:
    """"the lower half is empty", "nothing lies in the upper third": no object there."""
    out, used = [], set()
    covered: list[tuple[int, int]] = []
    for r in regions:
        after = _EMPTY_AFTER.match(s[r.end():])
        before = _EMPTY_BEFORE.search(s[:r.start()])
        if not (after or before):
            continue
        subject = ""
        if after and after.group("w"):
            cats = set()
            for w in re.finditer(vocab.re_category, after.group("w")):
                cats |= vocab.categories_of(w.group(0))
            subject = "|".join(sorted(cats))
        a = before.start() if before else r.start()
        b = r.end() + (after.end() if after else 0)
        out.append(Claim("position", subject, (r.text.lower(), "exact", (0, 0), None),
                         (base + a, base + b), s[a:b], r.pred))
        used.add(r.start())
        covered.append((base + a, base + b))
    return out, used


def _attach_regions(s: str, mentions: list[Mention], regions: list[Where],
                    used: set[int], covered: list[tuple[int, int]], base: int) -> None:
    """Each region phrase goes to the mention it describes (same clause first)."""
    cuts = [0, *[m.start() for m in _CLAUSE.finditer(s)], len(s)]

    def clause(pos: int) -> tuple[int, int]:
        lo = max(c for c in cuts if c <= pos)
        return lo, min(c for c in cuts if c > pos) if any(c > pos for c in cuts) else len(s)

    for i, r in enumerate(regions):
        core = r.core
        if r.start() in used or _SPREAD.search(s[:core]) or _RELATIVE.search(s[:core]):
            continue
        nxt = regions[i + 1] if i + 1 < len(regions) else None
        prv = regions[i - 1] if i else None
        union = bool((nxt and _UNION.match(s[r.end():nxt.core])) or (
            prv and _UNION.match(s[prv.end():core])))
        if re.match(r"\s*of\s+(?!(?:(?:the|this|that|our|each)\s+)?(?:image|scene|frame|"
                    r"picture|chip|tile|view))", s[r.end():], re.I):
            continue
        if r.bare and _NUDGE.search(s[:r.start()]):
            continue
        lo, hi = clause(r.start())
        owner = ([m for m in mentions if lo <= m.start < r.start()][-1:]
                 or [m for m in mentions if r.end() <= m.start < hi][:1])
        if not owner and _PREP.match(r.text):
            owner = [m for m in mentions if m.start < r.start() and not m.appositive][-1:]
            if not owner and not [m for m in mentions if m.start < r.start()]:
                owner = [m for m in mentions if m.start >= r.end()][:1]
        if not owner:
            continue
        if (_LOOSE.search(s[:r.start()]) or union) and not owner[0].negated:
            continue  # "from the top left to the bottom right", "the left and centre"
        if owner[0].mode == "none" or any(a <= owner[0].start + base < b for a, b in covered):
            continue
        if _MOSTLY.search(s[owner[0].end:r.start()] if owner[0].start < r.start() else ""):
            owner[0].mode = "most"
        owner[0].regions.append(r)


def object_claims(text: str, vocab: ScreenVocabulary | None = None,
                  masked: list[tuple[int, int]] | None = None) -> list[Claim]:
    """Every claim about objects in ``text``."""
    vocab = vocab or default_vocabulary()
    masked = masked or []
    out: list[Claim] = []
    last: Mention | None = None
    for a, b in sentences(text):
        s = text[a:b]
        nouns = _noun_mentions(s, a, vocab, masked)
        prev_end, prev = 0, None
        for mn in nouns:
            _qualify(mn, s, prev_end, prev)
            if (prev is not None and mn.cats == prev.cats and mn.qty == (1, None)
                    and prev.fine is None and mn.fine is not None
                    and prev.qty in ((1, 1), (1, None))
                    and re.fullmatch(r"\s*[,(\u2013\u2014-]\s*", s[prev.end:mn.qstart])
                    and re.match(r"\s*[,)\u2013\u2014-]", s[mn.end:])):
                mn.appositive = True
            prev_end, prev = mn.end, mn
        fine_spans = [(x.start, x.end) for x in nouns]
        pron = _pronouns(s, nouns, fine_spans, last)
        blockers = [b for b in _blockers(s, vocab) + _group_blockers(s, nouns)
                    if not any(0 <= b.start - p.end <= 1 for p in pron)]
        mentions = sorted(nouns + pron + blockers, key=lambda x: x.start)
        regions = regions_in(s)
        empty, used = _empty_claims(s, a, regions, vocab)
        covered = [c.span for c in empty]
        for mn in mentions:
            if any(x <= mn.start + a < y for x, y in covered):
                mn.mode = "none"
        _attach_regions(s, mentions, regions, used, covered, a)
        out += empty + _sentence_claims(s, a, [m for m in mentions if not m.blocker])
        out += _length_claims(s, a, nouns)
        if nouns:
            last = nouns[-1]
    return out


def _subject(mn: Mention) -> str:
    return "|".join(sorted(mn.cats))


def _sentence_claims(s: str, base: int, mentions: list[Mention]) -> list[Claim]:
    out: list[Claim] = []
    fine_groups: dict[str, list[tuple[Mention, tuple[int, int | None]]]] = {}
    parts: dict[str, list[tuple[Mention, tuple[int, int | None]]]] = {}
    for mn in mentions:
        if mn.mode == "none" or not mn.cats:
            continue
        start = mn.qstart if mn.qstart >= 0 else mn.start
        span, words = (base + start, base + mn.end), s[start:mn.end]
        subj = _subject(mn)
        if not mn.negated and not mn.pronoun:
            out.append(Claim("present", subj, True, span, words))
            if mn.fine:
                out.append(Claim("fine_type", mn.fine, subj, span, words))
        out += _size_claims(mn, s, base, span, words)
        out += _position_claims(mn, s, base, start)
        if mn.negated and not mn.regions and not mn.pronoun:
            out.append(Claim("count", subj, (0, 0, mn.fine), span, words))
        if mn.appositive or mn.negated:
            continue
        qty = mn.total if mn.total is not None else (
            mn.qty if not mn.pronoun and mn.mode != "subset" else None)
        if mn.pronoun and mn.additive:
            qty = mn.qty or (1, 1)
        if not mn.pronoun and set(mn.adjectives) & {"other", "more", "additional", "further"}:
            mn.additive = True
        if qty is None:
            continue
        if mn.fine and not mn.regions and not mn.pronoun:
            if qty == (1, 1) and re.match(r"one\b", s[start:], re.I):
                qty = (1, None)  # "one A330 ...": one of that type, perhaps of several
            fine_groups.setdefault(subj + "#" + mn.fine, []).append((mn, qty))
        parts.setdefault(subj, []).append((mn, qty))
    for key, ms in fine_groups.items():
        out.append(_count_claim(key, ms, s, base))
    for subj, ms in parts.items():
        out += _part_claims(subj, ms, s, base)
    return out


def _position_claims(mn: Mention, s: str, base: int, start: int) -> list[Claim]:
    """Where the mention's objects are: all regions said of it hold together (a negated
    mention: none is in any of them)."""
    if not mn.regions:
        return []
    mode = mn.superlative or mn.mode
    if mode == "exact" and (mn.pronoun or (mn.adjectives and not set(mn.adjectives)
                                           <= {"other", "more"})):
        mode = "subset" if mn.qty != (0, 0) else mode
    groups = [[r] for r in mn.regions] if mn.qty == (0, 0) else [mn.regions]
    out = []
    for rs in groups:
        a = min(start, *(r.start() for r in rs))
        b = max(mn.end, *(r.end() for r in rs))
        where = " & ".join(r.text.lower() for r in rs)
        out.append(Claim("position", _subject(mn), (where, mode, mn.qty, mn.fine),
                         (base + a, base + b), s[a:b], combined_region(rs)))
    return out


_CONTRAST = {"large", "larger", "largest", "small", "smaller", "smallest", "big", "bigger",
             "medium", "mid-sized", "medium-sized", "tiny", "huge", "little", "bright",
             "brighter", "faint", "fainter", "dimmer", "long", "longer", "short", "shorter"}
_EXHAUSTIVE = re.compile(r"[:\u2013\u2014]|\bmake\s+up\b|\bin\s+all\b|\baltogether\b|"
                         r"\bcomprising\b|\bconsisting\s+of\b|\bnamely\b", re.I)


def _low(q: tuple[int, int | None]) -> int:
    return 1 if q == (1, None) else q[0]


def _part_claims(subj: str, ms: list[tuple[Mention, tuple[int, int | None]]], s: str,
                 base: int) -> list[Claim]:
    """The count of a kind from its parts in one sentence (SEMANTICS: subgroup numbers add up
    to the kind's total). One unscoped count is taken as is. A plain count that covers the
    others is the total ("eleven aircraft: three A320s, ..."); with a colon or "make up" the
    others must add up to it. Parts alone add up to the total when they are subgroups: "two
    more", "another", "four smaller ones", contrasting sizes, or plain numbers only."""
    if len(ms) == 1:
        m, q = ms[0]
        if m.pronoun or m.fine or m.anaphora or (m.regions and m.total is None):
            return []
        return [_count_claim(subj + "#", ms, s, base)]
    total = sum(_low(q) for _, q in ms)
    head = next((x for x in ms if not x[0].pronoun and not x[0].fine
                 and (not x[0].regions or x[0].mode == "all")
                 and not x[0].anaphora and x[0].mode in ("exact", "all")
                 and not set(x[0].adjectives) - {"other", "more", "total"}
                 and x[1][1] is not None and _low(x[1]) >= total - _low(x[1])), None)
    out: list[Claim] = []
    rest = [x for x in ms if x is not head]
    if head is not None:
        out.append(_count_claim(subj + "#", [head], s, base))
        m = head[0]
        between = (s[m.end:rest[0][0].start] if m.start < rest[0][0].start
                   else s[rest[-1][0].end:m.start])
        if not _EXHAUSTIVE.search(between):
            return out
    else:
        first = ms[0][0]
        if first.regions and _EXHAUSTIVE.search(s[first.end:ms[1][0].start]):
            return out  # "three aircraft cluster in the top-left corner: ..."
        contrast = sum(bool(set(m.adjectives) & _CONTRAST) or m.anaphora for m, _ in ms)
        numeric = all(not m.pronoun and not m.regions and q != (1, None) and q[1] is not None
                      for m, q in ms)
        if not (any(m.additive for m, _ in ms) or contrast >= 2 or numeric):
            return out
    low = sum(_low(q) for _, q in rest)
    highs = [1 if q == (1, None) else q[1] for _, q in rest]
    high = None if any(h is None for h in highs) else sum(highs)  # type: ignore[arg-type]
    a = min(m.qstart if m.qstart >= 0 else m.start for m, _ in rest)
    b = max(m.end for m, _ in rest)
    out.append(Claim("count", subj, (low, high, None), (base + a, base + b), s[a:b]))
    return out


def _count_claim(key: str, ms: list[tuple[Mention, tuple[int, int | None]]], s: str,
                 base: int) -> Claim:
    """One count claim of a kind (or fine type) in a sentence; a lone subgroup with an
    adjective ("two large vessels") is a lower bound of the kind's count."""
    subj, fine = key.split("#")
    low = sum(1 if q == (1, None) and len(ms) > 1 else q[0] for _, q in ms)
    highs = [1 if q == (1, None) and len(ms) > 1 else q[1] for _, q in ms]
    high = None if any(h is None for h in highs) else sum(highs)  # type: ignore[arg-type]
    mn = ms[0][0]
    if len(ms) == 1 and mn.adjectives and mn.mode != "all" and mn.total is None and not (
            set(mn.adjectives) <= {"other", "more"}):
        high = None  # "two large vessels": a subgroup of the ships
    a = min(m.qstart if m.qstart >= 0 else m.start for m, _ in ms)
    b = max(m.end for m, _ in ms)
    return Claim("count", subj, (low, high, fine or None), (base + a, base + b), s[a:b])


def _size_claims(mn: Mention, s: str, base: int, span: tuple[int, int], words: str
                 ) -> list[Claim]:
    out = []
    adjs = set(mn.adjectives)
    if mn.negated or mn.pronoun:
        return out
    if adjs & LARGE or (" ".join(mn.adjectives[-2:]) in LARGE):
        out.append(Claim("size", _subject(mn), "large", span, words))
    if adjs & SMALL:
        out.append(Claim("size", _subject(mn), "small", span, words))
    after = s[mn.end:]
    d = _DOMINANT_FEATURE.match(after)
    if d:
        out.append(Claim("size", _subject(mn), "large", (base + mn.end + d.start(1),
                                                         base + mn.end + d.end()), d.group(1)))
    f = _FILLS.search(after[:60])
    if f and not re.match(r"[^,;]*\b(?:scene|image|frame)\b", after[:f.start()]):
        how = (f.group("how") or "").lower()
        kind = "large" if how and not re.match(r"most|much|the|nearly|almost", how) else "fills"
        if kind == "fills" and not how and re.match(r"occup|cover|span", f.group(0), re.I):
            kind = "large"
        out.append(Claim("size", _subject(mn), kind, (base + mn.end + f.start(),
                                                          base + mn.end + f.end()), f.group(0)))
    return out


def _length_claims(s: str, base: int, nouns: list[Mention]) -> list[Claim]:
    out = []
    for m in _METRES.finditer(s):
        if _RES_CUE.match(s[m.end():]) or _RES_BEFORE.search(s[:m.start()]):
            continue
        after = s[m.end():]
        near = [x for x in nouns if 0 <= x.start - m.end() <= 25
                and re.fullmatch(r"[\s-]*(?:long|in\s+length)?[\s-]*(?:[a-z-]+\s+)?",
                                 s[m.end():x.start], re.I)]
        if not (m.group("long") or near or _LEN_BEFORE.search(s[:m.start()])):
            continue
        if re.match(r"\s*(?:wide|in\s+width|across|apart|away|from|of\s+each|beam)", after, re.I):
            continue
        owner = near[:1] or [x for x in nouns if x.end <= m.start()][-1:]
        subj = _subject(owner[0]) if owner else ""
        lo = float(m.group("a").replace(",", ""))
        hi = float(m.group("b").replace(",", "")) if m.group("b") else lo
        fine = owner[0].fine if owner else None
        out.append(Claim("length", subj, (lo, hi, fine), (base + m.start(), base + m.end()),
                         m.group(0)))
    return out
