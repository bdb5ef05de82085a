"""Checks of scene claims: metadata, resolution, time, land cover, colour, optical, place."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from narrator.screen.vocab import ScreenVocabulary

if TYPE_CHECKING:
    from narrator.screen.checks import Outcome
    from narrator.screen.claims import Claim

RESOLUTION_TOLERANCE = 0.25
SHARE_TOLERANCE = 0.10
DOMINANT_MIN = 0.40
INCIDENCE_TOLERANCE = 3.0
_MODES = {"iw": "iw", "interferometric wide": "iw", "interferometric wide swath": "iw",
          "extra wide swath": "ew", "strip-map": "sm", "stripmap mode": "sm", "ew": "ew", "extra wide": "ew",
          "sm": "sm", "stripmap": "sm", "strip map": "sm", "spotlight": "spotlight",
          "sliding spotlight": "spotlight", "scansar": "scansar", "wave mode": "wv"}
_PRODUCTS = {"grd", "slc", "gec", "sicd", "sidd"}
_MONTHS = ("january february march april may june july august september october november "
           "december").split()
_SEASONS = {"winter": (12, 1, 2), "spring": (3, 4, 5), "summer": (6, 7, 8), "autumn": (9, 10, 11)}
_TOD = {"morning": (5, 12), "afternoon": (12, 18), "evening": (17, 22), "dawn": (4, 8),
        "dusk": (17, 21), "night": (20, 30), "overnight": (20, 30)}


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _outcome(c: Claim, ok: bool | None, truth: Any) -> Outcome:
    from narrator.screen.checks import Outcome

    status = "unsupported" if ok is None else ("supported" if ok else "contradicted")
    return Outcome(c, status, truth)


def _sensor(c: Claim, geo: dict[str, Any]) -> Outcome:
    key = {"platform": "platform", "band": "band", "polarization": "polarization",
           "mode": "mode", "orbit": "orbit_direction", "incidence": "incidence_angle",
           "resolution": "gsd_m"}[c.kind]
    if c.kind == "mode" and _norm(c.value) in _PRODUCTS:
        text = f"{geo.get('product', '')} {geo.get('mode', '')}".lower()
        return _outcome(c, (_norm(c.value) in text) if text.strip() else None,
                        geo.get("product"))
    truth = geo.get(key)
    if truth is None or truth == "":
        return _outcome(c, None, None)
    if c.kind == "platform":
        said, t = _norm(c.value), _norm(str(truth))
        return _outcome(c, said.startswith(t) or t.startswith(said), truth)
    if c.kind == "band":
        return _outcome(c, c.value.lower() == str(truth).lower(), truth)
    if c.kind == "polarization":
        pols = set(re.findall(r"HH|HV|VH|VV", str(truth).upper()))
        v = c.value.upper()
        ok = {"DUAL": len(pols) >= 2, "QUAD": len(pols) == 4, "FULL": len(pols) == 4,
              "SING": len(pols) == 1, "CROS": bool(pols & {"HV", "VH"}),
              "CO": bool(pols & {"HH", "VV"})}.get(v[:4] if v[:2] not in ("HH", "HV", "VH", "VV")
                                                    else "", set(v.split()) <= pols)
        return _outcome(c, ok, truth)
    if c.kind == "mode":
        said = _MODES.get(re.sub(r"[\s-]+", " ", c.value.lower()), _norm(c.value))
        t = _MODES.get(re.sub(r"[\s-]+", " ", str(truth).lower()), _norm(str(truth)))
        return _outcome(c, said == t or said in _norm(str(truth)), truth)
    if c.kind == "orbit":
        return _outcome(c, c.value == str(truth).lower(), truth)
    if c.kind == "incidence":
        return _outcome(c, abs(c.value - float(truth)) <= INCIDENCE_TOLERANCE, truth)
    return _outcome(c, abs(c.value - truth) <= RESOLUTION_TOLERANCE * truth, truth)


def _time(c: Claim, geo: dict[str, Any]) -> Outcome:
    raw = geo.get("acquired_at")
    if not raw:
        return _outcome(c, None, None)
    try:
        when = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return _outcome(c, None, raw)
    word = c.value
    if c.subject == "year":
        return _outcome(c, int(word) == when.year, raw)
    if c.subject == "month":
        return _outcome(c, _MONTHS.index(word) + 1 == when.month, raw)
    if c.subject == "clock":  # "21:52 UTC": within an hour
        hh, mm = (int(x) for x in re.findall(r"\d+", word)[:2])
        said = hh * 60 + mm
        at = when.hour * 60 + when.minute
        return _outcome(c, min(abs(said - at), 1440 - abs(said - at)) <= 60, raw)
    if c.subject == "season":
        month = when.month if (geo.get("center_lat") or 0) >= 0 else (when.month + 5) % 12 + 1
        return _outcome(c, month in _SEASONS[word], raw)
    lon = geo.get("center_lon")
    if lon is None:
        return _outcome(c, True, raw)
    hour = (when.hour + when.minute / 60 + lon / 15) % 24
    key = next((k for k in _TOD if k in word), "night")
    lo, hi = _TOD[key]
    return _outcome(c, lo <= hour <= hi or lo <= hour + 24 <= hi, f"{raw} (local ~{hour:.0f}h)")


def _land(c: Claim, facts: dict[str, Any], vocab: ScreenVocabulary) -> Outcome:
    land: dict[str, float] = {}
    for k, v in (facts.get("land_cover") or {}).items():
        key = vocab.canonical_land(k)
        land[key] = land.get(key, 0.0) + v
    if not land:
        return _outcome(c, None, None)
    if "land" not in land:
        land["land"] = sum(v for k, v in land.items() if k != "water")
    if c.subject == "not water":
        land["not water"] = land["land"]
    share = land.get(c.subject, 0.0)
    truth = {k: round(v, 3) for k, v in land.items() if k != "land"}
    if c.kind == "land_mention":
        return _outcome(c, share > 0, truth)
    if c.kind == "land_absent":
        return _outcome(c, share < 0.02, truth)
    if c.kind == "land_dominant":
        top = max(v for k, v in land.items() if k not in ("land", "not water"))
        top = max(top, 0.0) if c.subject != "land" else land.get("water", 0.0)
        return _outcome(c, share >= DOMINANT_MIN and share >= top - 1e-9, truth)
    return _outcome(c, abs(share - c.value) <= SHARE_TOLERANCE, truth)


def _location(facts: dict[str, Any]) -> str:
    geo = facts.get("geo") or {}
    parts = [facts.get(k) for k in ("place", "admin_region", "country", "location")]
    parts += [geo.get(k) for k in ("place", "admin_region", "country", "location", "region")]
    return " ".join(str(p) for p in parts if p and not isinstance(p, dict | list)).lower()


def _place(c: Claim, facts: dict[str, Any]) -> Outcome:
    where = _location(facts)
    if not where:
        return _outcome(c, None, None)
    words = [w for w in re.findall(r"[a-z]{3,}", c.value.lower())
             if w not in ("the", "port", "sea", "gulf", "bay", "strait", "river", "mount",
                          "island", "lake", "of", "coast", "harbor", "harbour", "airport",
                          "region", "province", "state", "city", "county", "district",
                          "republic", "kingdom", "isle", "cape", "islands")]
    ok = any(w in where for w in words) if words else c.value.lower() in where
    return _outcome(c, ok, where)


def check_scene_claim(c: Claim, facts: dict[str, Any], vocab: ScreenVocabulary) -> Outcome:
    geo = facts.get("geo") or {}
    if c.kind in ("platform", "band", "polarization", "mode", "orbit", "incidence",
                  "resolution"):
        return _sensor(c, geo)
    if c.kind == "time":
        return _time(c, geo)
    if c.kind.startswith("land_"):
        return _land(c, facts, vocab)
    if c.kind == "place":
        return _place(c, facts)
    if c.kind in ("colour", "optical"):
        return _outcome(c, False, "SAR images are greyscale radar images")
    return _outcome(c, None, None)
