"""narrator report: the page, its plots and its numbers; rendered in headless Chromium when
Chromium is installed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from PIL import Image

from narrator.cli import cli
from narrator.report import write_report
from narrator.queries.report import gather
from narrator.store import Store
from tests.test_export import build_db

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def db(example_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The export test database plus screening candidates and LLM calls."""
    path = build_db(tmp_path_factory.mktemp("report") / "n.duckdb", example_dir)
    now = datetime.now(UTC)
    with Store(path) as store:
        store.upsert("candidates", [
            {"candidate_id": "c1", "scene_id": "s", "kind": "detailed", "round": 0,
             "violations": [{"type": "count", "claim": "3 ships"},
                            {"type": "category", "claim": "tank"}]},
            {"candidate_id": "c2", "scene_id": "s", "kind": "detailed", "round": 1,
             "violations": [{"type": "count"}]},
            {"candidate_id": "c3", "scene_id": "s", "kind": "concise", "round": 0,
             "violations": []}])
        store.upsert("llm_calls", [
            {"call_key": f"k{i}", "model": "qwen" if i % 2 else "llama", "status": "ok",
             "latency_s": 0.5 + i / 10, "prompt_tokens": 100 + i, "completion_tokens": 40,
             "created_at": now} for i in range(6)])
    return path


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.srcs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.srcs.append(dict(attrs)["src"] or "")


def _img_srcs(page: Path) -> list[str]:
    parser = _Images()
    parser.feed(page.read_text())
    return parser.srcs


def test_report_page_and_plots(db: Path, tmp_path: Path) -> None:
    with Store(db, read_only=True) as store:
        page = write_report(store, tmp_path / "rep")
    srcs = _img_srcs(page)
    assert len(srcs) == 6
    for src in srcs:
        with Image.open(page.parent / src) as img:
            assert img.format == "PNG" and img.width > 300 and img.height > 200
    html = page.read_text()
    assert "Total words" in html and "Average caption length" in html
    assert "qwen" in html and "llama" in html and "cost column" not in html


def _words(text: str) -> int:
    return len(text.split())


def _sentences(text: str) -> int:
    ends = len(re.findall(r"[.!?]+(\s|$)", text))
    return ends + (0 if re.search(r"[.!?]\s*$", text) else 1)


def test_text_statistics_match_a_recount(db: Path) -> None:
    con = duckdb.connect(str(db), read_only=True)
    try:
        qa = con.execute("SELECT question, answer FROM vqa").fetchall()
        caps = [r[0] for r in con.execute(
            "SELECT text FROM captions WHERE status = 'accepted'").fetchall()]
    finally:
        con.close()
    texts = [t for pair in qa for t in pair] + caps
    with Store(db, read_only=True) as store:
        data = gather(store)
    stats = data.stats
    assert stats["total_words"] == sum(_words(t) for t in texts)
    assert stats["total_sentences"] == sum(_sentences(t) for t in texts)
    assert stats["avg_caption_words"] == pytest.approx(sum(map(_words, caps)) / len(caps))
    assert stats["texts"] == len(qa) + len(caps)
    assert dict(data.violations) == {"count": 2, "category": 1}
    assert {m["model"]: m["prompt_tokens"] for m in data.llm["models"]} == \
        {"llama": 100 + 102 + 104, "qwen": 101 + 103 + 105}
    presence = dict(data.answers["presence"])
    assert set(presence) <= {"yes", "no"} and sum(presence.values()) == \
        sum(1 for q, a in qa if a.lower().rstrip(".") in ("yes", "no"))


def test_report_of_an_empty_database_says_no_data(tmp_path: Path) -> None:
    with Store(tmp_path / "empty.duckdb"):
        pass
    result = CliRunner().invoke(cli, ["report", "--db", str(tmp_path / "empty.duckdb"),
                                      "--out", str(tmp_path / "rep")])
    assert result.exit_code == 0, result.output
    page = tmp_path / "rep" / "index.html"
    assert "No LLM calls recorded" in page.read_text()
    assert all((page.parent / src).stat().st_size > 0 for src in _img_srcs(page))


