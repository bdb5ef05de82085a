"""YAML loading with limits, for every YAML file narrator reads from a dataset or template.

``yaml.safe_load`` builds only plain data, but an alias bomb (a few anchors, each a list of
aliases of the previous one) is a 1 KB file whose data expands to billions of nodes as soon as
anything walks it (JSON dumps, tag flattening). ``load_yaml_text`` refuses, before handing the
data back: files over ``MAX_YAML_BYTES``, more than ``MAX_ALIASES`` alias references, and data
that would expand to more than ``MAX_NODES`` nodes (counted with a budget, so a bomb or a
recursive anchor is refused in microseconds). The refusal is a ``yaml.YAMLError`` so every
existing "not valid YAML" handler reports it with the file's name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

MAX_YAML_BYTES = 4 * 1024 * 1024
MAX_ALIASES = 1000
MAX_NODES = 200_000


class YAMLLimitError(yaml.YAMLError):
    """The YAML is refused because it is too big or expands too much."""


class _LimitedLoader(yaml.SafeLoader):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:  # noqa: ANN401
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise YAMLLimitError(f"refused: more than {MAX_ALIASES} alias references "
                                     "(an alias bomb?)")
        return super().compose_node(parent, index)


def _check_expansion(data: Any) -> None:
    """Walk ``data`` as a consumer would (shared references counted each time they appear)
    and stop once ``MAX_NODES`` nodes have been seen."""
    budget = MAX_NODES
    stack = [data]
    while stack:
        item = stack.pop()
        budget -= 1
        if budget < 0:
            raise YAMLLimitError(f"refused: the data expands to more than {MAX_NODES:,} "
                                 "values (an alias bomb or a recursive anchor?)")
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set)):
            stack.extend(item)


def load_yaml_text(text: str) -> Any:  # noqa: ANN401
    """``yaml.safe_load`` with the size, alias and expansion limits; YAMLError if refused."""
    if len(text) > MAX_YAML_BYTES:
        raise YAMLLimitError(f"refused: {len(text):,} characters is over the "
                             f"{MAX_YAML_BYTES:,} limit for a YAML file")
    loader = _LimitedLoader(text)
    try:
        data = loader.get_single_data()
    except RecursionError:
        raise YAMLLimitError("refused: nested too deeply") from None
    finally:
        loader.dispose()
    _check_expansion(data)
    return data


def read_yaml_file(path: Path) -> Any:  # noqa: ANN401
    """Read and load ``path`` with the limits; OSError if unreadable, YAMLError if refused.
    The size is checked before the file is read."""
    size = path.stat().st_size
    if size > MAX_YAML_BYTES:
        raise YAMLLimitError(f"refused: {size:,} bytes is over the {MAX_YAML_BYTES:,} "
                             "limit for a YAML file")
    with path.open("r", encoding="utf-8") as fh:
        text = fh.read(MAX_YAML_BYTES + 1)
    return load_yaml_text(text)
