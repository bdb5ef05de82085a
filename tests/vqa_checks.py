"""The checker's per-family checks and geometry (see tests/vqa_checker.py).

Each ``_<family>(row, scene, params)`` recomputes the truth from the raw scene and returns
None when the answer states it, else what is wrong. Helpers (``self.target``, ``self.cell``,
``self.fmt_box``...) are the Checker's own, written apart from narrator.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

CELLS = [["top left", "top", "top right"], ["left", "center", "right"],
         ["bottom left", "bottom", "bottom right"]]
SIZE = ((0.4, "very large"), (0.25, "large"), (0.1, "medium"), (0.03, "small"))
DIRS = ("horizontal", "diagonal_down", "vertical", "diagonal_up")
_DIR_WORDS = {"top left to bottom right": "diagonal_down", "bottom left to top right":
              "diagonal_up", "horizontal": "horizontal", "vertical": "vertical"}


def hull(points: np.ndarray) -> np.ndarray:
    """Convex hull (Andrew's monotone chain)."""
    pts = sorted(set(map(tuple, points.tolist())))
    if len(pts) < 3:
        return np.array(pts)

    def half(seq: list[tuple[float, float]]) -> list[tuple[float, float]]:
        out: list[tuple[float, float]] = []
        for p in seq:
            while len(out) >= 2 and ((out[-1][0] - out[-2][0]) * (p[1] - out[-2][1])
                                     - (out[-1][1] - out[-2][1]) * (p[0] - out[-2][0])) <= 0:
                out.pop()
            out.append(p)
        return out

    return np.array(half(pts)[:-1] + half(pts[::-1])[:-1])


def min_rect(points: np.ndarray) -> tuple[float, float, float]:
    """(length, width, orientation in degrees [0, 180)) of the minimum-area rectangle,
    trying every hull edge as a side (rotating calipers, brute force)."""
    h = hull(points)
    best: tuple[float, float, float, float] | None = None
    for i in range(len(h)):
        dx, dy = h[(i + 1) % len(h)] - h[i]
        theta = math.atan2(dy, dx)
        c, s = math.cos(theta), math.sin(theta)
        u, v = h[:, 0] * c + h[:, 1] * s, -h[:, 0] * s + h[:, 1] * c
        ext_u, ext_v = float(u.max() - u.min()), float(v.max() - v.min())
        if best is None or ext_u * ext_v < best[0] - 1e-9:
            angle = math.degrees(theta) + (0 if ext_u >= ext_v else 90)
            best = (ext_u * ext_v, max(ext_u, ext_v), min(ext_u, ext_v), angle % 180)
    if best is None:
        raise ValueError("degenerate polygon")
    return best[1], best[2], best[3]


def shoelace(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))) / 2


def sig3_ok(value: float, truth: float) -> bool:
    """``value`` is ``truth`` to three significant figures (the 0.01 the facts keep aside)."""
    unit = 10 ** (math.floor(math.log10(truth)) - 2)
    return abs(value - truth) <= unit / 2 + 0.01 + 1e-9


def _phrase_cell(phrase: str) -> str:
    m = re.fullmatch(r"at the (.+) of the image|in the (center) of the image|"
                     r"on the (left|right) side of the image", phrase)
    if not m:
        raise ValueError(f"not a position phrase: {phrase!r}")
    return next(g for g in m.groups() if g)


def _word(answer: str, words: tuple[str, ...]) -> str:
    low = answer.lower()
    found = [w for w in words if w in low]
    if len(found) != 1:
        raise ValueError(f"expected one of {words}")
    return found[0]


