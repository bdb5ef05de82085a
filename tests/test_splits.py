"""Splits are made by scene group, never by text: no parent scene, acquisition, geographic
cell or footprint overlap is ever shared by two splits; assignment is deterministic and
follows the ratios."""

from __future__ import annotations

import json
import math
import random
from collections import defaultdict
from pathlib import Path

import pytest
import shapely
from shapely.geometry import box

from narrator.errors import ConfigError
from narrator.export import ExportOptions, SplitConfig, assign_splits, export
from narrator.export.splits import assign_scenes, group_keys, parent_scene, parse_ratios
from narrator.store import Store
from tests.conftest import SHARED_DATA

HRSID = SHARED_DATA / "hrsid" / "modified_hrsid_annotations" / "inshore" / "inshore_test.json"


def test_parent_scene_of_hrsid_crops() -> None:
    assert parent_scene("P0123_4800_5600_4800_5600.png") == "P0123"
    assert parent_scene("P0137_11.jpg") == "P0137"
    assert parent_scene("images/P0135_1800_2600_4800_5600.jpg") == "P0135"
    assert parent_scene("Spain_7370579_S1Hand.tif") is None
    assert parent_scene("scene_003_port.tif") is None
    assert parent_scene(None) is None


def _scenes(n_parents: int = 60, seed: int = 3) -> list[dict]:
    """HRSID-like crops of parent scenes, acquisitions shared across parents, centres that
    cluster into cells, and pairs of footprints that overlap across a cell border."""
    rng = random.Random(seed)
    scenes = []
    for p in range(n_parents):
        acq = f"2024-01-{rng.randint(1, 25):02d}T00:00:00Z"  # shared by several parents
        lon0, lat0 = rng.uniform(-20, 20), rng.uniform(-20, 20)
        for c in range(rng.randint(1, 5)):
            lon, lat = lon0 + rng.uniform(-0.3, 0.3), lat0 + rng.uniform(-0.3, 0.3)
            scenes.append({
                "scene_id": f"s{p:03d}_{c}", "dataset": "hrsid-like",
                "file_name": f"P{p:04d}_{c * 800}_{c * 800 + 800}_0_800.png",
                "platform": rng.choice(["Sentinel-1A", "Gaofen-3", None]),
                "acquired_at": acq, "center_lon": lon, "center_lat": lat,
                "footprint_wkb": shapely.to_wkb(box(lon - 0.03, lat - 0.03, lon + 0.03,
                                                    lat + 0.03)),
                "meta": {}, "width": 800, "height": 800,
            })
    for i in range(200):  # loose scenes without a parent, some without any metadata
        lon, lat = rng.uniform(-20, 20), rng.uniform(-20, 20)
        scenes.append({"scene_id": f"x{i:03d}", "dataset": "loose",
                       "file_name": f"tile_{i}.tif", "platform": None, "acquired_at": None,
                       "center_lon": lon if i % 3 else None, "center_lat": lat,
                       "footprint_wkb": None, "meta": {}, "width": 64, "height": 64})
    for k in range(30):  # pairs on either side of a cell border, linked only by overlap
        border, lat = -10 + k * 0.5, rng.uniform(-20, 20)
        for side, lon in (("a", border - 0.01), ("b", border + 0.01)):
            scenes.append({"scene_id": f"o{k:02d}{side}", "dataset": "pairs",
                           "file_name": f"pair_{k}_{side}.tif", "platform": None,
                           "acquired_at": None, "center_lon": lon, "center_lat": lat,
                           "footprint_wkb": shapely.to_wkb(box(lon - 0.03, lat - 0.03,
                                                               lon + 0.03, lat + 0.03)),
                           "meta": {}, "width": 64, "height": 64})
    return scenes


