"""Segmentation masks -> regions (one multipolygon per class, with its area fraction)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
from rasterio.features import shapes
from shapely import simplify, union_all
from shapely.geometry import shape

from narrator.errors import InputError
from narrator.ids import make_id
from narrator.records import Region


def class_index_regions(path: Path, scene_id: str, classes: dict[int, str],
                        expected_size: tuple[int, int] | None = None,
                        simplify_px: float = 1.0) -> list[Region]:
    """Read a class-index mask; nodata and classes not in ``classes`` are left out.

    Fractions are over the valid (non-nodata) pixels, so they add up to 1 when every valid
    value is a named class. Polygons are in pixel coordinates (see narrator.records).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as src:
                band = src.read(1)
                nodata = src.nodata
    except RasterioIOError as exc:
        raise InputError(path, f"not a readable mask raster ({exc})") from None
    if expected_size and band.shape != (expected_size[1], expected_size[0]):
        raise InputError(
            path,
            f"mask is {band.shape[1]}x{band.shape[0]} but its image is "
            f"{expected_size[0]}x{expected_size[1]}",
        )
    valid = np.ones(band.shape, dtype=bool) if nodata is None else band != nodata
    n_valid = int(valid.sum())
    if n_valid == 0:
        return []
    values, counts = np.unique(band[valid], return_counts=True)
    regions = []
    for value, count in zip(values.tolist(), counts.tolist(), strict=True):
        name = classes.get(int(value))
        if name is None:
            continue
        polys = [shape(geom) for geom, v in shapes(band, mask=band == value) if v == value]
        geom = simplify(union_all(polys), simplify_px) if polys else None
        regions.append(Region(
            region_id=make_id(scene_id, "mask", name),
            scene_id=scene_id, category=name, area_px=float(count),
            fraction=count / n_valid, geom_wkb=geom.wkb if geom is not None else None,
            source=str(path),
        ))
    return regions
