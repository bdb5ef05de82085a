"""The shared base of every reader, and the dataset config (``narrator.yaml``) they read.

A reader turns one dataset into a stream of :class:`SceneBundle` (a scene with its objects and
regions) and :class:`Quarantine` entries. A file that cannot be parsed at all raises
:class:`InputError`; the caller records it and goes on with the other files.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from narrator.errors import ConfigError
from narrator.records import Quarantine, SceneBundle

log = logging.getLogger(__name__)

CONFIG_NAME = "narrator.yaml"


class MaskConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dir: str = "masks"
    pattern: str = "{stem}.tif"
    classes: dict[int, str] = Field(default_factory=dict)
    simplify_px: float = 1.0


class DatasetConfig(BaseModel):
    """What a dataset folder holds; read from ``narrator.yaml`` or filled in by detection."""

    model_config = ConfigDict(extra="forbid")
    root: Path
    name: str
    format: str | None = None
    annotations: list[str] = Field(default_factory=list)
    images: str | None = None
    masks: MaskConfig | None = None
    class_map: dict[str, str] = Field(default_factory=dict)
    sar: dict[str, Any] = Field(default_factory=dict)

    def path(self, relative: str | Path) -> Path:
        p = Path(relative)
        return p if p.is_absolute() else self.root / p

    @property
    def images_dir(self) -> Path:
        return self.path(self.images) if self.images else self.root


def load_config(dataset: str | Path, fmt: str | None = None,
                images: str | Path | None = None) -> DatasetConfig:
    """Read the dataset config of a folder or single annotation file (defaults if none)."""
    path = Path(dataset).expanduser()
    if not path.exists():
        raise ConfigError(f"{path}: no such dataset file or folder")
    root = path if path.is_dir() else path.parent
    data: dict[str, Any] = {}
    cfg_file = root / CONFIG_NAME
    if path.is_dir() and cfg_file.exists():
        try:
            data = yaml.safe_load(cfg_file.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{cfg_file}: not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{cfg_file}: expected a mapping of settings")
    if path.is_file():
        data["annotations"] = [path.name]
    data.setdefault("name", root.resolve().name)
    if fmt:
        data["format"] = fmt
    if images is not None:
        data["images"] = str(Path(images).expanduser().resolve())
    try:
        return DatasetConfig(root=root, **data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{cfg_file}: {where}: {first['msg']}") from None


@dataclass
class SourceStats:
    """What one source file gave: shown per source by ``narrator ingest``."""

    source: str
    scenes: int = 0
    objects: int = 0
    regions: int = 0
    quarantined: int = 0
    warnings: list[str] = field(default_factory=list)


class Reader(ABC):
    """Base of every format reader; subclasses set ``name`` and implement two methods."""

    name: ClassVar[str]

    def __init__(self, config: DatasetConfig) -> None:
        self.config = config
        self.stats: dict[str, SourceStats] = {}
        #: canonical categories the annotation files declare (even if no object uses them)
        self.declared: set[str] = set()

    @classmethod
    @abstractmethod
    def detect(cls, config: DatasetConfig) -> bool:
        """True when this reader recognises the dataset."""

    @abstractmethod
    def sources(self) -> list[Path]:
        """The annotation files this reader will parse, in order."""

    @abstractmethod
    def read_source(self, source: Path) -> Iterator[SceneBundle | Quarantine]:
        """Parse one file. Raise InputError if it cannot be parsed at all."""

    def source_stats(self, source: Path) -> SourceStats:
        key = str(source)
        if key not in self.stats:
            self.stats[key] = SourceStats(key)
        return self.stats[key]

    def canonical(self, name: str) -> str:
        """Map a source class name through the dataset's class map (kept verbatim if absent)."""
        return self.config.class_map.get(name, name)
