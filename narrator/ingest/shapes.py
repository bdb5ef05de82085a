"""Geometry shared by every reader: parsing numbers, oriented boxes, clipping, and the one
function that turns a parsed annotation into an :class:`Object` or a quarantine entry.

Frame: continuous pixel coordinates, origin at the top-left corner of the top-left pixel,
x right, y down (see narrator.records). Angles are in degrees, measured from the +x axis
towards +y (clockwise as seen on screen), of the box's first edge, normalised to (-90, 90].
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry

from narrator.errors import printable
from narrator.ids import text_id
from narrator.ingest.classmap import ClassEntry
from narrator.records import Object, Quarantine, Scene

Box = tuple[float, float, float, float]


def parse_numbers(values: Sequence[Any], what: str) -> list[float] | str:
    """Floats from ``values``, or the reason they are unusable (non-numeric, NaN, inf)."""
    try:
        out = [float(v) for v in values]
    except (TypeError, ValueError):
        return f"{what} has a non-numeric value: {list(values)!r}"
    if not all(math.isfinite(v) for v in out):
        return f"{what} has a NaN or infinite value: {list(values)!r}"
    return out


def corners_box(x0: float, y0: float, x1: float, y1: float, what: str) -> Box | str:
    """A box from its corners, or the reason it is unusable (zero or negative size)."""
    if x1 <= x0 or y1 <= y0:
        return f"{what} has zero or negative size: {[x0, y0, x1, y1]!r}"
    return (x0, y0, x1, y1)


def xywh_box(bbox: Any, what: str = "bbox") -> Box | str:
    """``[x, y, w, h]`` -> ``(x0, y0, x1, y1)``, or the reason it is unusable."""
    if not isinstance(bbox, list | tuple) or len(bbox) != 4:
        return f"{what} must be a list of 4 numbers, got {bbox!r}"
    nums = parse_numbers(bbox, what)
    if isinstance(nums, str):
        return nums
    x, y, w, h = nums
    if w <= 0 or h <= 0:
        return f"{what} has zero or negative size: {list(bbox)!r}"
    return (x, y, x + w, y + h)


def clip_box(b: Box, width: int, height: int) -> Box | None:
    """Clip a box to the image; None when nothing of it is inside."""
    x0, y0, x1, y1 = max(b[0], 0.0), max(b[1], 0.0), min(b[2], width), min(b[3], height)
    if x1 <= x0 or y1 <= y0:
        return None
    return (x0, y0, x1, y1)


def normalise_angle(degrees: float) -> float:
    """An undirected box orientation in (-90, 90] degrees."""
    a = math.fmod(degrees, 180.0)
    if a <= -90.0:
        a += 180.0
    elif a > 90.0:
        a -= 180.0
    return a


def edge_angle(coords: Sequence[tuple[float, float]]) -> float:
    """Orientation of the edge from the first to the second point, in (-90, 90] degrees."""
    (xa, ya), (xb, yb) = coords[0], coords[1]
    return normalise_angle(math.degrees(math.atan2(yb - ya, xb - xa)))


def rotated_rect(cx: float, cy: float, w: float, h: float, angle_rad: float) -> Polygon:
    """The corners of a (cx, cy, w, h, angle) box, first edge along the rotated width."""
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    pts = [(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]
    return Polygon([(cx + u * c - v * s, cy + u * s + v * c) for u, v in pts])


def flat_polygon(values: Sequence[Any], what: str = "polygon") -> Polygon | str:
    """``[x1, y1, x2, y2, ...]`` -> Polygon, or the reason it is unusable."""
    if len(values) < 6 or len(values) % 2:
        return f"{what} needs at least 3 x,y pairs, got {len(values)} numbers"
    nums = parse_numbers(values, what)
    if isinstance(nums, str):
        return nums
    return Polygon(list(zip(nums[0::2], nums[1::2], strict=True)))


def to_angle_rad(value: float, unit: str, what: str) -> float | str:
    """An angle in ``unit`` as radians; radians beyond one turn are taken as a unit mix-up."""
    if unit == "rad":
        if abs(value) > 2 * math.pi + 1e-9:
            return (f"{what} angle {value} is more than one turn in radians; "
                    "set angle_unit: deg in narrator.yaml if the file uses degrees")
        return value
    return math.radians(value)


@dataclass
class Candidate:
    """One parsed annotation, before validation against its scene."""

    name: str
    record: str
    source_id: str
    box: Box | None = None
    poly: BaseGeometry | None = None
    angle: float | None = None
    difficult: bool = False
    attrs: dict[str, Any] = field(default_factory=dict)


def _clip_geometry(geom: BaseGeometry, width: int,
                   height: int) -> tuple[BaseGeometry | None, bool]:
    """(geometry clipped to the image or None if nothing is inside, whether it was clipped)."""
    x0, y0, x1, y1 = geom.bounds
    if x0 >= 0 and y0 >= 0 and x1 <= width and y1 <= height:
        return geom, False
    inside = geom.intersection(box(0, 0, width, height))
    if inside.is_empty or (geom.area > 0 and inside.area <= 0):
        return None, True
    return inside, True


def _valid_polygon(poly: BaseGeometry) -> BaseGeometry | str:
    if not poly.is_valid:
        poly = shapely.make_valid(poly)
        if poly.geom_type == "GeometryCollection":
            poly = shapely.union_all([g for g in poly.geoms if g.area > 0])
    if poly.is_empty or poly.area <= 0:
        return "polygon has zero area"
    return poly


def _outline(c: Candidate, width: int,
             height: int) -> tuple[BaseGeometry | None, bool, str | None]:
    """(the candidate's polygon, valid and clipped to the image; whether it was clipped;
    why the annotation must be rejected). An unusable polygon beside a box is dropped."""
    poly = c.poly
    if poly is None:
        return None, False, None
    checked = _valid_polygon(poly) if poly.geom_type.endswith("Polygon") else poly
    if isinstance(checked, str):
        if c.box is None:
            return None, False, checked
        c.attrs = c.attrs | {"polygon_dropped": checked}
        return None, False, None
    inside, clipped = _clip_geometry(checked, width, height)
    if inside is None:
        return None, True, (f"polygon with bounds {list(checked.bounds)!r} lies outside the "
                            f"{width}x{height} image")
    return inside, clipped, None


MAX_CATEGORY_CHARS = 100
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def bad_category_name(name: object) -> str | None:
    """Why a class name cannot become a category (it would reach questions, reports and
    the terminal verbatim), or None."""
    if not isinstance(name, str):
        return None
    return _bad_category_str(name)


@lru_cache(maxsize=4096)  # a dataset has few class names and many objects
def _bad_category_str(name: str) -> str | None:
    if _CONTROL_CHARS.search(name):
        return (f"category name '{printable(name[:40])}' holds control characters or line "
                "breaks")
    if len(name) > MAX_CATEGORY_CHARS:
        return (f"category name {name[:20]!r}... is {len(name):,} characters, over the "
                f"{MAX_CATEGORY_CHARS} limit")
    return None


def make_object(classify: Callable[[str], ClassEntry], source: Path, scene: Scene,
                c: Candidate) -> Object | Quarantine:
    """Validate, clip and classify (``classify``: a reader's class map) one annotation."""
    if (why := bad_category_name(c.name)) is not None:
        return Quarantine("ingest", str(source), why, c.record, scene.scene_id)
    poly, clipped, reason = _outline(c, scene.width, scene.height)
    b = c.box if c.box is not None else (poly.bounds if poly is not None else None)
    if reason is None and b is None:
        reason = "annotation has neither a box nor a polygon"
    inside = clip_box(b, scene.width, scene.height) if reason is None and b else None
    if reason is None and inside is None:
        reason = f"box {list(b or ())!r} lies outside the {scene.width}x{scene.height} image"
    if reason is not None or inside is None:
        return Quarantine("ingest", str(source), reason or "", c.record, scene.scene_id)
    clipped = clipped or inside != tuple(b or ())
    entry = classify(c.name)
    return Object(
        object_id=text_id(f"{scene.scene_id}\x1f{c.source_id}\x1f{c.name}\x1f{inside!r}"),
        scene_id=scene.scene_id, category=entry.category,
        x0=inside[0], y0=inside[1], x1=inside[2], y1=inside[3],
        source_category=c.name, fine_type=entry.fine_type, angle=c.angle,
        poly_wkb=poly.wkb if poly is not None else None, difficult=c.difficult,
        source_id=c.source_id, attrs=c.attrs | ({"clipped": True} if clipped else {}),
    )


#: a category id that the file's category list does not have
_UNKNOWN = object()


def box_objects(classify: Callable[[str], ClassEntry], source: Path, scene: Scene,
                categories: dict[Any, str], ids: Sequence[Any], cats: Sequence[Any],
                boxes: Sequence[Sequence[float]], crowd: Sequence[bool],
                record: Callable[[Any], str]) -> tuple[list[Object], list[Quarantine]]:
    """What ``Reader.add_objects`` makes of COCO's plain ``[x, y, w, h]`` boxes (finite
    floats, w and h above 0; ``categories``: category id -> class name), without a Candidate
    per box: the same objects, ids and rejects in the same order (``record(annotation id)``
    names a rejected one)."""
    where, sid = str(source), scene.scene_id
    width, height = scene.width, scene.height
    objects: list[Object] = []
    rejects: list[Quarantine] = []
    seen: set[str] = set()
    for ann_id, category_id, (x, y, w, h), difficult in zip(ids, cats, boxes, crowd,
                                                             strict=True):
        name = categories.get(category_id, _UNKNOWN)
        if name is _UNKNOWN:
            unknown = Quarantine("ingest", "", f"unknown category_id {category_id!r}",
                                 record(ann_id), sid)
            unknown.source = where  # as add_objects fills it in
            rejects.append(unknown)
            continue
        why = bad_category_name(name)
        b = (x, y, x + w, y + h)
        inside = clip_box(b, width, height) if why is None else None
        if why is None and inside is None:
            why = f"box {list(b)!r} lies outside the {width}x{height} image"
        if why is not None or inside is None:
            rejects.append(Quarantine("ingest", where, why or "", record(ann_id), sid))
            continue
        source_id = str(ann_id)
        object_id = text_id(f"{sid}\x1f{source_id}\x1f{name}\x1f{inside!r}")
        if object_id in seen:
            rejects.append(Quarantine("ingest", where, "duplicate annotation: same id, class "
                                      "and box as an earlier one", record(ann_id), sid))
            continue
        seen.add(object_id)
        attrs: dict[str, Any] = {"iscrowd": True} if difficult else {}
        if inside != b:
            attrs["clipped"] = True
        entry = classify(name)
        objects.append(Object(object_id, sid, entry.category, inside[0], inside[1], inside[2],
                              inside[3], name, entry.fine_type, None, None, difficult,
                              source_id, attrs))
    return objects, rejects
