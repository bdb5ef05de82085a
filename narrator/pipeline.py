"""The plain functions the flows call: shard planning and the per-shard work.

Kept free of Prefect and of DuckDB connections so that a shard can run in a thread, a process
or on a Dask worker; only the flow writes what a shard returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from narrator.caption import RuleCaptioner
from narrator.facts import FACTS_VERSION, shard_facts
from narrator.ids import canonical_json, make_id, text_hash
from narrator.records import SceneBundle
from narrator.resources import data_dir
from narrator.vqa import VQAEngine, VQAOptions, load_families

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

    def config_hash(self) -> str:
        return make_id(PIPELINE_VERSION, FACTS_VERSION, self.seed, self.style, self.llm,
                       self.families, templates_hash(), self.class_list, self.vqa_options)

    def vqa(self) -> VQAOptions:
        """The VQA options these settings give (validated: ConfigError on a bad override)."""
        return VQAOptions.from_overrides(dict(self.vqa_options) | {"class_list": self.class_list})


@dataclass
class ShardResult:
    scene_ids: list[str]
    content_hashes: dict[str, str]
    facts: list[dict[str, Any]] = field(default_factory=list)
    vqa: list[dict[str, Any]] = field(default_factory=list)
    captions: list[dict[str, Any]] = field(default_factory=list)


def templates_hash() -> str:
    """Hash of every file under templates/: editing a template redoes the scenes it touches."""
    root = data_dir("templates")
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return make_id([(str(p.relative_to(root)), p.read_bytes().hex()) for p in files])


def plan_shards(bundles: list[SceneBundle], shard_size: int) -> list[list[SceneBundle]]:
    """Deterministic shards: scenes sorted by id, cut every ``shard_size``."""
    ordered = sorted(bundles, key=lambda b: b.scene.scene_id)
    return [ordered[i:i + shard_size] for i in range(0, len(ordered), shard_size)]


def process_shard(bundles: list[SceneBundle], vocabulary: list[str],
                  config: GenerateConfig) -> ShardResult:
    """Facts, VQA and rule captions for a shard of scenes."""
    families = load_families()
    if config.families:
        families = {k: v for k, v in families.items() if k in config.families}
    engine = VQAEngine(families, seed=config.seed, style=config.style, options=config.vqa())
    captioner = RuleCaptioner()
    result = ShardResult([b.scene.scene_id for b in bundles],
                         {b.scene.scene_id: b.content_hash for b in bundles})
    for facts in shard_facts(bundles, vocabulary):
        text = canonical_json(facts)  # serialised here, in the worker, once
        result.facts.append({"scene_id": facts["scene_id"], "version": facts["version"],
                             "facts_hash": text_hash(text), "facts": text})
        result.vqa.extend(engine.rows(facts))
        result.captions.extend(captioner.rows(facts))
    for row in result.vqa:
        row["params"] = canonical_json(row["params"])
    return result
