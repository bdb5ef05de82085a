"""From qualified mentions to claims: presence, fine type, size, position, counts (subgroups
summed per the README "Screening" rules) and lengths in metres."""

from __future__ import annotations

import dataclasses

import re

from narrator.screen.model import Claim, Mention
from narrator.screen.predicates import (LARGE, SMALL, area_share_claims, each_size_claims,
                                        fine_at_claims, share_size_claims, size_at_claims)
from narrator.screen.quantity import Region, combined_region

_FILLS = re.compile(r"\b(?:fill(?:s|ing|ed)?|dominat(?:e|es|ing|ed)|occup(?:ies|ying|y)|"
                    r"tak(?:es|ing)\s+up|cover(?:s|ing)?|span(?:s|ning)?)\s+(?P<how>most|much|"
                    r"the\s+majority|the\s+bulk|nearly\s+all|almost\s+all|(?:a\s+)?(?:large|"
                    r"big|substantial|significant|sizeable|considerable|good)\s+(?:part|portion|"
                    r"share|fraction|chunk|area)|the\s+(?:whole|entire))?(?:\s+of)?\s*"
                    r"(?:the\s+)?(?:frame|image|scene|picture|view|chip)\b", re.I)
_DOMINANT_FEATURE = re.compile(r"[\s,]+(?:(?:each|both|all)\s+)?(?:is\s+|are\s+|being\s+)?"
                               r"(?:(?:clearly|obviously|plainly|easily|by\s+far)\s+)?"
                               r"((?:a\s+|the\s+|(?<=are\s))"
                               r"(?:dominant|major|large|prominent\s+large)\s+"
                               r"(?:feature|element|object|structure)s?)", re.I)
_METRES = re.compile(
    r"(?<![\w.,])(?P<a>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?:\s*(?:-|\u2013|to)\s*"
    r"(?P<b>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?))?\s*-?\s*"
    r"(?:m|metres?|meters?)(?![\w\u00b2/])(?!\s*/\s*(?:px|pixel))(?P<long>[\s-]*(?:long|in\s+length|length|-long|"
    r"in\s+(?:wing)?span|(?:wing)?span|from\s+(?:nose|bow|end)))?",
    re.I)
_RES_CUE = re.compile(r"^[\s-]*(?:\w+\s+){0,2}?(?:resolution|pixel|pixels|spacing|gsd|ground[\s-]"
                      r"sampl|posting|sampling|grid|res\b|per\s+pixel|/\s*px)", re.I)
_RES_BEFORE = re.compile(r"(?:resolution|spacing|gsd|sampling|pixels?)\s+(?:\w+\s+){0,3}$", re.I)
_LEN_BEFORE = re.compile(r"(?:length|long|measur\w*|spann\w*|roughly|about|approximately|"
                         r"around|estimated|some|up\s+to|nearly|over)\s+(?:\w+\s+){0,2}$", re.I)


def _subject(mn: Mention) -> str:
    return "|".join(sorted(mn.cats))


def _sentence_claims(s: str, base: int, mentions: list[Mention]) -> list[Claim]:
    out: list[Claim] = []
    fine_groups: dict[str, list[tuple[Mention, tuple[int, int | None]]]] = {}
    parts: dict[str, list[tuple[Mention, tuple[int, int | None]]]] = {}
    loose: set[str] = set()
    _remainder_parts(s, mentions)
    _regional_parts(s, mentions)
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
        if mn.negated and not mn.regions and not mn.pronoun and not _NEG_PREDICATE.match(
                s[mn.end:]):  # "no single ship fills the frame": not an absence
            out.append(Claim("count", subj, (0, 0, mn.fine), span, words))
        if mn.appositive or mn.negated:
            continue
        qty = mn.total if mn.total is not None else (
            mn.qty if not mn.pronoun and mn.mode != "subset" and not mn.part else None)
        if (mn.pronoun and mn.additive) or mn.regional:
            qty = mn.qty or (1, 1)
        if not mn.pronoun and set(mn.adjectives) & {"other", "more", "additional", "further"}:
            mn.additive = True
        if qty is None and not mn.pronoun and "another" in mn.adjectives:
            qty, mn.additive = (1, 1), True  # "..., and another 737 in the lower right"
        if qty is None:
            if (mn.pronoun or mn.anaphora) and mn.mode not in ("all", "most"):
                loose.add(subj)  # "one near the top": a part whose number is not said
            continue
        if mn.fine and not mn.regions and not mn.pronoun:
            if qty == (1, 1) and re.match(r"one\b", s[start:], re.I):
                qty = (1, None)  # "one A330 ...": one of that type, perhaps of several
            fine_groups.setdefault(subj + "#" + mn.fine, []).append((mn, qty))
        parts.setdefault(subj, []).append((mn, qty))
    out += fine_at_claims(s, base, mentions) + size_at_claims(s, base, mentions)
    out += each_size_claims(s, base, mentions) + share_size_claims(s, base, mentions)
    out += area_share_claims(s, base, mentions)
    for key, ms in fine_groups.items():
        out.append(_count_claim(key, ms, s, base))
    for subj, ms in parts.items():
        out += _part_claims(subj, ms, s, base, subj in loose)
    return out


