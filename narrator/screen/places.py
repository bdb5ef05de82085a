"""Places in a sentence: which mention each region phrase describes, and empty regions."""

from __future__ import annotations

import re

from narrator.screen.model import Claim, Mention
from narrator.screen.quantity import Where
from narrator.screen.vocab import ScreenVocabulary

_CLAUSE = re.compile(r"[,;:()\u2013\u2014]|\s-\s|\b(?:while|whereas|but|and|with|plus|"
                     r"although|though|which|where)\b", re.I)
_SPREAD = re.compile(r"\b(?:from|between)\s+(?:the\s+)?$", re.I)
_MOSTLY = re.compile(r"\b(?:mostly|mainly|largely|predominantly|primarily|chiefly|generally|"
                     r"concentrated|"
                     r"mostly\s+concentrated|most\s+of\s+them|the\s+majority|most(?!\s+of))\b"
                     r"[\w\s-]{0,30}$",
                     re.I)
_LOOSE = re.compile(r"\b(?:extend|extends|extending|stretch|stretches|stretching|spread|spreads|"
                    r"dispersed|disperse|disperses|dotted|sprinkled|distributed|"
                    r"spanning|range|ranging|reach|reaching|towards|toward|facing|pointing|"
                    r"heading|oriented)\b[\w\s-]{0,15}$", re.I)
_PREP = re.compile(r"^(?:at|on|in|to|toward|towards|near|along|across|within|inside|"
                   r"throughout|into|over|from|by|hugging|lining)\b", re.I)
_RELATIVE = re.compile(r"\b(?:away\s+from|far\s+from|outside(?:\s+of)?|clear\s+of|apart\s+from|"
                       r"above|below|beyond|off|beside|except|other\s+than|besides|"
                       r"rather\s+than|instead\s+of|not|not\s+(?:in|at|on|near|along))\s+"
                       r"(?:the\s+)?$", re.I)
_NUDGE = re.compile(r"\b(?:slightly|a\s+little|a\s+bit|somewhat|just)\b[\w\s-]{0,14}$", re.I)
# "the left and centre", "the top left, the center and the bottom": a list of regions
_UNION = re.compile(r"^\s*(?:,\s*(?:(?:and|or)\s+)?|(?:and|or|to|through|towards|toward|into)\s+)"
                    r"(?:the\s+)?(?:(?:very|far)\s+)?$", re.I)
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


#: "leaving the lower half empty of ships", "with the right side clear": the region is the
#: object of a verb, and the emptiness word follows it with no "is"
_LEAVING = re.compile(r"\b(?:leaving|leaves|leave|left|keeping|keeps|with)\s+(?:the\s+)?"
                      r"(?:(?:whole|entire)\s+)?$", re.I)
_EMPTY_BARE = re.compile(
    r"^(?:\s+of\s+the\s+(?:image|scene|frame|chip|picture|view))?\s+(?:(?:entirely|completely|"
    r"largely|totally|essentially|almost|virtually|fully)\s+)?(?:empty|clear|vacant|unoccupied|"
    r"devoid|free|target-free|object-free)\b(?:\s+of\s+(?P<w>[\w-]+(?:\s+[\w-]+)?))?", re.I)


def _empty_claims(s: str, base: int, regions: list[Where], vocab: ScreenVocabulary
                  ) -> tuple[list[Claim], set[int]]:
    """"the lower half is empty", "nothing lies in the upper third": no object there."""
    out, used = [], set()
    covered: list[tuple[int, int]] = []
    for r in regions:
        after = _EMPTY_AFTER.match(s[r.end():]) or (
            _EMPTY_BARE.match(s[r.end():]) if _LEAVING.search(s[:r.start()]) else None)
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


_SPREAD_TO = re.compile(r"^[\s,]*(?:(?:all\s+the\s+way|right|down|up|over|across|out)\s+)*"
                        r"(?:to|through|into|until|towards|toward)\s+(?:the\s+)?$", re.I)
_INCLUDING = re.compile(r"\b(?:including|even|also\s+in|as\s+well\s+as)\s+(?:in\s+|into\s+)?"
                        r"(?:the\s+)?$", re.I)


