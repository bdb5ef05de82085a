"""Typed records that cross stage boundaries: scenes, objects, regions, quarantine entries.

Pixel convention (all readers store this): continuous pixel coordinates with the origin at the
top-left corner of the top-left pixel, x to the right and y downwards. A box is
``(x0, y0, x1, y1)`` with ``x0 < x1`` and ``y0 < y1``; a COCO box ``[x, y, w, h]`` is stored as
``(x, y, x + w, y + h)``. Geometries are shapely geometries serialised as WKB in the same frame.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import PurePath
from typing import Any

from narrator.errors import printable
from narrator.ids import make_id


@dataclass(slots=True)
class Scene:
    scene_id: str
    dataset: str
    file_name: str
    image_path: str | None
    width: int
    height: int
    source: str = ""
    split: str | None = None
    bands: int | None = None
    dtype: str | None = None
    crs: str | None = None
    transform: list[float] | None = None
    gsd_m: float | None = None
    center_lon: float | None = None
    center_lat: float | None = None
    footprint_wkb: bytes | None = None
    platform: str | None = None
    band: str | None = None
    polarization: str | None = None
    mode: str | None = None
    incidence_angle: float | None = None
    orbit_direction: str | None = None
    acquired_at: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Object:
    object_id: str
    scene_id: str
    category: str
    x0: float
    y0: float
    x1: float
    y1: float
    source_category: str | None = None
    fine_type: str | None = None
    angle: float | None = None
    poly_wkb: bytes | None = None
    difficult: bool = False
    source_id: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (self.x0, self.y0, self.x1, self.y1)


@dataclass(slots=True)
class Region:
    region_id: str
    scene_id: str
    category: str
    area_px: float
    fraction: float
    geom_wkb: bytes | None = None
    source: str = ""


@dataclass(slots=True)
class Quarantine:
    stage: str
    source: str
    error: str
    record: str = ""
    scene_id: str | None = None

    def __post_init__(self) -> None:
        self.source, self.record, self.error = (printable(str(t)) for t in
                                                (self.source, self.record, self.error))

    @property
    def quarantine_id(self) -> str:
        return make_id(self.stage, self.source, self.record, self.error)


def to_row(record: Any) -> dict[str, Any]:
    row = asdict(record)
    if isinstance(record, Quarantine):
        row["quarantine_id"] = record.quarantine_id
    return row


class SceneRefs:
    """Finds a scene id from how users name a scene: its id, its annotation file name, that
    name's base name or stem, or its image path."""

    def __init__(self) -> None:
        self._ids: dict[str, str] = {}

    def add(self, scene_id: str, file_name: str, image_path: str | None = None) -> None:
        for key in (scene_id, file_name, PurePath(file_name).name, PurePath(file_name).stem,
                    image_path):
            if key:
                self._ids.setdefault(str(key), scene_id)

    def find(self, ref: str) -> str | None:
        return (self._ids.get(ref) or self._ids.get(PurePath(ref).name)
                or self._ids.get(PurePath(ref).stem))


@dataclass(slots=True)
class SceneBundle:
    """One scene with everything annotated on it: the unit a shard is made of."""

    scene: Scene
    objects: list[Object] = field(default_factory=list)
    regions: list[Region] = field(default_factory=list)
    _hash: str | None = field(default=None, repr=False, compare=False)

    @property
    def content_hash(self) -> str:
        """Hash of every field of the scene and its records (computed once, then kept).

        The dataclasses' generated ``repr`` lists every field in order, floats exactly and
        bytes verbatim, so it identifies the content as well as a JSON dump, at a fraction
        of the cost (this runs for every scene of every run).
        """
        if self._hash is None:
            h = hashlib.blake2b(digest_size=8)
            h.update(repr(self.scene).encode())
            for record in (*self.objects, *self.regions):
                h.update(repr(record).encode())
            self._hash = h.hexdigest()
        return self._hash
