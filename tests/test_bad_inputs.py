"""The bad-input corpus (tests/badinputs.py): every case is reported as a one-line error or a
quarantine row naming file, record and reason, never a traceback, and every valid scene of
the same dataset is still processed."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from narrator.cli import cli
from narrator.generate import GenerateOptions, Generator
from narrator.store import Store
from tests.badinputs import CASES, Case, Expect
from tests.conftest import run_cli

BY_NAME = {c.name: c for c in CASES}


def test_the_corpus_has_every_kind_of_breakage() -> None:
    assert len(CASES) >= 25
    assert len(BY_NAME) == len(CASES)
    kinds = {e.kind for c in CASES for e in c.expect}
    assert kinds == {"quarantine", "file_error", "warning"}


def _rows(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _matches(expect: Expect, source: str, record: str, reason: str) -> bool:
    return expect.file in source and expect.record in record and expect.reason in reason


def check_output(case: Case, output: str) -> None:
    """The terminal output: one line per problem, no traceback, no internal error."""
    assert "Traceback" not in output and "internal error" not in output, output
    lines = output.splitlines()
    # ingest shows the first five quarantined records, then "... and N more"
    more = sum(ln.startswith("Quarantined: ") for ln in lines) == 5 and \
        any("more quarantined records" in ln for ln in lines)
    for e in case.expect:
        prefix = {"file_error": "Error: ", "quarantine": "Quarantined: ",
                  "warning": "Warning: "}[e.kind]
        hits = [ln for ln in lines if ln.startswith(prefix) and e.file in ln and e.reason in ln
                and e.record in ln]
        assert hits or (e.kind == "quarantine" and more), \
            f"no {prefix!r} line naming {e} in:\n{output}"


def check_db(case: Case, db: Path, summary: dict) -> None:
    """Quarantine rows name file, record and reason; every valid scene has its texts."""
    quarantine = _rows(db, "SELECT source, record, error FROM quarantine")
    errors = summary["file_errors"]
    for e in case.expect:
        if e.kind == "quarantine":
            assert any(_matches(e, *row) for row in quarantine), (e, quarantine)
        elif e.kind == "file_error":
            assert any(e.file in msg and e.reason in msg for msg in errors), (e, errors)
            assert all("\n" not in msg for msg in errors)
            # a file that could not be read is also a quarantine row naming the whole file
            assert any(e.file in s and r == "whole file" for s, r, _ in quarantine)
    done = dict(_rows(db, "SELECT s.file_name, count(v.qa_id) FROM scenes s "
                          "JOIN vqa v USING (scene_id) GROUP BY s.file_name"))
    captioned = {r[0] for r in _rows(db, "SELECT DISTINCT s.file_name FROM scenes s "
                                         "JOIN captions c USING (scene_id)")}
    for name in case.valid:
        assert done.get(name, 0) > 0, f"valid scene {name} has no VQA pairs: {done}"
        assert name in captioned, f"valid scene {name} has no captions"
    objects = dict(_rows(db, "SELECT s.file_name, count(*) FROM objects o JOIN scenes s "
                             "USING (scene_id) GROUP BY s.file_name"))
    assert all(objects.get(name, 0) > 0 for name in case.valid), objects


def generate_without_prefect(root: Path, db: Path) -> dict:
    """What the generate flow does, through the same Generator, with shards computed inline
    (no Prefect: ~1 s less per run); the flow runs in the tests below."""
    with Store(db) as store:
        return Generator(store, root, GenerateOptions(shard_size=256)).generate()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_bad_input_case(case: Case, tmp_path: Path) -> None:
    root = case.write(tmp_path)
    db = tmp_path / "n.duckdb"
    result = CliRunner().invoke(cli, ["ingest", str(root), "--db", str(db)],
                                env={"COLUMNS": "400", "NO_COLOR": "1"})
    assert result.exit_code == case.exit_code, result.output
    check_output(case, result.output)
    check_db(case, db, generate_without_prefect(root, db))


FLOW_CASES = ("huge_declared_dimensions", "raster_without_crs_and_map_vector_labels",
              "mask_size_differs_from_image", "yolo_bad_lines_and_missing_image",
              "unreadable_annotation_file")


@pytest.mark.parametrize("name", FLOW_CASES)
def test_the_generate_flow_on_bad_inputs(name: str, prefect_harness, tmp_path: Path) -> None:
    from flows.generate import generate_flow

    case = BY_NAME[name]
    root = case.write(tmp_path)
    db = tmp_path / "n.duckdb"
    summary = generate_flow(str(root), str(db))
    check_db(case, db, summary)
    assert summary["quarantined"] == len(_rows(db, "SELECT * FROM quarantine")) > 0


CLI_CASES = ("voc_mixed_breakage",)


@pytest.mark.parametrize("name", CLI_CASES)
def test_the_real_generate_command_reports_without_traceback(name: str,
                                                             tmp_path: Path) -> None:
    case = BY_NAME[name]
    root = case.write(tmp_path / "data with spaces")
    db = tmp_path / "out dir" / "n.duckdb"
    result = run_cli("generate", str(root), "--db", str(db), env={"COLUMNS": "400"})
    assert result.returncode == case.exit_code, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "internal error" not in result.stderr
    for e in case.expect:
        if e.kind == "file_error":
            assert any(ln.startswith("Error: ") and e.file in ln and e.reason in ln
                       for ln in result.stderr.splitlines()), result.stderr
    if case.exit_code == 1:
        assert "records quarantined" in result.stdout
    check_db(case, db, {"file_errors": [ln.removeprefix("Error: ") for ln in
                                        result.stderr.splitlines()]})


@pytest.mark.parametrize("name", ("unreadable_annotation_file", "wrong_json_types_scalars",
                                  "mask_huge_header"))
def test_the_real_ingest_command_reports_without_traceback(name: str, tmp_path: Path) -> None:
    case = BY_NAME[name]
    root = case.write(tmp_path)
    result = run_cli("ingest", str(root), "--db", str(tmp_path / "n.duckdb"),
                     env={"COLUMNS": "400"})
    assert result.returncode == case.exit_code, result.stdout + result.stderr
    check_output(case, result.stdout + result.stderr)


def test_unreadable_really_is_unreadable(tmp_path: Path) -> None:
    """The corpus's unreadable file cannot be read, as root or not (see tests/badinputs.py)."""
    from tests.badinputs import make_unreadable

    path = tmp_path / "x.json"
    make_unreadable(path)
    with pytest.raises(OSError):
        path.read_bytes()
    assert os.geteuid() == 0 or not os.access(path, os.R_OK)
