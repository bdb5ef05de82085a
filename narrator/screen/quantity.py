"""Quantity words and image regions, with the meanings the README's "Screening" section gives.

A quantity is an inclusive range ``(low, high)`` of object counts (``high`` None: unbounded).
A region is a predicate on an object's centre in image fractions (x right, y down), checked
with a slack so that a centre near a boundary counts as possibly in and possibly out.
"""

from __future__ import annotations

import re
from collections.abc import Callable

NUMBERS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty".split())}
NUMBERS |= {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
            "ninety": 90, "hundred": 100, "a hundred": 100, "dozen": 12, "a dozen": 12,
            "two dozen": 24, "three dozen": 36, "four dozen": 48, "a couple dozen": 24,
            "a couple of dozen": 24}
_NUM = (r"(?:\d+|(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[\s-]"
        r"(?:one|two|three|four|five|six|seven|eight|nine))?|a dozen|dozen|"
        r"a hundred|" + "|".join(sorted(NUMBERS, key=len, reverse=True)) + ")")
#: fixed phrases -> (low, high)
FIXED = {
    "a single": (1, 1), "single": (1, 1), "a lone": (1, 1), "lone": (1, 1),
    "an isolated": (1, 1), "a solitary": (1, 1), "solitary": (1, 1), "only one": (1, 1),
    "just one": (1, 1), "exactly one": (1, 1), "the only": (1, 1), "the sole": (1, 1),
    "the single": (1, 1),
    "a pair of": (2, 2), "a trio of": (3, 3), "a quartet of": (4, 4), "a couple of": (2, 2), "twin": (2, 2), "both": (2, 2), "a few": (2, 4),
    "several": (3, 7), "a handful of": (3, 6), "handful of": (3, 6), "about a dozen": (10, 14),
    "around a dozen": (10, 14), "roughly a dozen": (10, 14), "some dozen": (10, 14),
    "nearly a dozen": (10, 12), "almost a dozen": (10, 12), "over a dozen": (13, None),
    "more than a dozen": (13, None), "dozens of": (24, None), "many": (6, None),
    "numerous": (6, None), "a large number of": (6, None), "a fleet of": (6, None),
    "large numbers of": (6, None), "lots of": (6, None), "a lot of": (6, None),
    "plenty of": (6, None), "a great many": (6, None), "countless": (6, None),
    "multiple": (2, None), "various": (2, None), "a number of": (2, None),
    "a group of": (2, None), "a cluster of": (2, None), "a line of": (2, None),
    "a row of": (2, None), "a string of": (2, None), "a scattering of": (2, None),
    "a series of": (2, None), "a collection of": (2, None), "a small number of": (2, 5),
    "a small group of": (2, 5), "a small cluster of": (2, 5), "a tight cluster of": (2, None),
    "a dense cluster of": (2, None), "a large cluster of": (6, None),
    "a large group of": (6, None), "a sizeable number of": (6, None), "a dozen or so": (10, 14),
    "half a dozen": (5, 7), "scores of": (20, None), "several dozen": (24, None),
    "a few dozen": (24, None), "half-a-dozen": (5, 7), "about half a dozen": (4, 8),
    "no": (0, 0), "zero": (0, 0), "a": (1, None), "an": (1, None), "some": (1, None),
}
_MODS = (r"about|around|roughly|approximately|approx\.?|some|circa|an estimated|nearly|almost|"
         r"at least|no fewer than|no less than|more than|over|upwards of|in excess of|"
         r"fewer than|less than|under|up to|at most|no more than|exactly|precisely|just|only|"
         r"a total of|in total|a further|another")
QUANTITY = re.compile(
    rf"(?<![\w-])(?:between\s+(?P<lo>{_NUM})\s+and\s+(?P<hi>{_NUM})(?![\w-])|"
    rf"(?:(?P<mod>{_MODS})\s+)?(?P<num>{_NUM})(?:\s*(?:or|to|-|\u2013)\s*"
    rf"(?P<num2>{_NUM})(?![\w-]))?(?P<plus>\+|-plus)?(?P<orso>\s+or\s+so|[\s-]odd)?(?![\w-]))"
    rf"|(?<![\w-])(?P<fixed>{'|'.join(re.escape(k) for k in sorted(FIXED, key=len, reverse=True))})"
    r"(?![\w-])", re.I)


def number_value(word: str) -> int | None:
    w = re.sub(r"[\s-]+", " ", word.lower()).strip()
    if w.isdigit():
        return int(w)
    if w in NUMBERS:
        return NUMBERS[w]
    if w.replace(" ", "-") in NUMBERS:
        return NUMBERS[w.replace(" ", "-")]
    parts = w.split()
    if len(parts) == 2 and parts[0] in NUMBERS and parts[1] in NUMBERS:
        return NUMBERS[parts[0]] + NUMBERS[parts[1]]
    return None


