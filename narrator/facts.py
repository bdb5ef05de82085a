"""SceneFacts: the deterministic, JSON-serialisable facts of one scene.

The one source of truth that templates verbalise, the LLM enriches and the screener checks.
Computed from stored records only (never from text). Everything geometric is computed for a
whole shard of scenes at once with numpy and shapely 2 vectorised operations
(narrator/facts_geometry.py); only the final assembly of each scene's JSON document is a
Python loop. Each fact is declared once: per object in ``OBJECT_FACTS`` (``ObjectFact``:
name, type, how computed from the shard's columns, the version it arrived in), per scene in
``SCENE_FACTS`` (``SceneFact``); the documents' keys are the declaration order.

Definitions (pixel frame of ``narrator.records``; W, H = image width and height):

- centre: middle of the box. ``cell``: 3x3 grid on thirds of the image, ``grid``: its number
  1-9 row-major from the top left (FUSAR style); a centre on a third line belongs to the cell
  after it. ``position``: five-way (SARLANG style): ``center`` inside the central third
  square, otherwise ``top``/``bottom``/``left``/``right`` by the image diagonals.
  ``pos_margin``: distance of the centre to the nearest of those boundaries, as a fraction of
  the image side (questions skip targets closer than a threshold).
- ``size_class``: box area / image area, SARChat's thresholds (>= 0.4 very large, >= 0.25
  large, >= 0.1 medium, >= 0.03 small, else very small).
- ``shape``: box width / height > 1.2 wide, < 1/1.2 tall, else square. ``elongation``: long /
  short side of the minimum rotated rectangle of the polygon (of the box without one).
- ``orientation``: long-axis angle of that rectangle in degrees [0, 180), from the image x axis
  turning towards +y (down), so 45 runs from top left to bottom right; ``Object.angle`` (same
  convention) is used when there is no polygon. ``direction``: its 45-degree bin (horizontal,
  diagonal_down, vertical, diagonal_up), only for elongation >= 1.5.
- metres (when the scene's GSD is known): ``size_m`` (box), ``length_m``/``width_m`` (rotated
  rectangle), ``area_m2`` (polygon area, else box area).
- ``border``: the box comes within 1 px of the image edge or was clipped; ``overlaps``: its box
  shares a positive area with another box; ``on``: the land-cover region holding the centre,
  when the centre is at least 2 px inside it (a spatial join of centres and regions).
- relations (index pairs into ``objects``): ``left_of`` [i, j] when box i ends left of box j's
  start, ``above`` likewise in y, ``near`` when centres are closer than (W + H) / 8; left out
  for scenes of more than 60 objects.
- ``arrangement`` per category with >= 3 instances: ``aligned`` when the minor/major singular
  value ratio of the centred centres is < 0.1, else ``clustered`` when every centre lies
  within (W + H) / 8 of their mean, else ``scattered``; ``clear`` is False within 30% (ratio)
  or 10% (radius) of those thresholds.
- ``land_cover``: area fractions of the mask regions whose class is not an object class of
  the dataset (a semantic or instance mask of ships gives objects, never "mostly ship").
- ``geo``: the scene's SAR metadata, centre and GSD, and for a georeferenced scene the
  offline geo facts of :mod:`narrator.geo` (``place``, ``admin_region``, ``country``,
  ``country_code``, ``place_distance_km``, ``surface``, ``island_km2``, ``climate``,
  ``climate_code``, ``timezone``, ``local_time``, ``season``, each group with its
  ``*_source``) and ``rotation_deg`` of a rotated image grid.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from operator import attrgetter, itemgetter
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import shapely

from narrator.facts_geometry import (ALIGNED_MAX, ARRANGE_MIN, CLUSTER_MAX,  # noqa: F401
                                     ELONGATED, MAX_RELATION_OBJECTS, NEAR_FRACTION,
                                     ON_MARGIN_PX, land_join, positions, rotated,
                                     shard_arrangement, shard_pairs)
from narrator.geo import cached_geo_facts
from narrator.ids import canonical_json, text_hash
from narrator.records import SceneBundle

FACTS_VERSION = 2

#: 3x3 cells by object centre on thirds of the image, row-major from the top left
GRID_NAMES = (
    ("top left", "top", "top right"),
    ("left", "center", "right"),
    ("bottom left", "bottom", "bottom right"),
)
_CELLS = [c for row in GRID_NAMES for c in row]
#: relative size classes: (minimum box-area / image-area, name), SARChat's thresholds
SIZE_CLASSES = ((0.4, "very large"), (0.25, "large"), (0.1, "medium"), (0.03, "small"),
                (0.0, "very small"))
SHAPE_RATIO = 1.2
DIRECTIONS = ("horizontal", "diagonal_down", "vertical", "diagonal_up")
BORDER_PX = 1.0
GEO_KEYS = ("platform", "band", "polarization", "mode", "incidence_angle", "orbit_direction",
            "acquired_at", "gsd_m", "center_lon", "center_lat", "crs")


def _plain_rows(a: np.ndarray, written: np.ndarray | None = None) -> np.ndarray:
    """Per row, whether every written value is one json.dumps and orjson write alike: 0, or
    finite with 1e-4 <= |x| < 1e16 (outside, one writes 1e-05 and the other 0.00001, and
    NaN as NaN or null)."""
    m = np.abs(a)
    ok = (m == 0) | ((m >= 1e-4) & (m < 1e16))
    if ok.ndim > 1:
        ok = ok.all(axis=1)
    return ok if written is None else ok | ~written


def _plain_value(v: Any) -> bool:
    """A scalar orjson writes as json.dumps does (exact types only, no subclasses)."""
    kind = type(v)
    if kind is float:
        return v == 0 or 1e-4 <= abs(v) < 1e16
    return kind is str or kind is bool or v is None or (kind is int and -2**63 < v < 2**63)


def _plain_scene(doc: dict[str, Any], bundle: SceneBundle) -> bool:
    """The scene-level values of ``doc`` are plain (see ``_plain_value``)."""
    scene = bundle.scene
    values = [doc["scene_id"], *doc["size"], *doc["geo"].values(), *doc["land_cover"],
              *doc["land_cover"].values(), *(r.category for r in bundle.regions)]
    for arr in doc["arrangement"].values():
        values += (arr["linearity"], arr["spread"])
    return type(scene.width) is int and type(scene.height) is int and all(
        map(_plain_value, values))


def _names(names: tuple[str | None, ...], index: np.ndarray) -> list[str | None]:
    """``[names[i] for i in index]`` through one numpy take (Python strings out)."""
    return np.array(names, dtype=object)[index].tolist()


def _unless(values: list[Any], keep: list[bool]) -> list[Any]:
    return [v if k else None for v, k in zip(values, keep, strict=True)]


_SIZE_NAMES = tuple(name for _, name in SIZE_CLASSES)


def _size_classes(rel_area: np.ndarray) -> list[str | None]:
    """The size class of each (rounded) relative area: the first class whose minimum it
    reaches, else (NaN) the last."""
    first = np.full(len(rel_area), len(SIZE_CLASSES) - 1)
    for k in range(len(SIZE_CLASSES) - 1, -1, -1):
        first[rel_area >= SIZE_CLASSES[k][0]] = k
    return _names(_SIZE_NAMES, first)


class Shard:
    """A shard's objects as columns, computed once: what the per-object fact declarations
    (``OBJECT_FACTS``) compute their values from. ``r`` rounds a column for the document and
    records whether its values are plain (see ``_plain_rows``); ``overlaps`` is set from the
    shard's box pairs before the facts are computed."""

    def __init__(self, bundles: list[SceneBundle]) -> None:
        self.objs = objs = [o for b in bundles for o in b.objects]
        self.counts = [len(b.objects) for b in bundles]
        self.sidx = sidx = np.repeat(np.arange(len(bundles)), self.counts)
        self.bundles = bundles
        self.box = box = np.array([(o.x0, o.y0, o.x1, o.y1) for o in objs],
                                  dtype=np.float64).reshape(-1, 4)
        width = np.array([b.scene.width for b in bundles], dtype=np.float64)[sidx]
        height = np.array([b.scene.height for b in bundles], dtype=np.float64)[sidx]
        self.gsd = gsd = np.array([b.scene.gsd_m or np.nan for b in bundles],
                                  dtype=np.float64)[sidx]
        self.w, self.h = w, h = box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]
        self.cx, self.cy = cx, cy = (box[:, 0] + box[:, 2]) / 2, (box[:, 1] + box[:, 3]) / 2
        self.pos = positions(cx, cy, width, height)
        self.rot = rotated(shapely.from_wkb([o.poly_wkb for o in objs]), w, h,
                            np.array([np.nan if o.angle is None else o.angle for o in objs],
                                     dtype=float))
        self.rel_area = np.round(w * h / (width * height), 6)
        self.aspect = aspect = w / h
        self.border = ((box[:, 0] < BORDER_PX) | (box[:, 1] < BORDER_PX)
                       | (box[:, 2] > width - BORDER_PX) | (box[:, 3] > height - BORDER_PX)
                       | np.array([bool(o.attrs.get("clipped")) for o in objs], dtype=bool))
        self.shape = np.where(aspect > SHAPE_RATIO, 0, np.where(aspect < 1 / SHAPE_RATIO, 2, 1))
        self.gsd_rows = ~np.isnan(gsd)
        self.has_gsd = self.gsd_rows.tolist()
        self.oriented = ~np.isnan(self.rot["orientation"])
        self.plain = _plain_rows(self.rel_area)
        self.overlaps: list[bool] = []

    def r(self, a: np.ndarray, k: int, written: np.ndarray | None = None) -> list[Any]:
        """``a`` rounded to ``k`` decimals as Python values (rows where ``written`` is False
        are not written: their values do not count for plainness)."""
        a = np.round(a, k)
        self.plain[:] &= _plain_rows(a, written)
        return a.tolist()

    def metres(self, a: np.ndarray, k: int) -> list[Any]:
        """A length or area in metres, rounded: None where the scene's GSD is unknown."""
        return _unless(self.r(a, k, self.gsd_rows), self.has_gsd)


