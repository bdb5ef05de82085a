"""SAR metadata (platform, band, polarization, mode, incidence angle, orbit direction,
acquisition time, GSD) from raster tags, per-scene sidecar files and per-dataset files.

Keys are matched case-insensitively against the aliases in :data:`SAR_KEYS`, at any depth of
a nested mapping (the shallowest wins; in a list of mappings the first, e.g. Umbra's
``collects[0]``). A tag whose value is a JSON object (Capella's TIFFTAG_IMAGEDESCRIPTION) is
read as such.
"""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path
from typing import Any

import yaml

from narrator.errors import InputError
from narrator.safeyaml import load_yaml_text

#: field -> accepted key names (upper case), first match wins
SAR_KEYS: dict[str, tuple[str, ...]] = {
    "platform": ("PLATFORM", "SATELLITE", "MISSION", "MISSION_ID", "SPACECRAFT",
                 "SATELLITE_NAME", "SENSOR", "TIFFTAG_MAKE"),
    "band": ("BAND", "RADAR_BAND", "FREQUENCY_BAND", "SENSOR_BAND"),
    "polarization": ("POLARIZATION", "POLARISATION", "POL", "POLARIZATIONS",
                     "POLARISATIONS"),
    "mode": ("MODE", "IMAGING_MODE", "IMAGINGMODE", "ACQUISITION_MODE", "BEAM_MODE",
             "SENSOR_MODE", "INSTRUMENT_MODE"),
    "incidence_angle": ("INCIDENCE_ANGLE", "INCIDENCE", "INCIDENCE_CENTER",
                        "INCIDENCE_ANGLE_CENTER", "ANGLE_INCIDENCE_DEGREES"),
    "orbit_direction": ("ORBIT_DIRECTION", "PASS_DIRECTION", "PASS", "ORBIT"),
    "acquired_at": ("ACQUISITION_TIME", "ACQUIRED_AT", "ACQUISITION_START_UTC",
                    "START_AT_UTC", "ACQUISITION_START", "TIFFTAG_DATETIME", "DATETIME"),
    "gsd_m": ("GSD_M", "GSD", "PIXEL_SPACING", "GROUND_SAMPLE_DISTANCE"),
}
SAR_FIELDS = tuple(k for k in SAR_KEYS if k != "gsd_m")
_ORBITS = {"ASCENDING", "DESCENDING", "ASC", "DESC", "A", "D"}


def _flatten(data: Any) -> dict[str, Any]:
    """Leaf keys of a nested mapping, upper-cased; the shallowest occurrence wins."""
    out: dict[str, Any] = {}
    queue: deque[Any] = deque([data])
    while queue:
        node = queue.popleft()
        if isinstance(node, list):
            queue.extend(n for n in node[:1] if isinstance(n, dict | list))
            continue
        if not isinstance(node, dict):
            continue
        for key, value in node.items():
            if isinstance(value, dict):
                queue.append(value)
            elif isinstance(value, list) and value and isinstance(value[0], dict):
                queue.append(value)
            else:
                out.setdefault(str(key).upper(), value)
    return out


def _json_tags(tags: dict[str, Any]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    for value in tags.values():
        if isinstance(value, str) and value.lstrip().startswith("{"):
            try:
                parsed = json.loads(value)
            except json.JSONDecodeError:
                continue
            extra.update({k: v for k, v in _flatten(parsed).items() if k not in extra})
    return extra


def _clean(name: str, value: Any) -> Any:
    if isinstance(value, list):
        value = "+".join(str(v) for v in value) if value else None
    if name in ("incidence_angle", "gsd_m"):
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        return number if number == number else None
    if name == "orbit_direction" and str(value).upper() not in _ORBITS:
        return None
    return None if value in (None, "") else str(value)


def sar_fields(tags: dict[str, Any]) -> dict[str, Any]:
    """Pick the SAR metadata fields (and ``gsd_m``) out of tags or a (nested) mapping."""
    flat = _flatten(tags)
    flat.update({k: v for k, v in _json_tags(flat).items() if k not in flat})
    out: dict[str, Any] = {}
    for name, keys in SAR_KEYS.items():
        for key in keys:
            if key in flat:
                value = _clean(name, flat[key])
                if value is not None:
                    out[name] = value
                    break
    return out


def load_metadata_file(path: Path) -> dict[str, Any]:
    """A JSON or YAML mapping; InputError if it cannot be read or is not a mapping."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read the metadata file ({exc})") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else load_yaml_text(text)
    except RecursionError:
        raise InputError(path, "nested too deeply to be a metadata file") from None
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise InputError(path, f"not valid {path.suffix.lstrip('.').upper()}: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(path, "the metadata file must hold a mapping of keys to values")
    return data
