"""Label rasters found by name in a dropped dataset folder, and paired with their images.

A raster whose stem ends in a label marker (``_LabelHand``, ``_label``, ``_mask``, ``_gt``,
...) is a label of the image in the same dataset whose stem starts with the same key
(Sen1Floods11: ``Labels/Spain_7370579_LabelHand.tif`` labels ``S1/Spain_7370579_S1Hand.tif``).
:func:`detected_masks` turns such pairs into the ``masks:`` entry narrator.yaml would hold, so
that the ``masks`` reader reads the dataset without a hand-written config; vector files
beside them (event footprints, metadata) are then not taken for labels. The class names of the
label values come from a built-in class map: the one named like the dataset folder, else the
one a label marker is known for (``LabelHand`` is Sen1Floods11's), else the raw values.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from narrator.ingest.base import DatasetConfig, MaskConfig
from narrator.ingest.classmap import builtin_class_maps, normalise

#: a label raster's stem: KEY + separator + marker
LABEL_STEM = re.compile(
    r"^(?P<key>.+?)[_\-.](?P<marker>label(?:hand|weak|s)?|mask|masks|gt|groundtruth|"
    r"annotation|seg|segmentation|lbl)$", re.IGNORECASE)
#: label markers whose dataset is known: marker (lower case) -> built-in class map
MARKER_MAPS = {"labelhand": "sen1floods11", "labelweak": "sen1floods11"}
_RASTER = (".tif", ".tiff", ".png")


def _rasters(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in _RASTER and p.is_file())


def label_pairs(root: Path) -> tuple[list[tuple[Path, str, str]], dict[str, Path]]:
    """(label path, key, marker) of every label raster under ``root`` that has an image, and
    the images by key."""
    labels: list[tuple[Path, str, str]] = []
    others: list[Path] = []
    for path in _rasters(root):
        found = LABEL_STEM.match(path.stem)
        (labels.append((path, found["key"], found["marker"])) if found else others.append(path))
    if not labels:
        return [], {}
    keys = {key for _, key, _ in labels}
    images: dict[str, Path] = {}
    for path in others:
        for key in stem_prefixes(path.stem):
            if key in keys:
                images.setdefault(key, path)
                break
    return [lab for lab in labels if lab[1] in images], images


def stem_prefixes(stem: str) -> list[str]:
    """``a_b_c`` -> ``a_b_c``, ``a_b``, ``a``: the keys an image stem may carry."""
    parts = re.split(r"(?=[_\-.])", stem)
    return ["".join(parts[:k]) for k in range(len(parts), 0, -1)]


def _common(values: list[str]) -> str | None:
    """The value most of ``values`` share, if it is the same for all of them."""
    counts = Counter(values)
    return next(iter(counts)) if len(counts) == 1 else None


def detected_masks(config: DatasetConfig) -> tuple[MaskConfig, str | None] | None:
    """The mask entry of the label rasters under the dataset root, and the built-in class map
    that names their values (None when no label raster pairs with an image)."""
    if config.mask_list or not config.root.is_dir():
        return None
    labels, images = label_pairs(config.root)
    if not labels:
        return None
    folders = _common([p.parent.relative_to(config.root).as_posix() for p, _, _ in labels])
    suffixes = _common([p.name[len(k):] for p, k, _ in labels])
    image_tails = _common([images[k].stem[len(k):] for _, k, _ in labels])
    if folders is None or suffixes is None or image_tails is None:
        return None
    mask = MaskConfig(dir=folders or ".", pattern="{stem}" + suffixes,
                      image_pattern="{stem}" + image_tails, kind="class")
    return mask, _class_map(config, labels[0][2])


def _class_map(config: DatasetConfig, marker: str) -> str | None:
    builtin = {normalise(k): k for k in builtin_class_maps()}
    by_name = builtin.get(normalise(config.name))
    return by_name or MARKER_MAPS.get(marker.lower())


def with_detected_masks(config: DatasetConfig) -> DatasetConfig:
    """``config`` with the masks (and class map, if it has none) of its label rasters."""
    found = detected_masks(config)
    if found is None:
        return config
    mask, class_map = found
    update: dict = {"masks": [mask]}
    if class_map and not config.class_map:
        update["class_map"] = class_map
    return config.model_copy(update=update)
