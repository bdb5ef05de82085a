"""Templated VQA: declarative families in templates/vqa/*.yaml over SceneFacts."""

from narrator.vqa.engine import Family, VQAEngine, load_families

__all__ = ["Family", "VQAEngine", "load_families"]
