"""Claims said of a mention after a verb or a distributive word (README "Screening"):

- a fine type picked by position: "the aircraft in the upper left is an A330", "the one near
  the top centre is a Boeing 737": some object of that kind in that region has that type;
- a fine-type share: "six aircraft, three of which are A330s": exactly three A330s;
- a size picked by position: "the one on the left is a tiny target": the object there is tiny;
- a distributive size: "eight tanks, each one a large object": every member is large.
"""

from __future__ import annotations

import re

from narrator.screen.model import Claim, Mention
from narrator.screen.quantity import QUANTITY, combined_region, quantity_range

LARGE = {"large", "big", "huge", "massive", "sizeable", "sizable", "giant", "enormous",
         "dominant", "very large", "oversized", "immense", "vast"}
SMALL = {"small", "tiny", "little", "minute", "point-like", "pointlike", "diminutive",
         "miniature", "minuscule"}

_COPULA = re.compile(r"(?:\bis|\bappears\s+to\s+be|\blooks\s+like|\bseems\s+to\s+be|\bresembles|"
                     r"\bidentified\s+as|\bconsistent\s+with|\bis\s+(?:likely|probably|"
                     r"clearly|evidently)|\bwould\s+be)\s+(?:an?\s+)?$", re.I)
#: "the aircraft at the top left, an A330, ...": the type of that one aircraft
_APPOSITION = re.compile(r"[,(\u2013\u2014]\s*(?:probably\s+|likely\s+|possibly\s+)?$")
_ALL_ARE = re.compile(r"(?:\ball\s+of\s+(?:them|which|these)(?:\s+(?:are|being))?|\bthey\s+are\s+"
                      r"all|\ball\s+are|\beach\s+(?:of\s+them\s+)?is|\bevery\s+one\s+(?:of\s+"
                      r"them\s+)?is)\s+(?:an?\s+)?$", re.I)
_MOSTLY_ARE = re.compile(r"[,;(]\s*(?:(?:they\s+are|which\s+are)\s+)?(?:mostly|mainly|largely|"
                         r"predominantly|primarily|chiefly)\s+$", re.I)
_SHARE = re.compile(rf"(?P<q>{QUANTITY.pattern})\s+of\s+(?:which|them|these|those)\s+"
                    r"(?:are|is|were|appear\s+to\s+be|look\s+like)\s+(?:[\w-]+\s+)?$", re.I)
_SIZE_AFTER = re.compile(r"\s*,?\s*(?:which\s+)?(?:is|are|appears|appear|looks|look|seems|seem)"
                         r"(?:\s+to\s+be)?\s+(?P<words>(?:(?:an?|very|rather|quite|fairly|only|"
                         r"extremely|relatively|comparatively)\s+)*[\w-]+(?:\s*,\s*[\w-]+)?)",
                         re.I)
_EACH = re.compile(r"^(?P<lead>[^.;:]{0,40}?)[,;\u2013\u2014]\s*(?:each|every\s+one|all|both)"
                   r"(?:\s+one|\s+of\s+them)?\b(?P<rest>[^,;.]*)", re.I)
_FILLS_LARGE = re.compile(r"\b(?:occup\w+|tak\w+\s+up|cover\w*|fill\w*)\s+(?:a\s+)?(?:large|big|"
                          r"substantial|significant|sizeable|considerable|good)\s+(?:part|portion|"
                          r"share|fraction|area)", re.I)
_FILLS_MOST = re.compile(r"\b(?:fill\w*|dominat\w+|occup\w+|cover\w*)\s+(?:most|much|the\s+"
                         r"(?:whole|entire|majority))", re.I)


def _subject(mn: Mention) -> str:
    return "|".join(sorted(mn.cats))


def _size_word(words: str) -> str | None:
    found = {w.lower() for w in re.findall(r"[\w-]+", words)}
    if found & LARGE:
        return "large"
    if found & SMALL:
        return "small"
    return None


def _owner_with_regions(s: str, mentions: list[Mention], pos: int) -> Mention | None:
    """The mention a predicate after ``pos`` is about: the last one in its clause with a place."""
    clause = max(s.rfind(";", 0, pos), s.rfind(":", 0, pos), s.rfind(".", 0, pos))
    cands = [m for m in mentions if clause < m.start < pos and m.regions and not m.negated
             and not m.fine]
    return cands[-1] if cands else None


def fine_at_claims(s: str, base: int, mentions: list[Mention]) -> list[Claim]:
    out: list[Claim] = []
    for mn in mentions:
        if not mn.fine or mn.pronoun:
            continue
        start = mn.qstart if mn.qstart >= 0 else mn.start
        share = _SHARE.search(s[:start])
        if share is not None and (rng := quantity_range(QUANTITY.match(share.group("q")))):
            a, b = base + share.start(), base + mn.end
            out.append(Claim("count", _subject(mn), (rng[0], rng[1], mn.fine), (a, b),
                             s[share.start():mn.end]))
            continue
        every = _ALL_ARE.search(s[:start]) or _MOSTLY_ARE.search(s[:start])
        if every is not None:  # "five aircraft, all of them narrowbodies", "mostly A320s"
            owner = [m for m in mentions if m.end <= every.start() and m.cats == mn.cats]
            if owner:
                a = owner[-1].qstart if owner[-1].qstart >= 0 else owner[-1].start
                key = "all" if every.re is _ALL_ARE else "most"
                out.append(Claim("fine_at", _subject(mn), mn.fine, (base + a, base + mn.end),
                                 s[a:mn.end], {key: True}))
            continue
        cop = _COPULA.search(s[:start]) or _APPOSITION.search(s[:start])
        if cop is None:
            continue
        owner = _owner_with_regions(s, mentions, cop.start())
        if owner is None or owner.cats != mn.cats or (cop.re is _APPOSITION and (
                owner.mode == "all" or (owner.qty or (1, 1))[0] > 1)):
            continue
        a = owner.qstart if owner.qstart >= 0 else owner.start
        out.append(Claim("fine_at", _subject(mn), mn.fine, (base + a, base + mn.end),
                         s[a:mn.end], combined_region(owner.regions)))
    return out


