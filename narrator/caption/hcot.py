"""HCoT captions with self-consistency, proofreading and reconstruction.

For a shard of scenes: k sampled HCoT candidates per scene -> each screened against the
scene's facts -> claims voted across candidates -> the chosen candidate has no violations and
the highest agreement. A scene without a clean candidate goes to proofreading (its best
candidate and its violations back to the LLM for a minimal correction, screened again, up to
R rounds), then to one restatement (the model is given the rule caption's true sentences and
may copy or shorten them: a fair last chance for a small model, screened like the rest), then
to the rule caption itself (or is rejected). Every round is a ``candidates`` row; the final
texts are ``captions`` rows.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from narrator.caption.promptfacts import prompt_facts, render_facts
from narrator.caption.rules import RuleCaptioner
from narrator.caption.schemas import CAPTION_PAIR, HCOT
from narrator.ids import make_id
from narrator.llm.prompts import load_prompt
from narrator.screen.checks import (Policy, Violation, missing_main_category, missing_salient,
                                     screen_text)
from narrator.screen.claims import Claim


class LLMLike(Protocol):
    """What the loop needs of narrator.llm's runner: ``generate`` over a batch of requests."""

    def generate(self, requests: Sequence[Any]) -> list[Any]: ...


@dataclass(frozen=True)
class CaptionLoopConfig:
    samples: int = 3          # k candidates per scene
    rounds: int = 2           # proofreading rounds R
    strict_retry: bool = True
    fallback: bool = True     # use the rule caption when nothing passes
    temperature: float = 0.5
    max_tokens: int = 800       # an HCoT reply (a proofread or restatement: less)
    seed: int = 0


@dataclass
class Candidate:
    scene_id: str
    round: int
    sample_index: int
    output: dict[str, Any] | None
    call_key: str | None
    error: str | None = None
    #: no reply because the LLM was unreachable or timed out (not a judgement on the text)
    unreachable: bool = False
    claims: list[Claim] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    agreement: float = 0.0

    @property
    def clean(self) -> bool:
        return self.output is not None and not self.violations


def _facts_text(facts: dict[str, Any]) -> str:
    """The FACTS block of a prompt: bounded in size (see narrator.caption.promptfacts)."""
    return render_facts(prompt_facts(facts))


#: field values (FUSAR-style terrain/buildings/water text) are scene context, not claims
#: that objects exist; captions must also name the most numerous category (once per output)
FIELD_POLICY = Policy(fluency=False, context=True)


#: a prompt label or echo a small model puts before its text ("DETAILED:", "**Caption:**",
#: "Concise caption -"), possibly several, possibly in markdown bold
_LABEL = re.compile(r"^\s*(?:\*\*|__)?\s*(?:(?:sure|okay|ok)[!,.]?\s*)?"
                    r"(?:here(?:\s+is|'s|’s)\s+(?:a|an|the|your|my)?\s*)?"
                    r"(?:the\s+)?(?:detailed|concise|brief|short|long|"
                    r"final|scene|image)?\s*(?:caption|description|summary|answer|text|"
                    r"output|response)?\s*(?:\([^()\n]{0,40}\))?\s*(?:\*\*|__)?\s*[:：]"
                    r"\s*(?:\*\*|__)?\s*", re.IGNORECASE)
_BARE_LABEL = re.compile(r"^\s*(?:\*\*|__)?(?:detailed|concise|brief)(?:\*\*|__)?\s*"
                         r"(?:[-–—]\s+|\n)", re.IGNORECASE)
_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "`": "`"}


def strip_labels(text: str) -> str:
    """``text`` without the prompt labels, echoes and wrapping quotes a model may add around
    a caption (``DETAILED: "Two ships ..."`` -> ``Two ships ...``); the words themselves are
    left alone (the screener reads them)."""
    out = text.strip()
    for _ in range(3):
        m = _LABEL.match(out)
        if not (m and m.group(0).strip().rstrip("*_ ").endswith((":", "："))):
            m = _BARE_LABEL.match(out)
        if not m or not m.group(0).strip():
            break
        out = out[m.end():].strip()
    while len(out) >= 2 and _QUOTES.get(out[0]) == out[-1]:
        out = out[1:-1].strip()
    if out != text.strip() and out[:1].islower():
        out = out[0].upper() + out[1:]
    return out