@dataclass(frozen=True)
class ObjectFact:
    """One per-object fact: its key in each object's document (keys appear in declaration
    order), its JSON type, how it is computed (from a :class:`Shard`, one value per object
    in shard order), the ``FACTS_VERSION`` it arrived in, and whether its values come
    verbatim from the annotations (then checked to be plain before the fast JSON path)."""

    name: str
    type: str
    compute: Callable[[Shard], list[Any]]
    since: int = 1
    verbatim: bool = False


_FIVE = ("top", "bottom", "left", "right", "center")
_SHAPES = ("wide", "square", "tall")

#: every per-object fact, in the order the documents have always had (see the module doc
#: for what each means); adding a fact is one line here (bump FACTS_VERSION) and its test
OBJECT_FACTS: tuple[ObjectFact, ...] = (
    ObjectFact("object_id", "str", lambda c: [o.object_id for o in c.objs], verbatim=True),
    ObjectFact("category", "str", lambda c: [o.category for o in c.objs], verbatim=True),
    ObjectFact("box", "[x0, y0, x1, y1] px", lambda c: c.r(c.box, 2)),
    ObjectFact("center", "[x, y] px", lambda c: c.r(np.column_stack([c.cx, c.cy]), 2)),
    ObjectFact("cell", "str", lambda c: _names(tuple(_CELLS), c.pos["cell"])),
    ObjectFact("grid", "int 1-9", lambda c: (c.pos["cell"] + 1).tolist()),
    ObjectFact("position", "str", lambda c: _names(_FIVE, c.pos["five"])),
    ObjectFact("pos_margin", "float", lambda c: c.r(c.pos["margin"], 4)),
    ObjectFact("size_class", "str", lambda c: _size_classes(c.rel_area)),
    ObjectFact("rel_area", "float", lambda c: c.rel_area.tolist()),
    ObjectFact("shape", "str", lambda c: _names(_SHAPES, c.shape)),
    ObjectFact("aspect", "float", lambda c: c.r(c.aspect, 4)),
    ObjectFact("elongation", "float", lambda c: c.r(np.minimum(c.rot["elongation"], 1e6), 4)),
    ObjectFact("orientation", "float | null", lambda c: _unless(
        c.r(c.rot["orientation"], 2, c.oriented), c.oriented.tolist())),
    ObjectFact("direction", "str | null", lambda c: _names((*DIRECTIONS, None),
                                                           c.rot["direction"])),
    ObjectFact("length_px", "float", lambda c: c.r(c.rot["length"], 2)),
    ObjectFact("width_px", "float", lambda c: c.r(c.rot["width"], 2)),
    ObjectFact("area_px", "float", lambda c: c.r(c.rot["area"], 2)),
    ObjectFact("polygon", "bool", lambda c: c.rot["has_poly"].tolist()),
    ObjectFact("size_m", "[w, h] m | null", lambda c: c.metres(
        np.column_stack([c.w * c.gsd, c.h * c.gsd]), 1)),
    ObjectFact("length_m", "float | null", lambda c: c.metres(c.rot["length"] * c.gsd, 2)),
    ObjectFact("width_m", "float | null", lambda c: c.metres(c.rot["width"] * c.gsd, 2)),
    ObjectFact("area_m2", "float | null", lambda c: c.metres(c.rot["area"] * c.gsd * c.gsd, 2)),
    ObjectFact("on", "str | null", lambda c: land_join(c.bundles, c.sidx, c.cx, c.cy)),
    ObjectFact("border", "bool", lambda c: c.border.tolist()),
    ObjectFact("overlaps", "bool", lambda c: c.overlaps),
    ObjectFact("fine_type", "str | null", lambda c: [o.fine_type for o in c.objs],
               verbatim=True),
)
_OBJECT_KEYS = tuple(f.name for f in OBJECT_FACTS)


