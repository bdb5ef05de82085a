"""Issue 22: each hostile input ends as a clear Error/Quarantined/Warning line, the other
scenes are processed, the ingest stays under 1 GB peak RSS and 30 s, and a secret beside the
dataset root appears in no output."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from narrator.cli import cli

from tests.hostile_inputs import HOSTILE, SECRET_MARKER, alias_bomb
from tests.test_bad_inputs import check_db, check_output, generate_without_prefect

MAX_RSS_KB = 1024 * 1024
MAX_SECONDS = 30


# the CLI in a fresh process that writes its own peak RSS (VmHWM, KB) at exit: wait4's
# ru_maxrss would include the pytest parent's RSS at fork time
_CHILD = """
import atexit, re, runpy, sys
out = sys.argv.pop(1)
def hwm():
    status = open('/proc/self/status').read()
    open(out, 'w').write(re.search(r'VmHWM:\\s+(\\d+)', status).group(1))
atexit.register(hwm)
sys.argv[0] = 'narrator'
runpy.run_module('narrator.cli', run_name='__main__')
"""


def run_ingest(root: Path, db: Path) -> tuple[int, str, int, float]:
    """``narrator ingest`` in a child process: exit status, output, the child's own peak RSS
    (KB, from wait4) and seconds; killed after MAX_SECONDS."""
    env = os.environ | {"COLUMNS": "400", "NO_COLOR": "1",
                        "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    log, hwm = db.with_suffix(".out"), db.with_suffix(".hwm")
    start = time.monotonic()
    with log.open("wb") as fh:
        proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(hwm), "ingest", str(root),
                                 "--db", str(db)], stdout=fh, stderr=subprocess.STDOUT, env=env)
        timer = threading.Timer(MAX_SECONDS, proc.kill)
        timer.start()
        try:
            _, status, _ = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - start
    assert seconds < MAX_SECONDS, f"ingest of {root.name} ran past {MAX_SECONDS} s"
    peak = int(hwm.read_text()) if hwm.exists() else 0
    return proc.returncode, log.read_text("utf-8", "replace"), peak, seconds


@pytest.mark.parametrize("case", HOSTILE, ids=lambda c: c.name)
def test_hostile_input(case, tmp_path: Path) -> None:
    root = case.write(tmp_path)
    db = tmp_path / "n.duckdb"
    code, output, peak_kb, seconds = run_ingest(root, db)
    print(f"{case.name}: rc={code} peak_rss={peak_kb / 1024:.0f} MiB {seconds:.1f} s")
    assert code == case.exit_code, output
    check_output(case, output)
    assert peak_kb < MAX_RSS_KB, f"peak RSS {peak_kb} KB"
    assert SECRET_MARKER not in output
    assert "\x1b" not in output and "\x07" not in output, "an escape code reached the terminal"
    check_db(case, db, generate_without_prefect(root, db))
    assert SECRET_MARKER.encode() not in db.read_bytes()
    out = tmp_path / "export"
    result = CliRunner().invoke(cli, ["export", "--db", str(db), "--format", "sarlang",
                                      "--status", "any", "--out", str(out)])
    assert result.exit_code == 0, result.output
    exported = [p for p in out.rglob("*") if p.is_file()]
    assert exported and not any(SECRET_MARKER.encode() in p.read_bytes() for p in exported)


def test_an_alias_bomb_dataset_config_is_refused_fast(tmp_path: Path) -> None:
    root = tmp_path / "bomb"
    root.mkdir()
    (root / "narrator.yaml").write_text(alias_bomb())
    code, output, peak_kb, seconds = run_ingest(root, tmp_path / "n.duckdb")
    assert code == 2 and "Traceback" not in output, output
    assert output.startswith("Error: ") and "narrator.yaml" in output and "alias" in output
    assert seconds < 10 and peak_kb < 300 * 1024, (seconds, peak_kb)


def test_the_png_bomb_is_small_on_disk(tmp_path: Path) -> None:
    from tests.hostile_inputs import png_bomb
    png_bomb(tmp_path / "m.png")
    assert (tmp_path / "m.png").stat().st_size < 1_000_000


_FSIZE_CHILD = """
import resource, runpy, signal, sys
limit = int(sys.argv.pop(1))
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
sys.argv[0] = 'narrator'
runpy.run_module('narrator.cli', run_name='__main__')
"""


@pytest.mark.parametrize("fmt", ["jsonl", "llava", "parquet", "sarlang"])
def test_an_export_that_runs_out_of_space_leaves_no_partial_file(fmt: str,
                                                                 tmp_path: Path) -> None:
    """A real write failure (the kernel's file-size limit: EFBIG on the first write past
    4 KB) ends as one Error line, and no file or .part file is left under --out."""
    case = next(c for c in HOSTILE if c.name == "bowtie_polygon")
    root = case.write(tmp_path)
    db = tmp_path / "n.duckdb"
    generate_without_prefect(root, db)
    out = tmp_path / "out" / {"jsonl": "x.jsonl", "llava": "x.json"}.get(fmt, "x")
    env = os.environ | {"COLUMNS": "400", "NO_COLOR": "1",
                        "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.run([sys.executable, "-c", _FSIZE_CHILD, "4096", "export", "--db",
                           str(db), "--format", fmt, "--out", str(out)], env=env,
                          capture_output=True, text=True, timeout=MAX_SECONDS)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output
    assert "Traceback" not in output and "internal error" not in output, output
    assert "Error: " in output and "the disk is full" in output, output
    left = [p for p in (tmp_path / "out").rglob("*") if p.is_file()] \
        if (tmp_path / "out").exists() else []
    assert left == [], left
