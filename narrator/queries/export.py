"""Which texts an export writes: one query over VQA pairs and captions, the filters, and the
split of every text (from its scene's group, see :mod:`narrator.export.splits`).

Every exporter reads the same *text rows* (dicts) from :func:`iter_texts`:
``id, type ("vqa" | "caption"), scene_id, image, image_path, dataset, source_split, split,
group, task, kind, style, question, answer, text, status, generator, params, template_id,
template_version, facts_hash, facts_version``. A caption's ``task`` is ``"caption"`` and its
``kind`` says which (concise, detailed, ...); a VQA pair's ``kind`` is None.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from narrator.ids import make_id
from narrator.store import Store

if TYPE_CHECKING:
    from narrator.export.splits import SplitAssignment


def _export_error(message: str) -> Exception:
    """narrator.export's error type (imported here, not at the top: narrator.export imports
    this module, and either may be imported first)."""
    from narrator.export.validate import ExportError

    return ExportError(message)

CAPTION_TASK = "caption"
_NAME = re.compile(r"^[A-Za-z0-9_.:-]+$")

_VQA_SQL = """
SELECT v.qa_id AS id, 'vqa' AS type, v.scene_id, s.file_name AS image, s.image_path, s.dataset,
       s.split AS source_split, v.task, NULL AS kind, v.style, v.question, v.answer,
       NULL AS text, {status} AS status, NULL AS generator, v.params, v.template_id,
       v.template_version, f.facts_hash, f.version AS facts_version
FROM vqa v JOIN scenes s USING (scene_id) LEFT JOIN facts f USING (scene_id)
{where}
"""
_CAPTION_SQL = """
SELECT c.caption_id AS id, 'caption' AS type, c.scene_id, s.file_name AS image, s.image_path,
       s.dataset, s.split AS source_split, '{task}' AS task, c.kind, {style} AS style,
       NULL AS question, NULL AS answer, c.text, c.status, c.generator, c.params,
       c.template_id, NULL AS template_version, f.facts_hash, f.version AS facts_version
FROM captions c JOIN scenes s USING (scene_id) LEFT JOIN facts f USING (scene_id)
{where}
"""


@dataclass(frozen=True)
class Filters:
    """What to export; an empty tuple means "all". ``tasks`` may name ``caption``;
    ``statuses`` defaults to accepted only; a text without a style (captions today) passes
    any ``styles`` filter."""

    tasks: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ("accepted",)
    splits: tuple[str, ...] = ()
    styles: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for label, values in (("task", self.tasks), ("status", self.statuses),
                              ("style", self.styles)):
            for v in values:
                if not _NAME.match(v):
                    raise _export_error(f"--{label} {v!r}: use letters, digits, _ . : - only")
        for s in self.splits:
            from narrator.export.splits import SPLITS

            if s not in SPLITS:
                raise _export_error(f"--split {s!r}: choose from {', '.join(SPLITS)}")


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"  # values match _NAME


@dataclass(frozen=True)
class TextQuery:
    """One SELECT of texts: ``sql`` has a ``{where}`` slot; ``table alias`` and ``clauses``
    give the filter, which the per-scene counts of :func:`scene_ranges` reuse; ``type`` is
    the texts' type and ``order`` the output columns they are sorted on."""

    sql: str
    table: str
    clauses: tuple[str, ...]
    type: str
    order: tuple[str, ...]
    key: str

    def body(self, clause: str) -> str:
        """The unsorted rows of one scene range (``clause``)."""
        return self.sql.replace("{where}", _where((*self.clauses, clause)))

    def select(self, clause: str) -> str:
        """The rows of one scene range (``clause``), in export order."""
        return self.body(clause) + " ORDER BY " + ", ".join(self.order)


