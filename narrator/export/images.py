"""The image paths an export writes, and training-ready 8-bit previews of the scenes.

Trainers open images with PIL and ``convert("RGB")``: a float32 dB chip comes out black and
a uint16 amplitude saturates. ``--images png`` writes one 8-bit greyscale PNG per scene into
``<export folder>/images/`` and every format points at it:

- float data that is not already in dB (all finite values >= 0: linear power or amplitude)
  is taken to dB (``10 * log10``); data already in dB (negative values) is kept;
- each band is stretched from its 2nd to its 98th percentile (of finite, non-nodata pixels)
  to 0..255; integer data gets the same stretch, so uint16 does not saturate;
- several bands become one grey band: the mean of the stretched bands (for Sentinel-1 VV+VH
  the average of the two polarisations); a 3-band 8-bit image whose bands are equal (HRSID's
  grey PNGs) is the same grey.

Paths are absolute by default. With ``relative`` they are relative to the export folder
(LLaMA-Factory: ``media_dir`` in ``dataset_info.json``, written by the export; ms-swift:
run from the export folder, or set ``ROOT_IMAGE_DIR`` to it).
A stored path that is relative (to where ``narrator generate`` ran) is looked up from the
current folder, then from the database's folder; images found in neither are counted and
warned about, and their stored path is written.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from narrator.export.validate import ExportError
from narrator.export.writers import DISK_FULL
from narrator.ingest.safepath import check_decoded_size, check_readable_file

log = logging.getLogger(__name__)

IMAGE_MODES = ("original", "png")
PATH_MODES = ("absolute", "relative")


@dataclass
class ImageMap:
    """scene_id -> the path an export writes, and how many scenes' images were not found."""

    paths: dict[str, str] = field(default_factory=dict)
    missing: int = 0
    written: int = 0

    def ref(self, row: dict[str, Any]) -> str:
        path = self.paths.get(row["scene_id"])
        return path if path is not None else str(row.get("image_path") or row["image"])


def locate(stored: str | None, bases: list[Path]) -> Path | None:
    """The file a stored image path names, looked up from each of ``bases`` in turn."""
    if not stored:
        return None
    path = Path(stored)
    if path.is_absolute():
        return path if path.is_file() else None
    for base in bases:
        if (base / path).is_file():
            return (base / path).resolve()
    return None


def read_bands(path: Path) -> tuple[np.ndarray, float | None]:
    """The pixels as (bands, rows, cols) float64 and the nodata value, by rasterio (GeoTIFF)
    or PIL (PNG/JPEG). InputError for a special file, a VRT, or a raster that would decode to
    more than the decoded-size cap (checked from the header, before any pixel is read)."""
    check_readable_file(path, "image")
    if path.suffix.lower() in (".tif", ".tiff"):
        import rasterio

        with rasterio.open(path) as src:
            check_decoded_size(path, src.width, src.height, src.count, 8, "image")
            return src.read().astype(np.float64), src.nodata
    from PIL import Image

    with Image.open(path) as img:
        check_decoded_size(path, img.width, img.height, len(img.getbands()), 8, "image")
        arr = np.asarray(img)
    arr = arr[None] if arr.ndim == 2 else np.moveaxis(arr, -1, 0)
    return arr.astype(np.float64), None


def to_grey8(bands: np.ndarray, nodata: float | None, is_float: bool) -> np.ndarray:
    """One 8-bit band from the SAR bands (see the module docstring)."""
    valid = np.isfinite(bands)
    if nodata is not None and not np.isnan(nodata):
        valid &= bands != nodata
    if is_float and valid.any() and bands[valid].min() >= 0:
        with np.errstate(divide="ignore"):
            bands = np.where(valid & (bands > 0), 10 * np.log10(np.where(bands > 0, bands, 1)),
                             np.nan)
        valid &= np.isfinite(bands)
    out = np.zeros(bands.shape, dtype=np.float64)
    for i, band in enumerate(bands):
        ok = valid[i]
        if not ok.any():
            continue
        lo, hi = np.percentile(band[ok], [2, 98])
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        out[i] = np.where(ok, np.clip((band - lo) * scale, 0, 255), 0)
    return np.round(out.mean(axis=0)).astype(np.uint8)


def write_png(src: Path, dst: Path) -> None:
    from PIL import Image

    bands, nodata = read_bands(src)
    is_float = src.suffix.lower() in (".tif", ".tiff") and _is_float(src)
    if not is_float and bands.shape[0] == 3 and np.array_equal(bands[0], bands[1]) \
            and np.array_equal(bands[1], bands[2]) and bands.max(initial=0) <= 255:
        grey = bands[0].astype(np.uint8)  # already an 8-bit grey image
    else:
        grey = to_grey8(bands[:3] if bands.shape[0] == 4 else bands, nodata, is_float)
    dst.parent.mkdir(parents=True, exist_ok=True)
    part = dst.with_name(dst.name + ".part.png")
    try:
        Image.fromarray(grey, mode="L").save(part)
        part.replace(dst)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def _is_float(path: Path) -> bool:
    import rasterio

    with rasterio.open(path) as src:
        return np.issubdtype(np.dtype(src.dtypes[0]), np.floating)


def build_image_map(scenes: Iterable[tuple[str, str, str | None]], image_dir: Path,
                    rel_base: Path, images: str, paths: str, image_root: str | None,
                    bases: list[Path]) -> ImageMap:
    """The path every scene ``(scene_id, file_name, image_path)`` is written with; with
    ``images == "png"`` its preview is written to ``image_dir`` first. Relative paths
    start at ``rel_base``."""
    if images not in IMAGE_MODES:
        raise ExportError(f"--images {images!r}: choose from {', '.join(IMAGE_MODES)}")
    if paths not in PATH_MODES:
        raise ExportError(f"--paths {paths!r}: choose from {', '.join(PATH_MODES)}")
    result, names = ImageMap(), set()
    for scene_id, file_name, stored in scenes:
        found = locate(stored, bases)
        if found is None:
            result.missing += 1
            continue
        target = found
        if images == "png":
            name = Path(file_name or found.name).stem + ".png"
            if name in names:
                name = f"{Path(name).stem}_{scene_id}.png"
            names.add(name)
            target = (image_dir / name).resolve()
            if not target.exists() or target.stat().st_mtime < found.stat().st_mtime:
                try:
                    write_png(found, target)
                except OSError as exc:
                    if exc.errno in DISK_FULL:
                        raise
                    raise ExportError(f"{found}: cannot make an 8-bit preview of scene "
                                      f"{scene_id} ({exc})") from None
                except Exception as exc:  # rasterio/PIL raise many kinds
                    raise ExportError(f"{found}: cannot make an 8-bit preview of scene "
                                      f"{scene_id} ({exc})") from None
                result.written += 1
        if image_root:
            ref = os.path.relpath(target, Path(image_root).resolve())
        elif paths == "relative":
            ref = os.path.relpath(target, rel_base.resolve())
        else:
            ref = str(target)
        result.paths[scene_id] = ref.replace(os.sep, "/")
    if result.missing:
        log.warning("%d scene images were not found (looked in %s)", result.missing,
                    ", ".join(map(str, bases)))
    return result
