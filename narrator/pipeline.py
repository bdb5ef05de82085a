"""The plain per-shard work (and shard planning) that narrator.generate.Generator drives.

Kept free of Prefect and of DuckDB connections so that a shard can run in a thread, a process
or on a Dask worker; only the flow writes what a shard returns.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from narrator.caption import RuleCaptioner
from narrator.caption.hcot import CaptionLoopConfig, HCoTCaptioner
from narrator.columns import bundles_from_tables, rows_table
from narrator.facts import FACTS_VERSION, shard_facts_json
from narrator.ids import canonical_json, make_id, text_hash
from narrator.records import SceneBundle
from narrator.resources import data_dir
from narrator.vqa import VQAOptions, shared_engine

PIPELINE_VERSION = 1


@dataclass(frozen=True)
class GenerateConfig:
    """Everything that changes generated text; its hash decides what must be redone."""

    seed: int = 0
    style: str = "generic"
    llm: str = "rules"
    families: tuple[str, ...] = ()
    #: SARLANG's "The classes are: ..." prefix on every question
    class_list: bool = False
    #: VQAOptions overrides as (name, value) pairs, e.g. (("max_per_scene", 8),)
    vqa_options: tuple[tuple[str, Any], ...] = ()
    #: the caption loop (used when ``llm`` is not ``rules``)
    captions: CaptionLoopConfig = field(default_factory=CaptionLoopConfig)

    def config_hash(self) -> str:
        loop = self.captions if self.llm != "rules" else None
        return make_id(PIPELINE_VERSION, FACTS_VERSION, self.seed, self.style, self.llm,
                       self.families, templates_hash(), self.class_list, self.vqa_options,
                       repr(loop), prompts_hash() if loop else None)

    def vqa(self) -> VQAOptions:
        """The VQA options these settings give (validated: ConfigError on a bad override)."""
        return VQAOptions.from_overrides(dict(self.vqa_options) | {"class_list": self.class_list})


Rows = list[dict[str, Any]]
TEXT_TABLES = ("facts", "vqa", "captions", "candidates")


@dataclass
class ShardResult:
    """What a shard made: rows per text table (dicts, or Arrow tables after ``to_arrow``)."""

    scene_ids: list[str]
    content_hashes: dict[str, str]
    facts: Rows | pa.Table = field(default_factory=list)
    vqa: Rows | pa.Table = field(default_factory=list)
    captions: Rows | pa.Table = field(default_factory=list)
    candidates: Rows | pa.Table = field(default_factory=list)
    #: LLM statistics of this shard, and the journal its calls were appended to
    llm: dict[str, Any] | None = None
    journal: str | None = None
    caption_outcomes: dict[str, int] = field(default_factory=dict)
    #: scenes whose captions are provisional (the LLM was unreachable): redone next run
    provisional: list[str] = field(default_factory=list)

    def to_arrow(self) -> ShardResult:
        """Turn the row lists into Arrow tables (done in the worker: cheap to send back)."""
        for name in TEXT_TABLES:
            rows = getattr(self, name)
            if isinstance(rows, list):
                setattr(self, name, rows_table(rows))
        return self


class Shard:
    """A shard's input as ``Store.load_shard`` gives it (Arrow tables of its scenes, objects
    and regions), in a wrapper Prefect does not walk into: it inspects list and dataclass
    task inputs object by object. Arrow tables pickle as flat buffers, so a shard travels to
    a worker process cheaply and becomes SceneBundles there."""

    __slots__ = ("tables", "rewrites")

    def __init__(self, tables: dict[str, pa.Table], rewrites: dict[str, str] | None = None) -> None:
        self.tables = tables
        self.rewrites = rewrites or {}

    def bundles(self) -> list[SceneBundle]:
        return bundles_from_tables(self.tables)


@dataclass(frozen=True)
class LLMContext:
    """Where a shard task finds the LLM cache and writes its journal (paths: picklable)."""

    db: str
    snapshot: str | None = None


def prompts_hash() -> str:
    root = data_dir("prompts")
    return make_id([(p.name, p.read_bytes().hex()) for p in sorted(root.glob("*.j2"))])


def templates_hash() -> str:
    """Hash of every file under templates/: editing a template redoes the scenes it touches."""
    root = data_dir("templates")
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return make_id([(str(p.relative_to(root)), p.read_bytes().hex()) for p in files])


def plan_shards(scene_ids: list[str], shard_size: int) -> list[list[str]]:
    """Deterministic shards: scene ids sorted, cut every ``shard_size``."""
    ordered = sorted(scene_ids)
    return [ordered[i:i + shard_size] for i in range(0, len(ordered), shard_size)]


def run_shard(shard: Shard, vocabulary: list[str], config: GenerateConfig,
              llm: LLMContext | None = None) -> ShardResult:
    """A shard from its stored input to Arrow rows, wherever it runs (this thread, a worker
    process, a Dask worker: see narrator.generate.executors)."""
    return process_shard(shard.bundles(), vocabulary, config, llm, shard.rewrites).to_arrow()


def process_shard(bundles: list[SceneBundle], vocabulary: list[str],
                  config: GenerateConfig, llm: LLMContext | None = None,
                  rewrites: dict[str, str] | None = None) -> ShardResult:
    """Facts, VQA and captions for a shard of scenes: rule captions, or with ``config.llm``
    HCoT captions through the screening and proofreading loop."""
    # the templated part makes ~100k small containers and no reference cycles: the cyclic
    # collector would only rescan them (about a third of its CPU time), so it waits until
    # that part is done (not during LLM captions: network code does make cycles)
    collecting = gc.isenabled()
    gc.disable()
    try:
        engine = shared_engine(config.families, config.seed, config.style, config.vqa())
        result = ShardResult([b.scene.scene_id for b in bundles],
                             {b.scene.scene_id: b.content_hash for b in bundles})
        documents = shard_facts_json(bundles, vocabulary)  # serialised in the worker, once
        captioner = RuleCaptioner.shared() if config.llm == "rules" else None
        for facts, text in documents:
            result.facts.append({"scene_id": facts["scene_id"], "version": facts["version"],
                                 "facts_hash": text_hash(text), "facts": text})
            result.vqa.extend(engine.rows(facts))  # balanced per shard below
            if captioner is not None:
                result.captions.extend(captioner.rows(facts))
        result.vqa = engine.balance(result.vqa)
        for row in result.vqa:
            row["params"] = canonical_json(row["params"])
    finally:
        if collecting:
            gc.enable()
    if config.llm != "rules":
        _llm_captions(result, [facts for facts, _ in documents], bundles, config, llm,
                      rewrites or {})
    return result


def _llm_captions(result: ShardResult, all_facts: list[dict[str, Any]],
                  bundles: list[SceneBundle], config: GenerateConfig, ctx: LLMContext | None,
                  rewrites: dict[str, str]) -> None:
    """HCoT captions for the shard; with a context, every LLM call goes to this shard's
    journal beside the database (without one, e.g. in a library call, nothing is kept)."""
    from narrator.llm import LLMSettings, journal_path, make_llm, quicklook_data_url
    from narrator.llm.journal import llm_dir

    settings = LLMSettings()
    journal = journal_path(ctx.db, make_id(result.scene_ids)) if ctx else None
    images: dict[str, str] = {}
    if settings.images:
        qdir = llm_dir(ctx.db) / "quicklooks" if ctx else None
        images = {b.scene.scene_id: quicklook_data_url(b.scene.image_path,
                                                       settings.quicklook_size, cache_dir=qdir)
                  for b in bundles if b.scene.image_path}
    with make_llm(config.llm, settings, snapshot=ctx.snapshot if ctx else None, journal=journal,
                  stage="llm") as llm:
        out = HCoTCaptioner(llm, config.captions, images, rewrites).caption(all_facts)
        result.llm = llm.stats.summary()
    result.captions.extend(out.captions)
    result.candidates.extend(out.candidates)
    result.caption_outcomes = dict(out.stats)
    result.provisional = list(out.provisional)
    result.journal = str(journal) if journal else None