def queries(store: Store, f: Filters) -> list[TextQuery]:
    """The SELECTs for the filtered texts (VQA first, then captions)."""
    out = []
    vqa_status = "v.status" if "status" in store.columns("vqa") else "'accepted'"
    vqa_tasks = [t for t in f.tasks if t != CAPTION_TASK]
    if not f.tasks or vqa_tasks:
        where = [_in("v.task", vqa_tasks)] if vqa_tasks else []
        if f.statuses:
            where.append(_in(vqa_status, f.statuses))
        if f.styles:
            where.append(_in("v.style", f.styles))
        out.append(TextQuery(_VQA_SQL.replace("{status}", vqa_status), "vqa v", tuple(where),
                          "vqa", ("scene_id", "task", "id"), "v.qa_id"))
    if not f.tasks or CAPTION_TASK in f.tasks:
        has_style = "style" in store.columns("captions")
        where = [_in("c.status", f.statuses)] if f.statuses else []
        if f.styles and has_style:
            where.append(f"(c.style IS NULL OR {_in('c.style', f.styles)})")
        sql = _CAPTION_SQL.replace("{task}", CAPTION_TASK).replace(
            "{style}", "c.style" if has_style else "NULL")
        out.append(TextQuery(sql, "captions c", tuple(where), "caption",
                          ("scene_id", "kind", "id"), "c.caption_id"))
    return out


def _where(clauses: Sequence[str]) -> str:
    return ("WHERE " + " AND ".join(clauses)) if clauses else ""


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def scene_ranges(store: Store, q: TextQuery, max_rows: int) -> Iterator[tuple[str, int]]:
    """``(clause, texts)`` per contiguous range of scene ids holding about ``max_rows``
    texts. Each range is sorted on its own, so DuckDB never sorts the whole export."""
    alias = q.table.split()[-1]
    per_scene = store.con.execute(
        f"SELECT {alias}.scene_id, count(*) FROM {q.table} {_where(q.clauses)} "
        "GROUP BY 1 ORDER BY 1").fetchall()
    start, rows = 0, 0
    for i, (_, n) in enumerate(per_scene):
        rows += n
        if rows >= max_rows or i == len(per_scene) - 1:
            lo, hi = per_scene[start][0], per_scene[i][0]
            yield (f"{alias}.scene_id BETWEEN {_quote(lo)} AND {_quote(hi)}", rows)
            start, rows = i + 1, 0


def _selected_ids(store: Store, f: Filters) -> str | None:
    """A subquery of the scene id of every scene with a selected text (None: no text type)."""
    ids = " UNION ".join(f"SELECT DISTINCT {q.table.split()[-1]}.scene_id FROM {q.table} "
                         f"{_where(q.clauses)}" for q in queries(store, f))
    return ids or None


def selected_scenes(store: Store, f: Filters, batch: int = 10_000
                    ) -> Iterator[tuple[str, str, str | None]]:
    """``(scene_id, file_name, image_path)`` of every scene with a selected text, streamed
    (a million scenes as a list of tuples took about 700 MB). Nothing else may use the
    connection until the last one is read."""
    ids = _selected_ids(store, f)
    if ids is None:
        return
    cur = store.con.execute(f"SELECT s.scene_id, s.file_name, s.image_path FROM scenes s "
                            f"WHERE s.scene_id IN ({ids}) ORDER BY 1")
    while rows := cur.fetchmany(batch):
        yield from rows


def wide_selected_scenes(store: Store, f: Filters) -> int:
    """How many scenes with a selected text have an image whose pixels are not 8-bit."""
    ids = _selected_ids(store, f)
    if ids is None or "dtype" not in store.columns("scenes"):
        return 0
    return int(store.scalar(f"SELECT count(*) FROM scenes WHERE scene_id IN ({ids}) "
                            f"AND {_WIDE}"))


def styles_of(store: Store, f: Filters) -> set[str]:
    """The VQA styles of the selection."""
    q = next((q for q in queries(store, f) if q.type == "vqa"), None)
    if q is None:
        return set()
    return {r[0] for r in store.con.execute(
        f"SELECT DISTINCT v.style FROM {q.table} {_where(q.clauses)}").fetchall() if r[0]}


