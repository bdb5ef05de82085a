"""Leak-free train/val/test splits: whole scene groups go to one split, never single texts.

Scenes are linked when they share any of these keys, and every connected set of scenes is
one *group*:

- ``parent``: crops of one parent scene. A file stem that ends in a crop window of four
  integers (HRSID's ``P0123_4800_5600_4800_5600``) has the parent ``P0123``, as do HRSID's
  indexed crops (``P0123_11``); a scene may also name its parent in
  ``meta["parent_scene"]``. Keyed per dataset.
- ``acq``: one acquisition, the same ``platform`` and ``acquired_at``.
- ``cell``: one geographic cell, the ``cell_deg`` x ``cell_deg`` lon/lat grid cell holding the
  scene centre.
- overlapping footprints: two scenes whose WGS84 footprints share area (not only an edge),
  which also joins neighbours that fall on either side of a cell border.

A group goes to the split that a hash of (seed, the group's smallest key) falls into, with
the configured ratios. The assignment is computed at export time from the ``scenes`` table
and is not stored: it is a pure function of the scenes' metadata, the ratios, the seed and
the cell size, so the same database and settings always give the same splits.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import pyarrow as pa
import shapely

from narrator.queries import SPLIT_SCENES_SQL
from narrator.errors import ConfigError
from narrator.ids import canonical_json
from narrator.store import Store

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
#: a crop window of four integers, or HRSID's ``P<4 digits>_<index>`` crops (``P0137_11``)
_CROPS = (re.compile(r"^(?P<parent>.+?)(?:_\d+){4}$"),
          re.compile(r"^(?P<parent>P\d{4})(?:_\d+)+$"))


@dataclass(frozen=True)
class SplitConfig:
    """Ratios of (train, val, test), the hash seed and the geographic cell size in degrees."""

    ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0
    cell_deg: float = 0.1

    def __post_init__(self) -> None:
        if len(self.ratios) != 3 or any(not math.isfinite(r) or r < 0 for r in self.ratios) \
                or sum(self.ratios) <= 0:
            raise ConfigError(f"split ratios must be three non-negative numbers with a positive "
                              f"sum (train,val,test), got {self.ratios}")
        if not math.isfinite(self.cell_deg) or self.cell_deg <= 0:
            raise ConfigError(f"the geographic cell size must be > 0 degrees, got {self.cell_deg}")

    def split_of(self, group: str) -> str:
        """The split a group falls into: a uniform hash of (seed, group) against the ratios
        (``make_id("split", seed, group)``, with the hash of the first two parts reused)."""
        h = _split_prefix(self.seed).copy()
        h.update(_JSON.encode(group).encode("utf-8") + b"\x1f")
        u = int(h.hexdigest()[:16], 16) / 16 ** 16
        total, acc = sum(self.ratios), 0.0
        for name, ratio in zip(SPLITS, self.ratios, strict=True):
            acc += ratio / total
            if u < acc and ratio > 0:
                return name
        return next(n for n, r in zip(reversed(SPLITS), reversed(self.ratios), strict=True)
                    if r > 0)


#: ``canonical_json`` of a string (``narrator.ids``) without building an encoder per call
_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@functools.cache
def _split_prefix(seed: int) -> Any:
    """blake2b after the parts ``"split"`` and ``seed`` of ``make_id``."""
    h = hashlib.blake2b(digest_size=16)
    for part in ("split", seed):
        h.update(canonical_json(part).encode("utf-8") + b"\x1f")
    return h


def parse_ratios(text: str) -> tuple[float, float, float]:
    """``"0.8,0.1,0.1"`` -> ``(0.8, 0.1, 0.1)`` (any scale: ``"8,1,1"`` is the same)."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise ConfigError(f"--ratios: expected three numbers like 0.8,0.1,0.1, got {text!r}")\
            from None
    if len(values) != 3:
        raise ConfigError(f"--ratios: expected three numbers (train,val,test), got {text!r}")
    return values  # type: ignore[return-value]


