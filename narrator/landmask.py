"""global-land-mask's 30-arc-second ocean mask without its 930 MB in memory.

The package loads its mask (21600 x 43200 booleans, 2.5 MB compressed) as one uncompressed
array on import: about 930 MB of resident memory in every process that asks whether a point is
on land. Here the mask is unpacked once, streamed row block by row block from the package's
.npz, into a bit-packed file (116 MB) in narrator's cache folder, and read through a memory
map: a scene touches only the pages of its 3-degree window.
"""

from __future__ import annotations

import functools
import os
import tempfile
import zipfile
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np

_ROWS_PER_BLOCK = 512


def _source() -> Path:
    spec = find_spec("global_land_mask")
    if spec is None or not spec.origin:
        raise ImportError("global-land-mask is not installed")
    return Path(spec.origin).parent / "globe_combined_mask_compressed.npz"


def _cache_dir() -> Path:
    if os.environ.get("NARRATOR_CACHE_DIR"):
        return Path(os.environ["NARRATOR_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "narrator"


def _build(src: Path, out: Path) -> None:
    """Stream mask.npy out of the .npz and write it bit-packed (row-major, 1 = ocean)."""
    with zipfile.ZipFile(src) as zf, zf.open("mask.npy") as fh:
        version = np.lib.format.read_magic(fh)
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = read_header(fh)
        if fortran or dtype != np.bool_ or len(shape) != 2:
            raise ValueError(f"{src}: unexpected land-mask layout {shape} {dtype}")
        rows, cols = shape
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=out.name + ".")
        with os.fdopen(fd, "wb") as dst:
            dst.write(f"{rows} {cols}\n".encode().ljust(32))
            for start in range(0, rows, _ROWS_PER_BLOCK):
                n = min(_ROWS_PER_BLOCK, rows - start)
                block = np.frombuffer(fh.read(n * cols), dtype=np.bool_).reshape(n, cols)
                dst.write(np.packbits(block, axis=1).tobytes())
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)


@functools.lru_cache(maxsize=1)
def _mask() -> tuple[np.memmap, np.ndarray, np.ndarray]:
    src = _source()
    stamp = f"{src.stat().st_size}-{int(src.stat().st_mtime)}"
    out = _cache_dir() / f"landmask-{stamp}.bits"
    if not out.exists():
        try:
            _build(src, out)
        except OSError:  # a read-only home: build it in the temp folder instead
            out = Path(tempfile.gettempdir()) / "narrator" / out.name
            if not out.exists():
                _build(src, out)
    rows, cols = (int(v) for v in out.read_bytes()[:32].split())
    bits = np.memmap(out, dtype=np.uint8, mode="r", offset=32, shape=(rows, (cols + 7) // 8))
    with np.load(src) as npz:
        lat, lon = np.asarray(npz["lat"]), np.asarray(npz["lon"])
    return bits, lat, lon


def lat_to_index(lat: float) -> int:
    _, lats, _ = _mask()
    lat = min(max(float(lat), float(lats.min())), float(lats.max()))
    return int((lat - lats[0]) / (lats[1] - lats[0]))


def lon_to_index(lon: float) -> int:
    _, _, lons = _mask()
    lon = min(max(float(lon), float(lons.min())), float(lons.max()))
    return int((lon - lons[0]) / (lons[1] - lons[0]))


def latitudes() -> np.ndarray:
    return _mask()[1]


def ocean(r0: int, r1: int, c0: int, c1: int) -> Any:
    """Ocean (True) cells of rows r0:r1 and columns c0:c1 (clipped to the globe)."""
    bits, lats, lons = _mask()
    r0, c0 = max(r0, 0), max(c0, 0)
    r1, c1 = min(r1, len(lats)), min(c1, len(lons))
    packed = np.asarray(bits[r0:r1, c0 // 8:(c1 + 7) // 8])
    unpacked = np.unpackbits(packed, axis=1).astype(bool)
    return unpacked[:, c0 % 8:c0 % 8 + (c1 - c0)]


def is_land(lat: float, lon: float) -> bool:
    r, c = lat_to_index(lat), lon_to_index(lon)
    return not bool(ocean(r, r + 1, c, c + 1)[0, 0])
