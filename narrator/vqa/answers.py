"""Answer functions about objects: presence, counting, classes, referring, positions, grids.

Each function takes a SceneContext and yields groups of (answer key, params, slots); a group
is asked together or not at all (a presence positive and its forced negative). ``params``
names the inputs so that a user can re-verify any answer; the engine adds ``answer_key``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from narrator.text import is_catch_all, join_list, number_word
from narrator.vqa.context import Group, NOUN, OTHER, SceneContext, answers


def _target_params(o: dict[str, Any]) -> dict[str, Any]:
    return {"category": o["category"], "object_id": o["object_id"], "box": o["box"]}


@answers("yes", "no", slots=NOUN)
def presence(ctx: SceneContext) -> Iterator[Group]:
    """Yes for present categories paired with as many forced negatives from absent ones."""
    present, absent = ctx.facts["present"], ctx.facts["absent"]
    k = min(len(present), len(absent))
    for yes, no in zip(ctx.rng.sample(present, k), ctx.rng.sample(absent, k), strict=True):
        pair = [("yes", {"category": yes}, ctx.noun(yes)), ("no", {"category": no}, ctx.noun(no))]
        yield pair if ctx.rng.random() < 0.5 else pair[::-1]  # no fixed yes-then-no order


@answers("default", "zero", slots=(*NOUN, "count", "count_word"))
def count(ctx: SceneContext) -> Iterator[Group]:
    """Every present category, and one absent category (answer 0) when there is one."""
    for cat, n in ctx.facts["counts"].items():
        yield [("default", {"category": cat},
                ctx.noun(cat) | {"count": n, "count_word": number_word(n)})]
    if ctx.facts["absent"]:
        cat = ctx.rng.choice(ctx.facts["absent"])
        yield [("zero", {"category": cat}, ctx.noun(cat) | {"count": 0, "count_word": "zero"})]


@answers("default", slots=(*NOUN, "count", "count_word", "fine_name", "fine_plural"))
def count_fine(ctx: SceneContext) -> Iterator[Group]:
    """Per fine type of the scene's objects (SAR-AIRcraft's A330, Boeing 787...): how many
    objects are labelled with it. Catch-all types ("other") are never named; an object
    without a fine type is counted under no type."""
    per: dict[tuple[str, str], int] = {}
    for cat, objs in ctx.by_category.items():
        for o in objs:
            fine = o.get("fine_type")
            if fine and not is_catch_all(fine):
                per[(cat, fine)] = per.get((cat, fine), 0) + 1
    for (cat, fine), n in sorted(per.items()):
        yield [("default", {"category": cat, "fine_type": fine},
                ctx.noun(cat) | {"fine_name": fine, "fine_plural": ctx.fine_plural(cat, fine),
                                 "count": n, "count_word": number_word(n)})]


@answers("default", "one", slots=(*NOUN, "boxes", "count"))
def count_boxes(ctx: SceneContext) -> Iterator[Group]:
    """SARChat counting: the count followed by every instance's box."""
    for cat, objs in sorted(ctx.by_category.items()):
        if len(objs) <= ctx.options.max_boxes:
            yield [("one" if len(objs) == 1 else "default", {"category": cat},
                    ctx.noun(cat) | {"count": len(objs), "boxes": ctx.boxes(objs)})]


def _one_class(ctx: SceneContext) -> bool:
    """The dataset has one category: a question about which class cannot vary its answer."""
    return len(ctx.facts["present"]) + len(ctx.facts["absent"]) <= 1


@answers("default", "one", slots=NOUN)
def dominant(ctx: SceneContext) -> Iterator[Group]:
    cat = ctx.facts["dominant"]
    if cat and not _one_class(ctx):
        key = "one" if ctx.facts["counts"][cat] == 1 else "default"
        yield [(key, {"category": cat}, ctx.noun(cat))]


@answers("default", slots=(*NOUN, "candidates"))
def classify(ctx: SceneContext) -> Iterator[Group]:
    """The dominant category among a shuffled candidate list of up to four categories."""
    cat = ctx.facts["dominant"]
    others = sorted((set(ctx.facts["present"]) | set(ctx.facts["absent"])) - {cat})
    if not cat or not others:
        return
    candidates = [cat, *ctx.pick(others, 3)]
    ctx.rng.shuffle(candidates)
    words = [c if ctx.style.name == "sarchat" else ctx.vocab[c].singular for c in candidates]
    yield [("default", {"category": cat, "candidates": candidates},
            ctx.noun(cat) | {"candidates": ", ".join(words)})]