_NEG_PREDICATE = re.compile(r"\s+(?:fills|dominates|exceeds|covers|occupies|spans|reaches|"
                            r"approaches|stands\s+out|is\s+(?:larger|bigger|longer|wider|as|"
                            r"more|over|longer)|appears\s+(?:larger|bigger))\b", re.I)
_REMAINDER_AFTER = re.compile(r"[\w-]+\s+(?:further|farther|elsewhere|lower\s+down|higher\s+up|"
                              r"in\s+the\s+rest\b|across\s+the\s+rest\b)", re.I)


def _remainder_parts(s: str, mentions: list[Mention]) -> None:
    """Before a remainder ("two in the upper left and three elsewhere"), numbered pronouns of
    the same kind are parts too: they and the remainder add up to the kind's count."""
    for i, mn in enumerate(mentions):
        if not (mn.pronoun and mn.additive and mn.qty) or not _REMAINDER_AFTER.match(
                s[mn.start:]):
            continue
        for x in mentions[:i]:
            if x.pronoun and x.qty is None and s[x.start:x.end].lower() == "one":
                x.qty, x.mode = (1, 1), "subset"
            if (x.pronoun and x.cats == mn.cats and x.mode == "subset" and x.qty
                    and not x.additive and " of " not in s[x.start:x.end + 4].lower()):
                x.additive = True


_PART_LINK = re.compile(r"^[^.;:,]*?(?:,\s*)?\b(?:and|plus|while|with)\s+(?:another\s+)?$", re.I)


def _regional_parts(s: str, mentions: list[Mention]) -> None:
    """"one ship in the lower left and two in the lower right", "three ships at the top and one
    at the bottom": numbered parts, each with a place, enumerate the kind (they add up to its
    count); a bare "one" among them is exactly one."""
    for i, mn in enumerate(mentions):
        if mn.pronoun or not mn.regions or mn.qty is None or mn.qty[1] is None or mn.negated:
            continue
        for x in mentions[i + 1:]:
            if x.cats != mn.cats or not x.pronoun or not x.regions or x.negated:
                continue
            if not _PART_LINK.match(s[mn.end:x.start]) or re.match(r"\w+\s+of\b",
                                                                    s[x.start:], re.I):
                break
            if x.qty is None and s[x.start:x.end].lower() == "one":
                x.qty, x.mode = (1, 1), "subset"
            if x.qty is not None and x.qty[1] is not None:
                x.regional = mn.regional = True


#: "close to mid-height", "roughly in the centre": a hedged region, its bands a little wider
_HEDGE = re.compile(r"\b(?:close\s+to|roughly|approximately|about|around|more\s+or\s+less|"
                    r"somewhere\s+near)\s+(?:at\s+|in\s+|the\s+)?$", re.I)
HEDGE_SLACK = 0.07  # of the image side, on top of the screener's own slack


def _widened(region: Region) -> Region:
    return lambda x, y, s: region(x, y, s + HEDGE_SLACK if s > 0 else s)


_COPULA_AFTER = re.compile(r"\s*,?\s*(?:are|is|appear|appears|look|looks|seem|seems|show|shows|"
                           r"measure|measures|have|has|each)\b", re.I)


def _restrictive(mn: Mention, s: str, start: int) -> bool:
    """"The vessels in the lower right are tiny": the place picks the members the predicate
    is about; it does not say that every member is there."""
    r = mn.regions[0]
    return (re.fullmatch(r"\s*", s[mn.end:r.start()]) is not None
            and _COPULA_AFTER.match(s[mn.regions[-1].end():]) is not None
            and not re.search(r"\b(?:all|every|each|both)\b", s[max(0, start - 16):start], re.I))


