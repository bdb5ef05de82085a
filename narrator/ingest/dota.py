"""DOTA text labels: oriented boxes as 8-point polygons, one file per image.

Each line is ``x1 y1 x2 y2 x3 y3 x4 y4 class [difficult]`` in continuous pixel coordinates
(DOTA's points start at the object's head and go clockwise). Optional header lines
``imagesource:GF-3`` and ``gsd:0.5`` give the platform and GSD (metres) when the raster lacks
them. Lines of five numbers, ``cx cy w h angle class [difficult]``, are rotated boxes (angle
in degrees unless ``angle_unit: rad``). Stored per object: the polygon (clipped to the image
when partly outside), its axis-aligned box, and the angle of its first edge (degrees,
see narrator.ingest.shapes).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

from narrator.ingest.labelfiles import LabelFileReader, read_text
from narrator.ingest.scenes import SceneBuilder
from narrator.ingest.shapes import (Candidate, edge_angle, flat_polygon, normalise_angle,
                                    parse_numbers, rotated_rect, to_angle_rad)
from narrator.records import Quarantine, SceneBundle

_HEADERS = {"imagesource", "gsd"}


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _split_header(line: str) -> tuple[str, str] | None:
    key, sep, value = line.partition(":")
    if sep and key.strip().lower() in _HEADERS and " " not in key.strip():
        return key.strip().lower(), value.strip()
    return None


class DotaReader(LabelFileReader):
    name = "dota"
    suffix = ".txt"

    @classmethod
    def looks_like(cls, text: str) -> bool:
        for line in text.splitlines()[:20]:
            line = line.strip()
            if not line or _split_header(line):
                continue
            tokens = line.split()
            for n in (8, 5):
                if len(tokens) in (n + 1, n + 2) and all(_is_number(t) for t in tokens[:n]) \
                        and not _is_number(tokens[n]):
                    return True
            return False
        return False

    def read_file(self, path: Path, builder: SceneBuilder
                  ) -> Iterator[SceneBundle | Quarantine]:
        lines = read_text(path).splitlines()
        hints: dict[str, object] = {}
        body: list[tuple[int, str]] = []
        for number, raw in enumerate(lines, start=1):
            line = raw.strip()
            header = _split_header(line) if line else None
            if header:
                self._hint(header, hints)
            elif line:
                body.append((number, line))
        scene = builder.build(path.stem, None, None, self.split_of(path), path.name,
                              hints=hints, origin=path)
        if isinstance(scene, Quarantine):
            yield scene
            return
        bundle = SceneBundle(scene)
        candidates = (self._line(line, number, path) for number, line in body)
        yield from self.add_objects(bundle, candidates, path)
        yield from self.complete(builder, bundle)

    @staticmethod
    def _hint(header: tuple[str, str], hints: dict[str, object]) -> None:
        key, value = header
        if key == "gsd":
            try:
                gsd = float(value)
            except ValueError:
                return
            if math.isfinite(gsd) and gsd > 0:
                hints["gsd_m"] = gsd
        elif value and value.lower() != "null":
            hints["platform"] = value

    def _line(self, line: str, number: int, path: Path) -> Candidate | Quarantine:
        record = f"line {number} of {path.name}"
        tokens = line.split()
        n = 8 if len(tokens) >= 9 else 5
        if len(tokens) < n + 1 or len(tokens) > n + 2:
            return Quarantine("ingest", str(path), f"expected 8 coordinates (or cx cy w h "
                              f"angle), a class and a difficulty, got {len(tokens)} fields",
                              record)
        nums = parse_numbers(tokens[:n], "coordinates")
        if isinstance(nums, str):
            return Quarantine("ingest", str(path), nums, record)
        difficult = len(tokens) == n + 2 and tokens[n + 1] not in ("0", "0.0")
        c = Candidate(tokens[n], record, str(number), difficult=difficult)
        if n == 8:
            poly = flat_polygon(nums, "polygon")
            if isinstance(poly, str):
                return Quarantine("ingest", str(path), poly, record)
            c.poly = poly
            c.angle = edge_angle(list(poly.exterior.coords))
            return c
        cx, cy, w, h, angle = nums
        rad = to_angle_rad(angle, self.config.angle_unit or "deg", "rotated box")
        if isinstance(rad, str):
            return Quarantine("ingest", str(path), rad, record)
        if w <= 0 or h <= 0:
            return Quarantine("ingest", str(path),
                              f"rotated box has zero or negative size: {nums!r}", record)
        c.poly = rotated_rect(cx, cy, w, h, rad)
        c.angle = normalise_angle(math.degrees(rad))
        return c
