"""Records <-> Arrow columns: how scenes travel from ingest to the store and from the store to a
shard, and how a shard's rows travel back, without a Python object per cell in between.

A shard's input is three Arrow tables (scenes, objects, regions, as ``Store.load_shard`` gives
them); they pickle as flat buffers, so a shard can be sent to a worker process cheaply and
turned back into :class:`SceneBundle` records there.
"""

from __future__ import annotations

import json
from dataclasses import fields
from operator import attrgetter
from typing import Any

import pyarrow as pa

from narrator.ids import canonical_json
from narrator.records import Object, Region, Scene, SceneBundle

_EMPTY = "{}"
#: Columns stored as JSON text.
JSON_COLUMNS = {"meta", "attrs", "params", "summary", "facts", "violations", "request",
                "response", "parsed"}


def encode(value: Any, column: str) -> Any:
    """A JSON column's value as text by the one encoder of stored JSON,
    :func:`narrator.ids.canonical_json` (sorted keys, no spaces, UTF-8 kept); text and None
    are kept."""
    if column in JSON_COLUMNS and value is not None and not isinstance(value, str):
        return canonical_json(value)
    return value


def last_wins(data: dict[str, list[Any]], key: str) -> dict[str, list[Any]]:
    """Columns with one row per value of ``key``: for a repeated key the last row wins (the
    rule of every upsert batch)."""
    keys = data[key]
    if len(set(keys)) == len(keys):
        return data
    keep = sorted({k: i for i, k in enumerate(keys)}.values())
    return {c: [v[i] for i in keep] for c, v in data.items()}


def _names(cls: type) -> list[str]:
    return [f.name for f in fields(cls) if not f.name.startswith("_")]


SCENE_FIELDS, OBJECT_FIELDS, REGION_FIELDS = _names(Scene), _names(Object), _names(Region)


def _records_table(records: list[Any], names: list[str], extra: dict[str, list[Any]],
                   json_field: str | None = None) -> pa.Table:
    data = last_wins({n: list(map(attrgetter(n), records)) for n in names} | extra, names[0])
    if json_field:  # the common empty dict without a json.dumps call
        data[json_field] = [_EMPTY if v == {} else encode(v, json_field)
                            for v in data[json_field]]
    return pa.table(data)


def bundle_tables(bundles: list[SceneBundle]) -> dict[str, pa.Table]:
    """Scenes (with their content hash), objects and regions (with ``ord``, their position in
    the scene) of ``bundles`` as Arrow tables shaped like the store's tables."""
    objs = [o for b in bundles for o in b.objects]
    regs = [r for b in bundles for r in b.regions]
    return {
        "scenes": _records_table([b.scene for b in bundles], SCENE_FIELDS,
                                 {"content_hash": [b.content_hash for b in bundles]}, "meta"),
        "objects": _records_table(objs, OBJECT_FIELDS, {"ord": [
            i for b in bundles for i in range(len(b.objects))]}, "attrs"),
        "regions": _records_table(regs, REGION_FIELDS, {"ord": [
            i for b in bundles for i in range(len(b.regions))]}),
    }


def _columns(table: pa.Table, names: list[str], json_field: str | None = None) -> list[list]:
    out = []
    for name in names:
        values = table.column(name).to_pylist()
        if name == json_field:
            values = [{} if v == _EMPTY else None if v is None else json.loads(v) for v in values]
        out.append(values)
    return out


def bundles_from_tables(tables: dict[str, pa.Table]) -> list[SceneBundle]:
    """SceneBundles from ``Store.load_shard``'s tables (scenes in order, objects and regions
    grouped by scene in the same order); each keeps the content hash it was stored with."""
    scenes = [Scene(*row) for row in zip(*_columns(tables["scenes"], SCENE_FIELDS, "meta"),
                                         strict=True)]
    hashes = tables["scenes"].column("content_hash").to_pylist()
    bundles = {s.scene_id: SceneBundle(s, _hash=h) for s, h in zip(scenes, hashes, strict=True)}
    for row in zip(*_columns(tables["objects"], OBJECT_FIELDS, "attrs"), strict=True):
        bundles[row[1]].objects.append(Object(*row))
    for row in zip(*_columns(tables["regions"], REGION_FIELDS), strict=True):
        bundles[row[1]].regions.append(Region(*row))
    return list(bundles.values())


def rows_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Dict rows as an Arrow table with the first row's keys as columns (the first one is the
    key: for a repeated key the last row wins, as in ``Store.upsert``); JSON columns encoded."""
    if not rows:
        return pa.table({})
    columns = list(rows[0])
    data = last_wins({c: [r.get(c) for r in rows] for c in columns}, columns[0])
    for c in columns:
        if c in JSON_COLUMNS:
            data[c] = [encode(v, c) for v in data[c]]
    return pa.table(data)
