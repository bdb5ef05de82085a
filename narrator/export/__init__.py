"""Exports of the texts in a narrator DuckDB file to the formats VLM trainers read."""

from narrator.export.jsonl import export_jsonl

__all__ = ["export_jsonl"]
