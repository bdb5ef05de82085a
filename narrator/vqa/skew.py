"""Answer skew per VQA family: the share of its most common answer, read from a database.

The answer is the row's ``answer_key`` where that names the answer (yes, no, left, wide...),
else its text. Used by ``benchmarks/text_quality.py``; the generate summary and the report
can show it (``family_skew(con)``) next to the yes/no balance.
"""

from __future__ import annotations

from typing import Any

#: answer keys that do not name the answer (the text does)
OPAQUE_KEYS = ("default", "one", "many", "zero", "fine", "empty")

_SQL = """
with a as (
  select template_id as family,
         case when coalesce(json_extract_string(params, '$.answer_key'), 'default')
                   in ({keys}) then answer
              else json_extract_string(params, '$.answer_key') end as answer
  from vqa),
c as (select family, answer, count(*) as n from a group by all),
r as (select family, answer, n, sum(n) over (partition by family) as rows,
             row_number() over (partition by family order by n desc, answer) as k from c)
select family, rows, answer, round(n / rows, 4) from r where k = 1 order by family
"""


def family_skew(con: Any) -> list[dict[str, Any]]:
    """Per family (``template_id``): its rows, most common answer and that answer's share,
    from the ``vqa`` table of a DuckDB connection."""
    keys = ", ".join(f"'{k}'" for k in OPAQUE_KEYS)
    return [{"family": f, "rows": n, "top": a, "top_share": s}
            for f, n, a, s in con.sql(_SQL.format(keys=keys)).fetchall()]
