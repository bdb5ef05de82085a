"""SceneFacts: every definition of narrator/facts.py on hand-made scenes."""

from __future__ import annotations

import json
import math
import random

import pytest
from shapely import affinity
from shapely.geometry import Polygon, box

from narrator.facts import facts_hash, scene_facts, shard_facts
from narrator.ids import make_id
from narrator.records import Object, Region, Scene, SceneBundle


def _bundle(objects: list[tuple], width: int = 300, height: int = 150, gsd: float | None = 2.0,
            regions: list[Region] | None = None, sid: str = "s") -> SceneBundle:
    scene = Scene(scene_id=sid, dataset="d", file_name=f"{sid}.tif", image_path=None,
                  width=width, height=height, gsd_m=gsd)
    objs = []
    for i, spec in enumerate(objects):
        cat, x0, y0, x1, y1, *rest = spec
        extra = rest[0] if rest else {}
        objs.append(Object(make_id(sid, i), sid, cat, x0, y0, x1, y1, **extra))
    return SceneBundle(scene, objs, regions or [])


def _rotated(cx: float, cy: float, length: float, width: float, angle: float) -> Polygon:
    return affinity.rotate(box(cx - length / 2, cy - width / 2, cx + length / 2, cy + width / 2),
                           angle, origin=(cx, cy))


def test_cells_grid_and_five_way_positions() -> None:
    f = scene_facts(_bundle([("a", 0, 0, 10, 10), ("a", 140, 60, 160, 90),
                             ("a", 290, 140, 300, 150), ("a", 99, 49, 101, 51),
                             ("a", 60, 5, 80, 15), ("a", 5, 60, 15, 80)]), [])
    objs = f["objects"]
    # a centre on a one-third line, (100, 50) here, belongs to the cell after the line
    assert [o["cell"] for o in objs] == ["top left", "center", "bottom right", "center",
                                         "top left", "left"]
    assert [o["grid"] for o in objs] == [1, 5, 9, 5, 1, 4]
    # five-way: corners go to the side their centre is nearer to, relative to the image
    # size (by the diagonals): (5, 5) is 1/60 of the width from the left, 1/30 of the height
    # from the top
    assert [o["position"] for o in objs] == ["left", "center", "right", "top", "top", "left"]
    assert objs[3]["pos_margin"] == 0.0 and objs[1]["pos_margin"] > 0.1


def test_sizes_shapes_and_metres() -> None:
    f = scene_facts(_bundle([("a", 0, 0, 300, 150), ("a", 0, 0, 100, 60),
                             ("a", 10, 10, 40, 20), ("a", 10, 10, 20, 40),
                             ("a", 50, 50, 60, 61)]), [])
    objs = f["objects"]
    assert [o["size_class"] for o in objs] == ["very large", "medium", "very small",
                                               "very small", "very small"]
    assert [o["shape"] for o in objs] == ["wide", "wide", "wide", "tall", "square"]
    assert objs[1]["rel_area"] == pytest.approx(6000 / 45000, abs=1e-6)
    assert objs[2]["size_m"] == [60.0, 20.0] and objs[2]["area_m2"] == 1200.0
    assert objs[2]["elongation"] == 3.0 and objs[2]["orientation"] is None
    assert objs[2]["direction"] is None and not objs[2]["polygon"]
    f = scene_facts(_bundle([("a", 10, 10, 40, 20)], gsd=None), [])
    assert f["objects"][0]["size_m"] is None and f["objects"][0]["area_m2"] is None


@pytest.mark.parametrize("angle,direction", [(0, "horizontal"), (30, "diagonal_down"),
                                             (95, "vertical"), (140, "diagonal_up"),
                                             (175, "horizontal")])
def test_orientation_from_the_polygon(angle: float, direction: str) -> None:
    poly = _rotated(150, 75, 40, 10, angle)
    x0, y0, x1, y1 = poly.bounds
    obj = scene_facts(_bundle([("ship", x0, y0, x1, y1, {"poly_wkb": poly.wkb})]), [])["objects"][0]
    assert obj["orientation"] == pytest.approx(angle % 180, abs=0.01)
    assert obj["direction"] == direction
    assert obj["elongation"] == pytest.approx(4.0, abs=1e-3)
    assert obj["length_m"] == pytest.approx(80.0, abs=0.01)
    assert obj["area_m2"] == pytest.approx(40 * 10 * 4, abs=0.1)