#: the other field's label inside a text ("... of the image. DETAILED: The scene ..."): a
#: small model writing both captions into one field; what follows belongs to the other
_INNER_LABEL = re.compile(r"\s*(?:\*\*|__)?\b(?:detailed|concise)(?:\s+caption)?"
                          r"(?:\*\*|__)?\s*[:：]", re.IGNORECASE)


def cut_inner_label(text: str) -> str:
    """``text`` up to another caption's label inside it (``"Two ships. DETAILED: ..."`` ->
    ``"Two ships."``); a text that starts with the label is left to ``strip_labels``."""
    m = _INNER_LABEL.search(text, 1)
    return text[:m.start()].rstrip() if m and text[:m.start()].strip() else text


def clean_output(output: dict[str, Any]) -> dict[str, Any]:
    """A parsed reply with its caption texts stripped of labels and quotes."""
    return output | {k: cut_inner_label(strip_labels(output[k])) for k in ("concise", "detailed")
                     if isinstance(output.get(k), str)}


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def _names_main(text: str, facts: dict[str, Any]) -> bool:
    counts = facts.get("counts") or {}
    return not missing_main_category(screen_text(text, facts, policy=Policy()).claims, counts)


def assemble_restated(output: dict[str, Any], facts: dict[str, Any]) -> dict[str, Any]:
    """A restate reply shaped into a caption pair. The model was given the rule captions'
    true sentences to copy or shorten; a small one often writes the sentences about the
    targets into "concise" and the rest into "detailed", or the same text into both. Only
    its own sentences are used: "detailed" that does not name the main targets is preceded
    by the sentences of "concise" it lacks; "concise" that is as long as "detailed" is cut
    to its first sentences up to the one naming the main targets. The result is screened
    like any reply."""
    concise, detailed = output.get("concise"), output.get("detailed")
    if not (isinstance(concise, str) and isinstance(detailed, str) and concise and detailed):
        return output
    if not _names_main(detailed, facts) and _names_main(concise, facts):
        have = {s.lower() for s in _sentences(detailed)}
        lead = [s for s in _sentences(concise) if s.lower() not in have]
        detailed = " ".join(lead + _sentences(detailed))
    if len(concise) >= len(detailed) or concise.strip() == detailed.strip():
        kept: list[str] = []
        for sentence in _sentences(concise):
            kept.append(sentence)
            if _names_main(" ".join(kept), facts):
                break
        if kept and len(" ".join(kept)) < len(detailed):
            concise = " ".join(kept)
    return output | {"concise": concise, "detailed": detailed}


def screen_output(output: dict[str, Any], facts: dict[str, Any]) -> tuple[list[Claim],
                                                                          list[Violation]]:
    """Screen every text of an HCoT (or caption-pair) output with the one screener
    (``narrator.screen``, as ``narrator screen`` does); each violation is counted once."""
    claims: list[Claim] = []
    violations: list[Violation] = []
    for name in ("concise", "detailed"):
        verdict = screen_text(output[name], facts, policy=Policy())
        claims += verdict.claims
        violations += verdict.violations
        if name == "detailed":  # the long caption names the main targets itself
            violations += missing_main_category(verdict.claims, facts.get("counts") or {})
    violations += missing_salient(claims, facts.get("counts") or {})
    extra = [str(v) for v in (output.get("fields") or {}).values()]
    target = output.get("target")
    if target:  # its count is checked as a number below, its words as text
        extra += [str(target[k]) for k in ("category", "location", "size", "distribution")]
    for text in extra:
        violations += screen_text(text, facts, policy=FIELD_POLICY).violations
    if target and target["count"] != facts["total"]:
        violations.append(Violation("wrong_count", (0, 0), f"target.count={target['count']}",
                                    facts["total"]))
    return claims, violations


def _reply_bound(text: str) -> int:
    """max_tokens of a reply that restates or corrects ``text``: room for its JSON, not for a
    small model's endless repetition (about 4 characters per token)."""
    return min(1000, 96 + len(text) // 2)


def fact_sentences(rules: RuleCaptioner, facts: dict[str, Any]) -> dict[str, str]:
    """The rule captions (true by construction) for the restate prompt: the concise one, and
    the detailed one a sentence per line, those about the targets first (a small model
    copies the first lines it sees)."""
    detailed = [s.strip() for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])",
                                            rules.detailed_caption(facts)) if s.strip()]
    words = [c.lower() for c in facts.get("counts") or {}]
    detailed.sort(key=lambda s: not any(w in s.lower() for w in words))  # stable
    return {"concise": rules.concise_caption(facts), "detailed": "\n".join(detailed)}


