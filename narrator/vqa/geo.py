"""Answer functions about where and how a scene was imaged: country, nearest place, land or
sea, pixel spacing, polarization -- from the geo facts (narrator.geo) and raster metadata, so
that scenes without annotations still get informative questions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from narrator.text import Vocabulary
from narrator.vqa.context import Group, SceneContext, sig3

#: a country is asked only when the nearest place is this close (km): a sea scene far from
#: any town may lie off another country's coast
COUNTRY_KM = 30.0
_POLS = {"HH", "HV", "VH", "VV"}


#: the answer functions of this module (the rest are phrase helpers shared with captions)
ANSWERS = ("country", "place", "surface", "spacing", "polarization")

def where_phrase(geo: dict[str, Any]) -> str | None:
    """'near Daya Nueva (Valencia, Spain)' or 'about 18 km from Isangel (Tafea, Vanuatu)'."""
    if not geo.get("place"):
        return None
    within = ", ".join(v for k in ("admin_region", "country") if (v := geo.get(k)))
    km = geo.get("place_distance_km", 0.0)
    lead = "near" if km < 5 else f"about {round(km)} km from"
    return f"{lead} {geo['place']}" + (f" ({within})" if within else "")


def _params(geo: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: geo[k] for k in keys if k in geo}


def country(ctx: SceneContext) -> Iterator[Group]:
    geo = ctx.facts["geo"]
    if geo.get("country") and geo.get("place_distance_km", 1e9) <= COUNTRY_KM:
        yield [("default", _params(geo, "country", "place", "place_distance_km"),
                {"country": geo["country"]})]


def place(ctx: SceneContext) -> Iterator[Group]:
    geo = ctx.facts["geo"]
    if geo.get("place"):
        within = ", ".join(v for k in ("admin_region", "country") if (v := geo.get(k)))
        km = geo.get("place_distance_km", 0.0)
        text = geo["place"] + (f" ({within})" if within else "")
        text += ", at the scene" if km < 5 else f", about {round(km)} km from the scene centre"
        yield [("default", _params(geo, "place", "admin_region", "country", "place_distance_km"),
                {"place": text})]


def surface(ctx: SceneContext) -> Iterator[Group]:
    """Land, sea or both by the global mask; not asked where a land-cover mask says more."""
    geo = ctx.facts["geo"]
    if geo.get("surface") and not ctx.facts.get("land_cover"):
        yield [(geo["surface"].replace(" ", "_"), _params(geo, "surface", "island_km2"),
                {"area": sig3(geo["island_km2"]) if geo.get("island_km2") else ""})]


def spacing(ctx: SceneContext) -> Iterator[Group]:
    gsd = ctx.facts["geo"].get("gsd_m")
    if gsd:
        yield [("default", {"gsd_m": gsd}, {"length": sig3(gsd)})]


def polarization(ctx: SceneContext) -> Iterator[Group]:
    pol = str(ctx.facts["geo"].get("polarization") or "").upper()
    parts = [p for p in pol.replace("/", "+").replace(",", "+").split("+") if p]
    if parts and set(parts) <= _POLS:
        key = "one" if len(parts) == 1 else "default"
        yield [(key, {"polarization": pol}, {"name": " and ".join(parts)})]


def coast_phrase(geo: dict[str, Any]) -> str:
    """', about 3 km from the coast' for a centre on land near the sea (up to 50 km)."""
    km = geo.get("coast_km")
    if km is None or km > 50 or geo.get("surface") != "land":
        return ""
    return ", less than 1 km from the coast" if km < 1 else f", about {round(km)} km from the coast"


def area_phrase(facts: dict[str, Any]) -> str | None:
    """What the scene covers, from its land cover or surface: 'an area where water covers
    about 27%', 'a land area'; None when nothing is known."""
    land, geo = facts.get("land_cover") or {}, facts["geo"]
    if "water" in land:
        return f"an area about {round(land['water'] * 100)}% covered by water"
    dominant = facts.get("dominant_land_cover")
    if dominant and not dominant.lower().startswith(("not ", "non-", "no ")):
        return f"an area that is mostly {dominant}"
    kind = geo.get("surface")
    if kind == "land and sea":
        return "an area of land and sea"
    if kind:
        return f"a {kind} area" + (f" on an island of about {sig3(geo['island_km2'])} km²"
                                    if geo.get("island_km2") else "") + coast_phrase(geo)
    return None


def scene_phrase(facts: dict[str, Any], vocab: Vocabulary) -> str:
    """The object of 'This SAR image shows ...' for a scene without objects: the categories
    it lacks (when the dataset has any), what it covers and where -- never an annotation
    artefact such as 'no annotated targets'."""
    parts = []
    absent = facts.get("absent") or []
    if absent:
        parts.append("no " + " or ".join(vocab[c].plural for c in absent[:3]))
    area, where = area_phrase(facts), where_phrase(facts["geo"])
    if area:
        parts.append(("in " if parts else "") + area)
    if where:
        if area:
            parts[-1] += ","
        parts.append(where if parts else f"an area {where}")
    gsd = facts["geo"].get("gsd_m")
    if gsd and (area or where):
        parts[-1] += f", at {sig3(gsd)} m pixel spacing"
    return " ".join(parts) if parts else "a scene with no labelled content"