def test_angle_without_polygon_and_compact_targets_have_no_direction() -> None:
    f = scene_facts(_bundle([("a", 10, 10, 50, 20, {"angle": 200.0}),
                             ("b", 60, 60, 80, 80, {"poly_wkb": _rotated(70, 70, 10, 9, 30).wkb})]),
                    [])
    assert f["objects"][0]["orientation"] == 20.0 and f["objects"][0]["direction"] == "horizontal"
    assert f["objects"][1]["direction"] is None  # elongation < 1.5: no meaningful direction


def test_border_overlap_and_relations() -> None:
    f = scene_facts(_bundle([("a", 0.5, 10, 20, 20), ("b", 30, 30, 60, 60), ("c", 50, 50, 70, 70),
                             ("d", 200, 100, 220, 120, {"attrs": {"clipped": True}})]), [])
    objs = f["objects"]
    assert [o["border"] for o in objs] == [True, False, False, True]
    assert [o["overlaps"] for o in objs] == [False, True, True, False]
    rel = f["relations"]
    assert [0, 1] in rel["left_of"] and [1, 0] not in rel["left_of"]
    assert [1, 2] not in rel["left_of"]  # overlapping in x: neither is left of the other
    assert [0, 3] in rel["above"] and [1, 3] in rel["above"]
    assert [1, 2] in rel["near"] and [0, 3] not in rel["near"]  # (W + H) / 8 = 56.25


def test_arrangement_aligned_clustered_scattered() -> None:
    row = [("ship", x, 70, x + 10, 80) for x in (20, 80, 140, 200, 260)]
    cluster = [("tank", 140 + dx, 60 + dy, 146 + dx, 66 + dy)
               for dx, dy in ((0, 0), (12, 3), (4, 14), (15, 12))]
    spread = [("car", 10, 10, 14, 14), ("car", 280, 20, 284, 24), ("car", 150, 130, 154, 134)]
    arr = scene_facts(_bundle(row + cluster + spread), [])["arrangement"]
    assert arr["ship"]["label"] == "aligned" and arr["ship"]["clear"]
    assert arr["tank"]["label"] == "clustered" and arr["tank"]["clear"]
    assert arr["car"]["label"] == "scattered" and arr["car"]["clear"]
    assert set(arr) == {"ship", "tank", "car"}


def _regions(sid: str, water_top: float) -> list[Region]:
    water = box(0, water_top, 300, 150)
    land = box(0, 0, 300, water_top)
    return [Region(f"{sid}w", sid, "water", water.area, water.area / 45000, water.wkb),
            Region(f"{sid}l", sid, "built-up", land.area, land.area / 45000, land.wkb)]


def test_land_cover_join_is_per_scene_across_a_shard() -> None:
    """Scenes share the pixel frame: a shard-wide join must use each scene's own regions."""
    a = _bundle([("ship", 100, 100, 120, 110), ("car", 10, 10, 14, 14),
                 ("ship", 10, 58, 20, 62)], regions=_regions("a", 60), sid="a")
    b = _bundle([("ship", 100, 100, 120, 110), ("car", 10, 10, 14, 14)],
                regions=_regions("b", 120), sid="b")
    c = _bundle([("ship", 100, 100, 120, 110)], sid="c")  # no regions at all
    together = shard_facts([a, b, c], ["ship", "car"])
    alone = [scene_facts(x, ["ship", "car"]) for x in (a, b, c)]
    assert together == alone
    fa, fb, fc = together
    # the third ship's centre (15, 60) lies on the water's edge: undecided
    assert [o["on"] for o in fa["objects"]] == ["water", "built-up", None]
    assert [o["on"] for o in fb["objects"]] == ["built-up", "built-up"]
    assert fc["objects"][0]["on"] is None
    assert fa["in_region"] == {"car": {"built-up": 1}, "ship": {"water": 1}}
    assert fa["land_cover"] == {"water": 0.6, "built-up": 0.4}
    assert fa["dominant_land_cover"] == "water"