_CHECK = """<script>window.addEventListener("load", () => {
  const r = [...document.images].map(i => [i.getAttribute("src"), i.naturalWidth]);
  document.body.setAttribute("data-images", JSON.stringify(r));
});</script></body>"""


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_report_renders_in_headless_chromium(db: Path, tmp_path: Path) -> None:
    with Store(db, read_only=True) as store:
        page = write_report(store, tmp_path / "rep")
    check = page.with_name("check.html")  # the page plus a script that lists loaded images
    check.write_text(page.read_text().replace("</body>", _CHECK))
    with tempfile.TemporaryDirectory() as profile:
        out = subprocess.run(
            [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
             "--virtual-time-budget=10000", "--dump-dom", check.as_uri()],
            capture_output=True, text=True, timeout=120)
    found = re.search(r'data-images="([^"]*)"', out.stdout)
    assert found, out.stdout[-2000:] + out.stderr[-2000:]
    loaded = json.loads(found.group(1).replace("&quot;", '"'))
    assert [src for src, _ in loaded] == _img_srcs(page)
    assert all(width > 0 for _, width in loaded), loaded


def test_llm_cost_from_prices(db: Path) -> None:
    from narrator.errors import ConfigError
    from narrator.report import parse_price

    assert parse_price("org/model-7b=0.5,1.5") == ("org/model-7b", (0.5, 1.5))
    for bad in ("qwen=1", "=1,2", "qwen"):
        with pytest.raises(ConfigError):
            parse_price(bad)
    with Store(db, read_only=True) as store:
        models = {m["model"]: m for m in gather(store, {"qwen": (1.0, 2.0)}).llm["models"]}
    assert models["qwen"]["cost"] == pytest.approx(((101 + 103 + 105) + 3 * 40 * 2) / 1e6)
    assert models["llama"]["cost"] is None


def test_answer_skew_per_family_matches_a_recount(db: Path, tmp_path: Path) -> None:
    """The report's skew table: per family its rows and the share of its most common
    answer (the answer key where that names the answer), recounted here in Python."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT template_id, answer, params FROM vqa").fetchall()
    finally:
        con.close()
    by_family: dict[str, list[str]] = {}
    for family, answer, params in rows:
        key = json.loads(params).get("answer_key") or "default"
        opaque = key in ("default", "one", "many", "zero", "fine", "empty")
        by_family.setdefault(family, []).append(answer if opaque else key)
    with Store(db, read_only=True) as store:
        data = gather(store)
        page = write_report(store, tmp_path / "rep").read_text()
    got = {s["family"]: (s["rows"], s["top_share"]) for s in data.skew}
    want = {f: (len(a), round(max(a.count(x) for x in set(a)) / len(a), 4))
            for f, a in by_family.items()}
    assert got == want
    assert "Answer skew per VQA family" in page


def test_generate_summary_lists_skewed_families() -> None:
    from narrator.cli import skew_rows
    from narrator.vqa.skew import skewed

    skew = [{"family": "size_class.v2", "rows": 100, "top": "small", "top_share": 0.9},
            {"family": "count.v2", "rows": 10, "top": "1", "top_share": 1.0},
            {"family": "left_right.v1", "rows": 50, "top": "left", "top_share": 0.5}]
    assert [s["family"] for s in skewed(skew)] == ["size_class.v2"]  # 10 rows: too few
    rows = skew_rows({"answer_skew": skewed(skew)})
    assert rows == [("families with one answer > 60%", "1"),
                    ("  size_class.v2: 'small'", "90% of 100")]
    assert skew_rows({"answer_skew": []}) == [("families with one answer > 60%", "none")]
    assert skew_rows({}) == []