def size_at_claims(s: str, base: int, mentions: list[Mention]) -> list[Claim]:
    """"the one on the left is a tiny, point-like target": the size of what is there."""
    out: list[Claim] = []
    for mn in mentions:
        if not mn.regions or mn.negated or mn.mode == "none":
            continue
        end = max(r.end() for r in mn.regions)
        p = _SIZE_AFTER.match(s[end:])
        kind = _size_word(p.group("words")) if p else None
        if kind is None:
            continue
        every = mn.mode == "all" or mn.where_all
        a = mn.qstart if mn.qstart >= 0 else mn.start
        b = end + p.end()  # type: ignore[union-attr]
        out.append(Claim("size", _subject(mn), kind + ("-all" if every else ""),
                         (base + a, base + b), s[a:b],
                         {"where": combined_region(mn.regions)}))
    return out


_NUM_OF = re.compile(rf"(?:(?P<q1>{QUANTITY.pattern})\s+of\s+(?:which|them|these|those)|of\s+"
                     r"(?:which|them|these|those)\s+(?P<q2>one|two|three|four|five|six|seven|"
                     r"eight|nine|ten|\d+))\s+(?:(?:are|were|is|being|appear|look|seem)\s+)?"
                     r"(?:(?:very|rather|quite|relatively|fairly|notably|clearly|"
                     r"comparatively)\s+)?"
                     r"(?P<adj>[\w-]+)", re.I)


def share_size_claims(s: str, base: int, mentions: list[Mention]) -> list[Claim]:
    """"ten ships, three of them large", "of which two are tiny": at least that many."""
    out: list[Claim] = []
    for m in _NUM_OF.finditer(s):
        kind = _size_word(m.group("adj"))
        before = [x for x in mentions if x.end <= m.start() and not x.pronoun]
        q = QUANTITY.match(m.group("q1") or m.group("q2"))
        rng = quantity_range(q) if q else None
        if kind is None or not before or rng is None:
            continue
        out.append(Claim("size", _subject(before[-1]), kind, (base + m.start(), base + m.end()),
                         m.group(0), {"min": max(1, rng[0])}))
    return out


def each_size_claims(s: str, base: int, mentions: list[Mention]) -> list[Claim]:
    """"eight storage tanks are present, each one a large object": every member."""
    out: list[Claim] = []
    for mn in mentions:
        if mn.negated or mn.pronoun or mn.mode == "none" or mn.adjectives or (
                mn.qty and mn.qty[0] < 2 and mn.qty[1] is not None):
            continue
        m = _EACH.match(s[mn.end:])
        if not m or any(mn.end < x.start < mn.end + m.start("rest")
                                  and not x.pronoun for x in mentions):
            continue
        rest = m.group("rest")
        kind = "large" if _FILLS_LARGE.search(rest) else (
            "fills" if _FILLS_MOST.search(rest) else _size_word(rest))
        if kind is None:
            continue
        a, b = mn.end + m.start("rest"), mn.end + m.end("rest")
        out.append(Claim("size", _subject(mn), kind + "-all", (base + a, base + b), s[a:b]))
    return out


_PCT_OF_IMAGE = re.compile(
    r"\s+(?:covers|covering|occupies|occupying|takes\s+up|taking\s+up|fills|filling|spans|"
    r"accounts\s+for)\s+(?:only\s+|just\s+)?(?P<mod>about|roughly|approximately|around|nearly|"
    r"some|~|less\s+than|under|below|over|more\s+than|above)?\s*(?P<v>\d+(?:\.\d+)?)\s*"
    r"(?:%|percent|per\s*cent)\s+of\s+the\s+(?:image|scene|frame|picture|chip|view)", re.I)


def area_share_claims(s: str, base: int, mentions: list[Mention]) -> list[Claim]:
    """"The largest ship covers about 8% of the image": the box's share of the image area."""
    out: list[Claim] = []
    for mn in mentions:
        p = _PCT_OF_IMAGE.match(s[mn.end:])
        if p is None or mn.negated:
            continue
        mod = re.sub(r"\s+", " ", (p.group("mod") or "").lower())
        bound = "<" if mod in ("less than", "under", "below") else (
            ">" if mod in ("over", "more than", "above") else "~")
        a = mn.qstart if mn.qstart >= 0 else mn.start
        out.append(Claim("area_share", _subject(mn), float(p.group("v")) / 100,
                         (base + a, base + mn.end + p.end()), s[a:mn.end + p.end()],
                         {"bound": bound, "super": mn.superlative}))
    return out