def test_facts_are_json_serialisable_deterministic_and_hashed() -> None:
    bundle = _bundle([("ship", 10, 10, 30, 20, {"poly_wkb": _rotated(20, 15, 20, 6, 10).wkb}),
                      ("car", 200, 100, 210, 104)], regions=_regions("s", 60))
    f1, f2 = scene_facts(bundle, ["car", "ship", "tank"]), scene_facts(bundle, ["car", "ship", "tank"])
    assert json.loads(json.dumps(f1)) == f1
    assert facts_hash(f1) == facts_hash(f2)
    assert f1["counts"] == {"car": 1, "ship": 1} and f1["absent"] == ["tank"]
    assert f1["dominant"] is None and f1["total"] == 2
    empty = scene_facts(_bundle([]), ["ship"])
    assert empty["objects"] == [] and empty["absent"] == ["ship"] and empty["relations"] == {
        "left_of": [], "above": [], "near": []}


def test_shard_relations_match_brute_force() -> None:
    """Shard-wide pairs equal a plain double loop, small scenes and a crowded one alike."""
    rng = random.Random(4)
    bundles = []
    for k, n in enumerate((0, 1, 7, 12, 75)):
        objs = []
        for _ in range(n):
            x, y = rng.uniform(0, 280), rng.uniform(0, 130)
            objs.append(("ship", x, y, x + rng.uniform(2, 30), y + rng.uniform(2, 20)))
        bundles.append(_bundle(objs, sid=f"s{k}"))
    for b, f in zip(bundles, shard_facts(bundles, ["ship"]), strict=True):
        boxes = [o.box for o in b.objects]
        n = len(boxes)
        overlaps = [any(min(a[2], c[2]) > max(a[0], c[0]) and min(a[3], c[3]) > max(a[1], c[1])
                        for j, c in enumerate(boxes) if j != i) for i, a in enumerate(boxes)]
        assert [o["overlaps"] for o in f["objects"]] == overlaps
        if n > 60:
            assert f["relations"] == {}
            continue
        centre = [((a[0] + a[2]) / 2, (a[1] + a[3]) / 2) for a in boxes]
        assert f["relations"] == {
            "left_of": [[i, j] for i in range(n) for j in range(n)
                        if i != j and boxes[i][2] <= boxes[j][0]],
            "above": [[i, j] for i in range(n) for j in range(n)
                      if i != j and boxes[i][3] <= boxes[j][1]],
            "near": [[i, j] for i in range(n) for j in range(i + 1, n)
                     if math.dist(centre[i], centre[j]) < (300 + 150) / 8]}


def test_documents_follow_the_fact_declarations() -> None:
    """Each object's and each scene's keys are the declared facts in declaration order, the
    declared types match the values, and no fact is newer than FACTS_VERSION."""
    from narrator.facts import FACTS_VERSION, OBJECT_FACTS, SCENE_FACTS

    rng = random.Random(7)
    bundles = [_bundle([("ship", x, y, x + rng.randint(2, 40), y + rng.randint(2, 30))
                        for x, y in ((rng.randint(0, 250), rng.randint(0, 110))
                                     for _ in range(rng.randint(0, 6)))],
                       gsd=rng.choice([None, 1.5]), sid=f"s{k}") for k in range(8)]
    for facts in (OBJECT_FACTS, SCENE_FACTS):
        names = [f.name for f in facts]
        assert len(set(names)) == len(names)
        assert all(1 <= f.since <= FACTS_VERSION for f in facts)
    docs = shard_facts(bundles, ["ship", "tank"])
    assert sum(len(d["objects"]) for d in docs) > 10
    kinds = {"str": str, "int": int, "float": float, "bool": bool}
    for doc in docs:
        assert list(doc) == [f.name for f in SCENE_FACTS]
        assert doc["version"] == FACTS_VERSION
        for o in doc["objects"]:
            assert list(o) == [f.name for f in OBJECT_FACTS]
            for f in OBJECT_FACTS:
                base = f.type.split(" ")[0]
                if base in kinds and o[f.name] is not None:
                    assert type(o[f.name]) is kinds[base], (f.name, o[f.name])
                if "null" not in f.type:
                    assert o[f.name] is not None, f.name
