"""The answer functions a VQA family can name, and the check of a family's templates
against its function's declaration (``@answers`` of narrator.vqa.context), which
``narrator.vqa.families`` runs when it loads a family."""

from __future__ import annotations

import inspect
import string
from collections.abc import Callable, Iterable
from typing import Any

from narrator.errors import ConfigError
from narrator.vqa import answers, geo, measures
from narrator.vqa.context import Group, SceneContext
from narrator.vqa.families import Family

AnswerFunction = Callable[[SceneContext], Iterable[Group]]


def _answer_functions(*modules: Any) -> dict[str, AnswerFunction]:
    """Every function of ``modules`` declared with ``@answers(...)``
    (narrator.vqa.context.answers), by name: an answer function a family can name."""
    return {name: fn for module in modules for name, fn in vars(module).items()
            if inspect.isfunction(fn) and fn.__module__ == module.__name__
            and hasattr(fn, "answer_keys")}


def check_family(family: Family) -> None:
    """Check a family's templates against its answer function's declaration, for every
    style it has: each question uses only slots every row fills, each answer key is one the
    function gives (or ``default``), each key the function gives has an answer, and each
    answer uses only the slots of the rows it answers. ConfigError names the file, family,
    style and slot or key."""
    fn = ANSWER_FUNCTIONS.get(family.answer)
    if fn is None:
        raise ConfigError(f"{family.source}: no answer function named "
                          f"{family.answer!r} (declare one with @answers in "
                          "narrator/vqa/answers.py, measures.py or geo.py)")
    keys, slots = fn.answer_keys, fn.slots  # type: ignore[attr-defined]
    extra = fn.extra_slots  # type: ignore[attr-defined]
    where = f"{family.source} (answer function {family.answer!r}"
    for style in sorted(family.styles):
        questions, answer_texts = family.wording(style)
        at = f"{where}, style {style})"
        for text in questions:
            _check_slots(text, slots, at, "question")
        unknown = sorted(set(answer_texts) - keys - {"default"})
        if unknown:
            raise ConfigError(f"{at}: answer key(s) {', '.join(unknown)} are not given by the "
                              f"function (its keys: {', '.join(sorted(keys))})")
        for key in sorted(keys):
            text = answer_texts.get(key, answer_texts.get("default"))
            if text is None:
                raise ConfigError(f"{at}: no answer for key {key!r} and no 'default'")
            _check_slots(text, slots | extra.get(key, frozenset()), at, f"answer {key!r}")


def _check_slots(text: str, slots: frozenset[str], where: str, what: str) -> None:
    for _, slot, _, _ in string.Formatter().parse(text):
        if slot is not None and slot not in slots:
            raise ConfigError(f"{where}: {what} uses slot {{{slot}}}, which the answer "
                              f"function does not fill (it fills: {', '.join(sorted(slots))}): "
                              f"{text!r}")


ANSWER_FUNCTIONS: dict[str, AnswerFunction] = _answer_functions(answers, measures, geo)
