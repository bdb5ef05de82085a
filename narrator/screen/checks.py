"""Check claims against SceneFacts. Each violation names its type, text span and the truth."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from narrator.screen.claims import Claim, Lexicon, default_lexicon, extract_claims

#: violation types, in the order the README documents them
VIOLATION_TYPES = ("wrong_count", "absent_category", "missing_salient", "wrong_position",
                   "wrong_land_cover", "wrong_sensor", "wrong_resolution", "colour_word",
                   "optical_phrase")
#: how far a stated land-cover share or resolution may be from the facts
SHARE_TOLERANCE = 0.05
RESOLUTION_TOLERANCE = 0.25


@dataclass(frozen=True, slots=True)
class Violation:
    type: str
    span: tuple[int, int]
    text: str
    expected: Any = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Verdict:
    claims: list[Claim]
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _check_count(c: Claim, counts: dict[str, int]) -> Violation | None:
    truth = counts.get(c.subject, 0)
    if isinstance(c.value, tuple):
        low, high = c.value
        ok = truth >= low and (high is None or truth <= high)
    else:
        ok = truth == c.value
    return None if ok else Violation("wrong_count", c.span, c.text, truth)


def _check_position(c: Claim, facts: dict[str, Any]) -> Violation | None:
    cells = {o["cell"] for o in facts["objects"] if o["category"] == c.subject}
    if not cells or cells & c.value:
        return None  # absent categories are reported by the presence check
    return Violation("wrong_position", c.span, c.text, sorted(cells))


def _check_land(c: Claim, facts: dict[str, Any]) -> Violation | None:
    land: dict[str, float] = facts.get("land_cover") or {}
    if not land:
        return None  # no mask: nothing to check land-cover words against
    if c.kind == "land_dominant" and c.subject != facts.get("dominant_land_cover"):
        return Violation("wrong_land_cover", c.span, c.text, facts.get("dominant_land_cover"))
    if c.kind == "land_share" and abs(land.get(c.subject, 0.0) - c.value) > SHARE_TOLERANCE:
        return Violation("wrong_land_cover", c.span, c.text, round(land.get(c.subject, 0.0), 3))
    if c.kind == "land_mention" and land.get(c.subject, 0.0) == 0.0:
        return Violation("wrong_land_cover", c.span, c.text, sorted(land))
    return None


def _check_sensor(c: Claim, geo: dict[str, Any]) -> Violation | None:
    if c.kind == "band" and geo.get("band") and c.value != geo["band"]:
        return Violation("wrong_sensor", c.span, c.text, geo["band"])
    if c.kind == "polarization" and geo.get("polarization"):
        allowed = set(re.findall(r"HH|HV|VH|VV", str(geo["polarization"]).upper()))
        if c.value not in allowed:
            return Violation("wrong_sensor", c.span, c.text, geo["polarization"])
    if c.kind == "platform" and geo.get("platform"):
        said, truth = _norm(c.value), _norm(str(geo["platform"]))
        if not (said.startswith(truth) or truth.startswith(said)):
            return Violation("wrong_sensor", c.span, c.text, geo["platform"])
    if c.kind == "resolution" and geo.get("gsd_m"):
        if abs(c.value - geo["gsd_m"]) > RESOLUTION_TOLERANCE * geo["gsd_m"]:
            return Violation("wrong_resolution", c.span, c.text, geo["gsd_m"])
    return None


def check_claims(claims: list[Claim], facts: dict[str, Any]) -> list[Violation]:
    counts: dict[str, int] = facts["counts"]
    out: list[Violation] = []
    for c in claims:
        v: Violation | None = None
        if c.kind == "count":
            v = _check_count(c, counts)
        elif c.kind == "present" and counts.get(c.subject, 0) == 0:
            v = Violation("absent_category", c.span, c.text, 0)
        elif c.kind == "position":
            v = _check_position(c, facts)
        elif c.kind.startswith("land_"):
            v = _check_land(c, facts)
        elif c.kind in ("band", "polarization", "platform", "resolution"):
            v = _check_sensor(c, facts.get("geo") or {})
        elif c.kind == "colour":
            v = Violation("colour_word", c.span, c.text)
        elif c.kind == "optical":
            v = Violation("optical_phrase", c.span, c.text)
        if v is not None:
            out.append(v)
    out.extend(_missing_salient(claims, counts))
    return out


def _missing_salient(claims: list[Claim], counts: dict[str, int]) -> list[Violation]:
    """The most numerous category (all tied ones) must be mentioned."""
    if not counts:
        return []
    top = max(counts.values())
    mentioned = {c.subject for c in claims if c.kind in ("present", "count")}
    return [Violation("missing_salient", (0, 0), cat, n) for cat, n in sorted(counts.items())
            if n == top and cat not in mentioned]


def screen_text(text: str, facts: dict[str, Any], lexicon: Lexicon | None = None) -> Verdict:
    """Extract the claims of ``text`` and check every one against ``facts``."""
    claims = extract_claims(text, lexicon or default_lexicon())
    return Verdict(claims, check_claims(claims, facts))
