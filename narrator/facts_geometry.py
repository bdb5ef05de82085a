"""The vectorised geometry of narrator.facts, over a whole shard of objects at once (numpy
and shapely 2): grid cells and positions, rotated rectangles, the land-cover spatial join,
pairwise relations and overlaps, and per-category arrangements. The definitions are in
narrator/facts.py's module documentation."""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from narrator.records import SceneBundle

ELONGATED = 1.5
NEAR_FRACTION = 1 / 8
ALIGNED_MAX = 0.1
CLUSTER_MAX = 0.25  # of (W + H) / 2, i.e. a radius of (W + H) / 8
ARRANGE_MIN = 3
ON_MARGIN_PX = 2.0
MAX_RELATION_OBJECTS = 60


def positions(cx: np.ndarray, cy: np.ndarray, width: np.ndarray,
               height: np.ndarray) -> dict[str, np.ndarray]:
    """3x3 cell index, grid number, five-way position and the margin to their boundaries."""
    col = np.minimum((cx * 3 / width).astype(int), 2)
    row = np.minimum((cy * 3 / height).astype(int), 2)
    u, v = cx / width, cy / height
    grid_margin = np.minimum.reduce([np.abs(u - 1 / 3), np.abs(u - 2 / 3),
                                     np.abs(v - 1 / 3), np.abs(v - 2 / 3)])
    a, b = np.abs(2 * u - 1), np.abs(2 * v - 1)
    inner = np.maximum(a, b) < 1 / 3
    vertical = b >= a
    five = np.where(inner, 4, np.where(vertical, np.where(v < 0.5, 0, 1),
                                       np.where(u < 0.5, 2, 3)))
    five_margin = np.where(inner, 1 / 3 - np.maximum(a, b),
                           np.minimum(np.maximum(a, b) - 1 / 3, np.abs(a - b))) / 2
    return {"cell": row * 3 + col, "five": five,
            "margin": np.minimum(grid_margin, five_margin)}


