"""A COCO file's annotations grouped by image, kept compact while the file is read.

Plain box annotations (an integer ``id`` and ``category_id``, a usable ``[x, y, w, h]``,
no segmentation) are kept as numpy columns, about 60 bytes each; any other annotation
(polygons, RLE, unusual types, a box that will be rejected) is kept as the parsed dict, so
the reader treats it, and words its quarantine reason, exactly as before.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import numpy as np

def group_key(value: Any) -> Any:
    """An id as a dict key: a JSON list or object (a wrong type) becomes its text."""
    return json.dumps(value) if isinstance(value, list | dict) else value


@dataclass
class Group:
    """One image's annotations in file order: plain boxes as Python values, others as dicts.

    ``slow[i]`` is the dict of annotation ``i`` or None when it is a plain box given by
    ``ids[i]``, ``cats[i]``, ``boxes[i]`` (x, y, w, h) and ``crowd[i]``.
    """

    slow: list[dict[str, Any] | None]
    ids: list[int]
    cats: list[int]
    boxes: list[list[float]]
    crowd: list[bool]


class AnnotationColumns:
    """Add annotations a batch at a time, then :meth:`finish`, then take groups by image id."""

    def __init__(self, capacity: int = 0) -> None:
        """``capacity``: rows to reserve (address space only: untouched rows cost no memory;
        more rows than that are still taken, by growing the columns)."""
        self.group_of: dict[Any, int] = {}
        #: quarantine texts of entries that are not JSON objects, in file order
        self.not_objects: list[str] = []
        #: group, plain?, id, category_id, bbox, iscrowd: the first ``count`` rows are used
        #: (ids and categories int32 until a value does not fit: then that column is int64)
        self._columns: list[np.ndarray] = [
            np.empty(capacity, np.int32), np.empty(capacity, bool),
            np.empty(capacity, np.int32), np.empty(capacity, np.int32),
            np.empty((capacity, 4)), np.empty(capacity, bool)]
        self._slow: dict[int, dict[str, Any]] = {}
        self.count = 0
        #: after finish, with integer image ids (see _index_groups): whether each group was
        #: taken; else None, and the ids taken are in _taken_keys
        self._taken: np.ndarray | None = None
        self._taken_keys: set[Any] = set()

    def add(self, batch: list[Any]) -> None:
        dicts = batch
        if not _all(batch, dict):
            dicts = [a for a in batch if isinstance(a, dict)]
            self.not_objects += [f"not an object: {a!r}"[:200] for a in batch
                                 if not isinstance(a, dict)]
        if not dicts:
            return
        n, base = len(dicts), self.count
        self.count += n
        groups = self._groups(_field(dicts, "image_id"))
        columns = _plain_columns(dicts)
        if columns is None:
            fast = np.zeros(n, dtype=bool)
            columns = (fast, np.zeros(n, np.int64), np.zeros(n, np.int64),
                       np.zeros((n, 4)), fast)
        for k in np.flatnonzero(~columns[0]).tolist():
            self._slow[base + k] = dicts[k]
        self._append((np.asarray(groups, dtype=np.int32), *columns))

    def _append(self, batch: tuple[np.ndarray, ...]) -> None:
        """Write a batch of rows after the ``count - len(batch)`` used ones; the columns grow
        by half when full."""
        n = len(batch[0])
        end = self.count
        for j in (2, 3):  # id, category_id: widened for good on the first value over int32
            if self._columns[j].dtype == np.int32 and len(batch[j]) and not _fits32(batch[j]):
                wide = np.empty(len(self._columns[j]), np.int64)
                wide[: end - n] = self._columns[j][: end - n]
                self._columns[j] = wide
        if end > len(self._columns[0]):
            size = max(end, len(self._columns[0]) * 3 // 2, 4096)
            grown = []
            for column in self._columns:
                bigger = np.empty((size, *column.shape[1:]), column.dtype)
                bigger[: end - n] = column[: end - n]
                grown.append(bigger)
            self._columns = grown
        for column, values in zip(self._columns, batch, strict=True):
            column[end - n:end] = values

    def _groups(self, image_ids: list[Any]) -> list[int]:
        get = self.group_of.get
        try:
            keys, out = image_ids, list(map(get, image_ids))
        except TypeError:  # a list or object as an id
            keys = [group_key(k) if isinstance(k, list | dict) else k for k in image_ids]
            out = list(map(get, keys))
        if None in out:
            for i, k in enumerate(keys):
                if out[i] is None:
                    out[i] = self.group_of.setdefault(k, len(self.group_of))
        return out  # type: ignore[return-value]

    def finish(self) -> None:
        """Group the rows by image (stable: file order within an image). The small columns
        are sorted a column at a time; the boxes (32 of a row's 54 bytes) stay where they
        are and are taken by row number, so no second copy of them is made (320 MB at 10M
        annotations); row numbers and group bounds are numpy, not Python, integers."""
        columns, self._columns = [c[: self.count] for c in self._columns], []
        counts = np.bincount(columns[0], minlength=len(self.group_of))
        self._ends = np.cumsum(counts)
        self._starts = self._ends - counts
        order = _stable_order(columns[0], self._starts)
        sorted_columns = []
        for j in (1, 2, 3, 5):  # plain?, id, category_id, iscrowd (int32 if they fit)
            sorted_columns.append(columns[j][order])
            columns[j] = columns[0]  # frees the unsorted column
        self._fast, self._ids, self._cats, self._crowd = sorted_columns
        self._boxes = columns[4]
        self._rows = order
        self._index_groups()

    def _index_groups(self) -> None:
        """Integer image ids (the usual kind) as numpy columns instead of the dict: sorted
        ids, their groups and whether each was taken (21 bytes an image, not about 100)."""
        keys = list(self.group_of)
        if not keys or not all(type(k) is int for k in keys):
            return
        try:
            ids = np.array(keys, dtype=np.int64)
        except OverflowError:
            return
        del keys
        self._order = np.argsort(ids, kind="stable").astype(np.int32)
        self._sorted = ids[self._order]
        self._keys, self._taken = ids, np.zeros(len(ids), bool)
        self.group_of = {}

    def _find(self, image_id: Any) -> int | None:
        """The group of ``image_id`` among integer ids (what a dict lookup finds: a bool or
        an integral float equals that integer)."""
        if type(image_id) is not int:
            if isinstance(image_id, float) and image_id.is_integer():
                image_id = int(image_id)
            elif isinstance(image_id, bool):
                image_id = int(image_id)
            else:
                return None
        if not -2**63 <= image_id < 2**63:
            return None
        k = int(np.searchsorted(self._sorted, image_id))
        if k == len(self._sorted) or self._sorted[k] != image_id:
            return None
        return int(self._order[k])

    def take(self, image_id: Any) -> Group | None:
        """The annotations of ``image_id`` (None if it has none); they are not left over."""
        if self._taken is None:
            g = self.group_of.pop(image_id, None)
            if g is not None:
                self._taken_keys.add(image_id)
        else:
            g = self._find(image_id)
            if g is not None and self._taken[g]:
                g = None
            if g is not None:
                self._taken[g] = True
        return None if g is None else self._group(g)

    def taken(self, image_id: Any) -> bool:
        """Whether an image with this id took its annotations already."""
        if self._taken is None:
            return image_id in self._taken_keys
        g = self._find(image_id)
        return g is not None and bool(self._taken[g])

    def leftovers(self) -> Iterator[tuple[Any, Group]]:
        """(image id, annotations) of every image id no image took, in file order."""
        if self._taken is None:
            for key, g in self.group_of.items():
                yield key, self._group(g)
            return
        for g in np.flatnonzero(~self._taken).tolist():
            yield int(self._keys[g]), self._group(g)

    def _group(self, g: int) -> Group:
        a, b = int(self._starts[g]), int(self._ends[g])
        rows = self._rows[a:b]
        fast = self._fast[a:b].tolist()
        slow = [None if f else self._slow.pop(r) for f, r in
                zip(fast, rows.tolist(), strict=True)]
        return Group(slow, self._ids[a:b].tolist(), self._cats[a:b].tolist(),
                     self._boxes[rows].tolist(), self._crowd[a:b].tolist())


def _stable_order(groups: np.ndarray, starts: np.ndarray, chunk: int = 1 << 20) -> np.ndarray:
    """The row numbers sorted by group, file order within a group (``np.argsort(groups,
    kind="stable")``), as int32 where they fit, without argsort's int64 array of every row
    (80 MB at 10M annotations): a chunk of rows at a time, each row placed after the rows
    of its group that earlier chunks placed (``starts``: each group's first position)."""
    n = len(groups)
    if n >= 2**31:
        return np.argsort(groups, kind="stable")
    order = np.empty(n, np.int32)
    placed = starts.astype(np.int64)  # the next free position of each group
    for begin in range(0, n, chunk):
        part = groups[begin:begin + chunk]
        local = np.argsort(part, kind="stable")
        keys = part[local]
        first = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        sizes = np.diff(np.r_[first, len(keys)])
        rank = np.arange(len(keys)) - np.repeat(first, sizes)
        order[placed[keys] + rank] = local + begin
        placed[keys[first]] += sizes
    return order


def _fits32(column: np.ndarray) -> bool:
    return -2**31 <= int(column.min()) and int(column.max()) < 2**31


def _field(dicts: list[dict[str, Any]], key: str, default: Any = None) -> list[Any]:
    return list(map(dict.get, dicts, repeat(key), repeat(default)))


def _all(values: list[Any], kind: type) -> bool:
    return set(map(type, values)) == {kind}


def _plain_columns(dicts: list[dict[str, Any]]) -> tuple[np.ndarray, ...] | None:
    """(plain?, id, category_id, bbox, iscrowd) columns of a batch; None when the batch
    has values numpy would not hold exactly (then every annotation of it is kept whole)."""
    n = len(dicts)
    ids, cats, boxes = _field(dicts, "id"), _field(dicts, "category_id"), _field(dicts, "bbox")
    segs = _field(dicts, "segmentation")
    if _all(ids, int) and _all(cats, int) and _all(boxes, list) \
            and set(map(len, boxes)) == {4} and segs.count(None) + segs.count([]) == n:
        fast = np.ones(n, dtype=bool)  # the usual batch: no need to look at each one
    else:
        fast = np.array([type(i) is int and type(c) is int and type(b) is list and len(b) == 4
                         and (s is None or s == [])
                         for i, c, b, s in zip(ids, cats, boxes, segs, strict=True)], dtype=bool)
    idx = np.flatnonzero(fast)
    id_col, cat_col, box_col = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros((n, 4))
    if len(idx):
        picked = idx.tolist()
        every = len(picked) == n
        try:
            id_col[idx] = np.array(ids if every else [ids[k] for k in picked], dtype=np.int64)
            cat_col[idx] = np.array(cats if every else [cats[k] for k in picked],
                                    dtype=np.int64)
        except OverflowError:
            return None
        box = np.array(boxes if every else [boxes[k] for k in picked])
        if box.dtype.kind not in "if" or box.shape != (len(picked), 4):
            return None  # strings, huge integers, nested lists: not plain numbers
        box = box.astype(np.float64)
        box_col[idx] = box
        usable = np.isfinite(box).all(axis=1) & (box[:, 2] > 0) & (box[:, 3] > 0)
        fast[idx[~usable]] = False
    crowd = np.array(list(map(bool, _field(dicts, "iscrowd", 0))), dtype=bool)
    return fast, id_col, cat_col, box_col, crowd