def _negated_groups(s: str, regions: list) -> list[list]:
    """"no ships in the upper half or the left": each place apart; "none in the left half
    below mid-height": places next to each other hold together."""
    groups: list[list] = []
    for r in regions:
        if groups and re.fullmatch(r"\s*(?:of\s+the\s+(?:image|scene|frame|picture)\s*)?",
                                   s[groups[-1][-1].end():r.start()], re.I):
            groups[-1].append(r)
        else:
            groups.append([r])
    return groups


def _position_claims(mn: Mention, s: str, base: int, start: int) -> list[Claim]:
    """Where the mention's objects are: all regions said of it hold together (a negated
    mention: none is in any of them)."""
    if not mn.regions:
        return []
    mode = mn.superlative or ("all" if mn.where_all and not mn.adjectives else mn.mode)
    if mode == "all" and set(mn.adjectives) & (_CONTRAST | _PLACE_ADJ) and not _size_of(
            mn.adjectives) and (
            not re.search(r"\b(?:all|every|each|both)\b", s[max(0, start - 16):start], re.I)):
        mode = "subset"  # "the larger vessels lie ...": a subgroup of unsaid size
    if mode == "all" and _restrictive(mn, s, start):
        mode = "subset"  # "the vessels in the lower right are tiny": those there
    pure_size = bool(_size_of(mn.adjectives)) and set(mn.adjectives) <= LARGE | SMALL
    if mode == "exact" and not pure_size and (mn.pronoun or (
            mn.adjectives and not set(mn.adjectives) <= {"other", "more"})):
        mode = "subset" if mn.qty != (0, 0) else mode
    groups = _negated_groups(s, mn.regions) if mn.qty == (0, 0) else [mn.regions]
    out = []
    for rs in groups:
        a = min(start, *(r.start() for r in rs))
        b = max(mn.end, *(r.end() for r in rs))
        where = " & ".join(r.text.lower() for r in rs)
        region = combined_region(rs)
        if any(_HEDGE.search(s[:r.core]) for r in rs):
            region = _widened(region)
        out.append(Claim("position", _subject(mn), (where, mode, mn.qty, mn.fine,
                                                    _size_of(mn.adjectives) or _compared(mn)),
                         (base + a, base + b), s[a:b], region))
    return out


_CONTRAST = {"large", "larger", "largest", "small", "smaller", "smallest", "big", "bigger",
             "medium", "mid-sized", "medium-sized", "tiny", "huge", "little", "bright",
             "brighter", "faint", "fainter", "dimmer", "long", "longer", "short", "shorter"}
_PLACE_ADJ = {"upper", "lower", "left", "right", "northern", "southern", "eastern", "western",
              "central", "middle", "outer", "inner", "top", "bottom", "nearby", "distant"}
_EXHAUSTIVE = re.compile(r"[:\u2013\u2014]|\bmake\s+up\b|\bin\s+all\b|\baltogether\b|"
                         r"\bcomprising\b|\bconsisting\s+of\b|\bnamely\b", re.I)


#: additive words that name objects besides a group just named ("and a third one", "two more")
_BESIDES = re.compile(r"(?:another|a\s+(?:second|third|fourth|fifth)|[\w-]+\s+(?:more|further|"
                      r"additional))\b", re.I)
_OPEN_LIST = re.compile(r"^[^.;]{0,12}?\b(?:and|plus|with)\s+(?:a\s+)?(?:mix|mixture|variety|"
                        r"assortment|range|number|handful|few|several|various|some|other|"
                        r"others|more)\b|^[^.;]{0,4}\betc\b", re.I)


def _low(q: tuple[int, int | None]) -> int:
    return 1 if q == (1, None) else q[0]


