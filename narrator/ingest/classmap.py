"""Class maps: a dataset's class names -> canonical categories (with the fine type kept).

A class map is YAML, either one of the built-in maps in ``templates/classmaps/`` (named by its
file stem, e.g. ``sar-aircraft``) or a file of the user's::

    classes:
      A320/321: {category: aircraft, fine_type: A320/321}
      ship: ship                        # shorthand: no fine type
    mask_classes: {0: not water, 1: water}   # optional defaults for class-index masks
    mask_nodata: -1
    palette: {ship: [128, 0, 0]}             # optional defaults for RGB palette masks
    vector_category: building                # category of vector features without a class

Names match whatever their case and separators (``_``, ``-``, spaces). A name in no map that
is a canonical category (``templates/vocabulary.yaml``) is known; any other name is kept
verbatim and reported as unknown.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from narrator.errors import ConfigError
from narrator.resources import template_path
from narrator.safeyaml import read_yaml_file

_SEPARATORS = re.compile(r"[\s_\-]+")


def normalise(name: str) -> str:
    """The form names are matched in: lower case, without separators (``_``, ``-``, spaces),
    so ``Boeing737``, ``boeing_737`` and ``Boeing 737`` are one name."""
    return _SEPARATORS.sub("", name.strip().lower())


@dataclass(frozen=True, slots=True)
class ClassEntry:
    category: str
    fine_type: str | None = None


@dataclass
class ClassMap:
    """Source class name -> (category, fine type); counts the names it did not know."""

    name: str | None = None
    entries: dict[str, ClassEntry] = field(default_factory=dict)
    mask_classes: dict[int, str] = field(default_factory=dict)
    mask_nodata: float | None = None
    palette: dict[str, Any] = field(default_factory=dict)
    vector_category: str | None = None
    unknown: Counter[str] = field(default_factory=Counter)
    _seen: dict[str, tuple[ClassEntry, bool]] = field(default_factory=dict, repr=False)

    def lookup(self, source_name: str, count: bool = True) -> ClassEntry:
        """The entry for ``source_name``; ``count`` adds one object to an unknown name."""
        cached = self._seen.get(source_name)
        if cached is None:
            cached = self._resolve(source_name)
            self._seen[source_name] = cached
        entry, known = cached
        if not known:
            self.unknown[source_name] += 1 if count else 0
        return entry

    def _resolve(self, source_name: str) -> tuple[ClassEntry, bool]:
        key = normalise(source_name)
        entry = self.entries.get(key)
        if entry is not None:
            return entry, True
        canonical = canonical_categories().get(key)
        if canonical is not None:
            return ClassEntry(canonical), True
        return ClassEntry(source_name), False


@cache
def canonical_categories() -> dict[str, str]:
    """Normalised name -> canonical category, from templates/vocabulary.yaml: each category's
    own name and its ``aliases`` (source class names that mean it)."""
    data = _read_yaml(template_path("vocabulary.yaml")) or {}
    out: dict[str, str] = {}
    for cat, spec in (data.get("categories") or {}).items():
        for alias in (spec or {}).get("aliases") or []:
            out.setdefault(normalise(str(alias)), str(cat))
    return out | {normalise(str(k)): str(k) for k in (data.get("categories") or {})}


def builtin_class_maps() -> dict[str, Path]:
    folder = template_path("classmaps")
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))} if folder.is_dir() else {}


def _read_yaml(path: Path) -> Any:
    try:
        return read_yaml_file(path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the class map ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: the class map is not valid YAML: {exc}") from None


def _entry(where: str, name: str, value: Any) -> ClassEntry:
    if isinstance(value, str) and value:
        return ClassEntry(value)
    if isinstance(value, dict) and isinstance(value.get("category"), str):
        fine = value.get("fine_type")
        return ClassEntry(value["category"], None if fine is None else str(fine))
    raise ConfigError(f"{where}: class {name!r}: expected a category name or "
                      "{category: ..., fine_type: ...}, got " + repr(value))


def _from_document(doc: Any, where: str) -> ClassMap:
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: a class map must be a mapping")
    document = _is_document(doc)
    classes = doc.get("classes") or {} if document else doc
    if not isinstance(classes, dict):
        raise ConfigError(f"{where}: 'classes' must map class names to categories")
    entries = {normalise(str(k)): _entry(where, str(k), v) for k, v in classes.items()}
    try:
        mask_classes = {int(k): str(v) for k, v in (doc.get("mask_classes") or {}).items()}
    except (TypeError, ValueError, AttributeError):
        raise ConfigError(f"{where}: mask_classes must map integers to class names") from None
    if not document:
        return ClassMap(entries=entries)
    nodata = doc.get("mask_nodata")
    return ClassMap(
        name=doc.get("name") if isinstance(doc.get("name"), str) else None,
        entries=entries, mask_classes=mask_classes,
        mask_nodata=float(nodata) if isinstance(nodata, int | float) else None,
        palette=dict(doc.get("palette") or {}),
        vector_category=doc.get("vector_category"),
    )


_DOCUMENT_KEYS = {"name", "classes", "mask_classes", "mask_nodata", "palette", "vector_category"}


def _is_document(doc: dict[Any, Any]) -> bool:
    return bool(doc) and set(doc) <= _DOCUMENT_KEYS


def load_class_map(spec: str | dict[str, Any] | None, root: Path | None = None) -> ClassMap:
    """A class map from a built-in name, a YAML file path or an inline mapping."""
    if not spec:
        return ClassMap()
    if isinstance(spec, dict):
        return _from_document(spec, "class_map")
    builtin = builtin_class_maps()
    path = Path(spec).expanduser()
    if not path.is_absolute() and root is not None and (root / path).is_file():
        path = root / path
    if path.is_file():
        return _from_document(_read_yaml(path), str(path))
    by_key = {normalise(k): p for k, p in builtin.items()}
    if normalise(spec) in by_key:
        return _from_document(_read_yaml(by_key[normalise(spec)]), str(by_key[normalise(spec)]))
    raise ConfigError(f"class map {spec!r}: no such file, and not a built-in map "
                      f"({', '.join(builtin) or 'none installed'})")
