"""Named read-only queries over a store: what summaries (and reports) read, with the domain
meaning (tasks, answer keys) here rather than in narrator.store, which owns the schema and
every write."""

from __future__ import annotations

from typing import Any

from narrator.store import Store

#: VQA answers whose ``params.answer_key`` says yes or no (presence-style questions)
YES_NO_KEYS = ("yes", "no")
_OF_DATASET = "scene_id IN (SELECT scene_id FROM scenes WHERE dataset = ?)"


def dataset_summary(store: Store, dataset: str) -> dict[str, Any]:
    """Row counts of one dataset's scenes and what was made from them, and VQA pairs by task."""
    out = {"scenes": store.count("scenes", "dataset = ?", [dataset])}
    for name, table in (("objects", "objects"), ("regions", "regions"), ("qa_pairs", "vqa"),
                        ("captions", "captions")):
        out[name] = store.count(table, _OF_DATASET, [dataset])
    out["quarantined"] = store.count("quarantine", "dataset = ?", [dataset])
    tasks = store.con.execute(
        f"SELECT task, count(*) FROM vqa WHERE {_OF_DATASET} GROUP BY task ORDER BY task",
        [dataset]).fetchall()
    out["tasks"] = {t: int(n) for t, n in tasks}
    return out


def yes_no_counts(store: Store, dataset: str) -> dict[str, Any]:
    """How many of a dataset's VQA answers are yes and no (``params.answer_key``)."""
    rows = store.con.execute(
        "SELECT json_extract_string(params, '$.answer_key') AS k, count(*) FROM vqa "
        f"WHERE {_OF_DATASET} AND json_extract_string(params, '$.answer_key') IN "
        f"({', '.join('?' for _ in YES_NO_KEYS)}) GROUP BY k",
        [dataset, *YES_NO_KEYS]).fetchall()
    counts = {"yes": 0, "no": 0} | {k: int(n) for k, n in rows}
    total = counts["yes"] + counts["no"]
    return counts | {"yes_share": round(counts["yes"] / total, 4) if total else None}


#: the scene columns a split assignment reads (narrator.export.splits), in scene id order
SPLIT_SCENES_SQL = ("SELECT scene_id, dataset, file_name, platform, acquired_at, center_lon, "
                    "center_lat, footprint_wkb, meta FROM scenes ORDER BY scene_id")