def check_filters(store: Store, f: Filters) -> None:
    """An ExportError for a --task, --status or --style value that no text has."""
    vqa_status = "status" if "status" in store.columns("vqa") else "'accepted'"
    known = {
        "task": _values(store, "SELECT DISTINCT task FROM vqa") | {CAPTION_TASK},
        "status": _values(store, f"SELECT DISTINCT {vqa_status} FROM vqa UNION "
                                 "SELECT DISTINCT status FROM captions"),
        "style": _values(store, "SELECT DISTINCT style FROM vqa")}
    for label, values in (("task", f.tasks), ("status", f.statuses), ("style", f.styles)):
        unknown = sorted(set(values) - known[label])
        if unknown and not (label == "status" and set(values) == {"accepted"}):
            raise _export_error(f"--{label} {', '.join(unknown)}: no text in {store.path} has "
                              f"this {label}; it has: {', '.join(sorted(known[label]))}")


def _values(store: Store, sql: str) -> set[str]:
    return {r[0] for r in store.con.execute(sql).fetchall() if r[0] is not None}


def count_texts(store: Store, f: Filters) -> int:
    """How many texts the filters select before the split filter (the progress total)."""
    return sum(int(store.scalar(f"SELECT count(*) FROM {q.table} {_where(q.clauses)}") or 0)
               for q in queries(store, f))


def iter_texts(store: Store, f: Filters, assignment: SplitAssignment,
               on_scanned: Callable[[int], None] | None = None,
               batch_rows: int = 20_000,
               range_rows: int = 100_000) -> Iterator[list[dict[str, Any]]]:
    """Batches of text rows with ``split`` and ``group`` set and ``params`` decoded, in
    scene order, read one range of about ``range_rows`` texts at a time."""
    for q in queries(store, f):
        for clause, _ in list(scene_ranges(store, q, range_rows)):
            yield from iter_range(store, q, clause, f, assignment, on_scanned, batch_rows)


def iter_range(store: Store, q: TextQuery, clause: str, f: Filters, assignment: SplitAssignment,
               on_scanned: Callable[[int], None] | None = None,
               batch_rows: int = 20_000) -> Iterator[list[dict[str, Any]]]:
    """Batches of the text rows of one scene range (see :func:`iter_texts`)."""
    for batch in store.iter_batches(q.select(clause), batch_rows):
        rows = batch.to_pylist()
        kept = [annotate(row, assignment) for row in rows]
        kept = [r for r in kept if not f.splits or r["split"] in f.splits]
        if on_scanned:
            on_scanned(len(rows))
        if kept:
            yield kept


def annotate(row: dict[str, Any], assignment: SplitAssignment) -> dict[str, Any]:
    row["split"] = assignment.split.get(row["scene_id"])
    row["group"] = assignment.group.get(row["scene_id"])
    if isinstance(row["params"], str):
        try:
            row["params"] = json.loads(row["params"])
        except ValueError as exc:
            raise _export_error(f"record {row['id']}: its params are not JSON ({exc}); this is "
                              "a hand-edited or damaged database, regenerate it") from None
    return row


CAPTION_PROMPTS: dict[str, tuple[str, ...]] = {
    "concise": ("Describe this SAR image briefly.",
                "Give a short caption for this SAR image.",
                "Summarize the content of this SAR image in one sentence."),
    "detailed": ("Describe this SAR image in detail.",
                 "Give a detailed description of this SAR image.",
                 "Describe the targets, their positions and the background of this SAR image."),
}


#: the relation a caption range's prompts are registered as while an export builds its lines
PROMPTS_VIEW = "narrator_export_prompts"


def caption_prompt(caption_id: str, kind: str | None) -> str:
    """A caption's instruction: one of its kind's prompts, fixed by the caption id."""
    prompts = CAPTION_PROMPTS.get(kind or "") or CAPTION_PROMPTS["detailed"]
    return prompts[int(make_id(caption_id), 16) % len(prompts)]