def quantity_range(m: re.Match[str]) -> tuple[int, int | None] | None:
    """The count range a QUANTITY match means."""
    if m.group("fixed"):
        return FIXED[re.sub(r"\s+", " ", m.group("fixed").lower())]
    if m.group("lo"):
        lo, hi = number_value(m.group("lo")), number_value(m.group("hi"))
        return (lo, hi) if lo is not None and hi is not None and hi >= lo else None
    n = number_value(m.group("num"))
    if n is None:
        return None
    if m.group("num2"):  # "two or three", "3-4", "five to six"
        n2 = number_value(m.group("num2"))
        if n2 is not None and n2 > n:
            return (n, n2)
    if m.group("plus"):
        return (n, None)
    if m.group("orso"):  # "ten or so", "twenty-odd": about N
        d = max(1, round(0.2 * n))
        return (max(0, n - d), n + d)
    mod = (m.group("mod") or "").lower().rstrip(".")
    d = max(1, round(0.2 * n))
    if mod in ("about", "around", "roughly", "approximately", "approx", "some", "circa",
               "an estimated"):
        return (max(0, n - d), n + d)
    if mod in ("nearly", "almost"):
        return (max(0, n - d), n)
    if mod in ("at least", "no fewer than", "no less than"):
        return (n, None)
    if mod in ("more than", "over", "upwards of", "in excess of"):
        return (n + 1, None)
    if mod in ("fewer than", "less than", "under"):
        return (0, n - 1)
    if mod in ("up to", "at most", "no more than"):
        return (0, n)
    return (n, n)


Region = Callable[[float, float, float], bool]


def _band(lo: float, hi: float) -> Callable[[float, float], bool]:
    """Slack widens (or, negative, narrows) a band at its inner boundaries, never at the
    image's own edges."""
    return lambda v, s: (lo - s if lo > 0 else lo) <= v <= (hi + s if hi < 1 else hi)


def _region(x: tuple[float, float] = (0, 1), y: tuple[float, float] = (0, 1)) -> Region:
    fx, fy = _band(*x), _band(*y)
    return lambda cx, cy, s: fx(cx, s) and fy(cy, s)


_T, _M, _B = (0, 1 / 3), (1 / 3, 2 / 3), (2 / 3, 1)
_V = {"top": "y", "upper": "y", "northern": "y", "north": "y", "bottom": "y", "lower": "y",
      "southern": "y", "south": "y", "left": "x", "western": "x", "west": "x", "right": "x",
      "eastern": "x", "east": "x"}
_LOW = {"top", "upper", "northern", "north", "left", "western", "west"}


def _side(word: str, extent: float) -> Region:
    word = word.lower().rstrip("-")
    span = (0.0, extent) if word in _LOW else (1 - extent, 1.0)
    return _region(x=span) if _V[word] == "x" else _region(y=span)


def _both(a: Region, b: Region) -> Region:
    return lambda cx, cy, s: a(cx, cy, s) and b(cx, cy, s)


_VW = r"(?:top|upper|northern|north|bottom|lower|southern|south)"
_HW = r"(?:left|western|west|right|eastern|east)"
_AREA = (r"(?:parts?|portions?|sections?|sectors?|areas?|regions?|zones?|third|sides?|half|"
         r"quadrant|corner|edge|border|margin|strip|band|reaches|end)")
_PRE = (r"(?:(?:at|on|in|to|toward|towards|near|along|across|within|inside|throughout|into|"
        r"over|from|by|hugging|lining|occupies|occupy|occupying|crosses|cross|crossing|spans|"
        r"hugs|hug|lines|line|fills|crowd|crowds|dominates|dominate)\s+(?:the\s+)?"
        r"(?:far\s+|extreme\s+|very\s+)?)?")