def _object_dicts(shard: Shard) -> tuple[list[dict[str, Any]], list[bool]]:
    """Every object's facts dict of a shard, and per scene whether all its objects' values
    are plain (one that json.dumps and orjson write alike)."""
    columns = [f.compute(shard) for f in OBJECT_FACTS]
    plain_types = all(set(map(type, col)) <= ({str, type(None)} if "null" in f.type else {str})
                      for f, col in zip(OBJECT_FACTS, columns, strict=True) if f.verbatim)
    n = len(shard.bundles)
    plain = ((np.bincount(shard.sidx, weights=~shard.plain, minlength=n) == 0).tolist()
             if plain_types else [False] * n)
    return [dict(zip(_OBJECT_KEYS, values, strict=True)) for values in zip(*columns)], plain


_CATEGORY = itemgetter("category")


class SceneColumns:
    """One scene's inputs to the scene-level fact declarations (``SCENE_FACTS``): its bundle
    and scene record, its objects' documents, its relations and arrangements (computed for
    the whole shard), the dataset's vocabulary, and what several facts share: the category
    counts and the land-cover fractions, largest first (regions of an object class, instance
    or semantic masks of ships, are objects, never land cover: never "mostly ship")."""

    __slots__ = ("arrangement", "bundle", "counts", "land", "objects", "relations", "scene",
                 "vocabulary")

    def __init__(self, bundle: SceneBundle, objects: list[dict[str, Any]],
                 relations: dict[str, list], arrangement: dict[str, Any],
                 vocabulary: set[str]) -> None:
        self.bundle, self.scene, self.objects = bundle, bundle.scene, objects
        self.relations, self.arrangement, self.vocabulary = relations, arrangement, vocabulary
        self.counts = Counter(map(_CATEGORY, objects))
        self.land = sorted(((r.category, round(r.fraction, 6)) for r in bundle.regions
                            if r.category not in vocabulary),
                           key=lambda kv: (-kv[1], kv[0])) if bundle.regions else []


