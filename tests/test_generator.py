"""narrator.generate.Generator without Prefect: executors give equal tables, and every
summary path (fresh, all from the LLM cache, nothing to do) makes a summary the CLI prints."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from narrator.cli import _summary_table
from narrator.errors import ConfigError
from narrator.example import write_example
from narrator.generate import GenerateOptions, Generator, PoolExecutor, process_pool
from narrator.store import Store
from tests.snapshots import snapshot


def _printed(summary: dict) -> str:
    console = Console(width=200, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(_summary_table(summary))
    return console.export_text()


def test_rules_fresh_then_nothing_to_do(example_dir: Path, tmp_path: Path) -> None:
    with Store(tmp_path / "n.duckdb") as store:
        fresh = Generator(store, example_dir, GenerateOptions(shard_size=3)).generate()
        again = Generator(store, example_dir, GenerateOptions(shard_size=3)).generate()
        runs = store.scalar("SELECT invocations FROM runs")
    assert fresh["processed_now"] == fresh["scenes"] == 8 and fresh["qa_pairs"] > 0
    assert again["processed_now"] == 0 and again["qa_pairs"] == fresh["qa_pairs"]
    assert "llm" not in again and runs == 2
    assert "processed now" in _printed(again)


def test_process_pool_gives_the_inline_tables(example_dir: Path, tmp_path: Path) -> None:
    options = GenerateOptions(shard_size=2)
    with Store(tmp_path / "inline.duckdb") as store:
        Generator(store, example_dir, options).generate()
    with Store(tmp_path / "pool.duckdb") as store:
        generator = Generator(store, example_dir, options)

        def pool(plan):  # the executor a caller opens for a plan
            from contextlib import contextmanager

            @contextmanager
            def opened():
                with process_pool(2) as p:
                    yield PoolExecutor(p)
            return opened()

        assert generator.generate(executor_for=pool)["processed_now"] == 8
    assert snapshot(tmp_path / "pool.duckdb") == snapshot(tmp_path / "inline.duckdb")


def test_the_class_map_option_reaches_ingest_and_redoes_the_scenes(tmp_path: Path) -> None:
    root = write_example(tmp_path / "d", n_scenes=3, size=128, seed=2)
    classes = tmp_path / "classes.yaml"
    classes.write_text("classes:\n  ship: {category: ship, fine_type: cargo}\n")
    with Store(tmp_path / "n.duckdb") as store:
        Generator(store, root).generate()
        ships = store.count("objects", "category = 'ship'")
        mapped = Generator(store, root, GenerateOptions(class_map=str(classes))).generate()
        fine = store.count("objects", "fine_type = 'cargo'")
        params = store.scalar("SELECT params FROM runs WHERE params LIKE '%class_map%'")
        with pytest.raises(ConfigError, match="nope"):
            Generator(store, root, GenerateOptions(class_map="nope")).generate()
    assert ships > 0 and fine == ships
    assert mapped["processed_now"] > 0  # the scenes with ships changed: redone
    assert str(classes) in params


@pytest.mark.parametrize("bad, message", [
    ({"samples": 0}, "--samples"), ({"workers": 0}, "--workers"),
    ({"rewrite": "x.jsonl"}, "--rewrite needs an LLM"), ({"style": "odd"}, "--style"),
    ({"vqa_options": {"nope": 1}}, "nope"), ({"llm": "nonsense"}, "nonsense"),
])
def test_bad_options_fail_before_any_work(bad: dict, message: str, example_dir: Path,
                                          tmp_path: Path) -> None:
    with Store(tmp_path / "n.duckdb") as store, pytest.raises(ConfigError, match=message):
        Generator(store, example_dir, GenerateOptions.from_params(bad))
        assert store.count("scenes") == 0


def test_llm_summaries_fresh_all_cached_and_nothing_to_do(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    from tests.fake_openai import OpenAITestServer, ServerConfig
    from tests.caption_responder import CaptionResponder

    root = write_example(tmp_path / "d", n_scenes=4, size=128, seed=9)
    options = GenerateOptions(llm="openai:narrator-test", samples=2, rounds=1)
    with OpenAITestServer(ServerConfig(latency_s=0.0), CaptionResponder(seed=3)) as server, \
            Store(tmp_path / "n.duckdb") as store:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        fresh = Generator(store, root, options).generate()
        sent = server.stats()["requests"]
        # a VQA setting redoes every scene; the captions' LLM calls come from the cache
        fewer_qa = replace(options, max_qa_per_scene=5)
        cached = Generator(store, root, fewer_qa).generate()
        nothing = Generator(store, root, fewer_qa).generate()
        assert server.stats()["requests"] == sent
    assert fresh["processed_now"] == cached["processed_now"] == 4
    assert fresh["llm"]["calls"] > 0 and fresh["llm"]["http_requests"] > 0
    assert cached["llm"]["calls"] == cached["llm"]["cached"] == fresh["llm"]["calls"]
    assert cached["llm"]["http_requests"] == 0
    assert nothing["processed_now"] == 0 and nothing["llm"]["calls"] == 0
    for summary, calls in ((fresh, fresh["llm"]["calls"]), (cached, fresh["llm"]["calls"]),
                           (nothing, 0)):
        text = _printed(summary)
        assert "LLM calls" in text and f"{calls:,}" in text


def test_cli_deploy_and_flow_parameters_derive_from_the_options(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from flows.deploy import deployment_parameters
    from flows.generate import generate_flow
    from narrator.cli import cli
    from narrator.generate.options import option_fields

    helps = {cmd: CliRunner().invoke(cli, [cmd, "--help"], env={"COLUMNS": "200"}).output
             for cmd in ("generate", "deploy")}
    for f in option_fields():
        flag = f.metadata.get("flag") or "--" + f.name.replace("_", "-")
        flag = "--no-" + flag[2:] if f.metadata.get("invert") else flag
        assert all(flag in text for text in helps.values()), flag
    assert {f.name for f in option_fields()} <= set(generate_flow.parameters.properties)
    options = GenerateOptions(class_map=str(tmp_path / "m.yaml"), seed=4, fallback=False,
                              vqa_options={"quota.count": "3"})
    (tmp_path / "m.yaml").write_text("classes: {}\n")
    params = deployment_parameters(str(tmp_path), str(tmp_path / "n.duckdb"),
                                   **options.to_params())
    assert GenerateOptions.from_params({k: v for k, v in params.items()
                                        if k not in ("dataset", "db")}) == options


#: the head of a one-family YAML file the load-time checks are tried on
_ODD_COUNT = ("families:\n  odd_count:\n    task: count\n    version: 1\n    answer: {answer}\n"
              "    quota: 1\n")


def test_a_family_using_a_slot_its_answer_function_lacks_names_file_family_and_slot(
        tmp_path: Path) -> None:
    import shutil

    from narrator.facts import scene_facts
    from narrator.resources import template_path
    from narrator.vqa import VQAEngine, load_templates
    from tests.shard_scenes import VOCABULARY, make_bundles

    shutil.copy(template_path("vqa") / "styles.yaml", tmp_path / "styles.yaml")
    (tmp_path / "bad.yaml").write_text(_ODD_COUNT.format(answer="count") +
        '    questions: ["How many {plural} near {land}?"]\n'
        '    answers: {default: "{count}"}\n')
    # found when the family is loaded (from the answer function's declaration), not when an
    # engine is built or a scene first renders it
    with pytest.raises(ConfigError, match=r"bad\.yaml: family odd_count.*'count'.*style "
                                          r"generic.*slot \{land\}"):
        load_templates(tmp_path)
    (tmp_path / "bad.yaml").write_text(_ODD_COUNT.format(answer="count") +
        '    questions: ["How many {plural}?"]\n'
        '    answers: {default: "{count}", many: "Lots."}\n')
    with pytest.raises(ConfigError, match=r"bad\.yaml: family odd_count.*answer key\(s\) many "
                                          r"are not given.*default, zero"):
        load_templates(tmp_path)
    (tmp_path / "bad.yaml").write_text(_ODD_COUNT.format(answer="count") +
        '    questions: ["How many {plural}?"]\n'
        '    answers:\n      generic: {default: "{count}"}\n'
        '      sarlang: {default: "{count}", zero: "None, near {land}."}\n')
    with pytest.raises(ConfigError, match=r"bad\.yaml: family odd_count.*style sarlang\).*"
                                          r"answer 'zero' uses slot \{land\}"):
        load_templates(tmp_path)
    (tmp_path / "bad.yaml").write_text(_ODD_COUNT.format(answer="outlined") +
        '    questions: ["How many {plural}?"]\n    answers: {default: "x"}\n')
    with pytest.raises(ConfigError, match=r"no answer function named 'outlined'"):
        load_templates(tmp_path)  # a helper, not a declared function
    (tmp_path / "bad.yaml").write_text(_ODD_COUNT.format(answer="count") +
        '    questions: ["How many {plural}?"]\n'
        '    answers: {default: "{count} {plural}"}\n')
    engine = VQAEngine(templates=load_templates(tmp_path))
    assert engine.rows(scene_facts(make_bundles()[3], VOCABULARY))


def test_the_real_templates_load_checked_against_their_answer_functions() -> None:
    from narrator.vqa import load_templates
    from narrator.vqa.registry import ANSWER_FUNCTIONS, check_family

    families = load_templates().families  # loading runs check_family on each
    assert len(families) >= 25
    for family in families.values():
        assert family.answer in ANSWER_FUNCTIONS, family.id
        check_family(family)


def test_answer_functions_fill_what_they_declare(tmp_path: Path) -> None:
    """The declarations the load-time check trusts, checked against what the functions
    give on generated scenes (objects, fine types, land cover, geo) in every style."""
    import random

    from narrator.facts import scene_facts
    from narrator.text import default_vocabulary
    from narrator.vqa import load_templates
    from narrator.vqa.context import SceneContext
    from narrator.vqa.engine import ANSWER_FUNCTIONS
    from narrator.vqa.options import VQAOptions
    from tests.shard_scenes import VOCABULARY, make_bundles

    seen: dict[str, set[str]] = {}
    styles = load_templates().styles.values()
    for bundle in make_bundles():
        facts = scene_facts(bundle, VOCABULARY)
        for style in styles:
            ctx = SceneContext(facts, random.Random(0), default_vocabulary(), style,
                               VQAOptions(), {})
            for name, fn in ANSWER_FUNCTIONS.items():
                for group in fn(ctx):
                    for key, _params, slots in group:
                        assert key in fn.answer_keys, (name, key)
                        missing = (fn.slots | fn.extra_slots.get(key, frozenset())) - set(slots)
                        assert not missing, (name, key, missing)
                        seen.setdefault(name, set()).add(key)
    assert len(seen) >= 25, sorted(set(ANSWER_FUNCTIONS) - set(seen))


def test_started_ingest_never_shares_the_connection_with_the_run(example_dir: Path,
                                                                 tmp_path: Path) -> None:
    """The CLI starts ingest in a thread before the flow runs: while that thread writes, the
    flow thread must not use the store (DuckDB refuses a connection busy with another call).
    Every store call here fails if another thread is inside one; ingest's writes are slowed
    so that the flow thread reaches the store while they last."""
    import threading
    import time

    with Store(tmp_path / "n.duckdb") as store:
        busy = threading.Lock()
        overlaps: list[str] = []

        def exclusive(name: str):
            method = getattr(store, name)

            def call(*args, **kwargs):
                if not busy.acquire(blocking=False):
                    overlaps.append(name)
                    busy.acquire()
                try:
                    if name == "write_bundles":
                        time.sleep(0.3)
                    return method(*args, **kwargs)
                finally:
                    busy.release()
            setattr(store, name, call)

        for name in ("start_run", "write_bundles", "scene_hashes", "tune_for_bulk",
                     "write_quarantine", "processed", "finish_run"):
            exclusive(name)
        generator = Generator(store, example_dir, GenerateOptions(shard_size=3))
        generator.start_ingest()
        summary = generator.generate()
    assert overlaps == [] and summary["processed_now"] == 8


def test_the_summary_counts_under_its_own_memory_limit_then_restores_the_writing_one(
        example_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The answer skew groups every QA pair by answer text: at 1M scenes it ran out of the
    writing limit (64MB), so the summary raises DuckDB's limit while it counts."""
    from narrator.generate import generator as gen_module

    seen: list[str] = []
    real = gen_module.family_skew

    def skew(con, dataset=None):
        seen.append(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])
        return real(con, dataset)

    monkeypatch.setattr(gen_module, "family_skew", skew)
    monkeypatch.setenv("NARRATOR_DUCKDB_MEMORY", "64MB")
    with Store(tmp_path / "n.duckdb") as store:
        summary = Generator(store, example_dir, GenerateOptions(shard_size=3)).generate()
        after = store.scalar("SELECT current_setting('memory_limit')")
    assert summary["qa_pairs"] > 0 and len(seen) == 1
    # DuckDB reports limits in binary units: 256MB -> 244.1 MiB, 64MB -> 61.0 MiB
    assert seen[0].startswith("244") and after.startswith("61"), (seen, after)