def parent_scene(file_name: str | None) -> str | None:
    """The parent scene of a crop named like HRSID's ``P0123_4800_5600_4800_5600`` or
    ``P0137_11``."""
    if not file_name:
        return None
    stem = _stem(file_name)
    for pattern in _CROPS:
        if m := pattern.match(stem):
            return m.group("parent")
    return None


def _stem(file_name: str) -> str:
    """``PurePosixPath(file_name).stem``, without building a path for the common case."""
    if file_name.endswith("/") or "//" in file_name or "/." in "/" + file_name:
        return PurePosixPath(file_name).stem
    name = file_name.rsplit("/", 1)[-1]
    dot = name.rfind(".")
    return name[:dot] if 0 < dot < len(name) - 1 else name


def group_keys(scene: dict[str, Any], cell_deg: float) -> list[str]:
    """The keys that link a scene to others (its own ``scene:`` key always included)."""
    keys = [f"scene:{scene['scene_id']}"]
    meta = scene.get("meta") or {}
    if isinstance(meta, str):
        meta = json.loads(meta) if meta else {}
    parent = meta.get("parent_scene") or parent_scene(scene.get("file_name"))
    if parent:
        keys.append(f"parent:{scene.get('dataset')}:{parent}")
    if scene.get("platform") and scene.get("acquired_at"):
        keys.append(f"acq:{scene['platform']}:{scene['acquired_at']}")
    lon, lat = scene.get("center_lon"), scene.get("center_lat")
    if lon is not None and lat is not None and math.isfinite(lon) and math.isfinite(lat):
        keys.append(f"cell:{cell_deg:g}:{math.floor(lon / cell_deg)}:"
                    f"{math.floor(lat / cell_deg)}")
    return keys


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, key: str) -> str:
        root = self.parent.setdefault(key, key)
        while root != self.parent[root]:
            root = self.parent[root]
        while key != root:  # path compression
            self.parent[key], key = root, self.parent[key]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:  # the smaller key stays the root: the group's name is its smallest key
            lo, hi = (ra, rb) if ra < rb else (rb, ra)
            self.parent[hi] = lo


class SplitAssignment:
    """Each scene's split and group (the group's smallest key), as columns in the order the
    scenes were read: ``ids``, ``codes`` (index into ``SPLITS``) and ``groups``: about 47
    bytes a scene (their nbytes at 100k scenes), where the dicts of scene id -> split and
    -> group it replaces took about 110 MB of RSS at 100k scenes with the table made from
    them. :attr:`split` and :attr:`group` give those dicts, built when first asked for."""

    def __init__(self, ids: pa.ChunkedArray | None = None, codes: np.ndarray | None = None,
                 groups: pa.ChunkedArray | None = None) -> None:
        self.ids = ids if ids is not None else pa.chunked_array([], pa.string())
        self.codes = codes if codes is not None else np.zeros(0, np.int8)
        self.groups = groups if groups is not None else pa.chunked_array([], pa.string())

    @functools.cached_property
    def split(self) -> dict[str, str]:
        """scene_id -> split."""
        return dict(zip(self.ids.to_pylist(), (SPLITS[c] for c in self.codes.tolist()),
                        strict=True))

    @functools.cached_property
    def group(self) -> dict[str, str]:
        """scene_id -> group."""
        return dict(zip(self.ids.to_pylist(), self.groups.to_pylist(), strict=True))

    def splits(self) -> pa.Array:
        """The split of each scene, as text."""
        return pa.array(SPLITS, pa.string()).take(pa.array(self.codes, pa.int8()))

    def scene_counts(self) -> dict[str, int]:
        counts = np.bincount(self.codes, minlength=len(SPLITS)).tolist()
        return dict(zip(SPLITS, counts, strict=True))


def _link_overlaps(uf: _UnionFind, keys: list[str], footprints: list[bytes]) -> None:
    """Join scenes whose footprints share area (touching edges do not count)."""
    if len(footprints) < 2:
        return
    geoms = shapely.from_wkb(np.array(footprints, dtype=object), on_invalid="ignore")
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    pairs = left < right
    left, right = left[pairs], right[pairs]
    real = ~shapely.touches(geoms[left], geoms[right])
    for i, j in zip(left[real], right[real], strict=True):
        uf.union(keys[i], keys[j])