@dataclass(frozen=True)
class SceneFact:
    """One scene-level fact: its key in the scene's document (keys appear in declaration
    order), its JSON type, how it is computed (from a :class:`SceneColumns`) and the
    ``FACTS_VERSION`` it arrived in."""

    name: str
    type: str
    compute: Callable[[SceneColumns], Any]
    since: int = 1


def _dominant(s: SceneColumns) -> str | None:
    """The most numerous category, None on a tie or without objects."""
    ordered = sorted(s.counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return ordered[0][0] if ordered and (len(ordered) == 1
                                         or ordered[0][1] > ordered[1][1]) else None


def _in_region(s: SceneColumns) -> dict[str, dict[str, int]]:
    """Per category, how many of its objects are ``on`` each land-cover class."""
    in_region: dict[str, dict[str, int]] = {}
    for o in s.objects if s.bundle.regions else ():  # ``on`` needs a region of this scene
        if o["on"]:
            per = in_region.setdefault(o["category"], {})
            per[o["on"]] = per.get(o["on"], 0) + 1
    return {k: dict(sorted(v.items())) for k, v in sorted(in_region.items())}


def _geo(s: SceneColumns) -> dict[str, Any]:
    """The scene's SAR metadata (``GEO_KEYS``) and its offline geo facts (``_where``)."""
    geo = {k: v for k in GEO_KEYS if (v := getattr(s.scene, k)) is not None}
    if "gsd_m" in geo:
        geo["gsd_m"] = round(geo["gsd_m"], 3)
    geo |= _where(s.scene)
    return geo


#: every scene-level fact, in the order the documents have always had (see the module doc);
#: adding one is one line here (bump FACTS_VERSION) and its test
SCENE_FACTS: tuple[SceneFact, ...] = (
    SceneFact("version", "int", lambda s: FACTS_VERSION),
    SceneFact("scene_id", "str", attrgetter("scene.scene_id")),
    SceneFact("size", "[W, H] px", lambda s: [s.scene.width, s.scene.height]),
    SceneFact("objects", "[object facts]", attrgetter("objects")),
    SceneFact("counts", "{category: int}", lambda s: dict(sorted(s.counts.items()))),
    SceneFact("total", "int", lambda s: len(s.objects)),
    SceneFact("dominant", "str | null", _dominant),
    SceneFact("present", "[category]", lambda s: sorted(s.counts)),
    SceneFact("absent", "[category]", lambda s: sorted(s.vocabulary.difference(s.counts))),
    SceneFact("relations", "{left_of|above|near: [[i, j]]}", attrgetter("relations")),
    SceneFact("arrangement", "{category: {label, clear, n, linearity, spread}}",
              attrgetter("arrangement")),
    SceneFact("land_cover", "{class: fraction}", lambda s: dict(s.land)),
    SceneFact("dominant_land_cover", "str | null", lambda s: s.land[0][0] if s.land else None),
    SceneFact("in_region", "{category: {class: int}}", _in_region),
    SceneFact("geo", "{key: value}", _geo),
)
_SCENE_COMPUTE = tuple((f.name, f.compute) for f in SCENE_FACTS)


def _scene_dict(bundle: SceneBundle, objects: list[dict[str, Any]], relations: dict[str, list],
                arrangement: dict[str, Any], vocabulary: set[str]) -> dict[str, Any]:
    s = SceneColumns(bundle, objects, relations, arrangement, vocabulary)
    return {name: compute(s) for name, compute in _SCENE_COMPUTE}


def _where(scene: Any) -> dict[str, Any]:
    """Offline geo facts of a georeferenced scene (narrator.geo): place, country, surface..."""
    if scene.center_lon is None or scene.center_lat is None:
        return {}
    corners: tuple[tuple[float, float], ...] = ()
    if scene.footprint_wkb:
        ring = shapely.get_coordinates(shapely.from_wkb(scene.footprint_wkb))
        corners = tuple((round(float(x), 5), round(float(y), 5)) for x, y in ring[:4])
    out = dict(cached_geo_facts(round(scene.center_lon, 5), round(scene.center_lat, 5),
                                corners, scene.acquired_at))
    rotation = (scene.meta or {}).get("rotation_deg")
    if rotation is not None and abs(rotation) > 0.5:
        out["rotation_deg"] = round(rotation, 1)
    return out


def shard_facts(bundles: list[SceneBundle], vocabulary: list[str]) -> list[dict[str, Any]]:
    """The SceneFacts documents of a shard of scenes, in the order given."""
    return _shard_facts(bundles, vocabulary)[0]


def shard_facts_json(bundles: list[SceneBundle],
                     vocabulary: list[str]) -> list[tuple[dict[str, Any], str]]:
    """Each SceneFacts document of a shard with its canonical JSON text (the text of
    ``canonical_json``, written by orjson, about four times faster, where every value of the
    document is one that both write alike, else by ``canonical_json``)."""
    docs, plain = _shard_facts(bundles, vocabulary)
    if not all(type(v) is str for v in vocabulary):
        plain = [False] * len(docs)
    out = []
    for doc, bundle, ok in zip(docs, bundles, plain, strict=True):
        text = None
        if ok and _plain_scene(doc, bundle):
            try:
                text = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS).decode()
            except TypeError:  # e.g. a lone surrogate in a string: json.dumps decides
                text = None
        out.append((doc, text if text is not None else canonical_json(doc)))
    return out


