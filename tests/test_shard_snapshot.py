"""process_shard's texts equal the readable snapshot (tests/shard_snapshot.py): a change
shows as a per-line diff; regenerate with ``PYTHONPATH=. python -m tests.shard_snapshot
--write`` when it is intended."""

from __future__ import annotations

import difflib

from tests.shard_scenes import make_bundles
from tests.shard_snapshot import SNAPSHOT, snapshot_lines


def test_fixture_covers_the_edge_cases() -> None:
    bundles = make_bundles()
    sizes = {len(b.objects) for b in bundles[:12]}
    objs = [o for b in bundles for o in b.objects]
    assert {0, 1} <= sizes and max(sizes) > 60
    assert any(b.scene.gsd_m is None for b in bundles[:12])
    assert any(b.scene.gsd_m is not None for b in bundles[:12])
    assert any(r.geom_wkb for b in bundles for r in b.regions)
    assert any(r.geom_wkb is None for b in bundles for r in b.regions)
    assert any(o.poly_wkb for o in objs) and any(o.angle is not None for o in objs)


def test_texts_equal_the_snapshot() -> None:
    expected = SNAPSHOT.read_text(encoding="utf-8").splitlines()
    actual = snapshot_lines()
    if actual != expected:
        diff = list(difflib.unified_diff(expected, actual, str(SNAPSHOT), "this code",
                                         lineterm="", n=0))
        shown = "\n".join(diff[:60]) + (f"\n... {len(diff) - 60} more diff lines"
                                        if len(diff) > 60 else "")
        raise AssertionError(
            f"the texts differ from the snapshot in {sum(1 for d in diff if d[:1] in '+-') - 2} "
            f"lines:\n{shown}\nIf intended: PYTHONPATH=. python -m tests.shard_snapshot --write")
