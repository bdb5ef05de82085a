"""Prompt templates: Jinja files in ``prompts/``, rendered with ``StrictUndefined``.

A prompt ``describe`` is ``prompts/describe.j2`` (the user message) and, optionally,
``prompts/describe.system.j2`` (the system message). Its hash covers both sources, and every
call records the prompt id and hash, so a stored text says exactly which prompt made it.
A variable the template uses but the caller did not pass is an error, never an empty string.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from narrator.errors import ConfigError
from narrator.ids import make_id
from narrator.resources import data_dir


@lru_cache(maxsize=8)
def _environment(root: str) -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(root),
                              undefined=jinja2.StrictUndefined, autoescape=False,
                              keep_trailing_newline=False, trim_blocks=True,
                              lstrip_blocks=True)


@dataclass(frozen=True)
class Prompt:
    id: str
    user: jinja2.Template
    system: jinja2.Template | None
    hash: str
    path: Path

    def _render(self, template: jinja2.Template, variables: dict[str, Any]) -> str:
        try:
            return template.render(**variables).strip()
        except jinja2.UndefinedError as exc:
            raise ConfigError(f"{self.path}: {exc.message}; pass it when rendering prompt "
                              f"{self.id!r}") from None

    def messages(self, image_url: str | None = None, **variables: Any) -> list[dict[str, Any]]:
        """The chat messages of this prompt; with ``image_url`` the user turn carries it."""
        out: list[dict[str, Any]] = []
        if self.system is not None:
            out.append({"role": "system", "content": self._render(self.system, variables)})
        text = self._render(self.user, variables)
        if image_url is None:
            out.append({"role": "user", "content": text})
        else:
            out.append({"role": "user", "content": [
                {"type": "text", "text": text},
                {"type": "image_url", "image_url": {"url": image_url}}]})
        return out


def load_prompt(prompt_id: str, root: str | Path | None = None) -> Prompt:
    """The prompt ``prompt_id`` from ``root`` (default: the shipped ``prompts/`` folder)."""
    folder = Path(root) if root is not None else data_dir("prompts")
    user_path = folder / f"{prompt_id}.j2"
    if not user_path.is_file():
        known = sorted(p.name[:-3] for p in folder.glob("*.j2") if ".system." not in p.name)
        raise ConfigError(f"{user_path}: no such prompt; prompts here: {known or 'none'}")
    system_path = folder / f"{prompt_id}.system.j2"
    env = _environment(str(folder.resolve()))
    try:
        user = env.get_template(user_path.name)
        system = env.get_template(system_path.name) if system_path.is_file() else None
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"{exc.filename or user_path}:{exc.lineno}: {exc.message}") from None
    sources = [user_path.read_text(encoding="utf-8"),
               system_path.read_text(encoding="utf-8") if system else None]
    return Prompt(prompt_id, user, system, make_id("prompt", prompt_id, sources), user_path)
