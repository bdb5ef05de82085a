"""The one prompt loader: Jinja files in prompts/, rendered with StrictUndefined.

Every rendered prompt carries its id (the file name without ``.j2``) and the hash of its
source, which every stored LLM output records, so a changed prompt is visible in the data.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

import jinja2

from narrator.errors import ConfigError
from narrator.resources import data_dir


@dataclass(frozen=True, slots=True)
class Prompt:
    id: str
    hash: str
    system: str
    user: str

    def messages(self, image_url: str | None = None) -> list[dict[str, Any]]:
        """Chat messages: the static system part first, the scene's part last (prefix cache)."""
        user: Any = self.user
        if image_url:
            user = [{"type": "image_url", "image_url": {"url": image_url}},
                    {"type": "text", "text": self.user}]
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user}]


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(data_dir("prompts"))),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=False,
                             trim_blocks=True, lstrip_blocks=True, autoescape=False)
    env.filters["tojson_pretty"] = lambda v: json.dumps(v, indent=1, sort_keys=True,
                                                        ensure_ascii=False)
    return env


@cache
def prompt_hash(name: str) -> str:
    source = (data_dir("prompts") / f"{name}.j2").read_bytes()
    return hashlib.blake2b(source, digest_size=8).hexdigest()


def render(name: str, **context: Any) -> Prompt:
    """Render ``prompts/<name>.j2``: its ``system`` block and its ``user`` block."""
    try:
        template = _environment().get_template(f"{name}.j2")
        ctx = template.new_context(context)
        system = "".join(template.blocks["system"](ctx)).strip()
        user = "".join(template.blocks["user"](ctx)).strip()
    except jinja2.TemplateNotFound:
        raise ConfigError(f"no prompt file prompts/{name}.j2") from None
    except KeyError as exc:
        raise ConfigError(f"prompts/{name}.j2 needs a {{% block {exc.args[0]} %}}") from None
    except jinja2.UndefinedError as exc:
        raise ConfigError(f"prompts/{name}.j2: {exc.message}") from None
    return Prompt(name, prompt_hash(name), system, user)
