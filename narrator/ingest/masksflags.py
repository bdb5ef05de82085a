"""Masks given on the command line (``--masks DIR``, ``--mask-classes``) instead of a
``masks:`` section in narrator.yaml, and the hint shown when a folder of masks is found but
nothing says how to read it.

``--masks`` is a folder (relative to the dataset or absolute) or a folder plus a file pattern
with ``{stem}`` (``data/{stem}_instance_color_RGB.png``). For a bare folder the pattern is
worked out from the file names: every raster whose stem is an image's stem plus a tail
(``P0123_..._instance_color_RGB.png`` beside ``P0123_....png``, or ``a.tif`` in ``masks/``
beside ``images/a.tif``) is a mask of that image; more than one tail is an error that lists
them, so the user picks one with the pattern form.

``--mask-classes`` says what the mask values are:

- ``0=land,1=water,-1=nodata``: class indices (``kind: class``; ``nodata`` marks the value
  that is no data);
- ``ship=#800000`` or ``ship=128/0/0``: an RGB palette (``kind: palette``);
- ``instance`` or ``instance=ship``: one value or colour per instance of that class
  (``kind: instance``, one object per instance).

The masks define the scenes (format ``masks``) unless ``--format`` names a reader of
annotation files (``--format coco``), whose scenes then get the masks' regions.
Without ``--mask-classes`` the values are named by the class map (``--class-map``), else kept
as numbers.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from narrator.errors import ConfigError
from narrator.ingest.base import DatasetConfig, MaskConfig
from narrator.ingest.rasterlabels import stem_prefixes
from narrator.ingest.scenes import IMAGE_SUFFIXES

_MASK_SUFFIXES = (".tif", ".tiff", ".png")
#: folder names that hold masks
MASK_FOLDERS = ("masks", "mask", "labels", "label", "gt", "groundtruth", "segmentation",
                "annotations")
#: words in a file name's tail that mark a mask
_MASK_WORDS = ("mask", "label", "instance", "seg", "gt", "semantic", "class")


def parse_mask_classes(spec: str) -> dict[str, Any]:
    """``--mask-classes`` -> the MaskConfig fields it sets (kind, classes / palette /
    category, nodata); ConfigError naming the bad entry."""
    entries = [e.strip() for e in spec.split(",") if e.strip()]
    if not entries:
        raise ConfigError("--mask-classes is empty; e.g. 0=land,1=water or ship=#800000")
    head, _, name = entries[0].partition("=")
    if head.strip().lower() == "instance":
        if len(entries) > 1:
            raise ConfigError("--mask-classes instance[=NAME] takes no other entries")
        return {"kind": "instance", "objects": True, "category": name.strip() or None}
    pairs = []
    for entry in entries:
        key, sep, value = (p.strip() for p in entry.partition("="))
        if not sep or not key or not value:
            raise ConfigError(f"--mask-classes: {entry!r} is not KEY=VALUE (e.g. 1=water, "
                              "ship=#800000)")
        pairs.append((key, value))
    if all(_is_int(k) for k, _ in pairs):
        nodata = [int(k) for k, v in pairs if v.lower() == "nodata"]
        return {"kind": "class", "nodata": nodata[0] if nodata else None,
                "classes": {int(k): v for k, v in pairs if v.lower() != "nodata"}}
    from narrator.ingest.masks import parse_colour

    palette = {}
    for key, value in pairs:
        try:
            parse_colour(value.replace("/", ","))
        except ValueError:
            raise ConfigError(f"--mask-classes: {key}={value}: a palette colour is #rrggbb or "
                              "r/g/b; class indices are integers (1=water)") from None
        palette[key] = value.replace("/", ",")
    return {"kind": "palette", "palette": palette}


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def _images(config: DatasetConfig, masks: Path) -> dict[str, Path]:
    """Image files of the dataset by stem; one outside the mask folder ``masks`` wins over
    a file of the same stem inside it (``images/a.tif`` over ``masks/a.tif``)."""
    base = config.images_dir if config.images_dir.is_dir() else config.root
    files = [p for p in sorted(base.rglob("*"))
             if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
    out: dict[str, Path] = {}
    for p in sorted(files, key=lambda p: p.parent == masks):
        out.setdefault(p.stem, p)
    return out


def _rasters(folder: Path) -> list[Path]:
    return [p for p in sorted(folder.iterdir())
            if p.suffix.lower() in _MASK_SUFFIXES and p.is_file()]


def _tails(folder: Path, images: dict[str, Path]) -> Counter[tuple[str, str]]:
    """(mask tail, image tail) of each raster of ``folder`` that is an image's mask: its
    stem is an image's stem plus a tail (``a_mask.png`` of ``a.png``: ``_mask.png``, ``''``),
    the same stem in another folder (``.tif``, ``''``), or else shares its longest key with
    an image of another folder (Sen1Floods11's ``Labels/K_LabelHand.tif`` and
    ``S1/K_S1Hand.tif``: ``_LabelHand.tif``, ``_S1Hand``)."""
    tails: Counter[tuple[str, str]] = Counter()
    rasters = _rasters(folder)
    for p in rasters:
        for key in stem_prefixes(p.stem):
            image = images.get(key)
            if image is not None and image != p:
                tails[(p.name[len(key):], "")] += 1
                break
    if tails:
        return tails
    keyed: dict[str, Path] = {}
    for image in images.values():
        if image.parent != folder:
            for key in stem_prefixes(image.stem):
                keyed.setdefault(key, image)
    for p in rasters:
        key = next((k for k in stem_prefixes(p.stem) if k in keyed), None)
        if key is not None:
            tails[(p.name[len(key):], keyed[key].stem[len(key):])] += 1
    return tails


def flag_mask_config(config: DatasetConfig, masks: str,
                     mask_classes: str | None) -> MaskConfig:
    """The MaskConfig of ``--masks`` / ``--mask-classes`` (see the module docstring)."""
    given = Path(masks).expanduser()
    pattern = None
    if "{stem}" in given.name:
        given, pattern = given.parent, given.name
    folder = given if given.is_absolute() else config.root / given
    if not folder.is_dir():
        raise ConfigError(f"--masks {masks}: no such folder under {config.root}")
    fields: dict[str, Any] = parse_mask_classes(mask_classes) if mask_classes else {}
    if pattern is None:
        tails = _tails(folder, _images(config, folder))
        if not tails:
            raise ConfigError(f"--masks {masks}: no raster there is named like an image of "
                              f"{config.images_dir} (same stem, or the stem plus a tail)")
        if len(tails) > 1:
            shown = ", ".join(f"{{stem}}{t}" for (t, _), _n in tails.most_common(4))
            raise ConfigError(f"--masks {masks}: masks of more than one kind are there "
                              f"({shown}); pick one: --masks {given.as_posix()}/<pattern>")
        tail, image_tail = next(iter(tails))
        pattern, fields["image_pattern"] = "{stem}" + tail, "{stem}" + image_tail
    try:
        return MaskConfig(dir=str(folder), pattern=pattern, **fields)
    except ValueError as exc:
        raise ConfigError(f"--masks / --mask-classes: {exc}") from None


def with_flag_masks(config: DatasetConfig, masks: str | None,
                    mask_classes: str | None) -> DatasetConfig:
    """``config`` with the masks of the command-line flags in place of narrator.yaml's. The
    masks then define the scenes (format ``masks``, as label rasters found by name do) unless
    ``--format`` names a reader of annotation files, whose scenes the masks are added to."""
    if not masks:
        if mask_classes:
            raise ConfigError("--mask-classes needs --masks DIR (the folder of the masks)")
        return config
    mask = flag_mask_config(config, masks, mask_classes)
    return config.model_copy(update={"masks": [mask], "format": config.format or "masks"})


def unconfigured_masks_hint(config: DatasetConfig, fmt: str | None = None) -> str | None:
    """A hint when the dataset holds masks that nothing configures: a mask folder
    (``masks/``, ``labels/``...) of rasters, or rasters named as an image plus a mask word
    (``_instance_color_RGB``) beside the images. ``fmt``: the annotation format read, which
    the suggested command keeps (``--format coco``)."""
    if config.mask_list or not config.root.is_dir():
        return None
    keep = f" --format {fmt}" if fmt and fmt not in ("masks", "images") else ""
    for name in MASK_FOLDERS:
        folder = config.root / name
        if folder.is_dir() and any(p.suffix.lower() in _MASK_SUFFIXES for p in folder.iterdir()):
            return (f"{folder} holds rasters that are not read; if they are masks, pass{keep} "
                    f"--masks {name} --mask-classes 0=...,1=... (or NAME=#rrggbb, instance)")
    images = _images(config, config.root)
    for folder in sorted({p.parent for p in images.values()}):
        kinds = [(tail, n) for (tail, _), n in _tails(folder, images).most_common()
                 if any(w in tail.lower() for w in _MASK_WORDS)]
        if kinds:
            rel = _under(folder, config.root)
            rel = "" if rel == "." else rel + "/"
            named = ", ".join(f"'{{stem}}{t}' ({n})" for t, n in kinds[:3])
            return (f"rasters named {named} beside the images in {folder} are not read; if "
                    f"they are masks, pass{keep} --masks '{rel}{{stem}}{kinds[0][0]}' "
                    "--mask-classes (0=...,1=... for class indices, NAME=#rrggbb for colours, "
                    "instance=NAME for one value per instance)")
    return None


def _under(folder: Path, root: Path) -> str:
    """``folder`` relative to the dataset root, or absolute when it lies elsewhere (an
    ``images:`` folder outside the root, a root reached through a symlink)."""
    for a, b in ((folder, root), (folder.resolve(), root.resolve())):
        try:
            return a.relative_to(b).as_posix()
        except ValueError:
            continue
    return folder.as_posix()
