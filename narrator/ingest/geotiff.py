"""Scene metadata from a raster: size, bands, CRS, affine transform (rotated ones too, or one
fitted to ground control points), GSD in metres, WGS84 footprint and centre, SAR tags.

GSD is the larger (coarser) of the ground lengths of a pixel's two sides. In a projected CRS
they are the lengths of the transform's column vectors in the CRS's linear unit converted to
metres (equal for square pixels, rotated or not); in a geographic CRS they are geodesic
distances (WGS84 ellipsoid) measured at the scene centre, so an 8.98e-5 degree pixel at 38 N
is 7.9 m east-west by 10.0 m north-south and its GSD is 10.0 m, the product's nominal
spacing. Both sides are kept in ``meta`` (``gsd_x_m``, ``gsd_y_m``), as is the direction of
the image's x axis in the map, counter-clockwise from east (``rotation_deg``).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import rasterio
from pyproj import CRS, Geod, Transformer
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
from rasterio.transform import from_gcps
from shapely.geometry import Polygon

from narrator.errors import InputError
from narrator.ingest.safepath import check_readable_file
from narrator.ingest.sarmeta import SAR_KEYS, sar_fields

__all__ = ["SAR_KEYS", "read_raster_meta", "sar_fields"]

_GEOD = Geod(ellps="WGS84")


def _side_lengths_m(crs: CRS, t: rasterio.Affine, width: int,
                    height: int) -> tuple[float, float]:
    """Ground length (m) of a pixel's x side and y side at the scene centre."""
    if crs.is_geographic:
        lon, lat = t @ (width / 2, height / 2)
        lon_x, lat_x = t @ (width / 2 + 1, height / 2)
        lon_y, lat_y = t @ (width / 2, height / 2 + 1)
        _, _, mx = _GEOD.inv(lon, lat, lon_x, lat_x)
        _, _, my = _GEOD.inv(lon, lat, lon_y, lat_y)
        return mx, my
    unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    return math.hypot(t.a, t.d) * unit, math.hypot(t.b, t.e) * unit


def _open_meta(path: Path) -> tuple[dict[str, Any], dict[str, Any], CRS | None,
                                    rasterio.Affine]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as src:
                tags = dict(src.tags())
                meta: dict[str, Any] = {
                    "width": src.width, "height": src.height, "bands": src.count,
                    "dtype": src.dtypes[0] if src.count else None,
                }
                names = [d for d in src.descriptions if d]
                if names:
                    meta["band_names"] = names
                t, crs = src.transform, src.crs
                gcps, gcp_crs = src.gcps
                if t.is_identity and gcps and gcp_crs:
                    t, crs = from_gcps(gcps), gcp_crs
                    meta["georef"] = "gcps"
    except RasterioIOError as exc:
        raise InputError(path, f"not a readable raster ({exc})") from None
    return meta, tags, (CRS.from_user_input(crs) if crs else None), t


_POLARIZATIONS = {"HH", "HV", "VH", "VV"}


def _band_fields(meta: dict[str, Any], tags: dict[str, Any]) -> dict[str, Any]:
    """SAR fields of the tags, and the polarization the band names give (Sentinel-1 chips
    name their bands VV and VH) when no tag states it."""
    out = sar_fields(tags)
    names = [str(n).strip().upper() for n in meta.get("band_names", ())]
    if "polarization" not in out and names and set(names) <= _POLARIZATIONS:
        out["polarization"] = "+".join(dict.fromkeys(names))
    return out


def read_raster_meta(path: Path) -> dict[str, Any]:
    """Everything a Scene needs from the raster at ``path``; InputError if it is not a raster."""
    check_readable_file(path)
    meta, tags, crs, t = _open_meta(path)
    if crs is None or t.is_identity:
        return meta | _band_fields(meta, tags) | {"tags": tags}
    width, height = meta["width"], meta["height"]
    epsg = crs.to_epsg()
    meta["crs"] = f"EPSG:{epsg}" if epsg else crs.to_wkt()
    meta["transform"] = [t.a, t.b, t.c, t.d, t.e, t.f]
    gx, gy = _side_lengths_m(crs, t, width, height)
    meta["gsd_x_m"], meta["gsd_y_m"] = gx, gy
    meta["gsd_m"] = max(gx, gy)
    meta["rotation_deg"] = math.degrees(math.atan2(t.d, t.a))
    to_wgs84 = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    corners = [t @ xy for xy in ((0, 0), (width, 0), (width, height), (0, height))]
    lons, lats = to_wgs84.transform([c[0] for c in corners], [c[1] for c in corners])
    meta["footprint_wkb"] = Polygon(zip(lons, lats, strict=True)).wkb
    cx, cy = t @ (width / 2, height / 2)
    meta["center_lon"], meta["center_lat"] = to_wgs84.transform(cx, cy)
    tag_fields = _band_fields(meta, tags)
    tag_fields.pop("gsd_m", None)  # the raster's own grid beats a GSD tag
    return meta | tag_fields | {"tags": tags}
