"""An independent checker of VQA rows: recomputes every answer from the raw annotations.

It reads the COCO JSON, the land-cover mask rasters, the GSD (narrator.yaml or the image's
transform) and the category nouns (templates/vocabulary.yaml) itself, never SceneFacts nor
narrator.vqa, applies the definitions documented in narrator/facts.py and the README with
its own code (cells by comparison with the thirds, min-area rectangles by rotating calipers
over a convex hull, arrangement by SVD, land cover from mask pixels) and parses each answer
by its template family. ``check`` returns one message per wrong or ill-posed row.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import yaml

from tests.conftest import REPO
from tests.vqa_checks import CELLS, FamilyChecks

NUMBERS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split())}
_PIX = re.compile(r"\[(\d+), (\d+), (\d+), (\d+)\]")
_PCT = re.compile(r"\{<(\d+)><(\d+)><(\d+)><(\d+)>\}")


@dataclass
class Ann:
    category: str
    box: tuple[float, float, float, float]
    clipped: bool
    ring: np.ndarray | None
    fine: str | None = None

    @property
    def center(self) -> tuple[float, float]:
        return (self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2


@dataclass
class Raw:
    width: int
    height: int
    gsd: float | None
    anns: list[Ann]
    mask: np.ndarray | None
    nodata: Any
    classes: dict[int, str]
    center: tuple[float, float] | None = None  # lon, lat of the raster centre (WGS84)


def load_raw(dataset: Path) -> dict[str, Raw]:
    """Raw scenes by file name, read straight from the dataset folder."""
    cfg = yaml.safe_load((dataset / "narrator.yaml").read_text())
    masks = cfg.get("masks") or {}
    out: dict[str, Raw] = {}
    for rel in cfg["annotations"]:
        coco = json.loads((dataset / rel).read_text())
        names = {c["id"]: c["name"] for c in coco["categories"]}
        mapped = _class_map(cfg.get("class_map"))
        anns: dict[Any, list[dict[str, Any]]] = {}
        for a in coco["annotations"]:
            anns.setdefault(a["image_id"], []).append(a)
        for img in coco["images"]:
            w, h = img["width"], img["height"]
            raw = Raw(w, h, _gsd(dataset / cfg.get("images", "."), img["file_name"], cfg),
                      [], None, None, {int(k): v for k, v in (masks.get("classes") or {}).items()},
                      _center(dataset / cfg.get("images", ".") / img["file_name"]))
            for a in anns.get(img["id"], []):
                x, y, bw, bh = (float(v) for v in a["bbox"])
                box = (max(x, 0.0), max(y, 0.0), min(x + bw, w), min(y + bh, h))
                if box[2] <= box[0] or box[3] <= box[1]:
                    continue  # wholly outside: quarantined at ingest
                seg = a.get("segmentation") or []
                ring = np.array(seg[0], dtype=float).reshape(-1, 2) if seg else None
                cat, fine = mapped.get(names[a["category_id"]], (names[a["category_id"]], None))
                raw.anns.append(Ann(cat, box, box != (x, y, x + bw, y + bh), ring, fine))
            if masks:
                stem = Path(img["file_name"]).stem
                path = dataset / masks.get("dir", "masks") / masks["pattern"].format(stem=stem)
                if path.is_file():
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")  # masks without a CRS
                        with rasterio.open(path) as src:
                            raw.mask, raw.nodata = src.read(1), src.nodata
            out[img["file_name"]] = raw
    return out


def _class_map(name: str | None) -> dict[str, tuple[str, str | None]]:
    """Raw class name -> (category, fine type), read from the built-in class map file."""
    if not name:
        return {}
    data = yaml.safe_load((REPO / "templates" / "classmaps" / f"{name}.yaml").read_text())
    out: dict[str, tuple[str, str | None]] = {}
    for raw, spec in (data.get("classes") or {}).items():
        out[str(raw)] = ((spec["category"], spec.get("fine_type")) if isinstance(spec, dict)
                         else (str(spec), None))
    return out


def _center(path: Path) -> tuple[float, float] | None:
    """The WGS84 lon/lat of a georeferenced raster's centre, straight from the file."""
    if not path.is_file():
        return None
    from pyproj import Transformer
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with rasterio.open(path) as src:
            if src.crs is None:
                return None
            x, y = src.transform * (src.width / 2, src.height / 2)
            lon, lat = Transformer.from_crs(src.crs, "EPSG:4326", always_xy=True).transform(x, y)
    return lon, lat


def _gsd(images: Path, file_name: str, cfg: dict[str, Any]) -> float | None:
    path = images / file_name
    if path.is_file():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with rasterio.open(path) as src:
                t = src.transform
        return (math.hypot(t.a, t.d) + math.hypot(t.b, t.e)) / 2
    return (cfg.get("sar") or {}).get("gsd_m")


def nouns() -> dict[str, str]:
    """Every way a category is written (singular, plural, dataset name) -> category."""
    data = yaml.safe_load((REPO / "templates" / "vocabulary.yaml").read_text())
    out: dict[str, str] = {}
    for cat, spec in (data.get("categories") or {}).items():
        sing = spec.get("singular", cat)
        out.update({sing: cat, spec.get("plural", sing + "s"): cat, cat: cat})
    # a catch-all class ("other") is written as these, never as its name
    out.update({"object of another type": "other", "objects of other types": "other"})
    return out