_INCLUDING_ONE = re.compile(r"\b(?:including|such\s+as|among\s+(?:them|which)|one\s+of\s+"
                            r"(?:them|which)|with\s+one|of\s+which\s+one)\b", re.I)
#: "three ships, all clustered in ...", "two returns, both along ...": a group claim
_EVERY = re.compile(r"[,;:\u2013\u2014]\s*(?:(?:which|that|and)\s+(?:are\s+)?)?(?:all|both|each|"
                    r"every\s+one)(?:\s+of\s+them)?\s+(?:[\w-]+\s+){0,3}$", re.I)


def _attach_regions(s: str, mentions: list[Mention], regions: list[Where],
                    used: set[int], covered: list[tuple[int, int]], base: int) -> None:
    """Each region phrase goes to the mention it describes (same clause first)."""
    cuts = [0, *[m.start() for m in _CLAUSE.finditer(s)], len(s)]

    def clause(pos: int) -> tuple[int, int]:
        lo = max(c for c in cuts if c <= pos)
        return lo, min(c for c in cuts if c > pos) if any(c > pos for c in cuts) else len(s)

    for i, r in enumerate(regions):
        core = r.core
        nxt = regions[i + 1] if i + 1 < len(regions) else None
        prv = regions[i - 1] if i else None
        absent = re.search(r"\b(?:absent|missing)\s+from\s+(?:the\s+)?$", s[:core], re.I)
        if r.start() in used or (_SPREAD.search(s[:core]) and not absent) or _RELATIVE.search(
                s[:core]):
            continue
        if prv and _SPREAD.search(s[:prv.core]) and _SPREAD_TO.match(s[prv.end():core]):
            continue  # "from the top edge down to the lower part"
        nxt = nxt if nxt is None or nxt.start() not in used else None  # "... is empty"
        prv = prv if prv is None or prv.start() not in used else None
        union = bool((nxt and _UNION.match(s[r.end():nxt.core])) or (
            prv and _UNION.match(s[prv.end():core])))
        if re.match(r"\s*of\s+(?!(?:(?:the|this|that|our|each)\s+)?(?:image|scene|frame|"
                    r"picture|chip|tile|view|apron|airfield|tarmac|area|site|scene's)\b)",
                    s[r.end():], re.I):
            continue
        if r.bare and _NUDGE.search(s[:r.start()]):
            continue
        lo, hi = clause(r.start())
        owner = ([m for m in mentions if lo <= m.start < r.start()][-1:]
                 or [m for m in mentions if r.end() <= m.start < hi][:1])
        if not owner and (_PREP.match(r.text) or _INCLUDING.search(s[:r.start()])):
            owner = [m for m in mentions if m.start < r.start() and not m.appositive][-1:]
            if not owner and not [m for m in mentions if m.start < r.start()]:
                owner = [m for m in mentions if m.start >= r.end()][:1]
        if not owner:
            continue
        if _INCLUDING.search(s[:r.start()]) and owner[0].start < r.start():
            mentions.append(Mention(r.start(), r.start(), owner[0].cats, owner[0].fine,
                                    mode="exists", pronoun=True, regions=[r]))
            continue  # "spread across the image, including the right half": some are there
        if (_LOOSE.search(s[:r.start()]) or union) and not owner[0].negated:
            continue  # "from the top left to the bottom right", "the left and centre"
        if owner[0].mode == "none" or any(a <= owner[0].start + base < b for a, b in covered):
            continue
        between = s[owner[0].end:r.start()] if owner[0].start < r.start() else ""
        if _INCLUDING_ONE.search(between):  # "eight vessels: including a large hull on the left"
            mentions.append(Mention(r.start(), r.start(), owner[0].cats, owner[0].fine,
                                    mode="exists", pronoun=True, regions=[r]))
            continue
        if _MOSTLY.search(between):
            owner[0].mode = "most"
        elif _EVERY.search(between) and not owner[0].pronoun and (
                owner[0].qty is None or owner[0].qty[0] >= 2):
            owner[0].where_all = True
        owner[0].regions.append(r)
