"""Vector labels in a map CRS (GeoJSON, GeoPackage, Shapefile; read with geopandas).

Every georeferenced raster under the images folder is a scene. Each feature is reprojected to
the raster's CRS, moved into its pixel frame through the inverse of the raster's affine
transform (rotated transforms included) and clipped to the image; a feature may land on
several scenes. Features that lie wholly outside every scene are dropped and counted
(``dropped`` per source). Points and lines get a width of ``vector.buffer_px`` pixels.

The class of a feature is the ``vector.class_field`` column, else the first of
``class, category, label, type, class_name``; without one, ``vector.category`` (or the class
map's ``vector_category``) names them all, else the file's stem. With ``vector.kind:
regions`` the features become one region per class and scene (area fraction of the image)
instead of objects.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
from rasterio import Affine
from shapely import affinity, union_all
from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry

from narrator.errors import InputError
from narrator.ids import make_id
from narrator.ingest.base import DatasetConfig, Reader
from narrator.ingest.scenes import SceneBuilder, raster_files
from narrator.ingest.shapes import Candidate, make_object
from narrator.records import Object, Quarantine, Region, Scene, SceneBundle

VECTOR_SUFFIXES = (".geojson", ".gpkg", ".shp")
CLASS_FIELDS = ("class", "category", "label", "type", "class_name")


@dataclass
class _Target:
    """One raster scene and what the vector files put on it."""

    bundle: SceneBundle
    to_pixel: list[float]
    footprint: Polygon
    shapes: dict[str, list[BaseGeometry]] = field(default_factory=lambda: defaultdict(list))


def read_vector(path: Path, layer: str | None = None) -> gpd.GeoDataFrame:
    """The features of ``path``. A feature whose geometry GEOS cannot build (NaN in a ring,
    an unclosed ring) gets no geometry, and ``attrs['invalid']`` says why, so that only that
    feature is quarantined."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return gpd.read_file(path, layer=layer)
    except Exception as exc:  # pyogrio raises many kinds; all mean "cannot read this file"
        first = exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            gdf = gpd.read_file(path, layer=layer, on_invalid="ignore")
    except Exception:  # noqa: BLE001 - report the first error, the file's own
        raise InputError(path, f"not a readable vector file ({first})") from None
    gdf.attrs["invalid"] = str(first)
    return gdf