def rotated(polys: np.ndarray, w: np.ndarray, h: np.ndarray,
             angles: np.ndarray) -> dict[str, np.ndarray]:
    """Length, width and orientation from the minimum rotated rectangle of each polygon."""
    n = len(w)
    length, width = np.maximum(w, h), np.minimum(w, h)
    orient = np.where(np.isnan(angles), np.nan, np.mod(angles, 180.0))
    has_poly = ~shapely.is_missing(polys)
    area = w * h
    if has_poly.any():
        area = np.where(has_poly, shapely.area(polys), area)
        rects = shapely.oriented_envelope(polys)
        ok = np.zeros(n, dtype=bool)
        ok[has_poly] = shapely.get_num_coordinates(rects[has_poly]) == 5
        if ok.any():
            c = shapely.get_coordinates(rects[ok]).reshape(-1, 5, 2)
            e1, e2 = c[:, 1] - c[:, 0], c[:, 2] - c[:, 1]
            l1, l2 = np.hypot(e1[:, 0], e1[:, 1]), np.hypot(e2[:, 0], e2[:, 1])
            vec = np.where((l1 >= l2)[:, None], e1, e2)
            length[ok], width[ok] = np.maximum(l1, l2), np.minimum(l1, l2)
            orient[ok] = np.mod(np.degrees(np.arctan2(vec[:, 1], vec[:, 0])), 180.0)
    elong = np.where(width > 0, length / np.where(width > 0, width, 1), np.inf)
    bins = (np.mod(np.nan_to_num(orient) + 22.5, 180.0) // 45).astype(int)
    directed = ~np.isnan(orient) & (elong >= ELONGATED)
    return {"length": length, "width": width, "area": area, "orientation": orient,
            "has_poly": has_poly,
            "elongation": elong, "direction": np.where(directed, bins, -1)}


def _offset(geoms: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """Shift each geometry by its own x offset (vectorised over all coordinates)."""
    shift = np.repeat(dx, shapely.get_num_coordinates(geoms))
    return shapely.transform(geoms, lambda c: c + np.column_stack([shift, np.zeros_like(shift)]))


def land_join(bundles: list[SceneBundle], sidx: np.ndarray, cx: np.ndarray,
               cy: np.ndarray) -> list[str | None]:
    """Spatial join of object centres with the land-cover regions of their own scene.

    All scenes share the pixel frame, so each scene's geometries are shifted along x by its
    index times a stride before one STRtree query over the whole shard.
    """
    on: list[str | None] = [None] * len(cx)
    regions = [(i, r) for i, b in enumerate(bundles) for r in b.regions if r.geom_wkb]
    if not regions or not len(cx):
        return on
    stride = max(b.scene.width for b in bundles) + 16.0
    reg_scene = np.array([i for i, _ in regions], dtype=float)
    geoms = _offset(shapely.from_wkb([r.geom_wkb for _, r in regions]), reg_scene * stride)
    points = shapely.points(cx + sidx * stride, cy)
    pi, ri = shapely.STRtree(geoms).query(points, predicate="within")
    if not len(pi):
        return on
    inside = shapely.distance(points[pi], shapely.boundary(geoms[ri])) >= ON_MARGIN_PX
    for p, r, ok in zip(pi.tolist(), ri.tolist(), inside.tolist(), strict=True):
        if ok and on[p] is None:
            on[p] = regions[r][1].category
    return on


def _scene_pairs(counts: np.ndarray, sidx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every ordered pair (i, j), i != j, of objects of the same scene, for the scenes of at
    most MAX_RELATION_OBJECTS objects; sorted by i, then j."""
    starts = np.cumsum(counts) - counts
    idx = np.flatnonzero(counts[sidx] <= MAX_RELATION_OBJECTS)
    rep = counts[sidx[idx]]
    first = np.repeat(idx, rep)
    second = (np.repeat(starts[sidx[idx]], rep)
              + np.arange(len(first)) - np.repeat(np.cumsum(rep) - rep, rep))
    keep = first != second
    return first[keep], second[keep]


def _big_overlaps(box: np.ndarray, overlaps: np.ndarray, start: int) -> None:
    """Overlaps inside one large scene, through an STRtree instead of all pairs."""
    geoms = shapely.box(box[:, 0], box[:, 1], box[:, 2], box[:, 3])
    i, j = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    ix = np.minimum(box[i, 2], box[j, 2]) - np.maximum(box[i, 0], box[j, 0])
    iy = np.minimum(box[i, 3], box[j, 3]) - np.maximum(box[i, 1], box[j, 1])
    overlaps[start + i[(i != j) & (ix > 0) & (iy > 0)]] = True


def shard_pairs(box: np.ndarray, sidx: np.ndarray, counts: np.ndarray,
                 sizes: np.ndarray) -> tuple[list[dict[str, list]], list[bool]]:
    """Pairwise relations per scene (local indices) and which boxes overlap another, for a
    whole shard at once."""
    starts = np.cumsum(counts) - counts
    first, second = _scene_pairs(counts, sidx)
    x0, y0, x1, y1 = box.T
    ov = ((np.minimum(x1[first], x1[second]) - np.maximum(x0[first], x0[second]) > 0)
          & (np.minimum(y1[first], y1[second]) - np.maximum(y0[first], y0[second]) > 0))
    overlaps = np.zeros(len(box), dtype=bool)
    overlaps[first[ov]] = True
    for k in np.flatnonzero(counts > MAX_RELATION_OBJECTS):
        _big_overlaps(box[starts[k]:starts[k] + counts[k]], overlaps, int(starts[k]))
    scene = sidx[first]
    local = np.column_stack([first - starts[scene], second - starts[scene]])
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    reach = sizes[scene].sum(axis=1) * NEAR_FRACTION
    masks = {"left_of": x1[first] <= x0[second], "above": y1[first] <= y0[second],
             "near": (first < second) & (np.hypot(cx[first] - cx[second],
                                                  cy[first] - cy[second]) < reach)}
    out: list[dict[str, list]] = [{} if n > MAX_RELATION_OBJECTS else {k: [] for k in masks}
                                  for n in counts.tolist()]
    for name, mask in masks.items():
        pairs = local[mask].tolist()
        bounds = np.searchsorted(scene[mask], np.arange(len(counts) + 1)).tolist()
        for k in range(len(counts)):
            if bounds[k] < bounds[k + 1]:
                out[k][name] = pairs[bounds[k]:bounds[k + 1]]
    return out, overlaps.tolist()


def shard_arrangement(cats: list[str], sidx: np.ndarray, cx: np.ndarray, cy: np.ndarray,
                       sizes: np.ndarray) -> list[dict[str, dict[str, Any]]]:
    """Arrangement of every (scene, category) group of >= 3 instances, for a whole shard."""
    out: list[dict[str, dict[str, Any]]] = [{} for _ in range(len(sizes))]
    names = sorted(set(cats))
    if not names:
        return out
    code = {c: i for i, c in enumerate(names)}
    group = sidx * len(names) + np.array([code[c] for c in cats])
    order = np.argsort(group, kind="stable")
    uniq, first, cnt = np.unique(group[order], return_index=True, return_counts=True)
    px, py = cx[order], cy[order]
    dx = px - np.repeat(np.add.reduceat(px, first) / cnt, cnt)
    dy = py - np.repeat(np.add.reduceat(py, first) / cnt, cnt)
    sxx, syy = np.add.reduceat(dx * dx, first), np.add.reduceat(dy * dy, first)
    sxy = np.add.reduceat(dx * dy, first)
    half, root = (sxx + syy) / 2, np.hypot((sxx - syy) / 2, sxy)
    big = half + root > 1e-9
    lin = np.where(big, np.sqrt(np.maximum(half - root, 0) / np.where(big, half + root, 1)), 1.0)
    scene = uniq // len(names)
    spread = np.maximum.reduceat(np.hypot(dx, dy), first) / (sizes[scene].sum(axis=1) / 2)
    clear = (lin <= 0.7 * ALIGNED_MAX) | ((lin >= 1.3 * ALIGNED_MAX)
                                         & (np.abs(spread / CLUSTER_MAX - 1) >= 0.1))
    for g in np.flatnonzero(cnt >= ARRANGE_MIN).tolist():
        label = ("aligned" if lin[g] < ALIGNED_MAX else
                 "clustered" if spread[g] < CLUSTER_MAX else "scattered")
        out[int(scene[g])][names[int(uniq[g] % len(names))]] = {
            "label": label, "clear": bool(clear[g]), "n": int(cnt[g]),
            "linearity": round(float(lin[g]), 4), "spread": round(float(spread[g]), 4)}
    return out