def _part_claims(subj: str, ms: list[tuple[Mention, tuple[int, int | None]]], s: str,
                 base: int, loose: bool = False) -> list[Claim]:
    """The count of a kind from its parts in one sentence (SEMANTICS: subgroup numbers add up
    to the kind's total). One unscoped count is taken as is. A plain count that covers the
    others is the total ("eleven aircraft: three A320s, ..."); with a colon or "make up" the
    others must add up to it (only at least, when a part of unsaid number such as "one near
    the top" or "the larger one" was left out of the sum). Parts alone add up to the total when
    they are subgroups: "two more", "another", "four smaller ones", contrasting sizes, or plain
    numbers only."""
    if len(ms) == 1:
        m, q = ms[0]
        if m.pronoun or m.fine or m.anaphora or (m.regions and m.total is None and not (
                (m.where_all and not m.adjectives) or m.mode == "most")):
            return []
        return [_count_claim(subj + "#", ms, s, base)]
    total = sum(_low(q) for _, q in ms)
    head = next((x for x in ms if not x[0].pronoun and not x[0].fine
                 and (not x[0].regions or x[0].mode == "all")
                 and not x[0].anaphora and x[0].mode in ("exact", "all")
                 and not set(x[0].adjectives) - {"other", "more", "total"}
                 and x[1][1] is not None and _low(x[1]) >= total - _low(x[1])), None)
    m0, q0 = ms[0]
    if head is None and not m0.pronoun and not m0.fine and not m0.regions and q0[1] is not None \
            and m0.mode in ("exact", "all") and _low(q0) >= total - _low(q0) \
            and re.match(r"\s*[:\u2013\u2014]", s[m0.end:ms[1][0].start]):
        head = ms[0]  # "Eight small bright ship returns: four ..., a pair ...": the total
        colon = True
    else:
        colon = False
    if head is not None:
        after = [x for x in ms if x[0].start > head[0].start]
        between = s[head[0].end:after[0][0].start] if after else ""
        if after and after[0][0].additive and _BESIDES.match(s[after[0][0].start:]) and (
                not re.search(r"[;:\u2013\u2014]|\b(?:one|some|two|three|four|five)\b", between)):
            head = None  # "twin vessels and a third one": the third is besides the two
    out: list[Claim] = []
    rest = [x for x in ms if x is not head]
    if head is not None:
        claim = _count_claim(subj + "#", [head], s, base)
        if colon:  # an enumerated total is exact, adjectives or not
            claim = dataclasses.replace(claim, value=(q0[0], q0[1], None), detail=None)
        out.append(claim)
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
        regional = all(m.regional for m, _ in ms)
        if not (any(m.additive for m, _ in ms) or contrast >= 2 or numeric or regional):
            return out
    low = sum(_low(q) for _, q in rest)
    highs = [1 if q == (1, None) else q[1] for _, q in rest]
    high = None if any(h is None for h in highs) else sum(highs)  # type: ignore[arg-type]
    if loose or _OPEN_LIST.search(s[max(m.end for m, _ in rest):]):
        high = None  # "two 737s, three A320s and a mix of other types": at least
    a = min(m.qstart if m.qstart >= 0 else m.start for m, _ in rest)
    b = max(m.end for m, _ in rest)
    size = _size_of(rest[0][0].adjectives)
    same = size and all(not m.adjectives and not m.anaphora for m, _ in rest[1:])
    detail = {"size": size} if same else {}  # "one large ship ... and another"
    if head is None:
        detail["parts"] = True  # other sentences may name more parts (see object_claims)
    out.append(Claim("count", subj, (low, high, None), (base + a, base + b), s[a:b], detail))
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
    detail = None
    if len(ms) == 1 and mn.adjectives and (mn.mode != "all" or mn.superlative or _size_of(
            mn.adjectives)) and mn.total is None and not set(mn.adjectives) <= {"other", "more"}:
        size = _size_of(mn.adjectives)
        if size and set(mn.adjectives) <= LARGE | SMALL | {"very", "rather", "fairly"}:
            detail = {"size": size}  # "four small vessels": all of them, or all that small
        else:
            high = None  # "two bright vessels": a subgroup of the ships
    a = min(m.qstart if m.qstart >= 0 else m.start for m, _ in ms)
    b = max(m.end for m, _ in ms)
    return Claim("count", subj, (low, high, fine or None), (base + a, base + b), s[a:b], detail)


def _compared(mn: Mention) -> str | None:
    """"the bigger ones", "smaller boats": the larger or smaller half of the kind."""
    words = set(mn.adjectives)
    return ("larger" if words & {"larger", "bigger"} else
            "smaller" if words & {"smaller", "tinier"} else None)


def _size_of(adjectives: tuple[str, ...]) -> str | None:
    words = set(adjectives)
    return "large" if words & LARGE else "small" if words & SMALL else None


