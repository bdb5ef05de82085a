"""SAR quicklooks for vision-language models: a small 8-bit PNG of a scene, as a data URL.

SAR amplitude spans several orders of magnitude, so a linear rescale shows a few bright
targets on black. A quicklook is read decimated (at most ``max_size`` pixels a side, averaged
in power), converted to dB, and stretched between two percentiles. Quicklooks are cached on
disk by file identity (path, size, modification time) and settings, so each scene is rendered
once however many prompts show it.
"""

from __future__ import annotations

import base64
import logging
import os
import struct
import warnings
import zlib
from pathlib import Path
from typing import Literal

import numpy as np

from narrator.errors import InputError
from narrator.ids import make_id

log = logging.getLogger(__name__)
QUICKLOOK_VERSION = 1
Scale = Literal["auto", "amplitude", "intensity", "db"]


def to_db(data: np.ndarray, scale: Scale) -> np.ndarray:
    """Backscatter in dB. ``auto``: a float band with negative values is taken as dB already,
    anything else as amplitude; complex samples become amplitude first."""
    values = np.abs(data) if np.iscomplexobj(data) else data.astype(np.float64)
    if scale == "auto":
        floating = np.issubdtype(data.dtype, np.floating)
        scale = "db" if floating and np.nanmin(values) < 0 else "amplitude"
    if scale == "db":
        return values
    with np.errstate(divide="ignore", invalid="ignore"):
        db = np.log10(np.maximum(values, 0))
    return db * (20.0 if scale == "amplitude" else 10.0)


def stretch(db: np.ndarray, low: float = 2.0, high: float = 98.0) -> np.ndarray:
    """Percentile stretch of finite values to uint8 (no-data and -inf become 0)."""
    finite = np.isfinite(db)
    out = np.zeros(db.shape, dtype=np.uint8)
    if not finite.any():
        return out
    lo, hi = np.percentile(db[finite], [low, high])
    if hi <= lo:
        out[finite] = 128
        return out
    scaled = np.clip((db[finite] - lo) / (hi - lo), 0.0, 1.0)
    out[finite] = np.round(scaled * 255).astype(np.uint8)
    return out


def png_gray8(image: np.ndarray) -> bytes:
    """A grayscale 8-bit PNG (stdlib zlib; no imaging library needed)."""
    height, width = image.shape
    rows = np.zeros((height, width + 1), dtype=np.uint8)  # filter byte 0 before each row
    rows[:, 1:] = image

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)) + chunk(b"IEND", b""))


def read_decimated(path: Path, max_size: int, band: int = 1) -> np.ndarray:
    """Band ``band`` at most ``max_size`` pixels a side. Integer amplitude is averaged in
    power (RMS) over each block; float bands (possibly dB already) by their mean."""
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as src:
                factor = max(src.width, src.height) / max_size
                shape = (max(1, round(src.height / max(factor, 1))),
                         max(1, round(src.width / max(factor, 1))))
                if np.issubdtype(np.dtype(src.dtypes[band - 1]), np.complexfloating):
                    return np.abs(src.read(band, out_shape=shape,
                                           resampling=Resampling.nearest))
                floating = np.issubdtype(np.dtype(src.dtypes[band - 1]), np.floating)
                data = src.read(band, out_shape=shape, masked=True, resampling=(
                    Resampling.average if floating else Resampling.rms))
                return np.ma.filled(data.astype(np.float64), np.nan)
    except RasterioIOError as exc:
        raise InputError(path, f"cannot read the image for a quicklook: {exc}") from None


def quicklook_png(path: str | Path, max_size: int = 512, scale: Scale = "auto",
                  cache_dir: str | Path | None = None) -> bytes:
    """The PNG bytes of a scene's quicklook, from ``cache_dir`` when made before."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError as exc:
        raise InputError(path, f"no image for a quicklook ({exc.strerror})") from None
    cached = None
    if cache_dir is not None:
        key = make_id("quicklook", QUICKLOOK_VERSION, str(path.resolve()), stat.st_size,
                      stat.st_mtime_ns, max_size, scale)
        cached = Path(cache_dir) / f"{key}.png"
        if cached.exists():
            return cached.read_bytes()
    png = png_gray8(stretch(to_db(read_decimated(path, max_size), scale)))
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(png)
        os.replace(tmp, cached)
    return png


def quicklook_data_url(path: str | Path, max_size: int = 512, scale: Scale = "auto",
                       cache_dir: str | Path | None = None) -> str:
    png = quicklook_png(path, max_size, scale, cache_dir)
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")

