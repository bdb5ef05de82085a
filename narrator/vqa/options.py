"""VQA options: caps, quotas, target filters and ambiguity margins (all overridable)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from narrator.errors import ConfigError

#: The fixed task vocabulary every vqa row's ``task`` comes from (documented in README).
TASKS = ("presence", "count", "dominant_class", "region_class", "position", "grounding",
         "nine_grid", "comparison", "area", "land_cover", "shape", "direction", "arrangement",
         "description", "geo", "metadata")
STYLES = ("generic", "sarlang", "sarchat")


@dataclass(frozen=True)
class VQAOptions:
    """What the engine may ask about a scene. Defaults follow SARChat's filters loosely.

    A *target* (the object a referring, grounding, position, size, shape or direction question
    is about) must pass every filter: not cut by the image border (unless ``allow_border``), not
    overlapping another box, box area at least ``min_rel_area`` of the image, shorter box side
    at least ``min_side_px``, box long/short side ratio at most ``max_aspect``; questions that
    name it by category also need it to be the only instance of its category.
    """

    max_per_scene: int = 12
    #: most share of a family's rows in a shard one answer may have (see VQAEngine.balance;
    #: a family whose answer cannot vary is dropped); 1.0 turns balancing off
    max_answer_share: float = 0.6
    #: a family with fewer rows than this in a shard is not balanced (too few to tell)
    balance_min_rows: int = 3
    #: per-task caps per scene; tasks not listed are capped only by ``max_per_scene``
    task_quotas: dict[str, int] = field(default_factory=lambda: {
        "presence": 4, "count": 2, "dominant_class": 1, "region_class": 2, "position": 2,
        "grounding": 1, "nine_grid": 1, "comparison": 1, "area": 1, "land_cover": 2,
        "shape": 1, "direction": 1, "arrangement": 1, "description": 1})
    class_list: bool = False
    min_rel_area: float = 0.0002
    min_side_px: float = 3.0
    max_aspect: float = 10.0
    allow_border: bool = False
    #: centres closer than this (fraction of the image side) to a cell boundary: no position
    position_margin: float = 0.02
    direction_margin_deg: float = 5.0
    #: relative distance to a size-class or shape threshold below which those are not asked
    size_margin: float = 0.05
    shape_margin: float = 0.05
    #: the dominant land cover must lead the next one by this fraction of the image
    land_margin: float = 0.02
    #: land-cover classes covering less than this fraction are not asked about
    min_land_fraction: float = 0.01
    #: counting with boxes and grounded descriptions list at most this many boxes
    max_boxes: int = 30

    @classmethod
    def from_overrides(cls, overrides: dict[str, Any] | tuple[tuple[str, Any], ...] = ()
                       ) -> VQAOptions:
        """Defaults with ``overrides`` (``{"max_per_scene": 8, "quota.count": 3}``) applied."""
        items = dict(overrides)
        base = cls()
        names = {f.name: f for f in fields(cls)}
        quotas = dict(base.task_quotas)
        changes: dict[str, Any] = {}
        for key, value in items.items():
            if key.startswith("quota."):
                task = key.split(".", 1)[1]
                if task not in TASKS:
                    raise ConfigError(f"vqa option {key}: unknown task {task!r}; tasks are "
                                      + ", ".join(TASKS))
                quotas[task] = _number(key, value)
            elif key in names and key != "task_quotas":
                changes[key] = _coerce(key, value, type(getattr(base, key)))
            else:
                raise ConfigError(f"unknown vqa option {key!r}; options are "
                                  + ", ".join(sorted(set(names) - {"task_quotas"}))
                                  + ", quota.<task>")
        return replace(base, task_quotas=quotas, **changes)


def _number(key: str, value: Any, kind: type = int) -> Any:
    """``value`` as a non-negative int or float (ConfigError naming the option if not)."""
    what = "a whole number" if kind is int else "a number"
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"vqa option {key}: expected {what}, got {value!r}") from None
    if number < 0:
        raise ConfigError(f"vqa option {key}: must be >= 0, got {number}")
    return number


def _coerce(key: str, value: Any, kind: type) -> Any:
    if kind is not bool:
        return _number(key, value, int if kind is int else float)
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"vqa option {key}: expected true or false, got {value!r}")