_WORD = re.compile(r"[A-Za-z][A-Za-z\-]*|\d+(?:\.\d+)?")
#: words a restatement may add to the given sentences: articles, copulas, prepositions; and
#: the plain synonyms a model swaps in ("approximately" for "about"). Not "which" or "that":
#: a relative clause is how a small model attaches a true phrase to the wrong thing ("near
#: Sentosa, with vegetation (38%), which appears as bright returns").
_GLUE = frozenset("a an the and of in on at is are was were this it its with to by as".split())
_SAME = {"approximately": "about", "around": "about", "roughly": "about", "mainly": "mostly",
         "largely": "mostly", "vessel": "ship", "vessels": "ships"}
_DIGIT_WORDS = ("zero one two three four five six seven eight nine ten eleven twelve").split()


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def _stem(word: str) -> str:
    word = _SAME.get(word, word)
    for end in ("es", "s", "ed", "d"):
        if word.endswith(end) and len(word) > len(end) + 2:
            return word[:-len(end)]
    return word


def added_words(text: str, given: str) -> list[str]:
    """The words of a restatement ``text`` that the ``given`` sentences lack (inflections,
    digits for number words and the plain synonyms of ``_SAME`` count as given). The restate
    prompt allows copying and shortening only: an added word is an added claim."""
    have = {_stem(w) for w in _words(given)}
    have |= {str(i) for i, w in enumerate(_DIGIT_WORDS) if w in have}
    return [w for w in _WORD.findall(text)
            if w.lower() not in _GLUE and _stem(w.lower()) not in have]


#: the finite verbs of the rule captions' sentences (templates/captions/rules.yaml)
_VERBS = frozenset("is are was were lies lie covers cover contains contain appear appears "
                   "can shows show".split())


def dropped_verbs(text: str, given: list[str]) -> list[str]:
    """The sentences of ``text`` that shortened a given sentence down to a fragment: the
    given sentence they take most words from has a finite verb, they have none ("This image
    was acquired by Gaofen-3." -> "C-band SAR image acquired by Gaofen-3."). A given
    sentence without a verb (a concise caption is often a noun phrase) may stay one."""
    sources = [_words(g) for g in given]
    out = []
    for sentence in _sentences(text):
        mine = _words(sentence)
        if not mine or mine & _VERBS:
            continue
        source = max(sources, key=lambda g: len(mine & g), default=set())
        if source & _VERBS:
            out.append(sentence)
    return out


def restate_violations(output: dict[str, Any], given: dict[str, str]) -> list[Violation]:
    """The violations of a restatement against what it was given: ``added_words`` per
    caption that adds words (see :func:`added_words`), ``dropped_verb`` per sentence cut to a
    fragment (see :func:`dropped_verbs`)."""
    source = given["concise"] + " " + given["detailed"]
    sentences = _sentences(given["concise"]) + [
        s for line in given["detailed"].splitlines() for s in _sentences(line)]
    out = []
    for name in ("concise", "detailed"):
        text = output.get(name)
        if not isinstance(text, str):
            continue
        added = added_words(text, source)
        if added:
            out.append(Violation("added_words", (0, 0), f"{name}: {' '.join(added)}",
                                 "only the given sentences"))
        out += [Violation("dropped_verb", (0, 0), f"{name}: {fragment}",
                          "the given sentence's verb") for fragment in dropped_verbs(text, sentences)]
    return out


def vote(candidates: list[Candidate]) -> None:
    """Agreement of each candidate: the mean share of candidates that make each of its claims."""
    usable = [c for c in candidates if c.output is not None]
    support = Counter(key for c in usable for key in {cl.key for cl in c.claims})
    for c in usable:
        keys = {cl.key for cl in c.claims}
        c.agreement = (sum(support[k] for k in keys) / (len(keys) * len(usable))) if keys else 0


def choose(candidates: list[Candidate]) -> Candidate | None:
    clean = [c for c in candidates if c.clean]
    if not clean:
        return None
    return max(clean, key=lambda c: (c.agreement, -c.sample_index))


def best_failing(candidates: list[Candidate]) -> Candidate | None:
    usable = [c for c in candidates if c.output is not None]
    if not usable:
        return None
    return min(usable, key=lambda c: (len(c.violations), -c.agreement, c.sample_index))


