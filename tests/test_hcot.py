"""HCoT captions through the screening / proofreading loop, against the local test server.

The simulated LLM (tests/caption_responder.py) writes captions from the facts and injects
known errors into 30% of its samples; narrator's screener never sees that ground truth. The
test measures what the issue asks: errors left in accepted captions, and the share of
error-free candidates the screener accepts.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from narrator.example import write_example
from tests.fake_openai import OpenAITestServer, ServerConfig
from narrator.store import Store
from tests.caption_responder import CaptionResponder


def _key(output: dict) -> str:
    return output["concise"] + " || " + output["detailed"]


def confusion(db: Path, truth: dict[str, list[str]]) -> dict[str, int]:
    """Candidates by (truly erroneous?) x (screener verdict)."""
    out: Counter[str] = Counter()
    with Store(db, read_only=True) as store:
        for row in store.query("SELECT text, verdict FROM candidates WHERE text IS NOT NULL"):
            bad = bool(truth[_key(json.loads(row["text"]))])
            flagged = row["verdict"] != "clean"
            out[f"{'erroneous' if bad else 'error_free'}_{'flagged' if flagged else 'passed'}"] += 1
    return dict(out)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_example(tmp_path_factory.mktemp("hcot") / "d", n_scenes=80, size=128, seed=5)


def test_loop_accepts_true_captions_and_repairs_false_ones(
        prefect_harness, dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from flows.generate import generate_flow

    responder = CaptionResponder(error_rate=0.3, fix_rate=0.8, seed=1)
    db = tmp_path / "n.duckdb"
    with OpenAITestServer(ServerConfig(latency_s=0.0), responder) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        # 2 samples at a 30 % error rate: about 7 of 80 scenes have no clean sample and go
        # to proofreading (with 3, about 2: none at all in 1 run of 9, whatever the prompt)
        summary = generate_flow(str(dataset), str(db), llm="openai:narrator-test", samples=2,
                                rounds=2, shard_size=20)
        sent = server.stats()["requests"]
        again = generate_flow(str(dataset), str(db), llm="openai:narrator-test", samples=2,
                              rounds=2, shard_size=20)
        assert server.stats()["requests"] == sent  # a rerun sends nothing
    assert again["processed_now"] == 0

    outcomes = summary["caption_outcomes"]
    assert sum(outcomes.values()) == 80
    with Store(db, read_only=True) as store:
        rows = store.query("SELECT scene_id, kind, text, generator FROM captions "
                           "WHERE status = 'accepted' AND kind IN ('concise', 'detailed')")
        calls = store.count("llm_calls")
    by_scene: dict[str, dict[str, str]] = {}
    for r in rows:
        by_scene.setdefault(r["scene_id"], {"generator": r["generator"]})[r["kind"]] = r["text"]
    llm_accepted = [c for c in by_scene.values() if c["generator"].startswith("llm")]
    wrong = [c for c in llm_accepted if responder.truth[_key(c)]]
    matrix = confusion(db, responder.truth)
    error_free = matrix.get("error_free_passed", 0) + matrix.get("error_free_flagged", 0)
    erroneous = matrix.get("erroneous_passed", 0) + matrix.get("erroneous_flagged", 0)
    figures = {"scenes": 80, "outcomes": outcomes, "candidates": matrix,
               "accepted_llm_captions": len(llm_accepted), "accepted_with_errors": len(wrong),
               "error_free_acceptance": round(matrix.get("error_free_passed", 0) / error_free, 4),
               "error_recall": round(matrix.get("erroneous_flagged", 0) / erroneous, 4),
               "llm_calls": calls, "http_requests": sent}
    with capsys.disabled():
        print("\nHCOT_FIGURES " + json.dumps(figures))
    assert erroneous >= 40  # the injector really injected
    assert len(wrong) <= 0.005 * len(llm_accepted)
    assert figures["error_free_acceptance"] >= 0.95
    assert outcomes.get("proofread", 0) > 0  # proofreading saved some scenes
    assert len(by_scene) == 80


def test_every_round_is_in_the_audit_trail(prefect_harness, dataset: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.generate import generate_flow

    responder = CaptionResponder(error_rate=1.0, fix_rate=0.0, seed=2)  # nothing passes
    db = tmp_path / "n.duckdb"
    with OpenAITestServer(ServerConfig(latency_s=0.0), responder) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        summary = generate_flow(str(write_example(tmp_path / "d", n_scenes=4, size=128, seed=9)),
                                str(db), llm="openai:narrator-test", samples=2, rounds=1,
                                fallback=False)
    assert summary["caption_outcomes"] == {"rejected": 4}
    with Store(db, read_only=True) as store:
        rounds = store.query("SELECT scene_id, round, count(*) AS n FROM candidates "
                             "GROUP BY ALL ORDER BY ALL")
        rejected = store.query("SELECT params FROM captions WHERE status = 'rejected'")
    # per scene: 2 samples (round 0), 1 proofread (round 1), 1 strict regeneration (round 2)
    assert {(r["round"], r["n"]) for r in rounds} == {(0, 2), (1, 1), (2, 1)}
    assert len(rejected) == 4 and all(r["params"]["reasons"] for r in rejected)


def test_rewrite_mode_rewrites_given_captions(prefect_harness, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.generate import generate_flow

    data = write_example(tmp_path / "d", n_scenes=5, size=128, seed=4)
    coco = json.loads((data / "annotations" / "train.json").read_text())
    names = [i["file_name"] for i in coco["images"]][:3]
    optical = tmp_path / "optical.jsonl"
    optical.write_text("\n".join(json.dumps({"image": n, "text": f"A sunny scene {i} in colour."})
                                 for i, n in enumerate(names)) + "\n{bad line\n")
    responder = CaptionResponder(error_rate=0.0, seed=3)
    db = tmp_path / "n.duckdb"
    with OpenAITestServer(ServerConfig(latency_s=0.0), responder) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        summary = generate_flow(str(data), str(db), llm="openai:narrator-test", samples=2,
                                rewrite=str(optical))
    assert sorted(set(responder.optical_seen)) == [f"A sunny scene {i} in colour."
                                                   for i in range(3)]
    assert responder.calls["rewrite"] == 3 * 2 and responder.calls["hcot"] == 2 * 2
    with Store(db, read_only=True) as store:
        templates = Counter(r["template_id"] for r in store.query(
            "SELECT template_id FROM captions WHERE kind = 'concise'"))
        bad = store.query("SELECT record, error FROM quarantine WHERE stage = 'rewrite'")
    assert templates == {"rewrite": 3, "hcot": 2}
    assert bad and bad[0]["record"] == "line 4"
    assert summary["quarantined"] == 1


@pytest.mark.parametrize(("reply", "clean"), [
    ("DETAILED: Two ships are moored at the pier.", "Two ships are moored at the pier."),
    ("**Detailed caption:** Two ships.", "Two ships."),
    ('Caption: "Two ships near the pier."', "Two ships near the pier."),
    ("Concise - Two ships.", "Two ships."),
    ("Detailed\nTwo ships.", "Two ships."),
    ("Brief: DETAILED: two ships", "Two ships"),
    ("\u201cThree aircraft on the apron.\u201d", "Three aircraft on the apron."),
    ("Answer: two ships.", "Two ships."),
    ("Sure! Here is the detailed caption: Two ships.", "Two ships."),
    ("Here's a concise caption (one sentence): 'Two ships.'", "Two ships."),
    ("__BRIEF__: Two ships.", "Two ships."),
    ("Here is the harbour: two ships.", "Here is the harbour: two ships."),
    # a colon inside the text is the text's own
    ("Two ships: one large, one small.", "Two ships: one large, one small."),
    ("Ships: two, near the pier.", "Ships: two, near the pier."),
])
def test_prompt_labels_and_quotes_are_stripped_from_replies(reply: str, clean: str) -> None:
    from narrator.caption.hcot import strip_labels

    assert strip_labels(reply) == clean


def test_a_detailed_caption_must_name_the_main_category_itself() -> None:
    from narrator.caption.hcot import clean_output, screen_output

    facts = {"scene_id": "s", "counts": {"ship": 3, "car": 1}, "total": 4, "objects": [],
             "width": 800, "height": 800}
    named = clean_output({"concise": "DETAILED: Three ships and a car.",
                          "detailed": "Detailed: The scene shows calm water around the pier."})
    _, violations = screen_output(named, facts)
    assert "missing_main_category" in {v.type for v in violations}
    assert named["concise"] == "Three ships and a car."
    both = {"concise": "Three ships.", "detailed": "Three ships lie near the pier."}
    _, violations = screen_output(both, facts)
    assert "missing_main_category" not in {v.type for v in violations}


_MAIN = {"scene_id": "s", "counts": {"ship": 3, "car": 1}, "total": 4, "objects": [],
         "width": 800, "height": 800}
_FEW = _MAIN | {"counts": {"ship": 2, "car": 1}, "total": 3}
_TIED = _MAIN | {"counts": {"ship": 2, "aircraft": 2}, "total": 4}


@pytest.mark.parametrize(("facts", "detailed", "missing"), [
    (_MAIN, "Three vessels lie in the water.", []),           # a synonym names the ships
    (_MAIN, "Several boats and a car.", []),
    (_MAIN, "DETAILED: The water is calm and dark.", ["ship"]),  # no target named at all
    (_MAIN, "A car is parked by the road.", ["ship"]),         # only the minor category
    (_FEW, "Two ships lie in the water.", ["car"]),            # few objects: every category
    (_FEW, "Two ships and one vehicle.", []),
    (_TIED, "Two aircraft stand on the apron.", ["ship"]),     # tied: each of them
    (_TIED, "Two ships and two planes.", []),
])
def test_missing_main_category_on_written_captions(facts: dict, detailed: str,
                                                   missing: list[str]) -> None:
    from narrator.caption.hcot import clean_output, screen_output

    output = clean_output({"concise": "A SAR scene.", "detailed": detailed})
    _, violations = screen_output(output, facts)
    found = sorted(v.text for v in violations if v.type == "missing_main_category")
    assert found == missing
    assert all(v.expected == facts["counts"][v.text] for v in violations
               if v.type == "missing_main_category")


@pytest.mark.parametrize(("text", "cut"), [
    ("Two ships lie at the pier. DETAILED:", "Two ships lie at the pier."),
    ("Two ships. DETAILED: The scene centre lies near Rotterdam.", "Two ships."),
    ("Two ships. **Concise caption:** two ships", "Two ships."),
    ("DETAILED: Two ships.", "DETAILED: Two ships."),       # a leading label: strip_labels
    ("Two ships in detail: one large.", "Two ships in detail: one large."),
])
def test_another_captions_label_inside_a_text_ends_it(text: str, cut: str) -> None:
    from narrator.caption.hcot import cut_inner_label

    assert cut_inner_label(text) == cut


_SHIPS = {"scene_id": "s", "counts": {"ship": 4}, "total": 4, "objects": [],
          "width": 800, "height": 800}


def test_a_restated_pair_is_shaped_from_the_models_own_sentences() -> None:
    from narrator.caption.hcot import assemble_restated, screen_output

    # the targets written into "concise", the rest into "detailed": detailed gets both
    split = {"concise": "Four ships lie in the water.",
             "detailed": "The scene centre lies near Rotterdam."}
    pair = assemble_restated(split, _SHIPS)
    assert pair["detailed"] == "Four ships lie in the water. The scene centre lies near Rotterdam."
    assert pair["concise"] == "Four ships lie in the water."
    assert "missing_main_category" not in {v.type for v in screen_output(pair, _SHIPS)[1]}
    # the same text in both: concise is cut to the sentences up to the targets
    same = "Four ships lie in the water. The scene centre lies near Rotterdam."
    pair = assemble_restated({"concise": same, "detailed": same}, _SHIPS)
    assert pair == {"concise": "Four ships lie in the water.", "detailed": same}
    # nothing about the targets anywhere: left alone, the screener rejects it
    none = {"concise": "A SAR image.", "detailed": "The scene centre lies near Rotterdam."}
    assert assemble_restated(none, _SHIPS) == none
    assert "missing_main_category" in {v.type for v in screen_output(none, _SHIPS)[1]}
    # a good pair is kept as it is
    good = {"concise": "Four ships.", "detailed": "Four ships lie in calm water near Rotterdam."}
    assert assemble_restated(good, _SHIPS) == good


@pytest.mark.parametrize(("climate", "phrase"), [
    ("oceanic", "in an oceanic climate zone"), ("arid desert", "in an arid desert climate zone"),
    ("humid subtropical", "in a humid subtropical climate zone")])
def test_the_rule_captions_climate_takes_its_article(climate: str, phrase: str) -> None:
    from narrator.caption.rules import RuleCaptioner

    geo = {"place": "Rotterdam", "country": "Netherlands", "place_distance_km": 2.0,
           "climate": climate}
    sentences = RuleCaptioner()._geo_sentences(geo, land_cover=True)
    assert any(phrase in s for s in sentences), sentences


_GIVEN = {"concise": "Six storage tanks and one car near Sentosa (Singapore).",
          "detailed": "The scene centre lies about 2 km from Sentosa (Singapore).\n"
                      "The scene is mostly bare soil (62%), with vegetation (38%).\n"
                      "Targets appear as bright, compact returns against the dark background."}


@pytest.mark.parametrize(("text", "added"), [
    ("6 storage tanks and one car near Sentosa (Singapore).", []),     # a digit for six
    ("The scene centre lies approximately 2 km from Sentosa.", []),    # a plain synonym
    ("The scene is mainly bare soil. A target appears as a bright return.", []),  # inflection
    ("The scene is mostly bare soil, with vegetation (38%), which appears as bright, compact "
     "returns.", ["which"]),                                            # attached to the wrong
    ("Sentosa is surrounded by vegetation.", ["surrounded"]),
    ("Seven storage tanks near Sentosa.", ["Seven"]),
])
def test_a_restatement_may_not_add_words(text: str, added: list[str]) -> None:
    from narrator.caption.hcot import added_words, restate_violations

    given = _GIVEN["concise"] + " " + _GIVEN["detailed"]
    assert added_words(text, given) == added
    found = restate_violations({"concise": _GIVEN["concise"], "detailed": text}, _GIVEN)
    assert [v.type for v in found] == (["added_words"] if added else [])


_SENSOR = {"concise": "C-band SAR view of four cars near Baytown.",
           "detailed": "This C-band SAR image was acquired by Gaofen-3 in HH polarization.\n"
                       "The scene centre lies about 6 km from Baytown."}


@pytest.mark.parametrize(("detailed", "fragments"), [
    ("C-band SAR view of four cars near Baytown. This C-band SAR image was acquired by "
     "Gaofen-3 in HH polarization.", []),                # a verbless given sentence may stay so
    ("Four cars near Baytown. C-band SAR image acquired by Gaofen-3 in HH polarization.",
     ["C-band SAR image acquired by Gaofen-3 in HH polarization."]),
    ("The scene centre about 6 km from Baytown.", ["The scene centre about 6 km from Baytown."]),
    ("The image was acquired by Gaofen-3.", []),         # shortened, still a sentence
])
def test_a_restatement_may_not_cut_a_sentence_to_a_fragment(detailed: str,
                                                             fragments: list[str]) -> None:
    from narrator.caption.hcot import restate_violations

    found = restate_violations({"concise": _SENSOR["concise"], "detailed": detailed}, _SENSOR)
    assert [v.text for v in found if v.type == "dropped_verb"] == [
        f"detailed: {f}" for f in fragments]