def _target(scene: Scene) -> _Target:
    a, b, c, d, e, f = scene.transform or (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    inv = ~Affine(a, b, c, d, e, f)
    fwd = Affine(a, b, c, d, e, f)
    w, h = scene.width, scene.height
    footprint = Polygon([fwd * xy for xy in ((0, 0), (w, 0), (w, h), (0, h))])
    return _Target(SceneBundle(scene), [inv.a, inv.b, inv.d, inv.e, inv.c, inv.f], footprint)


class VectorReader(Reader):
    name = "vector"

    def __init__(self, config: DatasetConfig) -> None:
        super().__init__(config)
        self._targets: list[_Target] | None = None
        self._builder: SceneBuilder | None = None
        self._raster_problems: list[Quarantine] = []

    @classmethod
    def _files(cls, config: DatasetConfig) -> list[Path]:
        if config.annotations:
            return [config.path(a) for a in config.annotations]
        return sorted(p for p in config.root.rglob("*")
                      if p.suffix.lower() in VECTOR_SUFFIXES and p.is_file())

    @classmethod
    def detect(cls, config: DatasetConfig) -> bool:
        return any(p.suffix.lower() in VECTOR_SUFFIXES for p in cls._files(config))

    def sources(self) -> list[Path]:
        return self._files(self.config)

    def targets(self) -> list[_Target]:
        """Every georeferenced raster under the images folder, as a scene (read once)."""
        if self._targets is None:
            images = self.config.images_dir
            self._builder = self.scene_builder(images)
            self._targets = []
            for path in raster_files(images):
                scene = self._builder.build(path.name, None, None, None, path.name, path=path)
                if isinstance(scene, Quarantine):
                    self._raster_problems.append(scene)
                elif scene.crs is None or scene.transform is None:
                    self._raster_problems.append(Quarantine(
                        "ingest", str(path), "raster has no CRS or transform; vector labels "
                        "cannot be placed on it", path.name, scene.scene_id))
                else:
                    self._targets.append(_target(scene))
            if not self._targets:
                self._builder.warn(f"{images}: no georeferenced raster to place the vector "
                                   "labels on (set images: in narrator.yaml or --images)")
        return self._targets

    def _classes(self, gdf: gpd.GeoDataFrame, source: Path) -> list[Any]:
        column = self.config.vector.class_field or next(
            (c for c in CLASS_FIELDS if c in gdf.columns), None)
        if column is not None:
            if column not in gdf.columns:
                raise InputError(source, f"no column {column!r} (vector.class_field); columns: "
                                         f"{', '.join(map(str, gdf.columns))}")
            return list(gdf[column])
        default = (self.config.vector.category or self.class_map.vector_category
                   or source.stem)
        return [default] * len(gdf)

    def read_source(self, source: Path) -> Iterator[SceneBundle | Quarantine]:
        gdf = read_vector(source, self.config.vector.layer)
        stats = self.source_stats(source)
        if gdf.crs is None:
            stats.warnings.append(f"{source}: no CRS; taking the coordinates as WGS84 lon/lat")
            gdf = gdf.set_crs("EPSG:4326")
        classes = self._classes(gdf, source)
        used = np.zeros(len(gdf), dtype=bool)
        for i, (geom, name) in enumerate(zip(gdf.geometry, classes, strict=True)):
            if geom is None or geom.is_empty or name is None or \
                    (isinstance(name, float) and math.isnan(name)):
                what = "no geometry" if geom is None or geom.is_empty else "no class"
                if what == "no geometry" and gdf.attrs.get("invalid"):
                    what = f"no valid geometry ({gdf.attrs['invalid']})"
                used[i] = True  # quarantined, so not counted as dropped
                yield Quarantine("ingest", str(source), f"feature has {what}", f"feature {i}")
        by_crs: dict[str, list[_Target]] = defaultdict(list)
        for t in self.targets():
            by_crs[str(t.bundle.scene.crs)].append(t)
        for crs, targets in by_crs.items():
            projected = gdf.geometry.to_crs(crs)
            for t in targets:
                hits = [int(i) for i in projected.sindex.query(t.footprint, "intersects")]
                placed = yield from self._place(t, projected, classes, hits, source)
                used[placed] = True
                if placed:
                    stats.scenes += 1
        stats.dropped += int((~used).sum())
        if stats.dropped:
            stats.warnings.append(f"{source}: {stats.dropped} feature(s) lie wholly outside "
                                  "every scene and were dropped")

    def _place(self, t: _Target, projected: gpd.GeoSeries, classes: list[Any],
               hits: list[int], source: Path) -> Generator[Quarantine, None, list[int]]:
        """Put the features ``hits`` on target ``t``; returns the indices placed."""
        scene = t.bundle.scene
        frame = box(0, 0, scene.width, scene.height)
        placed: list[int] = []
        buffer = self.config.vector.buffer_px
        for i in hits:
            geom = projected.iloc[i]
            if geom is None or geom.is_empty or classes[i] is None:
                continue
            pix = affinity.affine_transform(geom, t.to_pixel)
            if pix.geom_type not in ("Polygon", "MultiPolygon"):
                pix = pix.buffer(buffer, cap_style="square")
            if not pix.intersects(frame) or pix.intersection(frame).area <= 0:
                continue
            name = str(classes[i])
            if self.config.vector.kind == "regions":
                t.shapes[name].append(pix.intersection(frame))
                placed.append(i)
                continue
            c = Candidate(name, f"feature {i} of {source.name}", f"{source.name}:{i}", poly=pix)
            obj = make_object(self.classify, source, scene, c)
            if isinstance(obj, Object):
                t.bundle.objects.append(obj)
                self.source_stats(source).objects += 1
                placed.append(i)
            else:
                yield obj
        return placed

    def finish(self) -> Iterator[SceneBundle | Quarantine]:
        yield from self._raster_problems
        if self._builder is None:
            return
        for t in self.targets():
            scene = t.bundle.scene
            for name, geoms in sorted(t.shapes.items()):
                geom = union_all(geoms)
                t.bundle.regions.append(Region(
                    region_id=make_id(scene.scene_id, "vector", name), scene_id=scene.scene_id,
                    category=self.classify(name).category, area_px=geom.area,
                    fraction=geom.area / (scene.width * scene.height), geom_wkb=geom.wkb,
                    source=str(self.config.images_dir)))
            yield from self._builder.attach_masks(t.bundle)
            self._builder.stats.scenes += 1
            self._builder.stats.regions += len(t.bundle.regions)
            yield t.bundle
