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

import dataclasses
import re
from dataclasses import dataclass

from narrator.screen.assemble import _length_claims, _sentence_claims
from narrator.screen.model import Claim, Mention
from narrator.screen.places import _CLAUSE, _attach_regions, _empty_claims
from narrator.screen.quantity import QUANTITY, quantity_range, regions_in
from narrator.screen.vocab import ScreenVocabulary, default_vocabulary

__all__ = ["Claim", "Mention", "object_claims", "sentences"]



_STOP = {"of", "the", "these", "those", "and", "or", "with", "in", "on", "at", "are", "is",
         "to", "from", "by", "other", "more", "than", "them", "which", "their", "its", "as",
         "a", "an", "that", "this", "there", "be", "were", "was", "appear", "appears", "visible",
         "seen", "for", "into", "near", "each", "all", "some", "any", "most", "while"}
_ALL = re.compile(r"(?:\ball(?:\s+of)?(?:\s+the)?|\bevery|\beach(?:\s+of\s+the)?|\bthe|\bboth"
                  r"|\bthese|\bthose)\s+$", re.I)
_MOST = re.compile(r"\b(?:most|the\s+majority|the\s+bulk|majority)(?:\s+of)?(?:\s+the)?\s+$",
                   re.I)
_NEG = re.compile(
    r"(?:\bno|\bwithout(?:\s+any)?|\bfree\s+of|\bdevoid\s+of|\black\s+of|\babsence\s+of|"
    r"\bnot?\s+(?:a\s+single|any|even\s+a)|\bnor\s+(?:any|are\s+there\s+any)?|\bneither|"
    r"\bno\s+(?:sign|signs|evidence|trace|indication)\s+of(?:\s+any)?|\bnot\s+a|\bnone\s+of\s+the"
    r"|\bnone\s+of\s+(?:them|these|those)(?:\s+(?:is|are|being))?|\bnone\s+(?:is|are)"
    r"|\bany|\bzero)\s+(?:[\w-]+\s+){0,2}$", re.I)
_NEG_OTHER = re.compile(r"\bno\s+(?:other|additional|further|more(?!\s+than)|extra|obvious\s+other)\s+"
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
        if _inside(m.start() + base, masked) or _PROPER_NAME.match(s, m.start()) or (
                vocab.re_compound.match(s, m.end())):
            continue  # "tank farm": a modifier; "Marina Bay": part of a place name
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
    for m in _SIGNAL.finditer(s):  # "ships: one larger return plus three smaller echoes"
        q = _COUNTED.search(s[:m.start()])
        before = [x for x in out if x.end <= (q.start() if q else -1) and not x.anaphora]
        if q and before and not _inside(m.start(), [(x.start, x.end + 1) for x in out]):
            out.append(Mention(m.start(), m.end(), before[-1].cats, None, anaphora=True))
    return sorted(out, key=lambda x: x.start)


_SIGNAL = re.compile(r"\b(?:returns?|echo(?:es)?|signatures?|blips?|targets?)\b", re.I)
_COUNTED = re.compile(r"(?<![\w-])(?:one|two|three|four|five|six|seven|eight|nine|ten|\d+)\s+"
                      r"(?:[a-z-]+[\s,]+){0,3}?$", re.I)
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


#: a capitalised word followed by another capitalised word (after a space or hyphen)
_PROPER_NAME = re.compile(r"[A-Z][a-z]+[ -][A-Z][a-z]")


def _inside(pos: int, spans: list[tuple[int, int]]) -> bool:
    return any(a <= pos < b for a, b in spans)


_QTY_END = re.compile(rf"(?:{QUANTITY.pattern})\s*$", re.I)
_OF_HEAD = re.compile(rf"(?:(?:{QUANTITY.pattern})|(?P<w>most|none|all|each|some|any|either|"
                      r"neither|the\s+majority|the\s+rest|the\s+remainder|half))\s+of\s+"
                      r"(?:the|these|those|its|their|our)\s+$", re.I)
_ADJ_STOP = (_STOP - {"other", "more"}) | {"no", "not", "without", "nor", "none", "so", "odd",
                                          "plus"}
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
        k = re.search(r"\bthe\s+([a-z-]+)\s+$", s[:mn.qstart], re.I)
        if k and re.search(r"(?:er|est|other|remaining|first|last)$", k.group(1).lower()):
            mn.adjectives = (k.group(1).lower(), *mn.adjectives)  # "the larger two": a part
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
    not_one = mn.qty is not None and mn.qty[0] <= 1 and re.search(r"\b(?:not|nor|never)\s+$",
                                                                  head, re.I)
    if (mn.qty == (0, 0) or _NEG.search(head) or _POST_NEG.match(s[mn.end:]) or neg_list
            or not_one):
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
            r"\b(?:the|this|that)\s+$", head, re.I)) and not _singular_verb(s[mn.end:]):
        mn.mode = "all"


