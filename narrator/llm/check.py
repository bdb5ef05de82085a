"""``narrator llm-check``: one structured request, to test an endpoint before a long run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from narrator.errors import ConfigError
from narrator.llm.config import LLMSettings, parse_llm_spec
from narrator.llm.factory import make_backend
from narrator.llm.prompts import load_prompt
from narrator.llm.quicklook import quicklook_data_url
from narrator.llm.runner import LLM
from narrator.llm.types import LLMRequest, LLMResult

#: the reply llm-check asks for (kept beside its caller, as every prompt's schema is)
CHECK_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["scene", "bright_targets"],
    "properties": {"scene": {"type": "string", "minLength": 1},
                   "bright_targets": {"type": "boolean"}},
}


def check_llm(spec: str, image: Path | None = None,
              settings: LLMSettings | None = None) -> tuple[LLMResult, dict[str, Any]]:
    """Send the ``llm_check`` prompt (with a quicklook of ``image`` if given) once, uncached.

    Returns the result and the run's statistics (tokens, cost, HTTP attempts).
    """
    if parse_llm_spec(spec).kind == "rules":
        raise ConfigError("--llm rules uses no LLM, so there is nothing to check; give "
                          "openai:MODEL or vllm:MODEL")
    settings = settings or LLMSettings()
    prompt = load_prompt("llm_check")
    url = quicklook_data_url(image, settings.quicklook_size) if image else None
    request = LLMRequest(prompt.messages(image_url=url, image=image is not None),
                         schema=CHECK_SCHEMA, schema_name="llm_check",
                         params={"temperature": 0.0, "max_tokens": 200},
                         prompt_id=prompt.id, prompt_hash=prompt.hash)
    llm = LLM(make_backend(spec, settings), settings)
    result = llm.generate([request])[0]
    return result, llm.stats.summary()