def _assert_no_group_crosses_splits(scenes: list[dict], split: dict[str, str],
                                    cell_deg: float) -> int:
    by_key: dict[str, set[str]] = defaultdict(set)
    for s in scenes:
        for key in group_keys(s, cell_deg)[1:]:
            by_key[key].add(split[s["scene_id"]])
    crossing = {k: v for k, v in by_key.items() if len(v) > 1}
    assert not crossing, crossing
    with_fp = [s for s in scenes if s["footprint_wkb"]]
    geoms = shapely.from_wkb([s["footprint_wkb"] for s in with_fp])
    overlaps = 0
    for i, a in enumerate(geoms):
        for j in range(i + 1, len(geoms)):
            if shapely.intersection(a, geoms[j]).area > 0:
                overlaps += 1
                assert split[with_fp[i]["scene_id"]] == split[with_fp[j]["scene_id"]]
    return overlaps


def test_no_scene_group_appears_in_two_splits() -> None:
    scenes = _scenes()
    config = SplitConfig((0.6, 0.2, 0.2), seed=1, cell_deg=0.25)
    result = assign_scenes(scenes, config)
    overlaps = _assert_no_group_crosses_splits(scenes, result.split, config.cell_deg)
    assert overlaps > 10  # the fixture really has overlapping footprints to keep together
    # every group sits in exactly one split, and all three splits are used
    splits_of_group: dict[str, set[str]] = defaultdict(set)
    for scene_id, group in result.group.items():
        splits_of_group[group].add(result.split[scene_id])
    assert all(len(v) == 1 for v in splits_of_group.values())
    assert set(result.split.values()) == {"train", "val", "test"}
    # crops of one parent share a group
    parents: dict[str, set[str]] = defaultdict(set)
    for s in scenes:
        if s["dataset"] == "hrsid-like":
            parents[parent_scene(s["file_name"])].add(result.group[s["scene_id"]])
    assert all(len(g) == 1 for g in parents.values())


def test_assignment_is_deterministic_and_follows_ratios() -> None:
    scenes = [{"scene_id": f"s{i}", "dataset": "d", "file_name": f"img{i}.png"}
              for i in range(4000)]
    config = SplitConfig((0.7, 0.2, 0.1), seed=5)
    a, b = assign_scenes(scenes, config), assign_scenes(reversed(scenes), config)
    assert a.split == b.split
    counts = a.scene_counts()
    for name, ratio in zip(("train", "val", "test"), config.ratios, strict=True):
        assert math.isclose(counts[name] / len(scenes), ratio, abs_tol=0.03), counts
    other = assign_scenes(scenes, SplitConfig((0.7, 0.2, 0.1), seed=6))
    assert other.split != a.split
    no_val = assign_scenes(scenes, SplitConfig((9, 0, 1))).scene_counts()
    assert no_val["val"] == 0 and no_val["train"] > no_val["test"] > 0


def test_bad_ratios_are_config_errors() -> None:
    assert parse_ratios("8,1,1") == (8.0, 1.0, 1.0)
    for bad in ("0.8,0.2", "a,b,c"):
        with pytest.raises(ConfigError):
            parse_ratios(bad)
    for ratios in ((0, 0, 0), (-1, 1, 1), (float("nan"), 1, 1)):
        with pytest.raises(ConfigError):
            SplitConfig(ratios)
    with pytest.raises(ConfigError):
        SplitConfig(cell_deg=0)