_HEDGED_APPOSITION = re.compile(r"[,(\u2013\u2014]\s*(?:likely|probably|possibly|perhaps|"
                                r"presumably|maybe|most\s+likely|i\.e\.|e\.g\.)\s+"
                                r"(?:[\w-]+\s+){0,2}$", re.I)


def _subset(mn: Mention, sub: re.Match[str]) -> None:
    """"three of the five ships": the whole is a count, the part is what regions describe."""
    word = (sub.group("w") or "").lower()
    mn.total, mn.qstart, mn.part = mn.qty, sub.start(), True
    if word == "half":  # "half of the ships": at least half
        mn.mode, mn.qty = "half", None
    elif word.startswith("most") or word == "the majority":
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


_VERB = re.compile(r"^[^;:.]*?\b(?P<v>is|are|was|were|appears|appear|seems|seem|looks|look|"
                   r"sits|sit|lies|lie|has|have)\b", re.I)


def _singular_verb(after: str) -> bool:
    """"the aircraft in the upper left is an A330": an invariant noun used in the singular."""
    v = _VERB.match(after)
    return bool(v) and v.group("v").lower() in ("is", "was", "appears", "seems", "looks",
                                                "sits", "lies", "has")


def _plural(word: str) -> bool:
    w = word.lower().split()[-1]
    return w.endswith("s") and not w.endswith("ss") or w in ("aircraft", "ferries", "lorries")


#: "three elsewhere", "two further down", "four lower down": the rest, besides those named
_REMAINDER = re.compile(r"\s+(?:elsewhere|further|farther|lower\s+down|higher\s+up|"
                        r"in\s+the\s+rest\s+of|across\s+the\s+rest|scattered\s+elsewhere)\b",
                        re.I)


_RECIPROCAL = re.compile(r"one\s+another\b", re.I)


