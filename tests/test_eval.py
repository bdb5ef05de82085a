"""``narrator eval``: the ground truth scores 1.0 on every metric (CIDEr: its maximum, 10, on
pycocoevalcap's scale), half-perturbed predictions about 0.5 for VQA, in LLaMA-Factory's,
ms-swift's and narrator's own prediction files; the SARLANG VQA_result.csv it writes scores
the same under SARLANG-1M's published rule (Evaluate_VQA.py, reimplemented below from it)."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from narrator.eval import EvalError, score, write_sarlang_csv
from narrator.export import ExportOptions, export
from narrator.export.splits import SplitConfig
from narrator.store import Store
from tests.test_export import build_db

pytest.importorskip("pycocoevalcap")


@pytest.fixture(scope="module")
def exported(example_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A database and its SARChat export with a test split of most scenes."""
    tmp = tmp_path_factory.mktemp("eval")
    db = build_db(tmp / "n.duckdb", example_dir)
    with Store(db, read_only=True) as store:
        export(store, "sarchat", tmp / "sc", ExportOptions(
            splits=SplitConfig((0.1, 0.0, 0.9), 1, 0.1)))
    return db, tmp / "sc"


def _test_records(folder: Path) -> list[dict]:
    return [r for p in sorted(folder.glob("SARChat_*_test.json"))
            for r in json.loads(p.read_text())]


def _perturb(answer: str, rng: random.Random) -> str:
    if "{<" in answer:  # a box far from the truth
        return "{<0><0><1><1>}"
    # no digits: SARLANG's rule counts a truth found inside the prediction ("2" in "zzz 1234")
    return "zzz " + "".join(rng.choice("qxjk") for _ in range(4))


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _predictions(records: list[dict], fmt: str, perturb: float, tmp: Path) -> Path:
    rng = random.Random(7)
    rows = []
    # every other record in task order when perturb is 0.5: half of the records and about half
    # of each task, not a coin toss that a small test split can land on all-heads
    order = sorted(range(len(records)), key=lambda i: str(records[i]["meta"].get("task")))
    step = round(1 / perturb) if perturb else 0
    perturbed = set(order[step - 1::step]) if step else set()
    for i, r in enumerate(records):
        truth = r["messages"][1]["content"]
        pred = _perturb(truth, rng) if i in perturbed else truth
        if fmt == "llamafactory":
            prompt = ("system\nYou are a helpful assistant.\nuser\n" +
                      r["messages"][0]["content"] + "\nassistant\n")
            rows.append({"prompt": prompt, "predict": pred, "label": truth})
        elif fmt == "swift":
            rows.append(r | {"response": pred, "labels": truth})
        else:
            rows.append({"id": r["meta"]["id"], "prediction": pred})
    return _write(tmp / f"{fmt}.jsonl", rows)


@pytest.mark.parametrize("fmt", ["llamafactory", "swift", "narrator"])
def test_ground_truth_scores_one_on_every_metric(exported, fmt: str, tmp_path: Path) -> None:
    db, folder = exported
    records = _test_records(folder)
    with Store(db, read_only=True) as store:
        result = score(store, _predictions(records, fmt, 0.0, tmp_path))
    assert len(result.rows) == len(records)
    assert set(result.overall) == {"vqa", "box", "caption"}
    for kind, entry in result.overall.items():
        for metric, value in entry.items():
            if metric == "n":
                continue
            expected = 10.0 if metric == "CIDEr" else 1.0
            assert value == pytest.approx(expected, abs=1e-6), (kind, metric)


def _sarlang_rule_accuracy(path: Path) -> float:
    """SARLANG-1M's Evaluate_VQA.py, its GPT step replaced by an exact match."""
    total = correct = 0
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.reader(fh):
            truth, predicted = row[3].lower(), row[1].lower()
            if truth in predicted:
                ok = 1
            elif truth in ["yes", "no"] + list(map(str, range(100))):
                ok = int(truth == predicted)
            else:
                ok = int(truth == predicted)
            total, correct = total + 1, correct + ok
    return correct / total


def test_half_perturbed_scores_about_half(exported, tmp_path: Path) -> None:
    db, folder = exported
    records = _test_records(folder)
    with Store(db, read_only=True) as store:
        result = score(store, _predictions(records, "swift", 0.5, tmp_path))
    vqa = result.overall["vqa"]["accuracy"]
    assert 0.3 <= vqa <= 0.7
    assert 0.2 <= result.overall["box"]["acc@0.5"] <= 0.8
    assert result.overall["caption"]["BLEU-4"] < 0.9
    n = write_sarlang_csv(result, tmp_path / "VQA_result.csv")
    assert n == result.overall["vqa"]["n"]
    with (tmp_path / "VQA_result.csv").open(newline="") as fh:
        first = next(csv.reader(fh))
    assert len(first) == 4 and first[0].endswith(".tif")  # image, prediction, question, truth
    assert _sarlang_rule_accuracy(tmp_path / "VQA_result.csv") == pytest.approx(vqa)


def test_reference_file_ties_predictions_without_ids(exported, tmp_path: Path) -> None:
    db, folder = exported
    ref = folder / "SARChat_describe_test.json"
    records = json.loads(ref.read_text())
    preds = _write(tmp_path / "p.jsonl", [{"prompt": "", "predict": "a ship", "label": "x"}
                                          for _ in records])
    with Store(db, read_only=True) as store:
        result = score(store, preds, reference=ref)
        assert {r.text_id for r in result.rows} == {r["meta"]["id"] for r in records}
        with pytest.raises(EvalError, match="match no text"):
            score(store, _write(tmp_path / "q.jsonl", [{"predict": "x", "prompt": "?"}]))


def test_cli_eval_prints_tables_and_writes_json(exported, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from narrator.cli import cli

    db, folder = exported
    preds = _predictions(_test_records(folder), "llamafactory", 0.0, tmp_path)
    out = CliRunner().invoke(cli, ["eval", "--db", str(db), "--predictions", str(preds),
                                   "--out", str(tmp_path / "s.json"), "--sarlang-csv",
                                   str(tmp_path / "VQA_result.csv")])
    assert out.exit_code == 0, out.output
    assert "SARLANG-1M matching rule" in out.output and "acc@0.5" in out.output
    saved = json.loads((tmp_path / "s.json").read_text())
    assert saved["overall"]["vqa"]["accuracy"] == 1.0
    bad = CliRunner().invoke(cli, ["eval", "--db", str(db), "--predictions", str(db)])
    assert bad.exit_code == 2 and "Error:" in bad.output and "internal" not in bad.output
    assert "not UTF-8" in bad.output
