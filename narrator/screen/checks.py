"""Check claims against SceneFacts: each claim is supported, contradicted or unsupported.

The reject policy (README "Screening") turns outcomes into violations: every contradicted
claim rejects; an unsupported claim rejects when it is specific and checkable only against
metadata the scene lacks (sensor, band, polarization, mode, resolution, time, orbit,
incidence angle, a length in metres without pixel spacing, a place name without a location).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from narrator.screen.claims import Claim, object_claims
from narrator.screen.fluency import fluency_violations
from narrator.screen.metachecks import check_scene_claim
from narrator.screen.scene_claims import scene_claims
from narrator.screen.vocab import ScreenVocabulary, default_vocabulary

#: violation types, in the order the README documents them
VIOLATION_TYPES = ("wrong_count", "absent_category", "wrong_position", "wrong_size",
                   "wrong_fine_type", "wrong_length", "wrong_land_cover", "wrong_sensor",
                   "wrong_resolution", "unsupported_metadata", "wrong_place",
                   "unsupported_place", "colour_word", "optical_phrase", "degenerate_text",
                   "missing_salient", "missing_main_category")
#: claim kind -> violation type when contradicted
CONTRADICTED = {"count": "wrong_count", "present": "absent_category",
                "position": "wrong_position", "size": "wrong_size",
                "fine_type": "wrong_fine_type", "fine_at": "wrong_fine_type",
                "area_share": "wrong_size",
                "length": "wrong_length",
                "land_mention": "wrong_land_cover", "land_dominant": "wrong_land_cover",
                "land_share": "wrong_land_cover", "land_absent": "wrong_land_cover",
                "platform": "wrong_sensor",
                "band": "wrong_sensor", "polarization": "wrong_sensor", "mode": "wrong_sensor",
                "time": "wrong_sensor", "orbit": "wrong_sensor", "incidence": "wrong_sensor",
                "resolution": "wrong_resolution", "place": "wrong_place",
                "colour": "colour_word", "optical": "optical_phrase"}
#: claim kind -> violation type when unsupported (kinds not listed: unsupported is accepted)
UNSUPPORTED = {k: "unsupported_metadata" for k in ("platform", "band", "polarization", "mode",
                                                   "time", "orbit", "incidence", "resolution",
                                                   "length")} | {"place": "unsupported_place"}
SLACK = 0.03         # of the image side: a centre this close to a region boundary is either side
LARGE_MIN = 0.04     # "large": >= 5% of the image area, less 20%
SMALL_MAX = 0.0065   # "small": <= 0.5% of the image area, plus 30%
FILLS_MIN = 0.25     # "fills the frame": >= 30%, less the same margin


@dataclass(frozen=True, slots=True)
class Violation:
    type: str
    span: tuple[int, int]
    text: str
    expected: Any = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Outcome:
    claim: Claim
    status: str          # supported, contradicted, unsupported
    truth: Any = None

    def to_dict(self) -> dict[str, Any]:
        c = self.claim
        value = list(c.value) if isinstance(c.value, tuple) else c.value
        return {"kind": c.kind, "subject": c.subject, "value": value, "span": list(c.span),
                "text": c.text, "status": self.status, "truth": self.truth}


@dataclass
class Policy:
    """Which outcomes reject; ``require_salient``: the most numerous category must be named."""

    unsupported: dict[str, str] = field(default_factory=lambda: dict(UNSUPPORTED))
    require_salient: bool = False
    #: check fluency (length, repetition, lists); off for short field values
    fluency: bool = True
    #: context text (FUSAR-style fields: terrain, buildings, water ...): words of the scene's
    #: context are not claims that annotated objects exist
    context: bool = False


@dataclass
class Verdict:
    claims: list[Claim]
    violations: list[Violation] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def unsupported(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "unsupported"]


def _members(facts: dict[str, Any], subject: str, fine: str | None = None
             ) -> list[dict[str, Any]]:
    """The objects a claim is about: of its categories and, where the scene has fine types,
    of its fine type (or fine-type group, "widebody")."""
    cats = set(subject.split("|")) if subject else None
    objs = [o for o in facts.get("objects", []) if cats is None or o["category"] in cats]
    if fine and any(o.get("fine_type") for o in objs):
        types = default_vocabulary().fine_groups.get(fine, {fine})
        objs = [o for o in objs if o.get("fine_type") in types]
    return objs


def _count(facts: dict[str, Any], subject: str, fine: str | None = None) -> int:
    """How many objects a count is about (SceneFacts ``counts`` where no fine type is named)."""
    if fine is None and "counts" in facts:
        return sum(facts["counts"].get(c, 0) for c in subject.split("|"))
    return len(_members(facts, subject, fine))


def _in_range(n: int, rng: tuple[int, int | None]) -> bool:
    return n >= rng[0] and (rng[1] is None or n <= rng[1])


def _check_position(c: Claim, facts: dict[str, Any]) -> Outcome:
    _region, mode, qty, fine, *size = c.value
    members = _members(facts, c.subject, fine)
    if size and size[0] in ("larger", "smaller") and members:  # "the bigger ones": upper half
        mid = sorted(o["rel_area"] for o in members)[len(members) // 2]
        members = [o for o in members
                   if (o["rel_area"] >= mid if size[0] == "larger" else o["rel_area"] <= mid)]
    elif size and size[0]:  # "two large vessels, both in ...": the large ones
        sized = [o for o in members if _SIZE_OK[size[0]](o["rel_area"])]
        members = sized or members
    if mode in ("max", "min") and members:
        areas = [o["rel_area"] for o in members]
        pick = max(areas) * 0.85 if mode == "max" else min(areas) * 1.15
        members = [o for o, a in zip(members, areas, strict=True)
                   if (a >= pick if mode == "max" else a <= pick)]
        mode = "exists"
    w, h = facts["size"]
    pts = [(o["center"][0] / w, o["center"][1] / h) for o in members]
    loose = sum(c.detail(x, y, SLACK) for x, y in pts)
    strict = sum(c.detail(x, y, -SLACK) for x, y in pts)
    truth = {"in_region": f"{strict}-{loose}" if strict != loose else loose,
             "of": len(members)}
    if mode == "all":
        ok = loose == len(members) and (qty is None or _in_range(len(members), qty))
    elif mode == "most":
        ok = loose * 2 > len(members)
    elif mode == "half":  # "half of them": at least half (and no fewer than one)
        ok = loose * 2 >= len(members) and loose >= 1
    elif mode == "exact" and qty is not None:
        ok = qty[0] <= loose and (qty[1] is None or strict <= qty[1])
    elif mode == "subset":
        ok = loose >= max(1, qty[0] if qty else 1)
    else:
        ok = loose >= 1 or not members
    return Outcome(c, "supported" if ok else "contradicted", truth)


def _check_object(c: Claim, facts: dict[str, Any], vocab: ScreenVocabulary) -> Outcome:
    if c.kind == "count":
        low, high, fine = c.value
        n = _count(facts, c.subject, fine)
        ok = _in_range(n, (low, high))
        if fine and not any(o.get("fine_type") for o in _members(facts, c.subject)):
            return Outcome(c, "supported", "no fine types known")  # "two tankers" on SSDD
        if not ok and isinstance(c.detail, dict) and "size" in c.detail:
            ok = _size_count_fits(c, facts, (low, high))  # "three large ships" of five
        return Outcome(c, "supported" if ok else "contradicted", n)
    if c.kind == "fine_at":
        return _check_fine_at(c, facts)
    if c.kind == "area_share":
        return _check_area_share(c, facts)
    if c.kind == "present":
        n = _count(facts, c.subject)
        if n == 0 and _land_context(c.text, facts, vocab):
            return Outcome(c, "supported", "land cover")
        return Outcome(c, "supported" if n else "contradicted", n)
    if c.kind == "fine_type":
        types = sorted({o.get("fine_type") for o in _members(facts, c.value)
                        if o.get("fine_type")})
        ok = not types or bool(_members(facts, c.value, c.subject))
        return Outcome(c, "supported" if ok else "contradicted", types)
    if c.kind == "position":
        return _check_position(c, facts)
    if c.kind == "size":
        return _check_size(c, facts)
    return _check_length(c, facts)


_SIZE_OK = {"large": lambda a: a >= LARGE_MIN, "small": lambda a: a <= SMALL_MAX,
            "fills": lambda a: a >= FILLS_MIN}
#: the same sizes read strictly: an object surely of that size
_SIZE_SURE = {"large": lambda a: a >= 0.05 * 1.2, "small": lambda a: a <= 0.005 * 0.7,
              "fills": lambda a: a >= 0.3 * 1.2}


def _in_place(c: Claim, members: list[dict[str, Any]], facts: dict[str, Any]
              ) -> list[dict[str, Any]]:
    """The members a claim picks by place ("the one on the left"), read loosely."""
    where = c.detail.get("where") if isinstance(c.detail, dict) else (
        c.detail if callable(c.detail) else None)
    if where is None or "size" not in facts:
        return members
    w, h = facts["size"]
    return [o for o in members if where(o["center"][0] / w, o["center"][1] / h, SLACK)]


def _check_size(c: Claim, facts: dict[str, Any]) -> Outcome:
    """Some member has the size (at least ``min`` of them; "-all": every member)."""
    members = _members(facts, c.subject)
    areas = [o["rel_area"] for o in _in_place(c, members, facts)]
    kind, every = c.value.removesuffix("-all"), c.value.endswith("-all")
    ok = _SIZE_OK[kind]
    need = c.detail.get("min", 1) if isinstance(c.detail, dict) else 1
    held = all(map(ok, areas)) if every else sum(map(ok, areas)) >= need
    if members and not areas:
        held = False  # nothing of that kind in the place named
    return Outcome(c, "supported" if not members or held else "contradicted",
                   [round(a, 4) for a in areas[:8]])


def _size_count_fits(c: Claim, facts: dict[str, Any], rng: tuple[int, int | None]) -> bool:
    """"Three large ships": the count of the ships of that size fits (surely .. possibly)."""
    kind = c.detail["size"]
    areas = [o["rel_area"] for o in _members(facts, c.subject, c.value[2])]
    loose = sum(map(_SIZE_OK[kind], areas))
    sure = sum(map(_SIZE_SURE[kind], areas))
    return sure <= (rng[1] if rng[1] is not None else loose) and loose >= rng[0]


def _check_area_share(c: Claim, facts: dict[str, Any]) -> Outcome:
    """"covers about 8% of the image": within a factor of two (or half a point); "under /
    over N%" a bound, with a quarter of slack."""
    areas = [o["rel_area"] for o in _members(facts, c.subject)]
    if areas and c.detail.get("super"):
        areas = [max(areas)] if c.detail["super"] == "max" else [min(areas)]
    v, bound = c.value, c.detail["bound"]
    fits = {"<": lambda a: a < 1.25 * v, ">": lambda a: a > 0.8 * v,
            "~": lambda a: v / 2 <= a <= 2 * v or abs(a - v) <= 0.005}[bound]
    ok = not areas or any(map(fits, areas))
    return Outcome(c, "supported" if ok else "contradicted", [round(a, 4) for a in areas[:8]])