def _pronouns(s: str, nouns: list[Mention], vocab_spans: list[tuple[int, int]],
              last: Mention | None) -> list[Mention]:
    out = []
    for m in _PRONOUN.finditer(s):
        if any(x.start - 2 <= m.start() < x.end or (x.qstart >= 0 and x.qstart <= m.start()
                                                    < x.end) for x in nouns):
            continue
        if (m.group("bare") and out and out[-1].superlative
                and re.fullmatch(r"\s+", s[out[-1].end:m.start()])):
            out[-1].end = m.end()  # "the largest two": two of the largest
            out[-1].qty = quantity_range(QUANTITY.match(m.group("bn")))  # type: ignore[arg-type]
            continue
        if _inside(m.start(), vocab_spans) or _RECIPROCAL.match(s, m.start()) or (
                m.group(0).lower() == "another" and re.search(r"\bone\s+$", s[:m.start()], re.I)):
            continue  # "close to one another": no object
        if m.group(0).lower() == "another" and _PAIR.match(s, m.start()):
            continue  # "another pair in the lower right": a part of two (_quantity_pronouns)
        nxt = [x for x in nouns if x.start >= m.end()]
        if nxt and re.fullmatch(r"\s*(?:[a-z-]+\s+){0,2}", s[m.end():nxt[0].start], re.I) and not (
                set(s[m.end():nxt[0].start].lower().split()) & (_STOP - {"all"})):
            continue  # "the other two vessels": a noun mention follows
        prev = [x for x in nouns if x.end <= m.start()]
        ref = prev[-1] if prev else last
        if ref is None or ref.blocker:
            continue
        inherit = ":" in s[ref.end:m.start()] or re.search(r"\bof\s+(?:them|which|these)\b",
                                                           m.group(0), re.I)
        mn = Mention(m.start(), m.end(), ref.cats, ref.fine if inherit else None, pronoun=True)
        if m.group("all"):
            mn.mode = "all"
        elif m.group("exists") and _superlative(m.group(0)):
            mn.mode, mn.superlative = "subset", _superlative(m.group(0))  # "the largest"
        elif m.group("exists") and re.match(r"another|a\s+(?:second|third|fourth|fifth)",
                                            m.group(0), re.I):
            mn.additive = True
        elif m.group("exists") and (k := _ORDINALS.get(m.group(0).lower().split()[-1])):
            said = [x.qty[1] or x.qty[0] for x in nouns if x.qty and x.end <= m.start()]
            said += [x.total[0] for x in nouns if x.total and x.end <= m.start()]
            mn.additive = k > max(said, default=k)
        elif m.group("most"):
            mn.mode = "half" if m.group(0).lower().startswith("half") else "most"
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
            mn.additive = bool((re.search(r"\b(?:more|others?|further)\b", m.group(0), re.I)
                                or _REMAINDER.match(s[m.end():]))
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
    for m in _PAIR.finditer(s):  # "a pair along the left edge and another pair in the ..."
        if any(a <= m.start() < b or m.start() <= a < m.end() for a, b in taken) or not (
                _FOLLOW.match(s[m.end():])):
            continue
        prev = [x for x in nouns if x.end <= m.start()]
        ref = prev[-1] if prev else last
        if ref is None:
            continue
        n = _PAIR_N[m.group("n").lower()]
        out.append(Mention(m.start(), m.end(), ref.cats, None, qty=(n, n), mode="subset",
                           pronoun=True, additive=m.group("a").lower() == "another"))
    return out


_PAIR = re.compile(r"\b(?P<a>a|another|one|the\s+other)\s+(?P<n>pair|couple|trio)\b(?!\s+of\b)",
                   re.I)
_PAIR_N = {"pair": 2, "couple": 2, "trio": 3}


def _blockers(s: str, vocab: ScreenVocabulary) -> list[Mention]:
    out = []
    for rx in (vocab.re_land, vocab.re_land_word, vocab.re_context):
        out += [Mention(m.start(), m.end(), frozenset(), blocker=True) for m in rx.finditer(s)]
    for m in re.finditer(r"\b(?:returns?|targets?|echoes|signatures?|scatterers?|reflectors?|"
                         r"spots?|blobs?|features?|objects?)\b", s, re.I):
        out.append(Mention(m.start(), m.end(), frozenset(), blocker=True))
    return out


def _compound(b: Mention, nouns: list[Mention], s: str) -> bool:
    """"ship signatures", "vessel returns": the object noun heads the phrase (it grows over it)."""
    for x in nouns:
        if 0 <= b.start - x.end <= 1 and re.fullmatch(r"[\s-]?", s[x.end:b.start]):
            x.end = b.end
            return True
    return False


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


def object_claims(text: str, vocab: ScreenVocabulary | None = None,
                  masked: list[tuple[int, int]] | None = None) -> list[Claim]:
    """Every claim about objects in ``text``."""
    vocab = vocab or default_vocabulary()
    masked = masked or []
    out: list[Claim] = []
    last: Mention | None = None
    counted: list[set[str]] = []
    for a, b in sentences(text):
        n_before = len(out)
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
            if (prev is not None and mn.cats == prev.cats and mn.qty is None
                    and _HEDGED_APPOSITION.search(s[:mn.start])
                    and re.match(r"\s*[,)\u2013\u2014]", s[mn.end:])):
                mn.appositive = True  # "small vessels, likely fishing boats, sit ..."
            prev_end, prev = mn.end, mn
        fine_spans = [(x.start, x.end) for x in nouns]
        pron = _pronouns(s, nouns, fine_spans, last)
        blockers = [b for b in _blockers(s, vocab) + _group_blockers(s, nouns)
                    if not any(0 <= b.start - p.end <= 1 for p in pron)
                    and not _compound(b, nouns, s)
                    and not any(x.start == b.start for x in nouns)]
        mentions = sorted(nouns + pron + blockers, key=lambda x: x.start)
        regions = regions_in(s)
        empty, used = _empty_claims(s, a, regions, vocab)
        covered = [c.span for c in empty]
        for mn in mentions:
            if any(x <= mn.start + a < y for x, y in covered):
                mn.mode = "none"
        _attach_regions(s, mentions, regions, used, covered, a)
        out += empty + _sentence_claims(s, a, [m for m in mentions if not m.blocker])
        out += _length_claims(s, a, sorted(nouns + [p for p in pron if p.superlative],
                                           key=lambda x: x.start))
        if nouns:
            last = nouns[-1]
        counted.append({c.subject for c in out[n_before:] if c.kind == "count"})
    return _parts_across_sentences(out, counted)


def _parts_across_sentences(out: list[Claim], counted: list[set[str]]) -> list[Claim]:
    """Parts that add up within a sentence ("two large ships ..., while four medium-sized
    vessels ...") are only a lower bound when other sentences count the same kind ("ten
    vessels" before, "four tiny boats" after)."""
    if len(counted) < 2:
        return out
    result = []
    for c in out:
        if c.kind == "count" and isinstance(c.detail, dict) and c.detail.get("parts") and sum(
                c.subject in subs for subs in counted) > 1:
            c = dataclasses.replace(c, value=(c.value[0], None, c.value[2]))
        result.append(c)
    return result

