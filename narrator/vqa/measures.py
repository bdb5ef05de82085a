"""Answer functions about measures and the scene: comparisons, sizes in metres, shape,
direction, arrangement, land cover and descriptions (see narrator.vqa.answers)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from narrator.facts import DIRECTIONS, SHAPE_RATIO, SIZE_CLASSES
from narrator.vqa.context import Group, NOUN, OTHER, SceneContext, answers, half_up, sig3
from narrator.vqa.geo import scene_phrase


def _unique(ctx: SceneContext) -> Iterator[dict[str, Any]]:
    yield from ctx.unique.values()


def _params(o: dict[str, Any]) -> dict[str, Any]:
    return {"category": o["category"], "object_id": o["object_id"], "box": o["box"]}


@answers("more", "fewer", "equal", slots=(*NOUN, *OTHER))
def compare(ctx: SceneContext) -> Iterator[Group]:
    """More / fewer / as many, between a present category and another of the vocabulary."""
    counts = ctx.facts["counts"]
    vocab = sorted(set(ctx.facts["present"]) | set(ctx.facts["absent"]))
    for a in ctx.pick(list(ctx.facts["present"]), 2):
        others = [c for c in vocab if c != a]
        if not others:
            continue
        b = ctx.rng.choice(others)
        if ctx.rng.random() < 0.5:
            a, b = b, a
        na, nb = counts.get(a, 0), counts.get(b, 0)
        key = "more" if na > nb else "fewer" if na < nb else "equal"
        yield [(key, {"category": a, "other": b},
                ctx.noun(a) | ctx.noun(b, "other_"))]


@answers("default", slots=(*NOUN, "area"))
def area(ctx: SceneContext) -> Iterator[Group]:
    """Area in square metres (polygon if annotated, else box) of a unique target."""
    for o in _unique(ctx):
        if o["area_m2"]:
            yield [("default", _params(o) | {"basis": "polygon" if o["polygon"] else "box"},
                    ctx.noun(o["category"]) | {"area": sig3(o["area_m2"])})]


@answers("default", slots=(*NOUN, "length"))
def length(ctx: SceneContext) -> Iterator[Group]:
    """Length in metres (long side of the minimum rotated rectangle of the polygon)."""
    for o in _unique(ctx):
        if o["length_m"] and o["polygon"]:
            yield [("default", _params(o), ctx.noun(o["category"]) | {"length": sig3(o["length_m"])})]


@answers("default", slots=(*NOUN, "size_class"))
def size_class(ctx: SceneContext) -> Iterator[Group]:
    margin = ctx.options.size_margin
    for o in _unique(ctx):
        rel = o["rel_area"]
        if all(abs(rel / t - 1) >= margin for t, _ in SIZE_CLASSES if t > 0):
            yield [("default", _params(o), ctx.noun(o["category"]) | {"size_class": o["size_class"]})]


def outlined(o: dict[str, Any]) -> bool:
    """The object has a real outline (a traced polygon, a mask or a rotated box), not only
    its axis-aligned box (nor a polygon that is that box, as in HRSID's offshore labels):
    questions about shape, elongation and direction need one, or they describe the box."""
    if not o["polygon"]:
        return False
    x0, y0, x1, y1 = o["box"]
    box_area = (x1 - x0) * (y1 - y0)
    turn = (o["orientation"] or 0.0) % 90
    axis_aligned = o["orientation"] is None or min(turn, 90 - turn) < 0.5
    return not (axis_aligned and abs(o["area_px"] - box_area) <= 0.005 * box_area)


@answers("wide", "tall", "square", slots=NOUN)
def shape(ctx: SceneContext) -> Iterator[Group]:
    """Wide / square / tall by the box's width over height, away from the thresholds; only
    for outlined objects (see :func:`outlined`)."""
    limit = math.log(1 + ctx.options.shape_margin)
    for o in _unique(ctx):
        if not outlined(o):
            continue
        log_aspect = math.log(o["aspect"])
        if min(abs(log_aspect - math.log(SHAPE_RATIO)),
               abs(log_aspect + math.log(SHAPE_RATIO))) >= limit:
            yield [(o["shape"], _params(o), ctx.noun(o["category"]))]


@answers("default", slots=(*NOUN, "ratio"))
def elongation(ctx: SceneContext) -> Iterator[Group]:
    for o in _unique(ctx):
        if outlined(o) and o["elongation"] <= 50:
            yield [("default", _params(o),
                    ctx.noun(o["category"]) | {"ratio": f"{o['elongation']:.1f}"})]


@answers(*DIRECTIONS, slots=NOUN)
def direction(ctx: SceneContext) -> Iterator[Group]:
    """The 45-degree direction bin of an elongated target, away from the bin edges."""
    margin = ctx.options.direction_margin_deg
    for o in _unique(ctx):
        if o["direction"] in DIRECTIONS and outlined(o):
            r = (o["orientation"] + 22.5) % 45
            if min(r, 45 - r) >= margin:
                yield [(o["direction"], _params(o) | {"orientation": o["orientation"]},
                        ctx.noun(o["category"]))]


@answers("aligned", "clustered", "scattered", slots=(*NOUN, "count"))
def arrangement(ctx: SceneContext) -> Iterator[Group]:
    for cat, arr in ctx.facts.get("arrangement", {}).items():
        if arr["clear"] and cat in ctx.by_category:  # not a catch-all class
            yield [(arr["label"], {"category": cat},
                    ctx.noun(cat) | {"count": arr["n"]})]


def _land(ctx: SceneContext) -> list[tuple[str, float]]:
    return list(ctx.facts["land_cover"].items())


def _dominant_land(ctx: SceneContext) -> str | None:
    """The leading land-cover class, when it leads the next by ``land_margin``."""
    land = _land(ctx)
    if land and land[0][1] - (land[1][1] if len(land) > 1 else 0) >= ctx.options.land_margin:
        return land[0][0]
    return None


def negated(name: str) -> bool:
    """A complement class ("not water", "non-building", "background"): never asked about by
    name, the positive class is."""
    return name.lower().startswith(("not ", "non-", "non ", "no ")) or name == "background"


@answers("default", slots=("land",))
def land_dominant(ctx: SceneContext) -> Iterator[Group]:
    name = _dominant_land(ctx)
    if name and not negated(name):
        yield [("default", {"land": name}, {"land": name})]


@answers("default", slots=("land", "pct"))
def land_share(ctx: SceneContext) -> Iterator[Group]:
    for name, frac in ctx.pick(_land(ctx), 3):
        if frac >= ctx.options.min_land_fraction and not negated(name):
            yield [("default", {"land": name}, {"land": name, "pct": half_up(100 * frac)})]


@answers("default", slots=(*NOUN, "land"))
def land_under(ctx: SceneContext) -> Iterator[Group]:
    """The land-cover class under a unique target (object-in-region)."""
    for o in _unique(ctx):
        if o["on"]:
            yield [("default", _params(o), ctx.noun(o["category"]) | {"land": o["on"]})]


@answers("default", slots=(*NOUN, "count", "land"))
def land_count(ctx: SceneContext) -> Iterator[Group]:
    """How many instances of a category lie on a land-cover class (all must be decided)."""
    for cat, objs in sorted(ctx.by_category.items()):
        if not all(o["on"] for o in objs):
            continue
        for name, frac in _land(ctx):
            if frac >= ctx.options.min_land_fraction:
                n = sum(o["on"] == name for o in objs)
                yield [("default", {"category": cat, "land": name},
                        ctx.noun(cat) | {"land": name, "count": n})]


def _land_phrase(ctx: SceneContext) -> str:
    name = _dominant_land(ctx)
    return f" over an area that is mostly {name}" if name else ""


@answers("default", "empty", slots=("be", "land_phrase", "objects", "scene"))
def describe(ctx: SceneContext) -> Iterator[Group]:
    """SARLANG image description: what is there and the dominant land cover."""
    key = "default" if ctx.facts["total"] else "empty"
    yield [(key, {"facts_version": ctx.facts["version"]},
            {"objects": ctx.objects_phrase(), "land_phrase": _land_phrase(ctx),
             "be": "is" if ctx.facts["total"] == 1 else "are",
             "scene": "" if ctx.facts["total"] else scene_phrase(ctx.facts, ctx.vocab)})]


def _group_sentence(ctx: SceneContext, cat: str, objs: list[dict[str, Any]]) -> str:
    noun = ctx.vocab[cat]
    parts = []
    if all(ctx.clear_position(o) for o in objs):
        if len(objs) == 1:
            parts.append(f"The {noun.singular} is {ctx.where(objs[0]['cell'])}.")
        else:
            parts.append(f"The {noun.plural} are at {ctx.cells_phrase([o['cell'] for o in objs])}.")
    surfaces = {o["on"] for o in objs}
    if len(surfaces) == 1 and None not in surfaces:
        land = surfaces.pop()
        parts.append(f"The {noun.singular} lies in a {land} area." if len(objs) == 1
                     else f"All {noun.plural} lie in {land} areas.")
    return " ".join(parts)


@answers("default", "empty", slots=("be", "details", "land_phrase", "objects", "scene"))
def fine_describe(ctx: SceneContext) -> Iterator[Group]:
    """SARChat fine-grained description: counts, where each category is, on what surface."""
    cats = sorted(ctx.by_category, key=lambda c: (-len(ctx.by_category[c]), c))
    details = " ".join(s for c in cats if (s := _group_sentence(ctx, c, ctx.by_category[c])))
    key = "default" if ctx.facts["total"] else "empty"
    yield [(key, {"facts_version": ctx.facts["version"]},
            {"objects": ctx.objects_phrase(), "land_phrase": _land_phrase(ctx),
             "be": "is" if ctx.facts["total"] == 1 else "are",
             "details": (" " + details) if details else "",
             "scene": "" if ctx.facts["total"] else scene_phrase(ctx.facts, ctx.vocab)})]

