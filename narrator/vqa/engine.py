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
from collections.abc import Iterable
from itertools import zip_longest
from typing import Any

from narrator.errors import ConfigError
from narrator.ids import stable_seed, text_id
from narrator.text import Vocabulary, default_vocabulary
from narrator.vqa.context import Group, SceneContext
from narrator.vqa.families import Family, Templates, load_templates
from narrator.vqa.options import STYLES, VQAOptions
from narrator.vqa.registry import ANSWER_FUNCTIONS, check_family
from narrator.vqa.skew import OPAQUE_KEYS

_NON_WORD = re.compile(r"[^a-z0-9]+")
_Chosen = tuple[Family, Group]


#: ASCII bytes -> lower-case letters and digits kept, everything else a space
_WORD_BYTES = bytes(c + 32 if 65 <= c <= 90 else c if 48 <= c <= 57 or 97 <= c <= 122 else 32
                    for c in range(256))


def _normalised(question: str) -> str:
    """Lower case, every run of other characters than a-z and 0-9 one space, stripped."""
    if question.isascii():  # the same text as the regex below, in half the time
        return " ".join(question.encode().translate(_WORD_BYTES).decode().split())
    return _NON_WORD.sub(" ", question.lower()).strip()


def _intent(fam: Family, params: dict[str, Any]) -> tuple[Any, ...]:
    """What a question is about: the family's intent and its subject (order-free pair)."""
    return (fam.intent, frozenset((params.get("category"), params.get("other"))),
            params.get("land"), params.get("object_id"))


_GAP = object()
#: answer keys that do not name the answer (the answer text does)
_OPAQUE_KEYS = {None, *OPAQUE_KEYS}


def _over_share(answers_: dict[str, list[int]], share: float,
                rows: list[dict[str, Any]]) -> list[int]:
    """Indices to drop so that no answer has more than ``share`` of the rows left."""
    kept = {a: sorted(ix, key=lambda i: rows[i]["qa_id"]) for a, ix in answers_.items()}
    if len(kept) == 1:
        return next(iter(kept.values()))
    while True:
        top = max(kept, key=lambda a: (len(kept[a]), a))
        rest = sum(len(v) for a, v in kept.items() if a != top)
        limit = int(share * rest / (1 - share) + 1e-9)
        if len(kept[top]) <= limit:
            break
        kept[top] = kept[top][:limit]
    keep = {i for v in kept.values() for i in v}
    return [i for v in answers_.values() for i in v if i not in keep]


def _round_robin(queues: list[list[Any]]) -> list[Any]:
    """The first item of each queue in turn, then the second of those that have one, etc."""
    queues = [q for q in queues if q]
    if len(queues) <= 1:
        return list(queues[0]) if queues else []
    return [x for row in zip_longest(*queues, fillvalue=_GAP) for x in row if x is not _GAP]