REGION = re.compile(
    rf"{_PRE}(?:(?P<corner>(?P<cv>{_VW})[\s-]*(?:and[\s-]+)?(?P<ch>{_HW})(?:[\s-]+hand)?[\s-]+corner)"
    rf"|(?P<quad>(?P<qv>{_VW})[\s-]*(?P<qh>{_HW})(?:[\s-]+hand)?(?:[\s-]+(?:quadrant|quarter|"
    rf"part|portion|section|area|region|side|sector|zone))?)"
    rf"|(?P<compass>(?P<kv>north|south)[\s-]?(?P<kh>west|east)(?:ern)?)"
    rf"|(?P<vcen>(?P<vw>{_VW})[\s-]+(?:centre|center|central|middle)(?![\w-]))"
    rf"|(?P<hcen>(?:(?P<hw2>left|right)[\s-]+of[\s-]+(?:the\s+)?(?:centre|center|middle)|"
    rf"(?:centre|center|middle)[\s-]+(?P<hw3>left|right))(?![\w-]))"
    rf"|(?P<axis>(?P<ax>horizontally|vertically)\s+(?:centred|centered|central)|"
    rf"(?P<mid>mid-height|mid-way\s+down|halfway\s+down|(?:the\s+)?(?:middle|central|centre|center)"
    rf"[\s-]+(?:band|strip|row|belt|latitude))|(?P<col>(?:the\s+)?(?:middle|central|centre|center)"
    rf"[\s-]+(?:column|vertical\s+strip|meridian)))"
    rf"|(?P<nearc>(?:near|close\s+to|around|towards|toward|not\s+far\s+from)\s+the\s+"
    rf"(?:centre|center|middle))"
    rf"|(?P<centre>(?:(?:the\s+)?(?:centre|center|middle|central)(?:[\s-]+(?:part|portion|"
    rf"section|area|region|zone|third))?|centrally)(?![\w-])(?!\s+(?:line|point|of\s+(?!the\s+"
    rf"(?:image|scene|frame|picture|chip|tile|view)))))"
    rf"|(?P<half>(?P<hw>{_VW}|{_HW})[\s-]+half)"
    r"|(?P<rel>(?P<relw>below|under|beneath|above|left\s+of|right\s+of)\s+(?:the\s+)?(?:mid-?height|"
    r"mid-?line|middle\s+line|centre\s+line|center\s+line|halfway\s+(?:line|mark)|"
    r"vertical\s+centre\s+line|horizontal\s+centre\s+line|image\s+centre\s+line)|"
    r"(?P<relv>below|above|beneath)\s+the\s+(?:middle|centre|center)(?![\w-])(?!\s+of\b))"
    rf"|(?P<edge>(?P<ew>{_VW}|{_HW})(?:\s+(?:or|and)\s+(?:the\s+)?(?P<ew2>{_VW}|{_HW}))?"
    rf"(?:[\s-]+(?:image|frame|scene))?[\s-]+(?:edge|border|margin|boundary|periphery|rim|"
    rf"fringe)s?)"
    rf"|(?P<third>(?P<tw>{_VW}|{_HW})(?:[\s-]+hand)?[\s-]+{_AREA})(?![\w-])"
    rf"|(?P<bare>(?:at|on|in|to|toward|towards|near|along|occupies|occupy|occupying|crosses|"
    rf"cross|crossing|spans|hugs|hug|lines|line|fills|crowd|crowds)\s+the\s+(?:(?:far|extreme|"
    rf"very)\s+)?(?P<bw>top|bottom|left|right|"
    rf"north|south|east|west)(?![\w-])(?![\s-]+(?:half|third|part|portion|side|corner|edge|"
    rf"quadrant|border|region|area|section|hand|sector|zone|end|strip|reaches|margin)\b)(?![\s-]+of\s+(?!the\s+(?:image|scene|frame|picture|chip|tile|"
    rf"view))))"
    rf"|(?P<upper>(?P<uw>upper|lower|northern|southern|western|eastern)\s+(?:image|scene|frame)))",
    re.I)


def core_start(m: re.Match[str]) -> int:
    """Where the region words start, after any preposition ("in the")."""
    return min(m.start(k) for k, v in m.groupdict().items() if v)


def region_axes(m: re.Match[str]) -> str:
    """Which axes a region constrains: "x", "y" or "xy"."""
    g = m.groupdict()
    if g["corner"] or g["quad"] or g["compass"] or g["vcen"]:
        return "xy"
    if g["nearc"] or g["centre"]:
        return "c"  # both, but only the free axis when combined with a one-axis region
    if g["hcen"] or g["col"] or (g["axis"] and (g["ax"] or "").lower() == "horizontally"):
        return "x"
    if g["axis"]:
        return "y"
    if g["rel"]:
        return "x" if "of" in (g["relw"] or "").lower() else "y"
    word = (g["hw"] or g["ew"] or g["tw"] or g["bw"] or g["uw"] or "").lower()
    return "x" if _V.get(word) == "x" else "y"