def _check_fine_at(c: Claim, facts: dict[str, Any]) -> Outcome:
    """"The aircraft in the upper left is an A330": an object there has that type."""
    members = _members(facts, c.subject)
    typed = [o for o in members if o.get("fine_type")]
    if not typed:
        return Outcome(c, "supported", None)
    there = _in_place(c, members, facts)
    types = default_vocabulary().fine_groups.get(c.value, {c.value})
    ok = any(o.get("fine_type") in types for o in there)
    if isinstance(c.detail, dict) and c.detail.get("all"):
        ok = all(o.get("fine_type") in types for o in members)
    if isinstance(c.detail, dict) and c.detail.get("most"):
        ok = 2 * sum(o.get("fine_type") in types for o in members) > len(members)
    return Outcome(c, "supported" if ok else "contradicted",
                   sorted({str(o.get("fine_type")) for o in there}) or "nothing there")


def _check_length(c: Claim, facts: dict[str, Any]) -> Outcome:
    gsd = (facts.get("geo") or {}).get("gsd_m")
    if not gsd:
        return Outcome(c, "unsupported", "pixel spacing unknown")
    lo, hi, fine = c.value
    members = _members(facts, c.subject, fine) or facts.get("objects", [])
    every = isinstance(c.detail, dict) and c.detail.get("all")
    if isinstance(c.detail, dict) and c.detail.get("super") and members:  # "the largest, 300 m"
        top = max(o["rel_area"] for o in members) * 0.85
        low = min(o["rel_area"] for o in members) * 1.15
        members = [o for o in members if (o["rel_area"] >= top if c.detail["super"] == "max"
                                          else o["rel_area"] <= low)]
    if every:  # "each about 20 m across": every member of the group named
        members = _in_place(c, members, facts)
        if c.detail.get("size"):
            members = [o for o in members if _SIZE_OK[c.detail["size"]](o["rel_area"])]
    lengths, fits = [], []
    for o in members:
        x0, y0, x1, y1 = o["box"]
        own = [max(x1 - x0, y1 - y0) * gsd] + ([o["length_m"]] if o.get("length_m") else [])
        lengths += own
        fits.append(any(lo <= 1.25 * L and hi >= 0.75 * L for L in own))
    ok = all(fits) if every else any(fits)
    return Outcome(c, "supported" if ok else "contradicted",
                   sorted({round(L) for L in lengths})[:12])


