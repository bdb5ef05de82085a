"""Answer skew per VQA family: the share of its most common answer, read from a database.

The answer is the row's ``answer_key`` where that names the answer (yes, no, left, wide...),
else its text. Used by ``benchmarks/text_quality.py``, the generate summary (the families
whose top answer passes :data:`SKEW_LIMIT`) and ``narrator report`` (every family).
"""

from __future__ import annotations

from typing import Any

#: answer keys that do not name the answer (the text does)
OPAQUE_KEYS = ("default", "one", "many", "zero", "fine", "empty")
#: a family whose most common answer has more than this share of its rows is skewed
SKEW_LIMIT = 0.6

_SQL = """
with a as (
  select template_id as family,
         case when coalesce(json_extract_string(params, '$.answer_key'), 'default')
                   in ({keys}) then answer
              else json_extract_string(params, '$.answer_key') end as answer
  from vqa {where}),
c as (select family, answer, count(*) as n from a group by all),
r as (select family, answer, n, sum(n) over (partition by family) as rows,
             row_number() over (partition by family order by n desc, answer) as k from c)
select family, rows, answer, round(n / rows, 4) from r where k = 1 order by family
"""


def family_skew(con: Any, dataset: str | None = None) -> list[dict[str, Any]]:
    """Per family (``template_id``): its rows, most common answer and that answer's share,
    from the ``vqa`` table of a DuckDB connection (only ``dataset``'s scenes when given)."""
    keys = ", ".join(f"'{k}'" for k in OPAQUE_KEYS)
    where, args = "", []
    if dataset is not None:
        where = "where scene_id in (select scene_id from scenes where dataset = ?)"
        args = [dataset]
    rows = con.execute(_SQL.format(keys=keys, where=where), args).fetchall()
    return [{"family": f, "rows": int(n), "top": a, "top_share": float(s)}
            for f, n, a, s in rows]


def skewed(skew: list[dict[str, Any]], limit: float = SKEW_LIMIT,
           min_rows: int = 20) -> list[dict[str, Any]]:
    """The families of ``skew`` with at least ``min_rows`` rows whose top answer's share is
    over ``limit``, most skewed first (a family of a handful of rows says little)."""
    out = [s for s in skew if s["rows"] >= min_rows and s["top_share"] > limit]
    return sorted(out, key=lambda s: (-s["top_share"], s["family"]))