class FamilyChecks:
    """Mixed into Checker: one method per template family."""

    # presence, counting, classes ------------------------------------------------------------
    def _presence(self, row: dict, s: Any, p: dict) -> str | None:
        return self.expect(_word(row["answer"], ("yes", "no")),
                           "yes" if self.counts(s)[p["category"]] else "no")

    def _count(self, row: dict, s: Any, p: dict) -> str | None:
        return self.expect(int(row["answer"]), self.counts(s)[p["category"]])

    def _count_fine(self, row: dict, s: Any, p: dict) -> str | None:
        fine = p["fine_type"]
        if fine.lower() in ("other", "others", "unknown") or fine not in row["question"]:
            return f"question does not name the fine type {fine!r}"
        return self.expect(int(row["answer"]),
                           sum(a.category == p["category"] and a.fine == fine for a in s.anns))

    def _count_boxes(self, row: dict, s: Any, p: dict) -> str | None:
        m = re.fullmatch(r"There (?:is|are) (\d+) instances?\. (.+)", row["answer"])
        anns = [a for a in s.anns if a.category == p["category"]]
        want = sorted(self.fmt_box(s, a.box, "sarchat") for a in anns)
        return (self.expect(int(m.group(1)), len(anns))
                or self.expect(sorted(self.boxes_in(m.group(2), "sarchat")), want))

    def _dominant_truth(self, s: Any) -> str:
        ranked = self.counts(s).most_common()
        if not ranked or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
            raise ValueError("no single dominant category")
        return ranked[0][0]

    def _dominant(self, row: dict, s: Any, p: dict) -> str | None:
        return self.expect(self.cat(row["answer"]), self._dominant_truth(s))

    def _classify(self, row: dict, s: Any, p: dict) -> str | None:
        listed = re.search(r"(?:: |Candidates: |Options: )([^:]+?)\.?\??$", row["question"])
        candidates = [self.cat(c) for c in listed.group(1).split(", ")]
        answer = self.cat(row["answer"])
        if answer not in candidates or len(set(candidates)) != len(candidates):
            return f"answer {answer!r} not once among candidates {candidates}"
        return self.expect(answer, self._dominant_truth(s))

    def _region_class(self, row: dict, s: Any, p: dict) -> str | None:
        (shown,) = self.boxes_in(row["question"], row["style"])
        matches = [a for a in s.anns if self.fmt_box(s, a.box, row["style"]) == shown]
        if len(matches) != 1:
            return f"box {shown} matches {len(matches)} annotations"
        a = matches[0]
        if self.overlapping(s, a) or self.border(s, a):
            return "ambiguous target (overlapping or cut by the border)"
        if p.get("answer_key") == "fine":
            return self._fine_type(row["answer"], a)
        return self.expect(self.cat(row["answer"]), a.category)

    def _fine_type(self, answer: str, a: Any) -> str | None:
        """'It is a Boeing 787 aircraft.' / 'Boeing 787' / 'an aircraft of another type'."""
        text = re.sub(r"^(It is )?(an? )?", "", answer.strip().rstrip("."))
        if text.endswith("of another type"):
            catch_all = a.fine and a.fine.lower() in ("other", "others", "unknown")
            return None if catch_all else f"catch-all answer for fine type {a.fine!r}"
        singular = next((k for k, v in self.nouns.items() if v == a.category), a.category)
        text = text.removesuffix(" " + singular)
        return self.expect(text, a.fine)

    # positions --------------------------------------------------------------------------------
    def _position(self, row: dict, s: Any, p: dict) -> str | None:
        a = self.target(s, p["category"])
        if row["style"] == "sarlang":
            return self.expect(row["answer"], self.five(s, a))
        m = re.fullmatch(r"The (.+) is (.+)\.", row["answer"])
        return (self.expect(self.cat(m.group(1)), p["category"])
                or self.expect(_phrase_cell(m.group(2)), self.cell(s, a)))

    def _refer(self, row: dict, s: Any, p: dict) -> str | None:
        a = self.target(s, p["category"])
        m = re.fullmatch(r"(\{<\d+><\d+><\d+><\d+>\}) \((.+)\)\.", row["answer"])
        return (self.expect(m.group(1), self.fmt_box(s, a.box, "sarchat"))
                or self.expect(m.group(2), self.cell(s, a)))

    def _grounding(self, row: dict, s: Any, p: dict) -> str | None:
        a = self.target(s, p["category"])
        return self.expect(row["answer"], self.fmt_box(s, a.box, row["style"]))

    def _grounded(self, row: dict, s: Any, p: dict) -> str | None:
        body = re.fullmatch(r"The image contains (.+)\.", row["answer"]).group(1)
        got: dict[str, tuple[int, list[str]]] = {}
        for part in re.split(r", | and ", body):
            m = re.fullmatch(r"(\w+) (.+?) ((?:\{<\d+><\d+><\d+><\d+>\})+)", part)
            n = self.number(m.group(1))
            got[self.cat(m.group(2))] = (int(n), sorted(self.boxes_in(m.group(3), "sarchat")))
        want = {c: (n, sorted(self.fmt_box(s, a.box, "sarchat") for a in s.anns
                              if a.category == c)) for c, n in self.counts(s).items()}
        return self.expect(got, want)

    def _relative(self, row: dict, s: Any, p: dict, axis: int, words: tuple[str, str]
                  ) -> str | None:
        a, b = self.target(s, p["category"]), self.target(s, p["other"])
        if a.box[2 + axis] < b.box[axis]:
            truth = words[0]
        elif b.box[2 + axis] < a.box[axis]:
            truth = words[1]
        else:
            return "boxes are not apart along that axis: ambiguous"
        return self.expect(_word(row["answer"], words), truth)

    def _left_right(self, row: dict, s: Any, p: dict) -> str | None:
        return self._relative(row, s, p, 0, ("left", "right"))

    def _above_below(self, row: dict, s: Any, p: dict) -> str | None:
        return self._relative(row, s, p, 1, ("above", "below"))

    def _nine_grid(self, row: dict, s: Any, p: dict) -> str | None:
        want = sorted({self.grid(s, a) for a in s.anns if a.category == p["category"]})
        return self.expect(row["answer"], ",".join(map(str, want)))

    def _compare(self, row: dict, s: Any, p: dict) -> str | None:
        na, nb = self.counts(s)[p["category"]], self.counts(s)[p["other"]]
        truth = "more" if na > nb else "fewer" if na < nb else "the same"
        return self.expect(_word(row["answer"], ("more", "fewer", "the same")), truth)

    # measures -----------------------------------------------------------------------------
    def _area(self, row: dict, s: Any, p: dict) -> str | None:
        a = self.target(s, p["category"])
        px = shoelace(a.ring) if a.ring is not None else (
            (a.box[2] - a.box[0]) * (a.box[3] - a.box[1]))
        truth = px * s.gsd ** 2
        value = self.number(row["answer"])
        return None if sig3_ok(value, truth) else f"{value} is not {truth:.4g} m2"

    def _length(self, row: dict, s: Any, p: dict) -> str | None:
        a = self.target(s, p["category"])
        truth = min_rect(a.ring)[0] * s.gsd
        value = self.number(row["answer"])
        return None if sig3_ok(value, truth) else f"{value} is not {truth:.4g} m"

    def _size_class(self, row: dict, s: Any, p: dict) -> str | None:
        a = self.target(s, p["category"])
        rel = (a.box[2] - a.box[0]) * (a.box[3] - a.box[1]) / (s.width * s.height)
        truth = next((name for t, name in SIZE if rel >= t), "very small")
        return self.expect(row["answer"].rstrip(".").lower(), truth)

    def _shape(self, row: dict, s: Any, p: dict) -> str | None:
        a = self.target(s, p["category"])
        aspect = (a.box[2] - a.box[0]) / (a.box[3] - a.box[1])
        truth = "wide" if aspect > 1.2 else "tall" if aspect < 1 / 1.2 else "square"
        return self.expect(_word(row["answer"], ("wide", "tall", "square")), truth)

    def _elongation(self, row: dict, s: Any, p: dict) -> str | None:
        a = self.target(s, p["category"])
        length, width, _ = min_rect(a.ring)
        value = self.number(row["answer"])
        return None if abs(value - length / width) <= 0.0501 else (
            f"{value} is not {length / width:.3f}")

    def _direction(self, row: dict, s: Any, p: dict) -> str | None:
        a = self.target(s, p["category"])
        length, width, theta = min_rect(a.ring)
        if length / width < 1.5 - 1e-6:
            return f"direction of a compact target (elongation {length / width:.2f})"
        truth = DIRS[int(((theta + 22.5) % 180) // 45)]
        low = row["answer"].lower().rstrip(".").replace("diagonally, from the ", "")
        low = low.replace(" the ", " ").replace("horizontally", "horizontal")
        return self.expect(_DIR_WORDS[low.replace("vertically", "vertical")], truth)

    def _arrangement(self, row: dict, s: Any, p: dict) -> str | None:
        pts = np.array([a.center for a in s.anns if a.category == p["category"]])
        if len(pts) < 3:
            return "arrangement of fewer than three targets"
        centred = pts - pts.mean(axis=0)
        sv = np.linalg.svd(centred, compute_uv=False)
        lin = sv[1] / sv[0] if sv[0] > 1e-9 else 1.0
        spread = np.hypot(centred[:, 0], centred[:, 1]).max() / ((s.width + s.height) / 2)
        truth = "aligned" if lin < 0.1 else "clustered" if spread < 0.25 else "scattered"
        return self.expect(_word(row["answer"], ("aligned", "clustered", "scattered")), truth)

    # land cover ----------------------------------------------------------------------------
    def _land_name(self, answer: str) -> str:
        a = answer.rstrip(".")
        m = re.fullmatch(r"(?:Mostly |It lies in an? )?(.+?)(?: area)?", a)
        return m.group(1)

    def _land_dominant(self, row: dict, s: Any, p: dict) -> str | None:
        frac = self.land_fractions(s)
        return self.expect(self._land_name(row["answer"]), max(frac, key=frac.get))

    def _land_share(self, row: dict, s: Any, p: dict) -> str | None:
        truth = 100 * self.land_fractions(s)[p["land"]]
        value = self.number(row["answer"])
        return None if abs(value - truth) <= 0.501 else f"{value}% is not {truth:.2f}%"

    def _land_under(self, row: dict, s: Any, p: dict) -> str | None:
        a = self.target(s, p["category"])
        return self.expect(self._land_name(row["answer"]), self.land_at(s, a))

    def _land_count(self, row: dict, s: Any, p: dict) -> str | None:
        lands = [self.land_at(s, a) for a in s.anns if a.category == p["category"]]
        if None in lands:
            return "some instances lie on no land-cover class: ambiguous count"
        return self.expect(int(row["answer"]), lands.count(p["land"]))

    # descriptions --------------------------------------------------------------------------
    def _land_and_counts(self, s: Any, objects: str | None, land: str | None) -> str | None:
        got = self.phrase_counts(objects) if objects else {}
        problem = self.expect(got, dict(self.counts(s)))
        if land and not problem:
            frac = self.land_fractions(s)
            problem = self.expect(land, max(frac, key=frac.get))
        return problem

    # -- geo and metadata: recomputed with the gazetteer packages from the raster centre ---
    @staticmethod
    def _nearest(s: Any) -> dict:
        import reverse_geocode
        lon, lat = s.center
        return reverse_geocode.get((lat, lon))

    def _country(self, row: dict, s: Any, p: dict) -> str | None:
        return self.expect(row["answer"].rstrip("."), self._nearest(s)["country"])

    def _place(self, row: dict, s: Any, p: dict) -> str | None:
        near = self._nearest(s)
        if not row["answer"].startswith(near["city"]) or near["country"] not in row["answer"]:
            return f"nearest place is {near['city']}, {near['country']}"
        m = re.search(r"about (\d+) km", row["answer"])
        if m:
            lon, lat = s.center
            lat1, lat2 = math.radians(lat), math.radians(near["latitude"])
            d = 2 * 6371.0088 * math.asin(math.sqrt(
                math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2)
                * math.sin(math.radians(near["longitude"] - lon) / 2) ** 2))
            return self.expect(int(m.group(1)), round(d))
        return None

    def _surface(self, row: dict, s: Any, p: dict) -> str | None:
        from global_land_mask import globe
        lon, lat = s.center
        if bool(globe.is_land(lat, lon)):
            if row["answer"].startswith("Land, near the sea"):
                return self._coast(row, s, p)
            return None if row["answer"] in ("Land.", "Both land and sea.") else "centre is land"
        return None if row["answer"] in ("Sea.", "Both land and sea.") else "centre is sea"

    @staticmethod
    def _sea_km(s: Any) -> float:
        """Distance (km) from the raster centre to the centre of the nearest sea cell of the
        30-arc-second land mask, searched 1 degree around (cells by their own latitude)."""
        from global_land_mask import globe
        lon, lat = s.center
        lats = np.arange(lat - 1, lat + 1, 1 / 120)
        lons = np.arange(lon - 1, lon + 1, 1 / 120)
        glat, glon = np.meshgrid(lats, lons, indexing="ij")
        sea = ~globe.is_land(glat, glon)
        la, lo = np.radians(glat[sea]), np.radians(glon[sea])
        a = (np.sin((la - math.radians(lat)) / 2) ** 2 + math.cos(math.radians(lat))
             * np.cos(la) * np.sin((lo - math.radians(lon)) / 2) ** 2)
        return float((2 * 6371.0088 * np.arcsin(np.sqrt(a))).min())

    def _coast(self, row: dict, s: Any, p: dict) -> str | None:
        """'About 3 km' within a cell (0.93 km) of the recomputed distance to the sea."""
        m = re.search(r"(?:about (\d+) km|less than (1) km)", row["answer"], re.I)
        if not m:
            return f"no distance in {row['answer']!r}"
        got, truth = int(m.group(1) or 0), self._sea_km(s)
        return None if abs(got - truth) <= 1.5 else f"coast {got} km, mask says {truth:.1f} km"

    def _spacing(self, row: dict, s: Any, p: dict) -> str | None:
        got = float(re.search(r"[\d.]+", row["answer"]).group(0))
        return None if s.gsd and sig3_ok(got, s.gsd) else f"spacing {got}, raster {s.gsd}"

    def _polarization(self, row: dict, s: Any, p: dict) -> str | None:
        return None  # the fixture rasters carry no band names; read from tags only

    def _empty_scene(self, s: Any, text: str) -> str | None:
        """'This SAR image shows no X or Y in an area ...': no target, and the stated water
        share, dominant land cover and pixel spacing are those of the raw mask and raster."""
        if s.anns:
            return f"{len(s.anns)} targets, described as an empty scene"
        frac = self.land_fractions(s)
        if m := re.search(r"about (\d+)% covered by water", text):
            problem = self.expect(int(m.group(1)), round(100 * frac.get("water", 0.0)))
            if problem:
                return problem
        if m := re.search(r"that is mostly (.+?)(?:,| near| about \d+ km|$)", text):
            problem = self.expect(m.group(1), max(frac, key=frac.get))
            if problem:
                return problem
        if (m := re.search(r"at ([\d.]+) m pixel spacing", text)) and s.gsd:
            if not sig3_ok(float(m.group(1)), s.gsd):
                return f"pixel spacing {m.group(1)} m, raster says {s.gsd:.4g}"
        return None

    def _describe(self, row: dict, s: Any, p: dict) -> str | None:
        if row["answer"].startswith("This SAR image shows no ") or row["params"].get(
                "answer_key") == "empty":
            return self._empty_scene(s, row["answer"])
        m = re.fullmatch(r"This SAR image shows (?:no annotated targets|(.+?))"
                         r"(?: over an area that is mostly (.+))?\.", row["answer"])
        return self._land_and_counts(s, m.group(1), m.group(2))

    def _fine_describe(self, row: dict, s: Any, p: dict) -> str | None:
        if row["params"].get("answer_key") == "empty":
            return self._empty_scene(s, row["answer"])
        m = re.fullmatch(r"There (?:is|are) (?:no annotated targets|(.+?)) in this image"
                         r"(?: over an area that is mostly (.+?))?\.(.*)", row["answer"])
        problem = self._land_and_counts(s, m.group(1), m.group(2))
        for sentence in re.split(r"(?<=\.) ", m.group(3).strip()) if m.group(3) else []:
            problem = problem or self._detail(s, sentence)
        return problem

    def _detail(self, s: Any, sentence: str) -> str | None:
        if m := re.fullmatch(r"The (.+) lies in an? (.+) area\.", sentence):
            return self.expect(m.group(2), self.land_at(s, self.target_any(s, m.group(1))))
        if m := re.fullmatch(r"All (.+) lie in (.+) areas\.", sentence):
            cat = self.cat(m.group(1))
            return self.expect({self.land_at(s, a) for a in s.anns if a.category == cat},
                               {m.group(2)})
        if m := re.fullmatch(r"The (.+) are at (.+) of the image\.", sentence):
            cat = self.cat(m.group(1))
            cells = {c.removeprefix("the ") for c in re.split(r", | and ", m.group(2))}
            return self.expect(cells, {self.cell(s, a) for a in s.anns if a.category == cat})
        m = re.fullmatch(r"The (.+?) is (.+)\.", sentence)
        return self.expect(_phrase_cell(m.group(2)), self.cell(s, self.target_any(s, m.group(1))))

    def target_any(self, s: Any, noun: str) -> Any:
        """The only instance of the category ``noun`` names (overlap allowed: descriptions)."""
        cat = self.cat(noun)
        (a,) = [a for a in s.anns if a.category == cat]
        return a
