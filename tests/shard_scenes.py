"""Seeded SceneBundles covering what ``process_shard`` must reproduce byte for byte.

Scenes of several sizes, with and without GSD and sensor metadata; objects with polygons
(rotated rectangles, irregular and degenerate rings), rotated boxes (an angle and no polygon)
and plain boxes; clipped, border, overlapping, tiny and elongated boxes; fine types;
land-cover regions (with geometries, and fractions only); categories outside the vocabulary;
scenes of 0, 1, about 10 and more than 60 objects, and aligned rows.
"""

from __future__ import annotations

import math
import random

import shapely
from shapely import affinity

from narrator.ids import make_id
from narrator.records import Object, Region, Scene, SceneBundle

CATEGORIES = ["ship", "aircraft", "tank", "bridge", "harbor", "car"]
EXTRA = ["storage_tank", "oil rig"]  # not in the vocabulary file: generic nouns
VOCABULARY = CATEGORIES + ["vehicle", "storage_tank"]
SIZES = [(800, 800), (300, 200), (512, 640), (1024, 1024)]


def _poly(rng: random.Random, x0: float, y0: float, x1: float, y1: float) -> bytes | None:
    kind = rng.randrange(5)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    if kind == 0:  # a rotated rectangle
        rect = shapely.box(cx - (x1 - x0) / 2, cy - (y1 - y0) / 4, cx + (x1 - x0) / 2,
                           cy + (y1 - y0) / 4)
        return affinity.rotate(rect, rng.uniform(0, 180), origin=(cx, cy)).wkb
    if kind == 1:  # an irregular ring
        pts = [(cx + rng.uniform(0.3, 1) * (x1 - x0) / 2 * math.cos(a),
                cy + rng.uniform(0.3, 1) * (y1 - y0) / 2 * math.sin(a))
               for a in sorted(rng.uniform(0, 2 * math.pi) for _ in range(7))]
        return shapely.Polygon(pts).buffer(0).wkb
    if kind == 2:  # degenerate: all points on one line
        return shapely.Polygon([(x0, y0), (cx, cy), (x1, y1), (x0, y0)]).wkb
    return None


def _object(rng: random.Random, sid: str, j: int, w: int, h: int, cat: str) -> Object:
    bw, bh = max(0.5, rng.gauss(40, 30)), max(0.5, rng.gauss(30, 20))
    if rng.random() < 0.1:
        bw, bh = rng.uniform(0.5, 3), rng.uniform(40, 90)  # thin / elongated
    x0, y0 = rng.uniform(-5, w - bw), rng.uniform(-5, h - bh)
    x0, y0 = max(0.0, round(x0, rng.choice([1, 2, 6]))), max(0.0, round(y0, 3))
    x1, y1 = min(float(w), x0 + bw), min(float(h), y0 + bh)
    angle = rng.choice([None, None, rng.uniform(-90, 270), 0.0, 45.0, 90.0])
    poly = _poly(rng, x0, y0, x1, y1) if angle is None else None
    attrs = {"clipped": True} if rng.random() < 0.05 else {}
    fine = rng.choice([None, None, "cargo", "Boeing 737"])
    return Object(make_id(sid, j), sid, cat, x0, y0, x1, y1, fine_type=fine, angle=angle,
                  poly_wkb=poly, attrs=attrs)


def _regions(rng: random.Random, sid: str, w: int, h: int) -> list[Region]:
    kind = rng.randrange(4)
    if kind == 0:
        return []
    if kind == 1:  # fractions only (no geometry)
        a = round(rng.random(), 3)
        return [Region(make_id(sid, "r", 0), sid, "water", a * w * h, a),
                Region(make_id(sid, "r", 1), sid, "vegetation", (1 - a) * w * h, 1 - a)]
    cut = rng.uniform(0.2, 0.8) * h
    water = shapely.Polygon([(0, cut), (w, cut + rng.uniform(-40, 40)), (w, h), (0, h)])
    land = shapely.box(0, 0, w, h).difference(water)
    built = land.intersection(shapely.box(0, 0, rng.uniform(0.2, 0.6) * w, h))
    out = []
    names = ["water", "built-up", "vegetation"] if kind == 2 else ["water", "built-up", "sand"]
    for name, geom in zip(names, (water, built, land.difference(built)), strict=True):
        if not geom.is_empty:
            out.append(Region(make_id(sid, name), sid, name, geom.area, geom.area / (w * h),
                              geom.wkb))
    if kind == 3 and out:
        out.append(Region(make_id(sid, "tie"), sid, "bare soil", out[0].area_px,
                          out[0].fraction, out[0].geom_wkb))
    return out


def _count(rng: random.Random, i: int) -> int:
    if i % 17 == 0:
        return 0
    if i % 17 == 1:
        return 1
    if i % 23 == 5:
        return rng.randint(61, 80)
    if i % 23 == 6:
        return 60
    return max(1, int(rng.gauss(10, 3)))


def make_bundles(n: int = 120, seed: int = 7) -> list[SceneBundle]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        sid = make_id("golden", seed, i)
        w, h = SIZES[i % len(SIZES)]
        geo = rng.random() < 0.7
        scene = Scene(sid, "golden", f"g{i}.tif", None, w, h,
                      gsd_m=rng.choice([0.5, 1.0, 3.0, 10.0, 0.12345]) if geo else None,
                      platform=rng.choice(["Sentinel-1A", None]) if geo else None,
                      band="C" if geo else None, polarization=rng.choice(["VV", "HH", None]),
                      incidence_angle=rng.choice([None, 33.5]),
                      crs=rng.choice([None, "EPSG:4326"]),
                      acquired_at=rng.choice([None, "2021-05-01T10:00:00"]))
        n_obj = _count(rng, i)
        pool = CATEGORIES[: rng.randint(1, len(CATEGORIES))] + (EXTRA if i % 5 == 0 else [])
        objs = [_object(rng, sid, j, w, h, rng.choice(pool)) for j in range(n_obj)]
        if n_obj >= 6 and i % 4 == 0:  # an aligned row of one category
            y = rng.uniform(0.2, 0.8) * h
            for k, o in enumerate(objs[:5]):
                o.category, o.y0, o.y1 = pool[0], y + k * 0.1, y + 10 + k * 0.1
                o.x0, o.x1 = 20.0 + 40 * k, 40.0 + 40 * k
        if n_obj >= 3 and i % 6 == 1:  # overlapping duplicates
            objs[1].x0, objs[1].y0, objs[1].x1, objs[1].y1 = (objs[0].x0 + 1, objs[0].y0 + 1,
                                                              objs[0].x1 + 1, objs[0].y1 + 1)
        out.append(SceneBundle(scene, objs, _regions(rng, sid, w, h)))
    return out
