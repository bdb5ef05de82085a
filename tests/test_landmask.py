"""narrator.landmask reads global-land-mask's mask bit-packed through a memory map: the same
cells as the package's in-memory array, at a fraction of the memory."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("global_land_mask")


def test_windows_and_points_match_the_package(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from global_land_mask import globe

    from narrator import landmask

    monkeypatch.setenv("NARRATOR_CACHE_DIR", str(tmp_path))
    landmask._mask.cache_clear()
    try:
        rng = random.Random(20261205)
        for _ in range(60):
            lat, lon = rng.uniform(-89.9, 89.9), rng.uniform(-179.9, 179.9)
            r, c = int(globe.lat_to_index(lat)), int(globe.lon_to_index(lon))
            assert (landmask.lat_to_index(lat), landmask.lon_to_index(lon)) == (r, c)
            r0, c0 = max(r - 180, 0), max(c - 177, 0)  # columns not on a byte boundary
            assert np.array_equal(landmask.ocean(r0, r + 180, c0, c + 180),
                                  np.asarray(globe._mask[r0:r + 180, c0:c + 180]))
            assert landmask.is_land(lat, lon) == bool(globe.is_land(lat, lon))
        assert landmask.is_land(-19.53, 169.45) and not landmask.is_land(0.0, -30.0)
        assert len(list(tmp_path.glob("landmask-*.bits"))) == 1
    finally:
        landmask._mask.cache_clear()


def test_asking_for_land_does_not_hold_the_whole_mask() -> None:
    # VmHWM, not ru_maxrss: that one keeps the forked parent's peak (this test process has
    # loaded the package's full array in the test above)
    code = ("from narrator import landmask; assert landmask.is_land(51.5, -0.1); "
            "print(next(l.split()[1] for l in open('/proc/self/status') "
            "if l.startswith('VmHWM')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert int(out.stdout) < 400 * 1024, out.stdout  # KB; the package's own array is 930 MB
