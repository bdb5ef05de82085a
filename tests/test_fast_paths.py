"""Fast paths give exactly the old texts: the reused JSON encoder, ids, normalised questions
and the facts texts written by orjson."""

from __future__ import annotations

import hashlib
import json
import math
import random
from decimal import Decimal
from typing import Any

import numpy as np

from narrator.ids import canonical_json, make_id, stable_seed, text_id


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def _old_make_id(*parts: Any, length: int = 16) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(_dumps(part).encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()[:length]


def _values() -> list[Any]:
    rng = random.Random(3)
    floats = [0.0, -0.0, 1e-7, 5e-06, 1e16, 1e22, 123.456, 1 / 3, math.nan, math.inf,
              -math.inf, *(rng.uniform(-1e6, 1e6) for _ in range(50)),
              *(rng.random() * 1e-5 for _ in range(20))]
    strings = ["", "ship", "é ü 中文", "quote\" back\\slash", "ctl\x00\x1f\n\t\u2028", "\x1f"]
    return [*floats, *strings, 0, -5, 2**70, True, False, None, [], {}, (1, 2.5),
            {"b": 1, "a": [1.5, None, {"z": "é", "y": True}], "c": (3, "x")},
            {"k": {2: 3.5, 1: None}},
            np.float64(0.1), np.float64(1e-9), Decimal("1.10"), {"set": {1}}, b"bytes",
            [np.float64(2.5), {"n": np.float64(-0.0)}]]


def test_canonical_json_matches_json_dumps() -> None:
    for value in _values():
        assert canonical_json(value) == _dumps(value), value


def test_make_id_matches_the_part_by_part_hash() -> None:
    values = _values()
    rng = random.Random(5)
    for _ in range(300):
        parts = rng.sample(values, rng.randint(0, 4))
        assert make_id(*parts) == _old_make_id(*parts), parts
        assert make_id(*parts, length=8) == _old_make_id(*parts, length=8)
    assert stable_seed(0, "abc") == int(_old_make_id(0, "abc"), 16) & ((1 << 63) - 1)


def test_text_id_is_make_id_of_one_string() -> None:
    for text in ["", "scene\x1fcount.v2\x1fHow many ships?", "é\"\\\n", "x" * 1000]:
        assert text_id(text) == _old_make_id(text) == make_id(text)


def test_normalised_question_matches_the_regex() -> None:
    import re
    import string

    from narrator.vqa.engine import _normalised

    rng = random.Random(9)
    texts = ["How many ships are there?", " Weird--- TEXT__ here!! ", "Ünïcode Ship", "",
             "İstanbul", "\x00\x7f tab\tnew\nline"]
    texts += ["".join(rng.choice(string.printable) for _ in range(rng.randint(0, 40)))
              for _ in range(3000)]
    for text in texts:
        assert _normalised(text) == re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def _counting_orjson(monkeypatch: Any) -> list[int]:
    import narrator.facts as facts_module

    calls = [0]
    real = facts_module.orjson.dumps

    def dumps(*args: Any, **kwargs: Any) -> bytes:
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(facts_module.orjson, "dumps", dumps)
    return calls


def test_facts_texts_are_canonical_json_on_both_paths(monkeypatch: Any) -> None:
    from narrator.facts import shard_facts_json
    from tests.shard_scenes import VOCABULARY, make_bundles

    calls = _counting_orjson(monkeypatch)
    bundles = make_bundles()
    out = shard_facts_json(bundles, VOCABULARY)
    assert [canonical_json(doc) for doc, _ in out] == [text for _, text in out]
    assert 10 < calls[0] < len(bundles)  # orjson wrote some, json.dumps the others


def test_facts_texts_fall_back_for_values_orjson_writes_differently(monkeypatch: Any) -> None:
    import datetime

    from narrator.facts import shard_facts_json
    from narrator.records import Object, Region, Scene, SceneBundle

    def bundle(i: int, **scene: Any) -> SceneBundle:
        sid = f"s{i}"
        objs = [Object(f"{sid}o0", sid, "ship", 10.0, 10.0, 30.5, 21.25),
                Object(f"{sid}o1", sid, "car", 100.0, 50.0, 120.0, 62.5)]
        if i == 8:  # a tiny box: relative area 1.5e-06
            objs.append(Object(f"{sid}o2", sid, "car", 100.0, 50.0, 100.3, 50.2))
        regions = [Region(f"{sid}r", sid, "water", 1.0, 3e-05)] if i == 1 else []
        return SceneBundle(Scene(sid, "d", f"{sid}.tif", None, 200, 200, **scene), objs,
                           regions)

    cases = [bundle(0), bundle(1), bundle(2, incidence_angle=math.nan),
             bundle(3, center_lat=5e-05), bundle(4, center_lon=1e17),
             bundle(5, acquired_at=datetime.datetime(2021, 5, 1)),  # type: ignore[arg-type]
             bundle(6, platform="S1\ud800"), bundle(7, gsd_m=2.0, incidence_angle=2**70),
             bundle(8)]
    calls = _counting_orjson(monkeypatch)
    for case in cases:
        (doc, text), = shard_facts_json([case], ["ship", "car", "tank"])
        assert text == canonical_json(doc), case.scene
    assert calls[0] == 2  # the plain scene, and the one with a surrogate (orjson refuses it)