@dataclass
class ShardCaptions:
    """What the loop returns for a shard: rows for ``candidates`` and ``captions``, tallies."""

    candidates: list[dict[str, Any]] = field(default_factory=list)
    captions: list[dict[str, Any]] = field(default_factory=list)
    stats: Counter[str] = field(default_factory=Counter)
    #: scenes given no LLM caption while some of their calls found the LLM unreachable: a
    #: rerun redoes them (the Generator records them as provisional)
    provisional: list[str] = field(default_factory=list)


class HCoTCaptioner:
    """Runs the generate -> screen -> vote -> proofread -> regenerate -> fallback loop."""

    def __init__(self, llm: LLMLike, config: CaptionLoopConfig | None = None,
                 image_urls: dict[str, str] | None = None,
                 rewrites: dict[str, str] | None = None) -> None:
        self.llm = llm
        self.config = config or CaptionLoopConfig()
        self.image_urls = image_urls or {}
        #: rewrite mode: scene id -> an existing caption (e.g. of the co-registered optical
        #: image) that the LLM rewrites into SAR terms instead of writing from scratch
        self.rewrites = rewrites or {}
        self.rules = RuleCaptioner()

    # -- requests -------------------------------------------------------------------------
    def _request(self, prompt_name: str, schema: dict[str, Any], scene_id: str,
                 sample_index: int, temperature: float, max_tokens: int | None = None,
                 **context: Any) -> Any:
        from narrator.llm.types import LLMRequest

        prompt = load_prompt(prompt_name)
        params = {"temperature": temperature, "max_tokens": max_tokens or self.config.max_tokens,
                  "seed": self.config.seed}
        return LLMRequest(messages=prompt.messages(self.image_urls.get(scene_id), **context),
                          schema=schema, schema_name=prompt_name, params=params,
                          sample_index=sample_index, prompt_id=prompt.id,
                          prompt_hash=prompt.hash, tag=scene_id)

    def _first_request(self, sid: str, facts: dict[str, Any], sample: int) -> Any:
        if sid in self.rewrites:
            return self._request("rewrite", CAPTION_PAIR, sid, sample, self.config.temperature,
                                 facts=_facts_text(facts), caption=self.rewrites[sid])
        return self._request("hcot", HCOT, sid, sample, self.config.temperature,
                             facts=_facts_text(facts), strict=False)

    def _run(self, requests: list[Any], round_: int, facts: dict[str, dict[str, Any]],
             previous: dict[str, Candidate] | None = None,
             shape: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None,
             check: Callable[[dict[str, Any], str], list[Violation]] | None = None
             ) -> list[Candidate]:
        out = []
        for req, res in zip(requests, self.llm.generate(requests), strict=True):
            parsed = dict(res.parsed) if res.ok and isinstance(res.parsed, dict) else None
            if parsed is not None:
                parsed = clean_output(parsed)
                if shape is not None:
                    parsed = shape(parsed, facts[req.tag])
            if parsed is not None and previous is not None:  # a proofread pair: keep the rest
                parsed = {**(previous[req.tag].output or {}), **parsed}
            cand = Candidate(req.tag, round_, req.sample_index, parsed, res.key,
                             None if parsed is not None else (res.error or res.status),
                             unreachable=bool(getattr(res, "unreachable", False)))
            if parsed is not None:
                cand.claims, cand.violations = screen_output(parsed, facts[req.tag])
                if check is not None:
                    cand.violations += check(parsed, req.tag)
            out.append(cand)
        return out

    # -- the loop -------------------------------------------------------------------------
    def caption(self, scenes: list[dict[str, Any]]) -> ShardCaptions:
        cfg, result = self.config, ShardCaptions()
        facts = {f["scene_id"]: f for f in scenes}
        requests = [self._first_request(sid, f, i)
                    for sid, f in facts.items() for i in range(cfg.samples)]
        by_scene: dict[str, list[Candidate]] = {sid: [] for sid in facts}
        for cand in self._run(requests, 0, facts):
            by_scene[cand.scene_id].append(cand)
        chosen: dict[str, tuple[Candidate, str]] = {}
        for sid, cands in by_scene.items():
            vote(cands)
            pick = choose(cands)
            if pick is not None:
                chosen[sid] = (pick, "sampled")
        self._proofread(facts, by_scene, chosen)
        if cfg.strict_retry:
            self._regenerate(facts, by_scene, chosen)
        for sid, f in facts.items():
            self._finish(f, by_scene[sid], chosen.get(sid), result)
        return result

    def _proofread(self, facts: dict[str, dict[str, Any]], by_scene: dict[str, list[Candidate]],
                   chosen: dict[str, tuple[Candidate, str]]) -> None:
        current = {sid: best_failing(c) for sid, c in by_scene.items() if sid not in chosen}
        for round_ in range(1, self.config.rounds + 1):
            todo = {sid: c for sid, c in current.items() if c is not None and sid not in chosen}
            if not todo:
                return
            requests = [self._request(
                "proofread", CAPTION_PAIR, sid, c.sample_index, 0.0,
                max_tokens=_reply_bound(c.output["concise"] + c.output["detailed"]), facts=_facts_text(facts[sid]), concise=c.output["concise"],
                detailed=c.output["detailed"], violations=[v.to_dict() for v in c.violations])
                for sid, c in todo.items() if c.output]
            for cand in self._run(requests, round_, facts, previous=todo):
                by_scene[cand.scene_id].append(cand)
                if cand.clean:
                    chosen[cand.scene_id] = (cand, "proofread")
                elif cand.output is not None:
                    current[cand.scene_id] = cand

    def _regenerate(self, facts: dict[str, dict[str, Any]], by_scene: dict[str, list[Candidate]],
                    chosen: dict[str, tuple[Candidate, str]]) -> None:
        """The last LLM round: restate the rule caption's true sentences (copy or shorten)."""
        todo = [sid for sid in facts if sid not in chosen]
        last_round = self.config.rounds + 1
        requests, given = [], {}
        for sid in todo:
            given[sid] = fact_sentences(self.rules, facts[sid])
            requests.append(self._request(
                "restate", CAPTION_PAIR, sid, self.config.samples, 0.0,
                max_tokens=_reply_bound(given[sid]["concise"] + given[sid]["detailed"]),
                **given[sid]))
        for cand in (self._run(requests, last_round, facts, shape=assemble_restated,
                               check=lambda out, sid: restate_violations(out, given[sid]))
                     if requests else []):
            by_scene[cand.scene_id].append(cand)
            if cand.clean:
                chosen[cand.scene_id] = (cand, "restated")

    def _finish(self, facts: dict[str, Any], cands: list[Candidate],
                chosen: tuple[Candidate, str] | None, result: ShardCaptions) -> None:
        sid = facts["scene_id"]
        for c in cands:
            result.candidates.append({
                "candidate_id": make_id(sid, "hcot", c.round, c.sample_index),
                "scene_id": sid, "kind": "hcot", "round": c.round,
                "sample_index": c.sample_index,
                "text": json.dumps(c.output, ensure_ascii=False) if c.output else None,
                "violations": [v.to_dict() for v in c.violations] + (
                    [{"type": "llm_failed", "text": c.error}] if c.error else []),
                "verdict": "clean" if c.clean else ("failed" if c.output is None else "violations"),
                "call_key": c.call_key,
            })
        if chosen is not None:
            cand, how = chosen
            result.stats[how] += 1
            template = {"restated": "restate"}.get(
                how, "rewrite" if sid in self.rewrites else "hcot")
            result.captions.extend(self._caption_rows(sid, cand.output or {}, f"llm:{how}",
                                                      template))
            return
        reasons = sorted({v.type for c in cands for v in c.violations}
                         | ({"llm_failed"} if any(c.error for c in cands) else set()))
        if any(c.unreachable for c in cands):
            result.provisional.append(sid)
            reasons.append("llm_unreachable")
        if self.config.fallback:
            result.stats["fallback"] += 1
            for row in self.rules.rows(facts):
                row["generator"] = "rules-fallback"
                row["params"] = row["params"] | {"llm_rejected_for": reasons}
                result.captions.append(row)
            return
        result.stats["rejected"] += 1
        result.captions.append({
            "caption_id": make_id(sid, "hcot", "rejected"), "scene_id": sid, "kind": "detailed",
            "text": None, "status": "rejected", "generator": "llm", "template_id": "hcot",
            "params": {"reasons": reasons}})

    @staticmethod
    def _caption_rows(sid: str, output: dict[str, Any], generator: str,
                      template: str) -> list[dict[str, Any]]:
        texts = {"concise": output.get("concise"), "detailed": output.get("detailed")}
        if output.get("fields"):
            texts["fusar_fields"] = json.dumps(output["fields"], ensure_ascii=False)
        if output.get("target"):
            texts["target"] = json.dumps(output["target"], ensure_ascii=False)
        return [{"caption_id": make_id(sid, kind, "llm"), "scene_id": sid, "kind": kind,
                 "text": text, "status": "accepted", "generator": generator,
                 "template_id": template, "params": {}}
                for kind, text in texts.items() if text]
