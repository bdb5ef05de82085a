"""``--llm vllm:MODEL``: in-process batch generation with ``vllm.LLM`` (extra ``[vllm]``).

Requests arriving within ``vllm_batch_window_s`` are gathered (up to ``vllm_max_batch``) and
run as one ``LLM.chat`` batch on a worker thread, so the feedback rounds of some requests
batch together with the first rounds of others. A JSON Schema becomes
``SamplingParams(structured_outputs=StructuredOutputsParams(json=schema))`` (the API since
vLLM 0.12; the old ``guided_decoding``/``guided_json`` are gone). Replies are shaped like
OpenAI completions, so validation, feedback, caching and journaling are the same as for
``openai:``. vLLM is imported only when this backend is built.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from narrator.llm.base import LLMUnavailable, completion
from narrator.llm.config import LLMSettings
from narrator.llm.types import Reply

log = logging.getLogger(__name__)

#: OpenAI body fields that map one-to-one onto vllm.SamplingParams
_SAMPLING = ("temperature", "top_p", "top_k", "min_p", "seed", "stop", "presence_penalty",
             "frequency_penalty", "repetition_penalty")


def import_vllm() -> tuple[Any, Any]:
    """``(vllm, StructuredOutputsParams)``, or a clear error when vLLM is not installed."""
    try:
        import vllm
        from vllm.sampling_params import StructuredOutputsParams
    except ImportError:
        raise LLMUnavailable(
            "--llm vllm:MODEL needs vLLM, which is not installed: pip install "
            "'sar-narrator[vllm]' (Linux with a CUDA GPU). Or serve the model with "
            "`vllm serve MODEL` and use --llm openai:MODEL with OPENAI_BASE_URL="
            "http://localhost:8000/v1") from None
    return vllm, StructuredOutputsParams


class VLLMBackend:
    records = True

    def __init__(self, model: str, settings: LLMSettings | None = None) -> None:
        self.vllm, self.structured = import_vllm()
        self.model = model
        self.name = f"vllm:{model}"
        self.settings = settings or LLMSettings()
        self.max_concurrency = self.settings.vllm_max_batch
        self._engine: Any = None
        self._pending: list[tuple[dict[str, Any], asyncio.Future[Reply]]] = []
        self._flusher: asyncio.Task[None] | None = None

    def engine(self) -> Any:
        """The ``vllm.LLM``, loaded on first use (minutes for a large model)."""
        if self._engine is None:
            log.info("loading %s into vLLM", self.model)
            self._engine = self.vllm.LLM(model=self.model, **self.settings.vllm_engine)
        return self._engine

    async def complete(self, body: dict[str, Any]) -> Reply:
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._pending.append((body, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def aclose(self) -> None:
        if self._flusher is not None and not self._flusher.done():
            self._flusher.cancel()
        self._flusher = None

    async def _flush(self) -> None:
        """Run the pending requests in batches until none are left."""
        while self._pending:
            await asyncio.sleep(self.settings.vllm_batch_window_s)
            size = self.settings.vllm_max_batch
            batch, self._pending = self._pending[:size], self._pending[size:]
            live = [(b, f) for b, f in batch if not f.done()]
            if not live:
                continue
            replies = await asyncio.to_thread(self.generate, [b for b, _ in live])
            for (_, future), reply in zip(live, replies, strict=True):
                if not future.done():
                    future.set_result(reply)

    def generate(self, bodies: list[dict[str, Any]]) -> list[Reply]:
        """One ``LLM.chat`` batch; if vLLM rejects the batch, each request alone."""
        t0 = time.perf_counter()
        try:
            outputs = self.engine().chat([b["messages"] for b in bodies],
                                         sampling_params=[self.sampling(b) for b in bodies],
                                         use_tqdm=False)
        except (ValueError, TypeError, RuntimeError) as exc:
            if len(bodies) > 1:
                return [r for b in bodies for r in self.generate([b])]
            return [Reply(None, error_kind="rejected", error=f"vLLM: {exc}")]
        latency = time.perf_counter() - t0
        return [Reply(self._completion(out), latency_s=latency) for out in outputs]

    def sampling(self, body: dict[str, Any]) -> Any:
        """The ``vllm.SamplingParams`` of an OpenAI chat body."""
        kwargs = {k: body[k] for k in _SAMPLING if body.get(k) is not None}
        # vLLM's own default is 16 tokens; the OpenAI API's is "as many as fit"
        kwargs["max_tokens"] = body.get("max_completion_tokens") or body.get("max_tokens")
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_schema":
            kwargs["structured_outputs"] = self.structured(json=fmt["json_schema"]["schema"])
        elif fmt.get("type") == "json_object":
            kwargs["structured_outputs"] = self.structured(json_object=True)
        return self.vllm.SamplingParams(**kwargs)

    def _completion(self, out: Any) -> dict[str, Any]:
        choice = out.outputs[0]
        return completion(choice.text, choice.finish_reason or "stop", self.model,
                          len(out.prompt_token_ids or ()), len(choice.token_ids or ()))
