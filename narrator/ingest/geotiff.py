"""Scene metadata from a raster: size, bands, CRS, affine transform, GSD, footprint, SAR tags."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import rasterio
from pyproj import CRS, Geod, Transformer
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
from shapely.geometry import Polygon

from narrator.errors import InputError

_GEOD = Geod(ellps="WGS84")

#: GeoTIFF tag names (upper-cased) accepted for each SAR metadata field
SAR_TAGS: dict[str, tuple[str, ...]] = {
    "platform": ("PLATFORM", "SATELLITE", "MISSION", "SENSOR", "TIFFTAG_MAKE"),
    "band": ("BAND", "RADAR_BAND", "FREQUENCY_BAND"),
    "polarization": ("POLARIZATION", "POLARISATION", "POL"),
    "mode": ("MODE", "IMAGING_MODE", "ACQUISITION_MODE", "BEAM_MODE"),
    "incidence_angle": ("INCIDENCE_ANGLE", "INCIDENCE"),
    "orbit_direction": ("ORBIT_DIRECTION", "PASS_DIRECTION", "PASS"),
    "acquired_at": ("ACQUISITION_TIME", "ACQUIRED_AT", "TIFFTAG_DATETIME", "DATETIME"),
}


def sar_fields(tags: dict[str, Any]) -> dict[str, Any]:
    """Pick the SAR metadata fields out of raster tags or a sidecar mapping."""
    upper = {str(k).upper(): v for k, v in tags.items()}
    out: dict[str, Any] = {}
    for name, keys in SAR_TAGS.items():
        for key in keys:
            if key in upper and upper[key] not in (None, ""):
                out[name] = upper[key]
                break
    if "incidence_angle" in out:
        try:
            out["incidence_angle"] = float(out["incidence_angle"])
        except (TypeError, ValueError):
            del out["incidence_angle"]
    return out


def _gsd_m(crs: CRS | None, t: rasterio.Affine, width: int, height: int) -> float | None:
    """Ground sampling distance in metres: mean of the pixel's two side lengths."""
    dx = math.hypot(t.a, t.d)
    dy = math.hypot(t.b, t.e)
    if crs is None:
        return None
    if crs.is_geographic:
        lon, lat = t @ (width / 2, height / 2)
        lon_x, lat_x = t @ (width / 2 + 1, height / 2)
        lon_y, lat_y = t @ (width / 2, height / 2 + 1)
        _, _, mx = _GEOD.inv(lon, lat, lon_x, lat_x)
        _, _, my = _GEOD.inv(lon, lat, lon_y, lat_y)
        return (mx + my) / 2
    unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    return (dx + dy) / 2 * unit


def read_raster_meta(path: Path) -> dict[str, Any]:
    """Everything a Scene needs from the raster at ``path``; InputError if it is not a raster."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as src:
                tags = dict(src.tags())
                width, height, t = src.width, src.height, src.transform
                meta: dict[str, Any] = {
                    "width": width, "height": height, "bands": src.count,
                    "dtype": src.dtypes[0] if src.count else None,
                }
                crs = CRS.from_user_input(src.crs) if src.crs else None
    except RasterioIOError as exc:
        raise InputError(path, f"not a readable raster ({exc})") from None
    if crs is None or t.is_identity:
        return meta | sar_fields(tags) | {"tags": tags}
    epsg = crs.to_epsg()
    meta["crs"] = f"EPSG:{epsg}" if epsg else crs.to_wkt()
    meta["transform"] = [t.a, t.b, t.c, t.d, t.e, t.f]
    meta["gsd_m"] = _gsd_m(crs, t, width, height)
    to_wgs84 = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    corners = [t @ xy for xy in ((0, 0), (width, 0), (width, height), (0, height))]
    lons, lats = to_wgs84.transform([c[0] for c in corners], [c[1] for c in corners])
    meta["footprint_wkb"] = Polygon(zip(lons, lats, strict=True)).wkb
    cx, cy = t @ (width / 2, height / 2)
    meta["center_lon"], meta["center_lat"] = to_wgs84.transform(cx, cy)
    return meta | sar_fields(tags) | {"tags": tags}
