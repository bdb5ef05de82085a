"""Per-scene context for answer functions: nouns, box formatting and the eligible targets.

Box coordinates are written as integers: each pixel coordinate is first rounded to 0.01 px
(as SceneFacts stores it), then ``pixel`` coords are ``floor(x + 0.5)`` and ``percent`` coords
(SARChat, MiniGPT-v2 style, 0-100) are ``floor(100 * x / W + 0.5)`` (``H`` for y). ``{w}`` and
``{h}`` (SARLANG's ``[x, y, w, h]``) are differences of those integers.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any, TypeVar

from narrator.text import Vocabulary, cell_phrase, is_catch_all, join_list, number_word
from narrator.vqa.families import Style
from narrator.vqa.options import VQAOptions

F = TypeVar("F", bound=Callable[..., Any])

#: (answer key, params, slots): one question; a group is asked together (yes/no pairs)
Item = tuple[str, dict[str, Any], dict[str, Any]]
Group = list[Item]

#: the slots of ``SceneContext.noun``: a category's singular, plural, article form and name
NOUN = ("a", "name", "plural", "singular")
#: the same for the other category of a pair
OTHER = ("other_name", "other_plural", "other_singular")


def answers(*keys: str, slots: tuple[str, ...] = (), extra: dict[str, tuple[str, ...]]
            | None = None) -> Callable[[F], F]:
    """Declare an answer function: the answer ``keys`` its rows take, the ``slots`` every row
    fills, and the ``extra`` slots rows of some keys fill as well. A family's templates are
    checked against this when they are loaded (narrator.vqa.registry.check_family), so
    a placeholder the function does not fill fails at once with the file, family, style and
    slot, never at render time; only declared functions are answer functions."""
    def declare(fn: F) -> F:
        fn.answer_keys = frozenset(keys)  # type: ignore[attr-defined]
        fn.slots = frozenset(slots)  # type: ignore[attr-defined]
        fn.extra_slots = {k: frozenset(v) for k, v in (extra or {}).items()}  # type: ignore[attr-defined]
        return fn
    return declare

_CELL_ORDER = ("top left", "top", "top right", "left", "center", "right", "bottom left",
               "bottom", "bottom right")


def sig3(value: float) -> str:
    """A positive number to three significant figures, without exponent: 1234 -> '1230'."""
    if value <= 0:
        return "0"
    digits = 2 - math.floor(math.log10(value))
    rounded = round(value, digits)
    return str(int(rounded)) if digits <= 0 else f"{rounded:.{digits}f}"


def half_up(value: float) -> int:
    return math.floor(value + 0.5)


def named_view(facts: dict[str, Any]) -> dict[str, Any]:
    """``facts`` without its catch-all categories ("other", "unknown") in ``present``,
    ``absent``, ``counts`` and ``dominant``: a question that names a category by itself, or
    uses it as a reference object, is never asked about one. Objects keep them."""
    cats = set(facts["present"]) | set(facts["absent"])
    if not any(is_catch_all(c) for c in cats):
        return facts
    out = dict(facts)
    out["present"] = [c for c in facts["present"] if not is_catch_all(c)]
    out["absent"] = [c for c in facts["absent"] if not is_catch_all(c)]
    out["counts"] = {c: n for c, n in facts["counts"].items() if not is_catch_all(c)}
    if is_catch_all(facts["dominant"]):
        out["dominant"] = None
    return out


class SceneContext:
    """Everything an answer function needs about one scene, computed lazily and once."""

    def __init__(self, facts: dict[str, Any], rng: random.Random, vocab: Vocabulary,
                 style: Style, options: VQAOptions,
                 nouns: dict[tuple[str, str], dict[str, str]] | None = None) -> None:
        #: every fact (descriptions count every object) and the named view of the questions
        self.all_facts = facts
        self.facts = named_view(facts)
        self.rng = rng
        self.vocab = vocab
        self.style = style
        self.options = options
        self.width, self.height = facts["size"]
        #: noun slots by (category, prefix), shared by the scenes of an engine
        self._nouns = {} if nouns is None else nouns
        self._by_category: dict[str, list[dict[str, Any]]] | None = None
        self._targets: list[dict[str, Any]] | None = None
        self._unique: dict[str, dict[str, Any]] | None = None
        #: box texts by id of the box list (kept with it, so that an id is never reused)
        self._box_texts: dict[int, tuple[list[float], str]] = {}

    # -- words -------------------------------------------------------------------------------
    def noun(self, category: str, prefix: str = "") -> dict[str, str]:
        """The noun slots of ``category`` (a shared dict: merge it, never change it)."""
        slots = self._nouns.get((category, prefix))
        if slots is None:
            n = self.vocab[category]
            name = n.singular if is_catch_all(category) else category  # never "other"
            if prefix:
                slots = {f"{prefix}singular": n.singular, f"{prefix}plural": n.plural,
                         f"{prefix}name": name}
            else:
                slots = {"singular": n.singular, "plural": n.plural, "a": n.article,
                         "name": name}
            self._nouns[(category, prefix)] = slots
        return slots

    def counted(self, category: str, n: int) -> str:
        noun = self.vocab[category]
        return f"{number_word(n)} {noun.singular if n == 1 else noun.plural}"

    def objects_phrase(self) -> str:
        counts = sorted(self.all_facts["counts"].items(), key=lambda kv: (-kv[1], kv[0]))
        return join_list([self.counted(c, n) for c, n in counts])

    @staticmethod
    def where(cell: str) -> str:
        return cell_phrase(cell)

    @staticmethod
    def cells_phrase(cells: list[str]) -> str:
        ordered = sorted(set(cells), key=_CELL_ORDER.index)
        return join_list([f"the {c}" for c in ordered]) + " of the image"

    def fine(self, o: dict[str, Any]) -> tuple[str, str] | None:
        """(phrase with article, bare name) of an object's fine type: ('a Boeing 787
        aircraft', 'Boeing 787'); a catch-all type is 'an aircraft of another type'; None
        without a fine type."""
        fine = o.get("fine_type")
        if not fine:
            return None
        noun = self.vocab[o["category"]]
        if is_catch_all(fine):
            return (f"{noun.article} {noun.singular} of another type",
                    f"{noun.singular} of another type")
        name = fine if fine.lower().endswith(noun.singular.lower()) else f"{fine} {noun.singular}"
        article = "an" if name[:1].lower() in "aeiou" else "a"
        return f"{article} {name}", fine

    def fine_plural(self, category: str, fine: str) -> str:
        """'A330 aircraft', 'Boeing 787 aircraft', 'cargo ships': a fine type as a plural noun
        phrase (the category's noun added unless the type already ends with it)."""
        noun = self.vocab[category]
        if fine.lower().endswith(noun.singular.lower()):
            return fine[:len(fine) - len(noun.singular)] + noun.plural
        return f"{fine} {noun.plural}"

    # -- boxes -------------------------------------------------------------------------------
    def box(self, box: list[float]) -> str:
        hit = self._box_texts.get(id(box))
        if hit is not None and hit[0] is box:
            return hit[1]
        text = self._box_text(box)
        self._box_texts[id(box)] = (box, text)
        return text

    def _box_text(self, box: list[float]) -> str:
        x0, y0, x1, y1 = box
        if self.style.coords == "percent":
            q = (half_up(100 * x0 / self.width), half_up(100 * y0 / self.height),
                 half_up(100 * x1 / self.width), half_up(100 * y1 / self.height))
        else:
            q = (half_up(x0), half_up(y0), half_up(x1), half_up(y1))
        return self.style.box.format(x0=q[0], y0=q[1], x1=q[2], y1=q[3], w=q[2] - q[0],
                                     h=q[3] - q[1])

    def boxes(self, objects: list[dict[str, Any]]) -> str:
        return "".join(self.box(o["box"]) for o in objects)

    # -- targets -----------------------------------------------------------------------------
    @property
    def by_category(self) -> dict[str, list[dict[str, Any]]]:
        if self._by_category is None:
            out: dict[str, list[dict[str, Any]]] = {}
            for o in self.facts["objects"]:
                if not is_catch_all(o["category"]):
                    out.setdefault(o["category"], []).append(o)
            self._by_category = out
        return self._by_category

    def eligible(self, o: dict[str, Any]) -> bool:
        """Passes the target filters (border, overlap, tiny, extreme aspect)."""
        opt = self.options
        if o["overlaps"] or (o["border"] and not opt.allow_border):
            return False
        x0, y0, x1, y1 = o["box"]
        short, long = sorted((x1 - x0, y1 - y0))
        return (o["rel_area"] >= opt.min_rel_area and short >= opt.min_side_px
                and long <= opt.max_aspect * short)

    @property
    def targets(self) -> list[dict[str, Any]]:
        """Objects that pass the filters (any category)."""
        if self._targets is None:
            self._targets = [o for o in self.facts["objects"] if self.eligible(o)]
        return self._targets

    @property
    def unique(self) -> dict[str, dict[str, Any]]:
        """Category -> its only instance, when that instance passes the filters."""
        if self._unique is None:
            self._unique = {c: objs[0] for c, objs in sorted(self.by_category.items())
                            if len(objs) == 1 and self.eligible(objs[0])}
        return self._unique

    def clear_position(self, o: dict[str, Any]) -> bool:
        return o["pos_margin"] >= self.options.position_margin

    def pick(self, items: list[Any], k: int) -> list[Any]:
        """Up to ``k`` of ``items`` at random (all when fewer)."""
        return self.rng.sample(items, k) if len(items) > k else list(items)
