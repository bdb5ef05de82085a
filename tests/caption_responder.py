"""A simulated captioning LLM for the local test server: it writes HCoT replies from the
FACTS in the prompt, injects known errors into a share of them, and proofreads imperfectly.

Every text it writes is registered with the errors it holds (``truth``), so a test can judge
narrator's screener against ground truth that the screener never sees.
"""

from __future__ import annotations

import json
import random
import threading
from typing import Any

from narrator.text import cell_phrase, join_list, number_word

ERRORS = ("wrong_count", "absent_category", "wrong_position", "colour_word")
CELLS = ("top left", "top", "top right", "left", "center", "right", "bottom left", "bottom",
         "bottom right")
PLURAL = {"ship": "ships", "aircraft": "aircraft", "tank": "storage tanks", "bridge": "bridges",
          "harbor": "harbors", "car": "cars"}
SINGULAR = {"tank": "storage tank"}


def _noun(cat: str, n: int) -> str:
    return SINGULAR.get(cat, cat) if n == 1 else PLURAL.get(cat, cat + "s")


class CaptionResponder:
    """Callable responder; ``truth[text]`` lists the errors injected into ``text``."""

    def __init__(self, error_rate: float = 0.3, fix_rate: float = 0.8, seed: int = 0) -> None:
        self.error_rate, self.fix_rate, self.seed = error_rate, fix_rate, seed
        self.truth: dict[str, list[str]] = {}
        self.calls: dict[str, int] = {"hcot": 0, "proofread": 0, "rewrite": 0}
        self.optical_seen: list[str] = []
        self._lock = threading.Lock()

    # -- writing ---------------------------------------------------------------------------
    def _clean(self, facts: dict[str, Any], rng: random.Random) -> dict[str, str]:
        counts = facts["counts"]
        ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        listing = join_list([f"{number_word(n)} {_noun(c, n)}" for c, n in ordered])
        sensor = facts["sensor"]
        band = f"{sensor['band']}-band " if sensor.get("band") else ""
        land = facts.get("dominant_land_cover")
        concise = rng.choice([
            f"A {band}SAR image showing {listing}." if counts else f"A {band}SAR image.",
            f"This {band}SAR scene contains {listing}." if counts else f"A quiet {band}SAR scene.",
        ])
        parts = [f"The image was acquired by {sensor['platform']}." if sensor.get("platform")
                 else "The image is a SAR acquisition."]
        if land:
            parts.append(f"Most of the scene is {land}.")
        if counts:
            parts.append(f"It contains {listing}.")
        for cat, _ in ordered:
            cells = sorted({o["cell"] for o in facts["objects"] if o["category"] == cat},
                           key=CELLS.index)
            phrase = join_list([cell_phrase(c).replace(" of the image", "") for c in cells])
            parts.append(f"The {PLURAL.get(cat, cat + 's')} lie {phrase} of the image."
                         if len(cells) > 1 else
                         f"The {_noun(cat, counts[cat])} lie {cell_phrase(cells[0])}.")
        parts.append("Metal structures give strong, bright returns amid the speckle.")
        return {"concise": concise, "detailed": " ".join(parts)}

    def _inject(self, texts: dict[str, str], facts: dict[str, Any],
                rng: random.Random) -> tuple[dict[str, str], str]:
        counts = facts["counts"]
        kinds = [k for k in ERRORS if k != "wrong_count" or counts]
        kinds = [k for k in kinds if k != "wrong_position" or counts]
        kind = rng.choice(kinds)
        c, d = texts["concise"], texts["detailed"]
        if kind == "wrong_count":
            cat, n = sorted(counts.items())[0]
            old = f"{number_word(n)} {_noun(cat, n)}"
            new = f"{number_word(n + rng.randint(1, 3))} {_noun(cat, 2)}"
            c, d = c.replace(old, new), d.replace(old, new)
        elif kind == "absent_category":
            absent = sorted(set(PLURAL) - set(counts))
            d += f" Several {PLURAL[rng.choice(absent)]} are also visible."
        elif kind == "wrong_position":
            cat = sorted(counts)[0]
            cells = {o["cell"] for o in facts["objects"] if o["category"] == cat}
            wrong = rng.choice([x for x in ("top left", "bottom right", "top right",
                                            "bottom left") if x not in cells
                                and not ({x} & cells)] or ["center"])
            d += f" One {_noun(cat, 1)} sits at the {wrong} corner of the image."
            if wrong in cells:
                kind = "none"
        else:
            d += f" The {rng.choice(['water', 'ground'])} looks {rng.choice(['green', 'red'])}."
        return {"concise": c, "detailed": d}, kind

    def _register(self, texts: dict[str, str], errors: list[str]) -> None:
        with self._lock:
            self.truth[texts["concise"] + " || " + texts["detailed"]] = errors

    def _restate(self, user: str, rng: random.Random) -> dict[str, str]:
        with self._lock:
            self.calls["restate"] = self.calls.get("restate", 0) + 1
        concise = user.split("CONCISE:\n", 1)[1].split("\n\nDETAILED:", 1)[0].strip()
        detailed = " ".join(user.split("DETAILED:\n", 1)[1].split())
        texts, errors = {"concise": concise, "detailed": detailed}, []
        if rng.random() < self.error_rate:
            texts["detailed"] += " The water looks green."
            errors = ["colour"]
        self._register(texts, errors)
        return texts

    # -- the responder ---------------------------------------------------------------------
    def __call__(self, body: dict[str, Any]) -> dict[str, Any]:
        name = body["response_format"]["json_schema"]["name"]
        # the first user turn holds the FACTS; a resend after an invalid reply adds turns
        user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        if name == "restate":  # true sentences, no facts: copy them (an error at error_rate)
            return self._restate(user, random.Random(f"{self.seed}|{user}"))
        facts, _ = json.JSONDecoder().raw_decode(user[user.index("{"):])
        rng = random.Random(f"{self.seed}|{body.get('seed')}|{user}|{name}")
        with self._lock:
            self.calls[name] = self.calls.get(name, 0) + 1
        texts = self._clean(facts, rng)
        errors: list[str] = []
        if name == "rewrite":
            with self._lock:
                self.optical_seen.append(user[user.index("OPTICAL CAPTION:"):].splitlines()[1])
        if name in ("hcot", "rewrite") and rng.random() < self.error_rate:
            texts, kind = self._inject(texts, facts, rng)
            errors = [kind] if kind != "none" else []
        if name == "proofread" and rng.random() >= self.fix_rate:
            start = user.index("CAPTION:")  # a failed fix: the caption comes back unchanged
            lines = user[start:].splitlines()
            texts = {"concise": lines[1].removeprefix("concise: "),
                     "detailed": lines[2].removeprefix("detailed: ")}
            errors = ["unfixed"]
        self._register(texts, errors)
        if name in ("proofread", "rewrite"):
            return texts
        return {"l1_imaging": "sensor facts", "l2_land_use": "land cover facts",
                "l3_scattering": "bright metal returns, speckle", "l4_instances": "counts",
                "l5_calibration": "consistent", **texts,
                "fields": {k: "none" for k in ("terrain", "functionality", "distribution",
                                                 "layout", "boundary", "buildings", "roads",
                                                 "water")},
                "target": None}


#: a ready responder for ``python -m tests.fake_openai --responder tests.caption_responder:caption``
caption = CaptionResponder(seed=0)