def caption_prompts(store: Store, q: TextQuery, clause: str) -> pa.Table:
    """``(id, question)`` of the captions of one scene range of ``q``: the prompt is picked
    by a hash DuckDB cannot compute, so it is computed here and joined in
    (:func:`with_prompts`), on a cursor of its own."""
    cursor = store.cursor()
    try:
        rows = cursor.execute(f"SELECT c.caption_id, c.kind FROM {q.table} "
                              f"{_where((*q.clauses, clause))}").fetchall()
    finally:
        cursor.close()
    return pa.table({"id": [r[0] for r in rows],
                     "question": [caption_prompt(r[0], r[1]) for r in rows]})


def with_prompts(body: str) -> str:
    """The caption rows of ``body`` with their prompt as ``question`` and their text as
    ``answer`` (the user and assistant turns of :func:`prompt_and_answer`)."""
    return (f"SELECT b.* REPLACE (pr.question AS question, b.text AS answer) FROM ({body}) b "
            f"LEFT JOIN {PROMPTS_VIEW} pr ON pr.id = b.id")


def prompt_and_answer(row: dict[str, Any]) -> tuple[str, str]:
    """The (user turn, assistant turn) of a text: a VQA pair's question and answer, or a
    caption's instruction (one of its kind's prompts, fixed by the caption id) and text."""
    if row["type"] == "vqa":
        return row["question"], row["answer"]
    return caption_prompt(row["id"], row["kind"]), row["text"]


def image_ref(row: dict[str, Any], image_root: str | None) -> str:
    """The image path an export writes: relative to ``image_root`` when given, else the
    stored image path (or the annotation's file name for an annotation-only scene)."""
    path = row.get("image_path") or row["image"]
    if image_root and row.get("image_path"):
        return os.path.relpath(path, image_root).replace(os.sep, "/")
    return str(path)


# -- what formats read besides the text rows -------------------------------------------------
def scene_sizes(store: Store) -> dict[str, tuple[int, int]]:
    """scene id -> (width, height) (1 where unknown)."""
    return {r[0]: (r[1] or 1, r[2] or 1) for r in store.con.execute(
        "SELECT scene_id, width, height FROM scenes").fetchall()}


def category_counts(store: Store) -> dict[tuple[str, str], int]:
    """(scene id, category) -> objects."""
    return {(r[0], r[1]): r[2] for r in store.con.execute(
        "SELECT scene_id, category, count(*) FROM objects GROUP BY 1, 2").fetchall()}


def object_boxes(store: Store) -> dict[str, list[tuple[float, ...]]]:
    """scene id -> its objects' (x0, y0, x1, y1), in the reader's order."""
    out: dict[str, list[tuple[float, ...]]] = {}
    for sid, *box in store.con.execute(
            "SELECT scene_id, x0, y0, x1, y1 FROM objects ORDER BY scene_id, ord").fetchall():
        out.setdefault(sid, []).append(tuple(box))
    return out


def dataset_categories(store: Store) -> dict[str, set[str]]:
    """dataset -> the categories of its objects."""
    out: dict[str, set[str]] = {}
    for dataset, category in store.con.execute(
            "SELECT DISTINCT s.dataset, o.category FROM objects o "
            "JOIN scenes s USING (scene_id)").fetchall():
        out.setdefault(dataset, set()).add(category)
    return out


_WIDE = "dtype IS NOT NULL AND dtype NOT IN ('uint8', 'int8')"


def eval_references(store: Store) -> list[tuple[str, str, str, str, str, str]]:
    """Every stored text as (id, task, type, question, answer, image) for ``narrator eval``:
    VQA pairs, then captions (type 'caption', no question)."""
    return store.con.execute(
        "SELECT v.qa_id, v.task, 'vqa', v.question, v.answer, "
        "coalesce(s.image_path, s.file_name) FROM vqa v JOIN scenes s USING (scene_id) "
        "UNION ALL SELECT c.caption_id, 'caption', 'caption', '', c.text, "
        "coalesce(s.image_path, s.file_name) FROM captions c JOIN scenes s "
        "USING (scene_id)").fetchall()