@answers("default", "fine", slots=(*NOUN, "box"), extra={"fine": ("fine", "fine_name")})
def region_class(ctx: SceneContext) -> Iterator[Group]:
    """Box -> category, for targets that pass the filters (SARLANG region referring,
    SARChat cross-modal identification). Not asked in a one-class dataset without fine
    types: its answer could not vary."""
    if _one_class(ctx) and not any(o.get("fine_type") for o in ctx.targets):
        return
    for o in ctx.pick(ctx.targets, 3):
        slots = ctx.noun(o["category"]) | {"box": ctx.box(o["box"])}
        fine = ctx.fine(o)
        if fine:  # the fine type is the more informative answer
            yield [("fine", _target_params(o) | {"fine_type": o["fine_type"]},
                    slots | {"fine": fine[0], "fine_name": fine[1]})]
        else:
            yield [("default", _target_params(o), slots)]


def _positioned(ctx: SceneContext) -> Iterator[dict[str, Any]]:
    for o in ctx.unique.values():
        if ctx.clear_position(o):
            yield o


@answers("default", slots=(*NOUN, "cell", "position", "where"))
def position(ctx: SceneContext) -> Iterator[Group]:
    """Category -> 3x3 cell (generic) or five-way position (SARLANG), unique targets only."""
    for o in _positioned(ctx):
        yield [("default", _target_params(o) | {"cell": o["cell"], "position": o["position"]},
                ctx.noun(o["category"]) | {"cell": o["cell"], "where": ctx.where(o["cell"]),
                                           "position": o["position"]})]


@answers("default", slots=(*NOUN, "box", "cell"))
def refer(ctx: SceneContext) -> Iterator[Group]:
    """SARChat referring: category -> box and cell, unique targets only."""
    for o in _positioned(ctx):
        yield [("default", _target_params(o) | {"cell": o["cell"]},
                ctx.noun(o["category"]) | {"box": ctx.box(o["box"]), "cell": o["cell"]})]


@answers("default", slots=(*NOUN, "box"))
def grounding(ctx: SceneContext) -> Iterator[Group]:
    """Category -> box, unique targets only."""
    for o in ctx.unique.values():
        yield [("default", _target_params(o),
                ctx.noun(o["category"]) | {"box": ctx.box(o["box"])})]


@answers("default", slots=("count", "details"))
def grounded(ctx: SceneContext) -> Iterator[Group]:
    """SARChat spatial grounding: every target of the scene with its boxes."""
    total = ctx.facts["total"]
    if not total or total > ctx.options.max_boxes:
        return
    groups: dict[str, list[dict[str, Any]]] = {}  # every target, catch-all classes too
    for o in ctx.all_facts["objects"]:
        groups.setdefault(o["category"], []).append(o)
    cats = sorted(groups, key=lambda c: (-len(groups[c]), c))
    parts = [f"{ctx.counted(c, len(groups[c]))} {ctx.boxes(groups[c])}" for c in cats]
    yield [("default", {"categories": cats, "total": total},
            {"details": join_list(parts), "count": total})]


def _relative(ctx: SceneContext, axis: int) -> Iterator[Group]:
    """Left/right (axis 0) or above/below (axis 1) between two unique targets whose boxes are
    at least 1 px apart along that axis."""
    keys = ("left", "right") if axis == 0 else ("above", "below")
    units = list(ctx.unique.values())
    for i, a in enumerate(units):
        for b in units[i + 1:]:
            if a["box"][2 + axis] + 1 <= b["box"][axis]:
                key = 0
            elif b["box"][2 + axis] + 1 <= a["box"][axis]:
                key = 1
            else:
                continue
            if ctx.rng.random() < 0.5:  # ask about either member of the pair
                a, b, key = b, a, 1 - key
            yield [(keys[key], {"category": a["category"], "other": b["category"],
                                "axis": "x" if axis == 0 else "y"},
                    ctx.noun(a["category"]) | ctx.noun(b["category"], "other_"))]


@answers("left", "right", slots=(*NOUN, *OTHER))
def left_right(ctx: SceneContext) -> Iterator[Group]:
    return _relative(ctx, 0)


@answers("above", "below", slots=(*NOUN, *OTHER))
def above_below(ctx: SceneContext) -> Iterator[Group]:
    return _relative(ctx, 1)


@answers("default", slots=(*NOUN, "grids"))
def nine_grid(ctx: SceneContext) -> Iterator[Group]:
    """Category -> the grid numbers (1-9) holding its instances' centres."""
    for cat, objs in sorted(ctx.by_category.items()):
        margin = ctx.options.position_margin
        if all(o["pos_margin"] >= margin for o in objs):  # ctx.clear_position, inlined
            grids = sorted({o["grid"] for o in objs})
            yield [("default", {"category": cat, "grids": grids},
                    ctx.noun(cat) | {"grids": ",".join(map(str, grids))})]
