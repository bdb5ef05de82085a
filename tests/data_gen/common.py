"""Shared pieces of the seeded fixture generators: what a test expects, and tiny rasters."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning
from rasterio.transform import Affine


@dataclass
class Expected:
    """What ingesting a generated dataset must store.

    ``objects`` maps (image file name, source id) to (category, fine type, (x0, y0, x1, y1));
    ``polygons`` and ``angles`` hold the oriented ones; ``reasons`` are substrings that must
    each appear in one quarantine error; ``scenes`` maps a file name to (width, height, split).
    """

    objects: dict[tuple[str, str], tuple[str, str | None, tuple[float, ...]]] = \
        field(default_factory=dict)
    polygons: dict[tuple[str, str], list[tuple[float, float]]] = field(default_factory=dict)
    angles: dict[tuple[str, str], float] = field(default_factory=dict)
    clipped: set[tuple[str, str]] = field(default_factory=set)
    difficult: set[tuple[str, str]] = field(default_factory=set)
    reasons: list[str] = field(default_factory=list)
    scenes: dict[str, tuple[int, int, str | None]] = field(default_factory=dict)
    file_errors: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, file_name: str, source_id: str, category: str,
            box: tuple[float, ...], fine_type: str | None = None) -> tuple[str, str]:
        key = (file_name, source_id)
        self.objects[key] = (category, fine_type, tuple(float(v) for v in box))
        return key


def write_png(path: Path, width: int, height: int, rng: np.random.Generator,
              bands: int = 1) -> None:
    """A speckled uint8 PNG (no georeference)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (rng.gamma(1.0, 40.0, (bands, height, width))).clip(0, 255).astype(np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", driver="PNG", width=width, height=height, count=bands,
                           dtype="uint8") as dst:
            dst.write(data)


def write_geotiff(path: Path, width: int, height: int, rng: np.random.Generator,
                  crs: str, transform: Affine, tags: dict[str, str] | None = None,
                  dtype: str = "uint8") -> None:
    """A speckled one-band GeoTIFF with a CRS, a transform and optional tags."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = rng.gamma(1.0, 40.0, (1, height, width)).clip(0, 255).astype(dtype)
    with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=1,
                       dtype=dtype, crs=crs, transform=transform) as dst:
        dst.write(data)
        if tags:
            dst.update_tags(**tags)


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
