"""The shared base of every reader, and the dataset config (``narrator.yaml``) they read.

A reader turns one dataset into a stream of :class:`SceneBundle` (a scene with its objects and
regions) and :class:`Quarantine` entries. A file that cannot be parsed at all raises
:class:`InputError`; the caller records it and goes on with the other files.
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from narrator.errors import ConfigError, InputError
from narrator.ingest.classmap import ClassEntry, ClassMap, load_class_map
from narrator.ingest.shapes import Candidate, make_object
from narrator.records import Object, Quarantine, SceneBundle
from narrator.safeyaml import read_yaml_file

if TYPE_CHECKING:
    from narrator.ingest.masks import MaskSet
    from narrator.ingest.scenes import SceneBuilder

log = logging.getLogger(__name__)

CONFIG_NAME = "narrator.yaml"
#: folder names that name a split (``labels/train``, ``train/labelTxt``)
SPLIT_NAMES = {"train", "training", "val", "valid", "validation", "test", "testing",
               "trainval", "dev"}


def split_in_name(stem: str) -> str | None:
    """The split a file name names (``val``, ``instances_train2017``, ``inshore_test``), else
    None. Only the name counts, never how many files there are: a scene's split (and with it
    its content hash) must not change when another annotation file is added beside it."""
    for word in re.findall(r"[a-z]+", stem.lower()):
        if word in SPLIT_NAMES:
            return word
    return None


class MaskConfig(BaseModel):
    """One kind of mask per scene, found as ``dir/pattern`` with ``{stem}`` from the image.

    ``image_pattern`` says how an image's stem gives ``{stem}`` (``{stem}_S1Hand`` turns
    ``Spain_1_S1Hand.tif`` into ``Spain_1``). ``kind``: ``class`` (class-index raster,
    ``classes`` names the values), ``palette`` (RGB, ``palette`` maps class names to colours),
    ``instance`` (one value or colour per instance, 0 / black is background; ``category``
    names their class and ``objects: true`` also makes one object per instance).
    """

    model_config = ConfigDict(extra="forbid")
    dir: str = "masks"
    pattern: str = "{stem}.tif"
    image_pattern: str = "{stem}"
    kind: Literal["class", "palette", "instance"] = "class"
    classes: dict[int, str] = Field(default_factory=dict)
    palette: dict[str, list[int] | str] = Field(default_factory=dict)
    nodata: float | None = None
    category: str | None = None
    objects: bool = False
    simplify_px: float = 1.0


class VectorConfig(BaseModel):
    """How vector labels (GeoJSON, GeoPackage, Shapefile) become objects or regions."""

    model_config = ConfigDict(extra="forbid")
    class_field: str | None = None
    category: str | None = None
    kind: Literal["objects", "regions"] = "objects"
    buffer_px: float = 0.5
    layer: str | None = None


class DatasetConfig(BaseModel):
    """What a dataset folder holds; read from ``narrator.yaml`` or filled in by detection."""

    model_config = ConfigDict(extra="forbid")
    root: Path
    name: str
    format: str | None = None
    annotations: list[str] = Field(default_factory=list)
    images: str | None = None
    masks: MaskConfig | list[MaskConfig] | None = None
    class_map: str | dict[str, Any] = Field(default_factory=dict)
    sar: dict[str, Any] = Field(default_factory=dict)
    #: per-dataset SAR metadata file (JSON or YAML), below per-scene tags and sidecars
    sar_file: str | None = None
    #: per-scene metadata sidecar beside the image, e.g. '{stem}.json' (default: a few names)
    sidecar: str | None = None
    #: YOLO class names file (default: classes.txt, *.names or data.yaml found in the dataset)
    classes_file: str | None = None
    #: how VOC <bndbox> corners are meant (see README "Pixel convention")
    voc_pixels: Literal["inclusive-1", "inclusive-0", "continuous"] = "inclusive-1"
    #: unit of rotated-box angles; default: radians for VOC robndbox, degrees in text files
    angle_unit: Literal["deg", "rad"] | None = None
    vector: VectorConfig = Field(default_factory=VectorConfig)
    #: annotation files beside the listed ones that the list leaves out (filled by load_config)
    unlisted: list[str] = Field(default_factory=list, exclude=True)

    def path(self, relative: str | Path) -> Path:
        p = Path(relative)
        return p if p.is_absolute() else self.root / p

    @property
    def images_dir(self) -> Path:
        return self.path(self.images) if self.images else self.root

    @property
    def mask_list(self) -> list[MaskConfig]:
        if self.masks is None:
            return []
        return self.masks if isinstance(self.masks, list) else [self.masks]


def load_config(dataset: str | Path, fmt: str | None = None,
                images: str | Path | None = None,
                class_map: str | None = None) -> DatasetConfig:
    """Read the dataset config of a folder or single annotation file (defaults if none)."""
    path = Path(dataset).expanduser()
    if not path.exists():
        raise ConfigError(f"{path}: no such dataset file or folder")
    root = path if path.is_dir() else path.parent
    data: dict[str, Any] = {}
    cfg_file = root / CONFIG_NAME
    if path.is_dir() and cfg_file.exists():
        try:
            data = read_yaml_file(cfg_file) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{cfg_file}: not valid YAML: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{cfg_file}: cannot read the dataset config ({exc})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{cfg_file}: expected a mapping of settings")
    if path.is_file():
        data["annotations"] = [path.name]
    elif isinstance(data.get("annotations"), list):
        data["annotations"] = _expand_annotations(root, data["annotations"], cfg_file)
    data.setdefault("name", root.resolve().name)
    if fmt:
        data["format"] = fmt
    if images is not None:
        data["images"] = str(Path(images).expanduser().resolve())
    if class_map:
        as_path = Path(class_map).expanduser()
        data["class_map"] = str(as_path.resolve()) if as_path.is_file() else class_map
    try:
        config = DatasetConfig(root=root, **data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{cfg_file}: {where}: {first['msg']}") from None
    if path.is_dir() and config.annotations:
        config.unlisted = unlisted_annotations(config)
    return config


def _expand_annotations(root: Path, entries: list[Any], cfg_file: Path) -> list[Any]:
    """``annotations:`` entries may be glob patterns (``annotations/*.json``), expanded in
    name order at every run, so that a new annotation file is picked up without editing."""
    out: list[Any] = []
    for entry in entries:
        if (not isinstance(entry, str) or not any(c in entry for c in "*?[")
                or (root / entry).exists()):  # a file name with brackets, not a pattern
            out.append(entry)
            continue
        matches = sorted(p.relative_to(root).as_posix() for p in root.glob(entry) if p.is_file())
        if not matches:
            raise ConfigError(f"{cfg_file}: annotations: the pattern {entry!r} matches no file")
        out.extend(m for m in matches if m not in out)
    return out


def unlisted_annotations(config: DatasetConfig) -> list[str]:
    """Files beside the listed annotation files, of the same kind, that the list leaves out:
    most often a new batch someone dropped in and expects to be read."""
    listed = {config.path(a).resolve() for a in config.annotations}
    root = config.root.resolve()
    out: set[str] = set()
    for path in listed:
        for other in path.parent.glob(f"*{path.suffix}"):
            if other.is_file() and other.resolve() not in listed:
                out.add(other.relative_to(root).as_posix() if other.is_relative_to(root)
                        else str(other))
    return sorted(out)


@dataclass
class SourceStats:
    """What one source file gave: shown per source by ``narrator ingest``."""

    source: str
    scenes: int = 0
    objects: int = 0
    regions: int = 0
    quarantined: int = 0
    #: vector features that lie wholly outside every scene
    dropped: int = 0
    warnings: list[str] = field(default_factory=list)


class Reader(ABC):
    """Base of every format reader; subclasses set ``name`` and implement two methods."""

    name: ClassVar[str]

    def __init__(self, config: DatasetConfig) -> None:
        self.config = config
        self.stats: dict[str, SourceStats] = {}
        #: canonical categories the annotation files declare (even if no object uses them)
        self.declared: set[str] = set()
        self.class_map: ClassMap = load_class_map(config.class_map, config.root)
        self._mask_set: MaskSet | None = None

    @property
    def mask_set(self) -> MaskSet:
        """The dataset's masks, with this reader's class map defaults."""
        from narrator.ingest.masks import MaskSet

        if self._mask_set is None:
            self._mask_set = MaskSet(self.config, self.class_map, self.classify)
        return self._mask_set

    def scene_builder(self, source: Path) -> SceneBuilder:
        """A SceneBuilder for ``source`` that shares this reader's stats and masks."""
        from narrator.ingest.scenes import SceneBuilder

        return SceneBuilder(self.config, source, self.source_stats(source), self.mask_set)

    @classmethod
    @abstractmethod
    def detect(cls, config: DatasetConfig) -> bool:
        """True when this reader recognises the dataset."""

    @abstractmethod
    def sources(self) -> list[Path]:
        """The annotation files this reader will parse, in order."""

    @abstractmethod
    def read_source(self, source: Path) -> Iterator[SceneBundle | Quarantine | InputError]:
        """Parse one source. Raise InputError if it cannot be parsed at all; a source that is
        a folder of files yields an InputError for each file it cannot parse and goes on."""

    def finish(self) -> Iterator[SceneBundle | Quarantine]:
        """Called after every source was read (readers that gather scenes across sources)."""
        return iter(())

    def source_stats(self, source: Path) -> SourceStats:
        key = str(source)
        if key not in self.stats:
            self.stats[key] = SourceStats(key)
        return self.stats[key]

    def add_objects(self, bundle: SceneBundle, candidates: Iterable[Candidate | Quarantine],
                    source: Path) -> Iterator[Quarantine]:
        """Validate each parsed annotation into ``bundle``; yield the rejected ones (an exact
        duplicate of an earlier annotation, which would be counted twice, among them)."""
        seen = {o.object_id for o in bundle.objects}
        for c in candidates:
            obj = c if isinstance(c, Quarantine) else make_object(self.classify, source,
                                                                  bundle.scene, c)
            if isinstance(obj, Object) and obj.object_id in seen:
                obj = Quarantine("ingest", str(source), "duplicate annotation: same id, class "
                                 "and box as an earlier one", c.record, bundle.scene.scene_id)
            if isinstance(obj, Object):
                seen.add(obj.object_id)
                bundle.objects.append(obj)
            else:
                obj.scene_id = obj.scene_id or bundle.scene.scene_id
                obj.source = obj.source or str(source)
                yield obj

    def split_of(self, path: Path) -> str | None:
        """The nearest folder on ``path`` (below the dataset root) that names a split."""
        parts = path.relative_to(self.config.root).parts \
            if path.is_relative_to(self.config.root) else path.parts
        for part in reversed(parts):
            if part.lower() in SPLIT_NAMES:
                return part.lower()
        return None

    def complete(self, builder: SceneBuilder, bundle: SceneBundle,
                 mask_key: str | None = None) -> Iterator[SceneBundle | Quarantine]:
        """Attach the scene's masks, count it in its source's stats, and yield it."""
        yield from builder.attach_masks(bundle, mask_key)
        stats = builder.stats
        stats.scenes += 1
        stats.objects += len(bundle.objects)
        stats.regions += len(bundle.regions)
        yield bundle

    def classify(self, name: str) -> ClassEntry:
        """A source class name -> canonical category and fine type (verbatim if unknown)."""
        return self.class_map.lookup(name)

    def canonical(self, name: str) -> str:
        """The canonical category of a declared class name (no object is counted)."""
        return self.class_map.lookup(name, count=False).category