class VQAEngine:
    """Renders VQA rows for one scene's facts; the same seed gives the same rows."""

    def __init__(self, families: dict[str, Family] | None = None, seed: int = 0,
                 style: str = "generic", vocabulary: Vocabulary | None = None,
                 options: VQAOptions | None = None, templates: Templates | None = None) -> None:
        if style not in STYLES:
            raise ConfigError(f"unknown style {style!r}; styles are {', '.join(STYLES)}")
        templates = templates or load_templates()
        families = templates.families if families is None else families
        for family in families.values():  # loaded families are checked already; not
            check_family(family)              # families built by hand
        self.families = [families[k] for k in sorted(families) if style in families[k].styles]
        self.seed = seed
        self.style = templates.styles[style]
        self.vocab = vocabulary or default_vocabulary()
        self.options = options or VQAOptions()
        self._wording = {f.id: f.wording(style) for f in self.families}
        self._template_ids = {f.id: f.template_id for f in self.families}
        self._answers = [(f, ANSWER_FUNCTIONS[f.answer]) for f in self.families]
        self._nouns: dict[tuple[str, str], dict[str, str]] = {}

    def _candidates(self, ctx: SceneContext) -> dict[str, list[_Chosen]]:
        """Per task, the groups its families offer: each family's within its quota, then
        merged round robin within the task's quota, near-duplicates (same intent about the
        same subject, e.g. the main category asked with and without candidates) left out."""
        by_task: dict[str, list[list[_Chosen]]] = {}
        shuffle = ctx.rng.shuffle  # (a shuffle of fewer than two items draws nothing)
        for fam, answer in self._answers:
            groups = list(answer(ctx))
            if not groups:
                continue
            if len(groups) > 1:
                shuffle(groups)
            kept, n, quota = [], 0, fam.quota
            for group in groups:
                if n + len(group) <= quota:
                    kept.append((fam, group))
                    n += len(group)
            by_task.setdefault(fam.task, []).append(kept)
        out: dict[str, list[_Chosen]] = {}
        quotas, cap = self.options.task_quotas, self.options.max_per_scene
        for task, per_family in by_task.items():
            if len(per_family) > 1:
                shuffle(per_family)  # no family of a task always goes first
            quota = quotas.get(task, cap)
            chosen, n, seen = [], 0, set()
            for fam, group in _round_robin(per_family):
                if n + len(group) > quota:
                    continue
                keys = [_intent(fam, params) for _, params, _ in group]
                if any(k in seen for k in keys):
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
        ctx = SceneContext(facts, rng, self.vocab, self.style, self.options, self._nouns)
        prefix = ""
        if self.options.class_list:
            classes = ", ".join(sorted(set(facts["present"]) | set(facts["absent"])))
            prefix = self.style.class_list.format(classes=classes)
        rows: list[dict[str, Any]] = []
        asked: set[str] = set()
        for fam, group in self._select(ctx):
            questions, answer_texts = self._wording[fam.id]
            rendered = []
            try:
                for key, params, slots in group:
                    question = prefix + rng.choice(questions).format_map(slots)
                    answer = answer_texts.get(key, answer_texts.get("default"))
                    if answer is None:
                        raise ConfigError(f"{fam.source}: no answer for key {key!r} "
                                          f"(style {self.style.name})")
                    rendered.append((key, params, question, answer.format_map(slots)))
            except KeyError as exc:  # a placeholder the answer function does not fill
                raise ConfigError(
                    f"{fam.source} (style {self.style.name}): slot "
                    f"{{{exc.args[0]}}} is not given by answer function {fam.answer!r} (it "
                    f"gives: {', '.join(sorted(slots))})") from None
            norms = [_normalised(r[2]) for r in rendered]
            if any(n in asked for n in norms):  # a near-duplicate question: drop its group
                continue
            asked.update(norms)
            template_id = self._template_ids[fam.id]
            for key, params, question, answer in rendered:
                rows.append({
                    # questions are unique per scene (near-duplicates are dropped above)
                    "qa_id": text_id(f"{scene_id}\x1f{template_id}\x1f{question}"),
                    "scene_id": scene_id, "task": fam.task, "question": question,
                    "answer": answer, "params": {**params, "answer_key": key},
                    "template_id": template_id, "template_version": fam.version,
                    "style": self.style.name,
                })
        return rows

    def rows_many(self, facts_list: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        return self.balance([row for facts in facts_list for row in self.rows(facts)])

    def balance(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Rows of a shard with no answer over ``max_answer_share`` of its family's rows.

        Rows of an over-represented answer are dropped (those whose qa_id hashes highest)
        until every answer is within the share; a family with one answer only is dropped
        whole. Yes/no families are balanced by construction and kept as they are. Since each
        shard is balanced, so is the whole dataset (a mix of balanced shards)."""
        share = self.options.max_answer_share
        if share >= 1.0 or not rows:
            return rows
        by_family: dict[str, dict[str, list[int]]] = {}
        for i, row in enumerate(rows):
            key = row["params"].get("answer_key")
            if key in ("yes", "no"):
                continue
            answer = row["answer"] if key in _OPAQUE_KEYS else key
            by_family.setdefault(row["template_id"], {}).setdefault(answer, []).append(i)
        dropped: set[int] = set()
        for answers_ in by_family.values():
            if sum(map(len, answers_.values())) >= self.options.balance_min_rows:
                dropped.update(_over_share(answers_, share, rows))
        return [r for i, r in enumerate(rows) if i not in dropped]


_SHARED: dict[tuple[Any, ...], tuple[Templates, VQAEngine]] = {}


def shared_engine(families: tuple[str, ...], seed: int, style: str,
                  options: VQAOptions) -> VQAEngine:
    """The engine of these settings over the default templates (only ``families`` when
    given), built once per process and rebuilt when a template file changes. An engine keeps
    no state between scenes, so shards (and threads) can share it."""
    templates = load_templates()
    key = (families, seed, style, repr(options))
    hit = _SHARED.get(key)
    if hit is not None and hit[0] is templates:
        return hit[1]
    chosen = {k: v for k, v in templates.families.items() if not families or k in families}
    engine = VQAEngine(chosen, seed=seed, style=style, options=options, templates=templates)
    if len(_SHARED) >= 16:
        _SHARED.clear()
    _SHARED[key] = (templates, engine)
    return engine


def yes_no_balance(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Counts of yes and no answers (by ``params.answer_key``) and the share of yes."""
    yes = no = 0
    for row in rows:
        key = row["params"].get("answer_key")
        yes += key == "yes"
        no += key == "no"
    return {"yes": yes, "no": no, "yes_share": round(yes / (yes + no), 4) if yes + no else None}