class Checker(FamilyChecks):
    """Recomputes the answer of every row; ``check(rows)`` lists the wrong ones."""

    def __init__(self, raw: dict[str, Raw], files: dict[str, str]) -> None:
        self.raw = raw
        self.files = files  # scene_id -> file name
        self.raw_categories = {a.category for r in raw.values() for a in r.anns}
        self.nouns = nouns()

    def check(self, rows: list[dict[str, Any]]) -> list[str]:
        errors = []
        for row in rows:
            fam = row["template_id"].rsplit(".v", 1)[0]
            scene = self.raw[self.files[row["scene_id"]]]
            try:
                problem = getattr(self, f"_{fam}")(row, scene, row["params"])
            except Exception as exc:  # a parse failure is a wrong answer too
                problem = f"unparseable ({type(exc).__name__}: {exc})"
            if problem:
                errors.append(f"{row['template_id']} [{row['style']}] {row['question']!r} -> "
                              f"{row['answer']!r}: {problem}")
        return errors

    # -- helpers ---------------------------------------------------------------------------
    def cat(self, text: str) -> str:
        kept = re.sub(r"^(It is |it is |The |the )?(an? )?", "", text.strip().rstrip("."))
        t = kept.lower()
        if kept in self.raw_categories:  # a dataset name written as is ("ARJ21")
            return kept
        if kept.endswith("s") and kept[:-1] in self.raw_categories:  # its plural
            return kept[:-1]
        return self.nouns.get(t) or self.nouns.get(t.replace(" ", "_")) or t

    @staticmethod
    def counts(s: Raw) -> Counter[str]:
        return Counter(a.category for a in s.anns)

    @staticmethod
    def cell(s: Raw, a: Ann) -> str:
        cx, cy = a.center
        col = 0 if cx < s.width / 3 else 1 if cx < 2 * s.width / 3 else 2
        row = 0 if cy < s.height / 3 else 1 if cy < 2 * s.height / 3 else 2
        return CELLS[row][col]

    def grid(self, s: Raw, a: Ann) -> int:
        flat = [c for r in CELLS for c in r]
        return flat.index(self.cell(s, a)) + 1

    @staticmethod
    def five(s: Raw, a: Ann) -> str:
        nx, ny = a.center[0] / s.width - 0.5, a.center[1] / s.height - 0.5
        if abs(nx) < 1 / 6 and abs(ny) < 1 / 6:
            return "center"
        if abs(ny) >= abs(nx):
            return "top" if ny < 0 else "bottom"
        return "left" if nx < 0 else "right"

    @staticmethod
    def overlapping(s: Raw, a: Ann) -> bool:
        return any(b is not a and min(a.box[2], b.box[2]) > max(a.box[0], b.box[0])
                   and min(a.box[3], b.box[3]) > max(a.box[1], b.box[1]) for b in s.anns)

    @staticmethod
    def border(s: Raw, a: Ann) -> bool:
        x0, y0, x1, y1 = a.box
        return a.clipped or x0 < 1 or y0 < 1 or x1 > s.width - 1 or y1 > s.height - 1

    def target(self, s: Raw, category: str) -> Ann:
        """The only, unambiguous instance of ``category`` (raises when there is none)."""
        found = [a for a in s.anns if a.category == category]
        if len(found) != 1:
            raise ValueError(f"{len(found)} instances of {category}: ambiguous target")
        a = found[0]
        if self.overlapping(s, a) or self.border(s, a):
            raise ValueError(f"{category} overlaps another box or is cut by the border")
        return a

    @staticmethod
    def fmt_box(s: Raw, box: tuple[float, ...], style: str) -> str:
        r = [round(v, 2) for v in box]
        if style == "sarchat":
            q = [math.floor(100 * r[0] / s.width + 0.5), math.floor(100 * r[1] / s.height + 0.5),
                 math.floor(100 * r[2] / s.width + 0.5), math.floor(100 * r[3] / s.height + 0.5)]
            return "{<%d><%d><%d><%d>}" % tuple(q)
        q = [math.floor(v + 0.5) for v in r]
        if style == "sarlang":
            return f"[{q[0]}, {q[1]}, {q[2] - q[0]}, {q[3] - q[1]}]"
        return f"[{q[0]}, {q[1]}, {q[2]}, {q[3]}]"

    @staticmethod
    def boxes_in(text: str, style: str) -> list[str]:
        pattern = _PCT if style == "sarchat" else _PIX
        return [m.group(0) for m in pattern.finditer(text)]

    @staticmethod
    def land_at(s: Raw, a: Ann) -> str | None:
        if s.mask is None:
            return None
        cx, cy = a.center
        value = int(s.mask[min(int(cy), s.height - 1), min(int(cx), s.width - 1)])
        return None if value == s.nodata else s.classes.get(value)

    @staticmethod
    def land_fractions(s: Raw) -> dict[str, float]:
        if s.mask is None:
            return {}
        valid = s.mask != s.nodata if s.nodata is not None else np.ones_like(s.mask, bool)
        n = int(valid.sum())
        return {name: int((s.mask == v).sum()) / n for v, name in s.classes.items()
                if (s.mask == v).any()}

    def number(self, text: str) -> float:
        m = re.search(r"\d+(?:\.\d+)?", text)
        if m:
            return float(m.group(0))
        return NUMBERS[text.strip().split()[0].lower()]

    def phrase_counts(self, text: str) -> dict[str, int]:
        """'five ships, three cars and one harbor' -> {'ship': 5, 'car': 3, 'harbor': 1}."""
        out: dict[str, int] = {}
        for part in re.split(r", | and ", text):
            word, noun = part.split(" ", 1)
            out[self.cat(noun)] = NUMBERS[word] if word in NUMBERS else int(word)
        return out

    @staticmethod
    def expect(got: Any, want: Any) -> str | None:
        return None if got == want else f"expected {want!r}, got {got!r}"
