"""The VQA engine: renders declarative families over SceneFacts with a seeded random source.

A family's YAML gives the wording; a Python answer function of the same name decides which
questions a scene supports and what the exact answer is. Every row records the template id
and version, and ``params`` naming the inputs, so any answer can be re-verified.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from narrator.errors import ConfigError
from narrator.ids import make_id, stable_seed
from narrator.resources import template_path
from narrator.text import Vocabulary, cell_phrase, default_vocabulary, load_yaml, number_word

#: (answer key, params, slots) produced by an answer function for one question
Item = tuple[str, dict[str, Any], dict[str, Any]]
SLOTS = {"singular", "plural", "a", "count", "count_word", "cell", "where"}


@dataclass(frozen=True, slots=True)
class Family:
    id: str
    task: str
    version: int
    questions: tuple[str, ...]
    answers: dict[str, str]
    source: str


def _check_placeholders(text: str, where: str) -> None:
    for _, field, _, _ in string.Formatter().parse(text):
        if field is not None and field not in SLOTS:
            raise ConfigError(f"{where}: unknown placeholder {{{field}}} in {text!r}")


def load_families(folder: Path | None = None) -> dict[str, Family]:
    """Read every family from ``templates/vqa/*.yaml`` (or ``folder``)."""
    folder = folder or template_path("vqa")
    families: dict[str, Family] = {}
    for path in sorted(folder.glob("*.yaml")):
        data = load_yaml(path) or {}
        for fid, spec in (data.get("families") or {}).items():
            where = f"{path}: family {fid}"
            try:
                fam = Family(fid, spec["task"], int(spec["version"]),
                             tuple(spec["questions"]), dict(spec["answers"]), str(path))
            except (KeyError, TypeError, ValueError) as exc:
                raise ConfigError(f"{where}: missing or bad field {exc}") from None
            for text in (*fam.questions, *fam.answers.values()):
                _check_placeholders(text, where)
            families[fid] = fam
    return families


def _noun_slots(vocab: Vocabulary, category: str) -> dict[str, Any]:
    noun = vocab[category]
    return {"singular": noun.singular, "plural": noun.plural, "a": noun.article}


def presence(facts: dict[str, Any], rng: random.Random, vocab: Vocabulary) -> Iterator[Item]:
    """Yes for present categories, and as many forced negatives drawn from absent ones."""
    present, absent = list(facts["present"]), list(facts["absent"])
    k = min(len(present), len(absent))
    positives = rng.sample(present, k) if k else present[:1]
    for cat in positives:
        yield "yes", {"category": cat}, _noun_slots(vocab, cat)
    for cat in rng.sample(absent, k):
        yield "no", {"category": cat}, _noun_slots(vocab, cat)


def count(facts: dict[str, Any], rng: random.Random, vocab: Vocabulary) -> Iterator[Item]:
    for cat, n in facts["counts"].items():
        yield "default", {"category": cat}, _noun_slots(vocab, cat) | {
            "count": n, "count_word": number_word(n)}


def position(facts: dict[str, Any], rng: random.Random, vocab: Vocabulary) -> Iterator[Item]:
    """Only for categories with exactly one instance: the target is unambiguous."""
    for cat, n in facts["counts"].items():
        if n != 1:
            continue
        obj = next(o for o in facts["objects"] if o["category"] == cat)
        yield "default", {"category": cat, "object_id": obj["object_id"], "box": obj["box"],
                          "cell": obj["cell"]}, \
            _noun_slots(vocab, cat) | {"cell": obj["cell"], "where": cell_phrase(obj["cell"])}


ANSWER_FUNCTIONS: dict[str, Callable[[dict[str, Any], random.Random, Vocabulary],
                                     Iterator[Item]]] = {
    "presence": presence, "count": count, "position": position,
}


class VQAEngine:
    """Renders VQA rows for one scene's facts; the same seed gives the same rows."""

    def __init__(self, families: dict[str, Family] | None = None, seed: int = 0,
                 style: str = "generic", vocabulary: Vocabulary | None = None) -> None:
        self.families = families if families is not None else load_families()
        self.seed = seed
        self.style = style
        self.vocab = vocabulary or default_vocabulary()
        unknown = set(self.families) - set(ANSWER_FUNCTIONS)
        if unknown:
            raise ConfigError(f"no answer function for families: {', '.join(sorted(unknown))}")

    def rows(self, facts: dict[str, Any]) -> list[dict[str, Any]]:
        scene_id = facts["scene_id"]
        rows = []
        for fid, fam in self.families.items():
            rng = random.Random(stable_seed(self.seed, scene_id, fid))
            for key, params, slots in ANSWER_FUNCTIONS[fid](facts, rng, self.vocab):
                question = rng.choice(fam.questions).format(**slots)
                answer = fam.answers.get(key, fam.answers.get("default", "")).format(**slots)
                template_id = f"{fid}.v{fam.version}"
                rows.append({
                    "qa_id": make_id(scene_id, template_id, params, question),
                    "scene_id": scene_id, "task": fam.task, "question": question,
                    "answer": answer, "params": params | {"answer_key": key},
                    "template_id": template_id, "template_version": fam.version,
                    "style": self.style,
                })
        return rows