def _land_context(word: str, facts: dict[str, Any], vocab: ScreenVocabulary) -> bool:
    """A category word that is also a land-cover word ("buildings") on a scene with that class."""
    cls = vocab.land_of(word)
    land = {vocab.canonical_land(k): v for k, v in (facts.get("land_cover") or {}).items()}
    return cls is not None and land.get(cls, 0) > 0


def check_claims(claims: list[Claim], facts: dict[str, Any],
                 vocab: ScreenVocabulary | None = None) -> list[Outcome]:
    vocab = vocab or default_vocabulary()
    out = []
    for c in claims:
        if c.kind in ("count", "present", "fine_type", "fine_at", "position", "size", "length",
                      "area_share"):
            out.append(_check_object(c, facts, vocab))
        else:
            out.append(check_scene_claim(c, facts, vocab))
    return out


def violations_of(outcomes: list[Outcome], policy: Policy) -> list[Violation]:
    out: dict[tuple[str, tuple[int, int]], Violation] = {}
    for o in outcomes:
        c = o.claim
        vtype = (CONTRADICTED.get(c.kind) if o.status == "contradicted"
                 else policy.unsupported.get(c.kind) if o.status == "unsupported" else None)
        if vtype:
            out.setdefault((vtype, c.span), Violation(vtype, c.span, c.text, o.truth))
    return list(out.values())