class _Assigner:
    """Groups scenes as they come, keeping little per scene: a scene that links to nothing
    (its own key only, no footprint) is a group of its own (``scene:<id>``), so only the
    others enter the union-find."""

    def __init__(self, config: SplitConfig) -> None:
        self.config = config
        self.uf = _UnionFind()
        self.linked: dict[int, str] = {}  # position -> own key, for scenes with links
        self.chunks: list[pa.Array] = []
        self.n = 0
        self.with_footprint: list[str] = []
        self.footprints: list[bytes] = []

    def add(self, rows: list[dict[str, Any]], ids: pa.Array) -> None:
        """One batch of scene rows, and their scene ids as an array."""
        cell = self.config.cell_deg
        for pos, scene in enumerate(rows, self.n):
            keys = group_keys(scene, cell)
            footprint = scene.get("footprint_wkb")
            if len(keys) == 1 and not footprint:
                continue
            self.linked[pos] = keys[0]
            for key in keys[1:]:
                self.uf.union(keys[0], key)
            if footprint:
                self.with_footprint.append(keys[0])
                self.footprints.append(footprint)
        self.chunks.append(ids)
        self.n += len(rows)

    def finish(self) -> SplitAssignment:
        _link_overlaps(self.uf, self.with_footprint, self.footprints)
        self.with_footprint, self.footprints = [], []
        split_of: dict[str, int] = {}  # one hash per linked group, not per scene
        index = {name: k for k, name in enumerate(SPLITS)}
        codes = np.zeros(self.n, np.int8)
        groups: list[pa.Array] = []
        start = 0
        for chunk in self.chunks:
            names = ["scene:" + i for i in chunk.to_pylist()]
            for k in range(len(names)):
                key = self.linked.get(start + k)
                if key is None:  # a group of its own: its name is hashed once anyway
                    codes[start + k] = index[self.config.split_of(names[k])]
                    continue
                group = names[k] = self.uf.find(key)
                if group not in split_of:
                    split_of[group] = index[self.config.split_of(group)]
                codes[start + k] = split_of[group]
            groups.append(pa.array(names, pa.string()))
            start += len(names)
        out = SplitAssignment(pa.chunked_array(self.chunks, pa.string()), codes,
                              pa.chunked_array(groups, pa.string()))
        _warn_if_lopsided(self.uf, list(self.linked.values()), self.n)
        return out


def assign_scenes(scenes: Iterable[dict[str, Any]], config: SplitConfig) -> SplitAssignment:
    """Group scenes by shared keys and overlapping footprints; give each group one split."""
    assigner = _Assigner(config)
    batch: list[dict[str, Any]] = []
    for scene in scenes:
        batch.append(scene)
        if len(batch) >= 50_000:
            assigner.add(batch, pa.array([s["scene_id"] for s in batch], pa.string()))
            batch = []
    if batch:
        assigner.add(batch, pa.array([s["scene_id"] for s in batch], pa.string()))
    return assigner.finish()


def _warn_if_lopsided(uf: _UnionFind, linked_keys: list[str], n: int) -> None:
    """Only scenes with links can share a group, so only those are counted."""
    if n < 10 or not linked_keys:
        return
    group, size = Counter(uf.find(k) for k in linked_keys).most_common(1)[0]
    if size > 0.5 * n:
        log.warning("one scene group (%s) holds %d of %d scenes, so the splits cannot "
                    "follow the ratios; a smaller --cell-deg may help", group, size, n)


def assign_splits(store: Store, config: SplitConfig) -> SplitAssignment:
    """Splits for every scene in the store (streams the scenes table)."""
    assigner = _Assigner(config)
    for batch in store.iter_batches(SPLIT_SCENES_SQL):
        # a copy: a column of a batch DuckDB handed over keeps the whole batch alive
        assigner.add(batch.to_pylist(), pa.concat_arrays([batch.column("scene_id")]))
    return assigner.finish()
