"""The settings of ``narrator generate``, defined once.

Every field of :class:`GenerateOptions` is a generate setting: the CLI's ``generate`` and
``deploy`` options (narrator.cli), the generate flow's parameters (flows.generate) and the
run's recorded params are all derived from these fields and their ``metadata``, so a new
setting is one field here (plus whatever reads it).

Field metadata: ``help`` (CLI help text), ``flag`` (the CLI option name when it is not
``--field-name``), ``choices``, ``invert`` (a True-by-default bool shown as a ``--no-...``
flag), ``multiple`` (a repeatable option), ``metavar``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from narrator.caption.hcot import CaptionLoopConfig
from narrator.errors import ConfigError
from narrator.pipeline import GenerateConfig
from narrator.vqa import VQAOptions

STYLES = ("generic", "sarlang", "sarchat")
TASK_RUNNERS = ("thread", "process", "dask")


def _opt(default: Any, help: str, **meta: Any) -> Any:
    if isinstance(default, dict):
        return field(default_factory=dict, metadata={"help": help, **meta})
    return field(default=default, metadata={"help": help, **meta})


@dataclass(frozen=True)
class GenerateOptions:
    """Every setting of a generate run except the dataset and the database."""

    fmt: str | None = _opt(None, "Annotation format (default: detect).", flag="--format")
    images: str | None = _opt(None, "Folder of the images, if not where the dataset config "
                                    "says.")
    class_map: str | None = _opt(None, "Class map: a YAML file or a built-in name (e.g. "
                                       "sar-aircraft, hrsid).")
    masks: str | None = _opt(None, "Folder of segmentation masks (or FOLDER/PATTERN with "
                                   "{stem}), instead of a masks section in narrator.yaml.")
    mask_classes: str | None = _opt(None, "What the --masks values are: 0=land,1=water "
                                          "(class indices), ship=#800000 (colours) or "
                                          "instance[=NAME].")
    llm: str = _opt("rules", "Caption writer: rules (no LLM), openai:MODEL (any "
                             "OpenAI-compatible server: OPENAI_BASE_URL, OPENAI_API_KEY) or "
                             "vllm:MODEL (in-process).")
    samples: int = _opt(3, "LLM caption candidates per scene (self-consistency).")
    rounds: int = _opt(2, "Proofreading rounds for a scene without a clean candidate.")
    fallback: bool = _opt(True, "Reject a scene no LLM caption passes, instead of using its "
                                "rule caption.", invert=True)
    rewrite: str | None = _opt(None, 'Rewrite mode: JSON Lines of {"scene_id" or "image", '
                                     '"text"} (e.g. optical captions) that the LLM rewrites '
                                     "into SAR terms.")
    seed: int = _opt(0, "Seed for template choices.")
    style: str = _opt("generic", "Phrasing style.", choices=STYLES)
    shard_size: int | None = _opt(None, "Scenes per shard task [default: 256 with an LLM, "
                                        "1024 with rules].")
    task_runner: str = _opt("thread", "Where shards run: a thread pool, a local process pool "
                                      "(uses every core for template work), or Dask (extra "
                                      "'dask').", choices=TASK_RUNNERS)
    dask_address: str | None = _opt(None, "Scheduler address of a running Dask cluster "
                                          "(default: a local cluster).")
    workers: int = _opt(2, "Shard tasks run at once: threads, each computing rule-mode "
                           "shards in its own worker process, or local Dask workers.")
    reread: bool = _opt(False, "Read every dataset file again even when none changed (size, "
                               "modification time) since the last ingest into --db.")
    class_list: bool = _opt(False, 'Start every question with SARLANG\'s "The classes are: '
                                   '..." prefix.')
    max_qa_per_scene: int | None = _opt(None, "Most VQA pairs per scene (default 12).")
    vqa_options: dict[str, Any] = _opt({}, "A VQA option, e.g. quota.count=3 or "
                                           "min_rel_area=0.001 (repeatable; see README).",
                                       flag="--vqa-option", multiple=True, metavar="KEY=VALUE")

    # -- derived ------------------------------------------------------------------------
    @property
    def uses_llm(self) -> bool:
        return self.llm != "rules"

    def vqa_overrides(self) -> dict[str, Any]:
        """The VQA option overrides (``--vqa-option`` pairs and ``--max-qa-per-scene``)."""
        out = dict(self.vqa_options)
        if self.max_qa_per_scene is not None:
            out["max_per_scene"] = self.max_qa_per_scene
        return out

    def config(self) -> GenerateConfig:
        """The part of the settings that changes generated text (its hash decides resume)."""
        return GenerateConfig(seed=self.seed, style=self.style, llm=self.llm,
                              class_list=self.class_list,
                              vqa_options=tuple(sorted(self.vqa_overrides().items())),
                              captions=CaptionLoopConfig(samples=self.samples,
                                                         rounds=self.rounds,
                                                         fallback=self.fallback,
                                                         seed=self.seed))

    def shard_scenes(self) -> int:
        return self.shard_size or (256 if self.uses_llm else 1024)

    def processes(self) -> int:
        """Worker processes for rule-mode shards under the thread runner (0: none)."""
        return self.workers if self.task_runner == "thread" and not self.uses_llm else 0

    def run_params(self) -> dict[str, Any]:
        """What the ``runs`` table records (and the run id is made of)."""
        params = {"fmt": self.fmt, "llm": self.llm, "seed": self.seed, "style": self.style,
                  "shard_size": self.shard_size, "class_list": self.class_list,
                  "vqa_options": dict(self.config().vqa_options),
                  **({"samples": self.samples, "rounds": self.rounds,
                      "fallback": self.fallback, "rewrite": self.rewrite}
                     if self.uses_llm else {})}
        masks = {k: v for k in ("class_map", "masks", "mask_classes")
                 if (v := getattr(self, k))}
        return params | masks

    def validate(self) -> GenerateOptions:
        """Check every setting before any work; ConfigError names the bad one."""
        from narrator.llm import parse_llm_spec

        parse_llm_spec(self.llm)
        if self.samples < 1 or self.rounds < 0:
            raise ConfigError("--samples must be >= 1 and --rounds >= 0")
        if self.rewrite and not self.uses_llm:
            raise ConfigError("--rewrite needs an LLM (--llm openai:MODEL or vllm:MODEL)")
        if (self.shard_size is not None and self.shard_size < 1) or self.workers < 1:
            raise ConfigError("--shard-size and --workers must be >= 1")
        for name in ("style", "task_runner"):
            choices = _field(name).metadata["choices"]
            if getattr(self, name) not in choices:
                raise ConfigError(f"--{name.replace('_', '-')} must be one of "
                                  + ", ".join(choices))
        VQAOptions.from_overrides(self.vqa_overrides())
        return self

    # -- conversions ----------------------------------------------------------------------
    def to_params(self) -> dict[str, Any]:
        """The settings as plain values (flow or deployment parameters); defaults left out."""
        defaults = GenerateOptions()
        return {k: v for k, v in asdict(self).items() if v != getattr(defaults, k)}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> GenerateOptions:
        """From plain values (flow parameters); unknown names are a ConfigError."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - names)
        if unknown:
            raise ConfigError(f"unknown generate option(s): {', '.join(unknown)}")
        values = {k: (dict(v or {}) if k == "vqa_options" else v) for k, v in params.items()}
        return replace(cls(), **values)


def _field(name: str) -> Any:
    return next(f for f in fields(GenerateOptions) if f.name == name)


def option_fields() -> tuple[Any, ...]:
    """The dataclass fields of GenerateOptions, in declaration order."""
    return fields(GenerateOptions)


def parse_pairs(pairs: tuple[str, ...] | list[str], flag: str = "--vqa-option"
                ) -> dict[str, str]:
    """``KEY=VALUE`` strings as a dict (ConfigError on a malformed one)."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{flag} expects KEY=VALUE, got {pair!r}")
        out[key.strip()] = value.strip()
    return out