#: a scene of at most this many objects: its detailed caption names every category in it
FEW_OBJECTS = 3


def main_categories(counts: dict[str, int]) -> list[str]:
    """The categories a detailed caption must name (by name or a synonym the vocabulary
    knows): the most numerous ones (all tied), or every category when the scene holds
    at most ``FEW_OBJECTS`` objects."""
    present = {c: n for c, n in counts.items() if n > 0}
    if not present:
        return []
    if sum(present.values()) <= FEW_OBJECTS:
        return sorted(present)
    top = max(present.values())
    return sorted(c for c, n in present.items() if n == top)


def missing_main_category(claims: list[Claim], counts: dict[str, int]) -> list[Violation]:
    """A ``missing_main_category`` violation for each main category (``main_categories``)
    that no claim of the text names."""
    mentioned = {s for c in claims if c.kind in ("present", "count", "position")
                 for s in c.subject.split("|")}
    return [Violation("missing_main_category", (0, 0), cat, counts[cat])
            for cat in main_categories(counts) if cat not in mentioned]


def missing_salient(claims: list[Claim], counts: dict[str, int]) -> list[Violation]:
    """The most numerous category (all tied ones) must be mentioned."""
    if not counts:
        return []
    top = max(counts.values())
    mentioned = {s for c in claims if c.kind in ("present", "count", "position")
                 for s in c.subject.split("|")}
    return [Violation("missing_salient", (0, 0), cat, n) for cat, n in sorted(counts.items())
            if n == top and cat not in mentioned]


def extract_claims(text: str, vocab: ScreenVocabulary | None = None) -> list[Claim]:
    """Every claim in ``text``, in order of appearance."""
    vocab = vocab or default_vocabulary()
    scene, places = scene_claims(text, vocab)
    claims = object_claims(text, vocab, places) + scene
    return sorted(claims, key=lambda c: (c.span, c.kind))


def screen_text(text: str, facts: dict[str, Any], vocab: ScreenVocabulary | None = None,
                policy: Policy | None = None) -> Verdict:
    """Extract the claims of ``text``, check each against ``facts``, apply the policy."""
    policy = policy or Policy()
    claims = extract_claims(text, vocab)
    if policy.context:
        claims = [c for c in claims if c.kind not in ("present", "land_mention")]
    outcomes = check_claims(claims, facts, vocab)
    violations = fluency_violations(text) if policy.fluency else []
    violations += violations_of(outcomes, policy)
    if policy.require_salient:
        violations += missing_salient(claims, facts.get("counts") or {})
    return Verdict(claims, violations, outcomes)