def _shard_facts(bundles: list[SceneBundle],
                 vocabulary: list[str]) -> tuple[list[dict[str, Any]], list[bool]]:
    """The documents, and per document whether every value of its objects is plain (one
    that json.dumps and orjson write alike)."""
    shard = Shard(bundles)
    counts = np.array(shard.counts, dtype=np.int64)
    sizes = np.array([(b.scene.width, b.scene.height) for b in bundles],
                     dtype=np.float64).reshape(-1, 2)
    relations, shard.overlaps = shard_pairs(shard.box, shard.sidx, counts, sizes)
    arrangements = shard_arrangement([o.category for o in shard.objs], shard.sidx,
                                      shard.cx, shard.cy, sizes)
    objects, plain = _object_dicts(shard)
    vocab = set(vocabulary)
    out = []
    start = 0
    for k, (bundle, n) in enumerate(zip(bundles, shard.counts, strict=True)):
        out.append(_scene_dict(bundle, objects[start:start + n], relations[k], arrangements[k],
                               vocab))
        start += n
    return out, plain


def scene_facts(bundle: SceneBundle, vocabulary: list[str]) -> dict[str, Any]:
    """The SceneFacts document of one scene; ``vocabulary`` is the dataset's category list."""
    return shard_facts([bundle], vocabulary)[0]


def facts_hash(facts: dict[str, Any]) -> str:
    """The hash stored with a facts document (of its canonical JSON text)."""
    return text_hash(canonical_json(facts))
