"""The VQA engine: renders declarative families over SceneFacts with a seeded random source.

A family's YAML gives the wording per style; a Python answer function (named by the family)
decides which questions a scene supports and what the exact answer is. Per scene the engine
removes repeated questions, applies each family's and each task's quota and the per-scene cap
(round robin over tasks, so that no task crowds out the others), keeps yes/no pairs whole,
and renders the chosen questions. Every row records the template id and version and
``params`` naming its inputs, so any answer can be re-verified.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from narrator.errors import ConfigError
from narrator.ids import make_id, stable_seed
from narrator.text import Vocabulary, default_vocabulary
from narrator.vqa import answers, measures
from narrator.vqa.context import Group, SceneContext
from narrator.vqa.families import Family, Templates, load_templates
from narrator.vqa.options import STYLES, VQAOptions

AnswerFunction = Callable[[SceneContext], Iterable[Group]]

ANSWER_FUNCTIONS: dict[str, AnswerFunction] = {
    name: getattr(module, name)
    for module, names in (
        (answers, ("presence", "count", "count_boxes", "dominant", "classify", "region_class",
                   "position", "refer", "grounding", "grounded", "left_right", "above_below",
                   "nine_grid")),
        (measures, ("compare", "area", "length", "size_class", "shape", "elongation",
                    "direction", "arrangement", "land_dominant", "land_share", "land_under",
                    "land_count", "describe", "fine_describe")),
    )
    for name in names
}
_NON_WORD = re.compile(r"[^a-z0-9]+")
_Chosen = tuple[Family, Group]


def _normalised(question: str) -> str:
    return _NON_WORD.sub(" ", question.lower()).strip()


def _intent(fam: Family, params: dict[str, Any]) -> tuple[Any, ...]:
    """What a question is about: the family's intent and its subject (order-free pair)."""
    return (fam.intent, frozenset((params.get("category"), params.get("other"))),
            params.get("land"), params.get("object_id"))


def _round_robin(queues: list[list[Any]]) -> Iterator[Any]:
    queues = [list(q) for q in queues if q]
    i = 0
    while queues:
        i %= len(queues)
        yield queues[i].pop(0)
        if not queues[i]:
            queues.pop(i)
        else:
            i += 1


class VQAEngine:
    """Renders VQA rows for one scene's facts; the same seed gives the same rows."""

    def __init__(self, families: dict[str, Family] | None = None, seed: int = 0,
                 style: str = "generic", vocabulary: Vocabulary | None = None,
                 options: VQAOptions | None = None, templates: Templates | None = None) -> None:
        if style not in STYLES:
            raise ConfigError(f"unknown style {style!r}; styles are {', '.join(STYLES)}")
        templates = templates or load_templates()
        families = templates.families if families is None else families
        unknown = {f.answer for f in families.values()} - set(ANSWER_FUNCTIONS)
        if unknown:
            raise ConfigError(f"no answer function named: {', '.join(sorted(unknown))}")
        self.families = [families[k] for k in sorted(families) if style in families[k].styles]
        self.seed = seed
        self.style = templates.styles[style]
        self.vocab = vocabulary or default_vocabulary()
        self.options = options or VQAOptions()
        self._wording = {f.id: f.wording(style) for f in self.families}

    def _candidates(self, ctx: SceneContext) -> dict[str, list[_Chosen]]:
        """Per task, the groups its families offer: each family's within its quota, then
        merged round robin within the task's quota, near-duplicates (same intent about the
        same subject, e.g. the main category asked with and without candidates) left out."""
        by_task: dict[str, list[list[_Chosen]]] = {}
        for fam in self.families:
            groups = list(ANSWER_FUNCTIONS[fam.answer](ctx))
            if not groups:
                continue
            ctx.rng.shuffle(groups)
            kept, n = [], 0
            for group in groups:
                if n + len(group) <= fam.quota:
                    kept.append((fam, group))
                    n += len(group)
            by_task.setdefault(fam.task, []).append(kept)
        out: dict[str, list[_Chosen]] = {}
        for task, per_family in by_task.items():
            ctx.rng.shuffle(per_family)  # no family of a task always goes first
            quota = self.options.task_quotas.get(task, self.options.max_per_scene)
            chosen, n, seen = [], 0, set()
            for fam, group in _round_robin(per_family):
                keys = [_intent(fam, params) for _, params, _ in group]
                if n + len(group) > quota or any(k in seen for k in keys):
                    continue
                seen.update(keys)
                chosen.append((fam, group))
                n += len(group)
            out[task] = chosen
        return out

    def _select(self, ctx: SceneContext) -> list[_Chosen]:
        """Round robin over tasks in a seeded order until the per-scene cap is reached."""
        by_task = self._candidates(ctx)
        order = sorted(by_task)
        ctx.rng.shuffle(order)
        chosen, n, cap = [], 0, self.options.max_per_scene
        for item in _round_robin([by_task[t] for t in order]):
            if n + len(item[1]) <= cap:
                chosen.append(item)
                n += len(item[1])
        return chosen

    def rows(self, facts: dict[str, Any]) -> list[dict[str, Any]]:
        scene_id = facts["scene_id"]
        rng = random.Random(stable_seed(self.seed, scene_id))
        ctx = SceneContext(facts, rng, self.vocab, self.style, self.options)
        prefix = ""
        if self.options.class_list:
            classes = ", ".join(sorted(set(facts["present"]) | set(facts["absent"])))
            prefix = self.style.class_list.format(classes=classes)
        rows: list[dict[str, Any]] = []
        asked: set[str] = set()
        for fam, group in self._select(ctx):
            questions, answer_texts = self._wording[fam.id]
            rendered = []
            for key, params, slots in group:
                question = prefix + rng.choice(questions).format_map(slots)
                answer = answer_texts.get(key, answer_texts.get("default"))
                if answer is None:
                    raise ConfigError(f"{fam.source}: no answer for key {key!r} "
                                      f"(style {self.style.name})")
                rendered.append((key, params, question, answer.format_map(slots)))
            norms = [_normalised(q) for _, _, q, _ in rendered]
            if any(n in asked for n in norms):  # a near-duplicate question: drop its group
                continue
            asked.update(norms)
            for key, params, question, answer in rendered:
                rows.append({
                    # questions are unique per scene (near-duplicates are dropped above)
                    "qa_id": make_id(f"{scene_id}\x1f{fam.template_id}\x1f{question}"),
                    "scene_id": scene_id, "task": fam.task, "question": question,
                    "answer": answer, "params": params | {"answer_key": key},
                    "template_id": fam.template_id, "template_version": fam.version,
                    "style": self.style.name,
                })
        return rows

    def rows_many(self, facts_list: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        return [row for facts in facts_list for row in self.rows(facts)]


def yes_no_balance(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Counts of yes and no answers (by ``params.answer_key``) and the share of yes."""
    yes = no = 0
    for row in rows:
        key = row["params"].get("answer_key")
        yes += key == "yes"
        no += key == "no"
    return {"yes": yes, "no": no, "yes_share": round(yes / (yes + no), 4) if yes + no else None}
