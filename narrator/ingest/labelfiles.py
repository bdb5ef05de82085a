"""Shared base of the formats with one label file per image (VOC, DOTA, YOLO).

A source is a folder of label files (or one file): ``narrator ingest`` reports per folder,
and a file in it that cannot be parsed is reported as ``Error: <file>: <reason>`` while the
other files are still read. The split of a folder is the nearest folder name on its path that
is a split name (train, val, test, ...), so ``labels/train`` and ``train/labelTxt`` are both
``train``.
"""

from __future__ import annotations

import itertools
from abc import abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from narrator.errors import InputError
from narrator.ingest.base import SPLIT_NAMES, DatasetConfig, Reader
from narrator.ingest.scenes import SceneBuilder
from narrator.records import Quarantine, SceneBundle

_NOT_LABELS = {"classes.txt", "obj.names", "readme.txt", "license.txt", "labels.txt"}
_SAMPLE = 5


def read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise InputError(path, f"cannot read the file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text; is this really a label file?") from None


class LabelFileReader(Reader):
    """Reads every ``suffix`` file under the dataset; subclasses parse one file."""

    suffix: ClassVar[str]

    def __init__(self, config: DatasetConfig) -> None:
        super().__init__(config)
        self._sources: list[Path] | None = None

    @classmethod
    def _label_files(cls, config: DatasetConfig) -> Iterator[Path]:
        roots = [config.path(a) for a in config.annotations] or [config.root]
        for root in roots:
            if root.is_file():
                yield root
                continue
            for p in sorted(root.rglob(f"*{cls.suffix}")):
                if p.is_file() and p.name.lower() not in _NOT_LABELS and \
                        "imagesets" not in (part.lower() for part in p.parts):
                    yield p

    @classmethod
    def detect(cls, config: DatasetConfig) -> bool:
        texts = []
        for path in itertools.islice(cls._label_files(config), _SAMPLE):
            try:
                texts.append(read_text(path))
            except InputError:
                continue  # unreadable: reported when the file is read
        sample = [t for t in texts if t]
        return bool(sample) and all(cls.looks_like(t) for t in sample)

    @classmethod
    @abstractmethod
    def looks_like(cls, text: str) -> bool:
        """True when ``text`` (a whole label file) is in this format."""

    def sources(self) -> list[Path]:
        if self._sources is None:
            roots = [self.config.path(a) for a in self.config.annotations]
            if roots:
                self._sources = roots
            else:
                self._sources = sorted({p.parent for p in self._label_files(self.config)})
        return self._sources

    def read_source(self, source: Path) -> Iterator[SceneBundle | Quarantine | InputError]:
        if source.is_file():
            files = [source]
        elif source.is_dir():
            files = sorted(p for p in source.iterdir() if p.suffix == self.suffix
                           and p.name.lower() not in _NOT_LABELS)
        else:
            raise InputError(source, "no such annotation file or folder")
        builder = self.scene_builder(source)
        for path in files:
            try:
                yield from self.read_file(path, builder)
            except InputError as exc:
                yield exc

    @abstractmethod
    def read_file(self, path: Path, builder: SceneBuilder
                  ) -> Iterator[SceneBundle | Quarantine]:
        """Parse one label file (InputError if it cannot be parsed at all)."""