def _size_claims(mn: Mention, s: str, base: int, span: tuple[int, int], words: str
                 ) -> list[Claim]:
    out = []
    adjs = set(mn.adjectives)
    if mn.negated or (mn.pronoun and mn.superlative != "max"):
        return out  # "the largest occupies a large part of the scene": a size of one member
    if adjs & LARGE or (" ".join(mn.adjectives[-2:]) in LARGE):
        out.append(Claim("size", _subject(mn), "large", span, words))
    if adjs & SMALL:
        out.append(Claim("size", _subject(mn), "small", span, words))
    after = s[mn.end:]
    out += _predicative_size(mn, s, base)
    d = _DOMINANT_FEATURE.match(after)
    if d:
        every = re.search(r"\b(?:each|every|all|both)\b",
                          s[max(0, mn.start - 12):mn.start] + d.group(0), re.I)
        every = every and not mn.adjectives  # "two large vessels, each a ...": those two
        out.append(Claim("size", _subject(mn), "large-all" if every else "large",
                         (base + mn.end + d.start(1),
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


#: "the ships are tiny", "each is a large object": size said of the mention after a verb
_PRED_SIZE = re.compile(r"\s+(?:are|is|appear|appears|look|looks|seem|seems)\s+(?:all\s+|each\s+|both\s+)?"
                        r"(?:(?:an?|very|rather|quite|fairly|only)\s+)*(?P<adj>[\w-]+)\b", re.I)


def _predicative_size(mn: Mention, s: str, base: int) -> list[Claim]:
    """A size after a verb; of a whole group ("all five ships are tiny", "each ship is a
    large object") it holds of every member, else of at least one."""
    p = _PRED_SIZE.match(s[mn.end:])
    if not p:
        return []
    adj = p.group("adj").lower()
    kind = "large" if adj in LARGE else "small" if adj in SMALL else None
    if kind is None:
        return []
    lead = s[max(0, mn.start - 12):mn.start].lower()
    group = mn.mode == "all" or bool(re.search(r"\b(?:all|both|each|every)\b", lead)) or bool(
        re.match(r"\s+(?:are|appear|look|seem)\s+all\b", s[mn.end:], re.I))
    a, b = mn.qstart if mn.qstart >= 0 else mn.start, mn.end + p.end()
    need = mn.qty[0] if mn.qty and not group and not mn.pronoun else 1
    return [Claim("size", _subject(mn), kind + ("-all" if group else ""), (base + a, base + b),
                  s[a:b], {"min": need} if need > 1 else None)]


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
        if re.match(r"\s*(?:wide|in\s+width|apart|away|from|of\s+each|beam|across\s+(?!\W))",
                    after, re.I):
            continue  # "across" alone or "in diameter": the box's long side (tanks)
        owner = near[:1] or [x for x in nouns if x.end <= m.start()][-1:]
        subj = _subject(owner[0]) if owner else ""
        lo = float(m.group("a").replace(",", ""))
        hi = float(m.group("b").replace(",", "")) if m.group("b") else lo
        bound = _BOUND.search(s[:m.start()])
        if bound and not m.group("b"):  # "under 60 m long", "over 300 m"
            lo, hi = ((0.0, hi / 1.25) if bound.group(1).lower() in _BELOW
                      else (lo / 0.75, float("inf")))
        fine = owner[0].fine if owner else None
        every = {"super": owner[0].superlative} if owner and owner[0].superlative else None
        if owner and _EACH_BEFORE.search(s[owner[0].end:m.start()]):
            every = {"all": True, "size": _size_of(owner[0].adjectives),
                     "where": combined_region(owner[0].regions) if owner[0].regions else None}
        out.append(Claim("length", subj, (lo, hi, fine), (base + m.start(), base + m.end()),
                         m.group(0), every))
    return out


_BOUND = re.compile(r"\b(under|below|less\s+than|shorter\s+than|at\s+most|up\s+to|over|above|"
                    r"more\s+than|longer\s+than|at\s+least|exceeding|in\s+excess\s+of)\s+$", re.I)
_BELOW = {"under", "below", "less than", "shorter than", "at most", "up to"}


#: "ten ships, each about 200 m long", "the tanks are each around 30 m across": every member
_EACH_BEFORE = re.compile(r"\b(?:each|all|both|every\s+one)\b(?:\s+of\s+them)?\s+(?:[\w-]+\s+)"
                          r"{0,2}$", re.I)
