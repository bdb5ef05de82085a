"""Declarative VQA families and styles from ``templates/vqa/*.yaml``, compiled once.

A family names its task, version, answer function, per-scene quota, intent (families of one
intent asking about the same subject are near-duplicates), the styles it serves and,
per style, its paraphrased questions and its answers keyed by the answer function's key
(``default`` as the fallback). A style without its own wording uses the generic one.
A style (``styles:`` in any file) says how boxes are written and the class-list prefix.
Loading checks every family's questions and answers against its answer function's
declaration (``@answers``; narrator.vqa.registry.check_family): a placeholder the function
does not fill or an answer key it never gives fails here, naming the file, family, style
and slot or key, never at render time.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from narrator.errors import ConfigError
from narrator.resources import template_path
from narrator.text import load_yaml
from narrator.vqa.options import STYLES, TASKS

#: the placeholders a style's class-list prefix may use (a family's questions and answers may
#: use the slots its answer function declares: narrator.vqa.registry.check_family)
STYLE_SLOTS = frozenset({"classes"})
COORDS = ("pixel", "percent")


@dataclass(frozen=True, slots=True)
class Style:
    name: str
    box: str
    coords: str
    class_list: str


@dataclass(frozen=True, slots=True)
class Family:
    id: str
    task: str
    version: int
    answer: str
    quota: int
    styles: frozenset[str]
    questions: dict[str, tuple[str, ...]]
    answers: dict[str, dict[str, str]]
    source: str
    #: families of the same intent asking about the same subject are near-duplicates
    intent: str = ""

    @property
    def template_id(self) -> str:
        return f"{self.id}.v{self.version}"

    def wording(self, style: str) -> tuple[tuple[str, ...], dict[str, str]]:
        return (self.questions.get(style) or self.questions["generic"],
                self.answers.get(style) or self.answers["generic"])


@dataclass(frozen=True, slots=True)
class Templates:
    families: dict[str, Family]
    styles: dict[str, Style]


def _check(text: Any, where: str, allowed: frozenset[str] | None = None) -> str:
    """A non-empty template text with well-formed braces (and, when ``allowed`` is given,
    only those placeholders)."""
    if not isinstance(text, str) or not text:
        raise ConfigError(f"{where}: expected a non-empty string, got {text!r}")
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ConfigError(f"{where}: bad braces in {text!r} ({exc})") from None
    for _, slot, _, _ in parsed:
        if allowed is not None and slot is not None and slot not in allowed:
            raise ConfigError(f"{where}: unknown placeholder {{{slot}}} in {text!r}; "
                              f"placeholders are {', '.join(sorted(allowed))}")
    return text


def _per_style(value: Any, where: str) -> dict[str, Any]:
    """``questions``/``answers`` are either generic wording or a mapping style -> wording."""
    if isinstance(value, dict) and value and set(value) <= set(STYLES):
        return value
    return {"generic": value}


def _family(fid: str, spec: Any, where: str) -> Family:
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: expected a mapping")
    try:
        task, version = spec["task"], int(spec["version"])
        questions = _per_style(spec["questions"], where)
        answers = _per_style(spec["answers"], where)
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: missing or bad field {exc}") from None
    if task not in TASKS:
        raise ConfigError(f"{where}: task {task!r} is not one of {', '.join(TASKS)}")
    styles = frozenset(spec.get("styles") or STYLES)
    if not styles <= set(STYLES) or "generic" not in questions or "generic" not in answers:
        raise ConfigError(f"{where}: styles must be among {', '.join(STYLES)} and generic "
                          "wording is required")
    qs = {s: tuple(_check(q, where) for q in v) for s, v in questions.items()}
    ans = {s: {str(k): _check(a, where) for k, a in v.items()} for s, v in answers.items()}
    if any(not v for v in qs.values()):
        raise ConfigError(f"{where}: every style needs at least one question")
    return Family(fid, task, version, str(spec.get("answer", fid)), int(spec.get("quota", 99)),
                  styles, qs, ans, where, str(spec.get("intent", fid)))


def _style(name: str, spec: Any, where: str) -> Style:
    if name not in STYLES or not isinstance(spec, dict):
        raise ConfigError(f"{where}: unknown style {name!r}; styles are {', '.join(STYLES)}")
    coords = spec.get("coords", "pixel")
    if coords not in COORDS:
        raise ConfigError(f"{where}: coords must be one of {', '.join(COORDS)}")
    box = str(spec.get("box", "[{x0}, {y0}, {x1}, {y1}]"))
    try:
        box.format(x0=0, y0=0, x1=0, y1=0, w=0, h=0)
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(f"{where}: bad box format {box!r} ({exc})") from None
    return Style(name, box, coords, _check(spec.get("class_list", "The classes are: {classes}. "),
                                           where, STYLE_SLOTS))


@cache
def _load(folder: Path, stamp: tuple[tuple[str, int, int], ...]) -> Templates:
    families: dict[str, Family] = {}
    styles: dict[str, Style] = {}
    for path in sorted(folder.glob("*.yaml")):
        data = load_yaml(path) or {}
        for fid, spec in (data.get("families") or {}).items():
            if fid in families:
                raise ConfigError(f"{path}: family {fid} is also defined in "
                                  f"{families[fid].source}")
            families[fid] = _family(fid, spec, f"{path}: family {fid}")
        for name, spec in (data.get("styles") or {}).items():
            styles[name] = _style(name, spec, f"{path}: style {name}")
    from narrator.vqa.registry import check_family  # (imports the answer functions)

    for family in families.values():
        check_family(family)
    for name in STYLES:
        styles.setdefault(name, Style(name, "[{x0}, {y0}, {x1}, {y1}]", "pixel",
                                      "The classes are: {classes}. "))
    return Templates(families, styles)


def load_templates(folder: Path | None = None) -> Templates:
    """Families and styles of ``folder`` (default ``templates/vqa``); parsed once per
    process and re-read only when a file there changes."""
    folder = (folder or template_path("vqa")).resolve()
    stamp = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size)
                  for p in sorted(folder.glob("*.yaml")))
    return _load(folder, stamp)


def load_families(folder: Path | None = None) -> dict[str, Family]:
    """Every family of ``templates/vqa/*.yaml`` (or ``folder``), by id."""
    return dict(load_templates(folder).families)
