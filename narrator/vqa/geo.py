"""Answer functions about where and how a scene was imaged: country, nearest place, land or
sea, pixel spacing, polarization -- from the geo facts (narrator.geo) and raster metadata, so
that scenes without annotations still get informative questions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from narrator.text import Vocabulary
from narrator.vqa.context import Group, SceneContext, answers, sig3

#: a country is asked only when the nearest place is this close (km): a sea scene far from
#: any town may lie off another country's coast
COUNTRY_KM = 30.0
_POLS = {"HH", "HV", "VH", "VV"}


#: the answer functions of this module (the rest are phrase helpers shared with captions)
#: a centre on land this close to the sea (km) is "near the sea"; up to COAST_KM the coast
#: distance is said at all
NEAR_SEA_KM = 10.0
COAST_KM = 50.0

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


@answers("default", slots=("country",))
def country(ctx: SceneContext) -> Iterator[Group]:
    geo = ctx.facts["geo"]
    if geo.get("country") and geo.get("place_distance_km", 1e9) <= COUNTRY_KM:
        yield [("default", _params(geo, "country", "place", "place_distance_km"),
                {"country": geo["country"]})]


@answers("default", slots=("place",))
def place(ctx: SceneContext) -> Iterator[Group]:
    geo = ctx.facts["geo"]
    if geo.get("place"):
        within = ", ".join(v for k in ("admin_region", "country") if (v := geo.get(k)))
        km = geo.get("place_distance_km", 0.0)
        text = geo["place"] + (f" ({within})" if within else "")
        text += ", at the scene" if km < 5 else f", about {round(km)} km from the scene centre"
        yield [("default", _params(geo, "place", "admin_region", "country", "place_distance_km"),
                {"place": text})]


def _coast_km(geo: dict[str, Any]) -> float | None:
    """The coast distance of a scene wholly on land (by the mask) up to COAST_KM, else None."""
    km = geo.get("coast_km")
    return km if km is not None and km <= COAST_KM and geo.get("surface") == "land" else None


def _km_text(km: float) -> str:
    return "less than 1 km" if km < 1 else f"about {round(km)} km"


@answers("land", "sea", "land_and_sea", "land_near_sea", slots=("area", "length"))
def surface(ctx: SceneContext) -> Iterator[Group]:
    """Land, sea or both by the global mask; not asked where a land-cover mask says more. A
    land scene near the sea says so: the sea is outside the image, the coast that far."""
    geo = ctx.facts["geo"]
    if geo.get("surface") and not ctx.facts.get("land_cover"):
        key, km = geo["surface"].replace(" ", "_"), _coast_km(geo)
        if km is not None and km <= NEAR_SEA_KM:
            key = "land_near_sea"
        yield [(key, _params(geo, "surface", "island_km2", "coast_km"),
                {"area": sig3(geo["island_km2"]) if geo.get("island_km2") else "",
                 "length": _km_text(km) if km is not None else ""})]


@answers("near", "default", slots=("length",))
def coast(ctx: SceneContext) -> Iterator[Group]:
    """How far the centre of a scene on land is from the sea (the global mask's nearest sea
    cell, 1 km cells), up to COAST_KM; not asked where a land-cover mask says more."""
    geo = ctx.facts["geo"]
    km = _coast_km(geo)
    if km is not None and not ctx.facts.get("land_cover"):
        text = _km_text(km)
        yield [("near" if km <= NEAR_SEA_KM else "default", _params(geo, "coast_km"),
                {"length": text[0].upper() + text[1:]})]


@answers("default", slots=("length",))
def spacing(ctx: SceneContext) -> Iterator[Group]:
    gsd = ctx.facts["geo"].get("gsd_m")
    if gsd:
        yield [("default", {"gsd_m": gsd}, {"length": sig3(gsd)})]


@answers("one", "default", slots=("name",))
def polarization(ctx: SceneContext) -> Iterator[Group]:
    pol = str(ctx.facts["geo"].get("polarization") or "").upper()
    parts = [p for p in pol.replace("/", "+").replace(",", "+").split("+") if p]
    if parts and set(parts) <= _POLS:
        key = "one" if len(parts) == 1 else "default"
        yield [(key, {"polarization": pol}, {"name": " and ".join(parts)})]


def coast_phrase(geo: dict[str, Any]) -> str:
    """' near the sea, about 3 km from the coast' for a scene on land up to NEAR_SEA_KM from
    the sea, ', about 30 km from the coast' up to COAST_KM, else ''."""
    km = _coast_km(geo)
    if km is None:
        return ""
    return (" near the sea," if km <= NEAR_SEA_KM else ",") + f" {_km_text(km)} from the coast"


def sea_sentence(geo: dict[str, Any]) -> str:
    """'The sea lies outside the image, about 3 km from the scene centre.' for a scene on
    land near the sea (by the mask, every corner is land), else ''."""
    km = _coast_km(geo)
    if km is None or km > NEAR_SEA_KM:
        return ""
    return f"The sea lies outside the image, {_km_text(km)} from the scene centre."


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
        coast = coast_phrase(geo)
        island = (f" on an island of about {sig3(geo['island_km2'])} km²"
                  if geo.get("island_km2") else "")
        return f"a {kind} area" + coast + ("," if coast and island else "") + island
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
