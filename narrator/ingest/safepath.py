"""Checks on every dataset file narrator opens: nothing is read outside the dataset folder.

A file name from an annotation is refused (and its record quarantined) when it is absolute,
climbs out with ``..``, names a GDAL virtual file system (``/vsicurl/...``), holds control
characters, or has a component longer than the file system allows. A file on disk is refused
when it is not a regular file (FIFO, device, socket, a symlink to one), when it resolves
outside the dataset root, or when it is a GDAL VRT (which can read any local file or URL).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path, PurePosixPath

from narrator.errors import InputError

MAX_NAME_BYTES = 255
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
VRT_SUFFIXES = (".vrt", ".xml")
#: largest raster a mask or image may decode to, in bytes (all bands)
MAX_DECODED_BYTES = 1 << 28


#: a plain file name (one part, ASCII, no leading dot, short): none of the checks below can
#: apply, so the common case costs one match (this runs for every scene of every run)
_PLAIN = re.compile(r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,199}")


def unsafe_name(file_name: str) -> str | None:
    """Why the annotation's ``file_name`` may not be opened, or None."""
    if _PLAIN.fullmatch(file_name) and not file_name[:3].lower() == "vsi":
        return None
    name = file_name.replace("\\", "/")
    if name.lower().startswith(("/vsi", "vsi")) or "/vsi" in name.lower():
        return "names a GDAL virtual file system (/vsi...), outside the dataset folder"
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "is an absolute path, outside the dataset folder"
    if ".." in PurePosixPath(name).parts:
        return "climbs out with '..', outside the dataset folder"
    if _CONTROL.search(name):
        return "holds control characters"
    try:
        long = any(len(os.fsencode(p)) > MAX_NAME_BYTES for p in PurePosixPath(name).parts)
    except UnicodeEncodeError:
        long = False
    if long:
        return f"has a name part longer than {MAX_NAME_BYTES} bytes"
    return None


def outside_root(path: Path, root: Path) -> bool:
    try:
        return not path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):
        return True


def check_readable_file(path: Path, what: str = "raster") -> None:
    """InputError unless ``path`` is a regular file that is not a VRT."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise InputError(path, f"cannot read the {what} ({exc.strerror})") from None
    if not stat.S_ISREG(mode):
        raise InputError(path, f"not a readable {what}: not a regular file "
                               "(a FIFO, device or folder); refused")
    if path.suffix.lower() == ".vrt" or _starts_with_vrt(path):
        raise InputError(path, f"GDAL VRT files are refused (a VRT can read any file or URL); "
                               f"convert the {what} to GeoTIFF")


def _starts_with_vrt(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(512)
    except OSError:
        return False
    return b"<VRTDataset" in head.lstrip()[:256]


def check_decoded_size(path: Path, width: int, height: int, count: int, itemsize: int,
                       what: str = "raster") -> None:
    """InputError when decoding the raster would take more than MAX_DECODED_BYTES."""
    size = int(width) * int(height) * max(int(count), 1) * max(int(itemsize), 1)
    if size > MAX_DECODED_BYTES:
        raise InputError(path, f"{what} is {width}x{height}x{count} and would decode to "
                               f"{size / 2**20:,.0f} MiB, over the "
                               f"{MAX_DECODED_BYTES / 2**20:,.0f} MiB limit")
