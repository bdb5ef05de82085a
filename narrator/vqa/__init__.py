"""Templated VQA: declarative families in templates/vqa/*.yaml over SceneFacts."""

from narrator.vqa.engine import ANSWER_FUNCTIONS, VQAEngine, shared_engine, yes_no_balance
from narrator.vqa.families import Family, Style, Templates, load_families, load_templates
from narrator.vqa.options import STYLES, TASKS, VQAOptions

__all__ = ["ANSWER_FUNCTIONS", "STYLES", "TASKS", "Family", "Style", "Templates", "VQAEngine",
           "VQAOptions", "load_families", "load_templates", "shared_engine", "yes_no_balance"]