class Where:
    """A region phrase, or several joined by "and"/"or"/commas ("at the top left, at the top
    and in the center": the union of them)."""

    def __init__(self, text: str, matches: list[re.Match[str]]) -> None:
        self.matches = matches
        self.a, self.b = matches[0].start(), matches[-1].end()
        self.text = text[self.a:self.b]
        self.core = core_start(matches[0])
        self.bare = len(matches) == 1 and bool(matches[0].group("bare"))
        self.axes = region_axes(matches[0]) if len(matches) == 1 else "xy"
        preds = [region_of(m) for m in matches]
        axes = [region_axes(m) for m in matches]
        one = set(axes) - {"c"}
        if "c" in axes and one in ({"x"}, {"y"}):  # "the central and lower parts": a band
            band = _region(x=_M) if one == {"x"} else _region(y=_M)
            preds = [band if a == "c" else p for a, p in zip(axes, preds, strict=True)]
        self.pred: Region = preds[0] if len(preds) == 1 else (
            lambda cx, cy, s: any(p(cx, cy, s) for p in preds))

    def start(self) -> int:
        return self.a

    def end(self) -> int:
        return self.b


_UNION_LINK = re.compile(r"\s*(?:,\s*(?:and\s+|or\s+)?|\s(?:and|or)\s+)(?:(?:at|in|on|near|along|"
                         r"to|toward|towards|by)\s+)?(?:the\s+)?(?:(?:very|far)\s+)?", re.I)


def regions_in(text: str) -> list[Where]:
    """Every region phrase of ``text``, unions merged."""
    out: list[list[re.Match[str]]] = []
    for m in REGION.finditer(text):
        link = text[out[-1][-1].end():core_start(m)] if out else ""
        if out and _UNION_LINK.fullmatch(link) and not (
                re.search(r"\bthe\s*$", link) and not re.search(
                    r"\b(?:at|in|on|near|along|to|toward|towards|by)\s+the\s*$", link)):
            out[-1].append(m)
        else:
            out.append([m])
    return [Where(text, ms) for ms in out]


def combined_region(wheres: list[Where]) -> Region:
    """Several regions said of one group hold together; "near the centre" next to a one-axis
    region ("in the upper half, near the centre") constrains only the other axis."""
    axes = {w.axes for w in wheres}
    preds = []
    for w in wheres:
        if w.axes == "c" and axes - {"c"} in ({"x"}, {"y"}):
            free = "y" if axes - {"c"} == {"x"} else "x"
            span = (0.25, 0.75) if w.matches[0].group("nearc") or _near(w.matches[0]) else _M
            preds.append(_region(x=span) if free == "x" else _region(y=span))
        else:
            preds.append(w.pred)
    return lambda cx, cy, s: all(p(cx, cy, s) for p in preds)


def _near(m: re.Match[str]) -> bool:
    """"near the centre" (the preposition read as part of the place): 0.25-0.75."""
    return bool(m.group("centre")) and bool(re.match(r"(?:near|around|toward|towards)\b",
                                                     m.group(0), re.I))


def region_of(m: re.Match[str]) -> Region:
    """The predicate a REGION match means (thirds, halves, quadrants, corners, edges, centre)."""
    g = m.groupdict()
    if g["corner"]:
        return _both(_side(g["cv"], 1 / 3), _side(g["ch"], 1 / 3))
    if g["quad"]:
        return _both(_side(g["qv"], 1 / 2), _side(g["qh"], 1 / 2))
    if g["compass"]:
        return _both(_side(g["kv"], 1 / 2), _side(g["kh"], 1 / 2))
    if g["vcen"]:
        return _both(_side(g["vw"], 1 / 3), _region(x=(0.25, 0.75)))
    if g["hcen"]:
        word = (g["hw2"] or g["hw3"]).lower()
        return _region(x=(0.5, 0.8) if word == "right" else (0.2, 0.5))
    if g["axis"]:
        if g["col"]:
            return _region(x=_M)
        if g["mid"] or (g["ax"] or "").lower() == "vertically":
            return _region(y=_M)
        return _region(x=_M)
    if g["nearc"] or (g["centre"] and _near(m)):
        return _region((0.25, 0.75), (0.25, 0.75))
    if g["centre"]:
        return _region(_M, _M)
    if g["half"]:
        return _side(g["hw"], 1 / 2)
    if g["rel"]:  # "below mid-height": the lower half
        word = re.sub(r"\s+of$", "", (g["relw"] or g["relv"]).lower())
        return _side({"below": "bottom", "under": "bottom", "beneath": "bottom",
                      "above": "top"}.get(word, word), 1 / 2)
    if g["edge"]:
        if g["ew2"]:
            a, b = _side(g["ew"], 0.15), _side(g["ew2"], 0.15)
            return lambda cx, cy, s: a(cx, cy, s) or b(cx, cy, s)
        return _side(g["ew"], 0.15)
    word = g["tw"] or g["bw"] or g["uw"]
    return _side(word, 1 / 3)