def test_exported_texts_follow_their_scene_groups(tmp_path: Path) -> None:
    """Through the store and the exporter: every text of a group lands in one split."""
    scenes = _scenes(n_parents=25, seed=9)
    db = tmp_path / "s.duckdb"
    with Store(db) as store:
        store.upsert("scenes", scenes)
        store.upsert("vqa", [{"qa_id": f"q{i}_{s['scene_id']}", "scene_id": s["scene_id"],
                              "task": "count", "question": "How many ships are there?",
                              "answer": str(i), "params": {"category": "ship"},
                              "template_id": "count.v1", "template_version": 1,
                              "style": "generic"} for s in scenes for i in range(2)])
    config = SplitConfig((0.5, 0.25, 0.25), seed=2, cell_deg=0.5)
    with Store(db, read_only=True) as store:
        stored = assign_splits(store, config)
        export(store, "jsonl", tmp_path / "t.jsonl", ExportOptions(splits=config,
                                                                  single_file=True))
    records = [json.loads(x) for x in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert len(records) == 2 * len(scenes)
    split_of_scene = {}
    for r in records:
        assert split_of_scene.setdefault(r["scene_id"], r["split"]) == r["split"]
        assert r["split"] == stored.split[r["scene_id"]]
    _assert_no_group_crosses_splits(scenes, split_of_scene, config.cell_deg)
    groups: dict[str, set[str]] = defaultdict(set)
    for r in records:
        groups[r["group"]].add(r["split"])
    assert all(len(v) == 1 for v in groups.values()) and len(groups) > 3


@pytest.mark.skipif(not HRSID.exists(), reason="shared HRSID sample absent")
def test_real_hrsid_crops_of_one_parent_share_a_split() -> None:
    from dataclasses import asdict

    from narrator.ingest import load_config, read_dataset

    ingested = read_dataset(load_config(HRSID, None, None))
    scenes = [asdict(b.scene) for b in ingested.bundles]
    result = assign_scenes(scenes, SplitConfig())
    by_parent: dict[str, set[str]] = defaultdict(set)
    for s in scenes:
        by_parent[parent_scene(s["file_name"])].add(result.split[s["scene_id"]])
    assert None not in by_parent and len(by_parent) > 50 and len(scenes) > 200
    assert all(len(v) == 1 for v in by_parent.values())
    assert set(result.split.values()) == {"train", "val", "test"}


def _every_scene_in_one_union_find(scenes: list[dict], config: SplitConfig
                                   ) -> tuple[dict[str, str], dict[str, str]]:
    """The assignment as it was made before it became columns: every scene's keys in one
    union-find (footprint overlaps joined pairwise), the group its smallest key."""
    parent: dict[str, str] = {}

    def find(k: str) -> str:
        while parent.setdefault(k, k) != k:
            k = parent[k]
        return k

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    own = {}
    for s in scenes:
        keys = group_keys(s, config.cell_deg)
        own[s["scene_id"]] = keys[0]
        find(keys[0])
        for k in keys[1:]:
            union(keys[0], k)
    shaped = [(s, shapely.from_wkb(s["footprint_wkb"])) for s in scenes if s["footprint_wkb"]]
    for i, (a, ga) in enumerate(shaped):
        for b, gb in shaped[i + 1:]:
            if ga.intersects(gb) and not ga.touches(gb):
                union(own[a["scene_id"]], own[b["scene_id"]])
    group = {sid: find(k) for sid, k in own.items()}
    return {sid: config.split_of(g) for sid, g in group.items()}, group


def test_columns_give_the_groups_of_one_union_find_over_every_scene(tmp_path: Path) -> None:
    """Scenes that link to nothing stay out of the union-find (a million of them took about
    1 GB as dicts); the splits and groups are still those of every scene in one union-find,
    and the export's table of them (scene_id, split, grp) says the same."""
    from narrator.export.sqljson import split_table

    rng = random.Random(11)
    scenes = _scenes(n_parents=20, seed=5)
    scenes += [{"scene_id": f"alone{i:04d}", "dataset": "plain", "file_name": f"img_{i}.png",
                "platform": None, "acquired_at": None, "center_lon": None,
                "center_lat": None, "footprint_wkb": None, "meta": {}} for i in range(300)]
    rng.shuffle(scenes)
    config = SplitConfig((0.6, 0.2, 0.2), seed=4, cell_deg=0.5)
    want_split, want_group = _every_scene_in_one_union_find(scenes, config)
    got = assign_scenes(scenes, config)
    assert got.split == want_split and got.group == want_group
    assert got.group["alone0007"] == "scene:alone0007"
    table = split_table(got).to_pylist()
    assert [r["scene_id"] for r in table] == [s["scene_id"] for s in scenes]
    assert all(r["split"] == want_split[r["scene_id"]] and r["grp"] == want_group[r["scene_id"]]
               and r["image"] is None for r in table)
    counts = got.scene_counts()
    assert counts == {s: sum(v == s for v in want_split.values()) for s in counts}
    db = tmp_path / "s.duckdb"
    with Store(db) as store:  # read back from the store in batches: the same assignment
        store.upsert("scenes", [s | {"width": 8, "height": 8} for s in scenes])
        stored = assign_splits(store, config)
    assert stored.split == want_split and stored.group == want_group
