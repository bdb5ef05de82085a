"""Rule captions: concise and detailed captions verbalised from SceneFacts alone.

They are true by construction (every number, category and position comes from the facts) and
serve as the offline default (``--llm rules``) and as the fallback of the proofreading loop.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from narrator.errors import ConfigError
from narrator.facts import GRID_NAMES
from narrator.ids import make_id
from narrator.resources import template_path
from narrator.text import Vocabulary, cell_phrase, default_vocabulary, join_list, load_yaml

#: land-cover classes whose backscatter is low (dark in SAR amplitude)
_DARK = {"water", "bare soil", "bare", "sand", "road", "runway"}
_CELL_ORDER = [cell for row in GRID_NAMES for cell in row]


class RuleCaptioner:
    kinds = ("concise", "detailed")

    def __init__(self, path: Path | None = None, vocabulary: Vocabulary | None = None) -> None:
        self.path = path or template_path("captions", "rules.yaml")
        data = load_yaml(self.path) or {}
        try:
            self.version = int(data["version"])
            self.concise: dict[str, str] = data["concise"]
            self.detailed: dict[str, str] = data["detailed"]
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{self.path}: missing or bad field {exc}") from None
        self.vocab = vocabulary or default_vocabulary()

    @classmethod
    def shared(cls) -> RuleCaptioner:
        """The default captioner, built once per process and again when its template file
        changes (it keeps no state between scenes, so shards and threads can share it)."""
        path = template_path("captions", "rules.yaml")
        stat = path.stat()
        return _shared(path, (stat.st_mtime_ns, stat.st_size))

    def _objects(self, facts: dict[str, Any]) -> str:
        counts = sorted(facts["counts"].items(), key=lambda kv: (-kv[1], kv[0]))
        return join_list([self.vocab[c].count(n) for c, n in counts])

    @staticmethod
    def _sensor(geo: dict[str, Any]) -> str:
        return f"{geo['band']}-band " if geo.get("band") else ""

    def concise_caption(self, facts: dict[str, Any]) -> str:
        dominant = facts.get("dominant_land_cover")
        land = f" of a {dominant} area" if dominant else ""
        key = "objects" if facts["total"] else "empty"
        return self.concise[key].format(sensor=self._sensor(facts["geo"]), land=land,
                                        objects=self._objects(facts))

    def detailed_caption(self, facts: dict[str, Any]) -> str:
        geo, t = facts["geo"], self.detailed
        res = f" at about {geo['gsd_m']:.3g} m resolution" if geo.get("gsd_m") else ""
        if geo.get("platform"):
            pol = f" in {geo['polarization']} polarization" if geo.get("polarization") else ""
            parts = [t["sensor"].format(band=self._sensor(geo), platform=geo["platform"],
                                        polarization=pol, resolution=res)]
        else:
            parts = [t["sensor_unknown"].format(band=self._sensor(geo), resolution=res)]
        land = list(facts["land_cover"].items())
        if len(land) == 1:
            parts.append(t["land_single"].format(dominant=land[0][0]))
        elif land:
            others = join_list([f"{name} ({round(frac * 100)}%)" for name, frac in land[1:]])
            parts.append(t["land"].format(dominant=land[0][0],
                                          dominant_pct=round(land[0][1] * 100), others=others))
        if not facts["total"]:
            parts.append(t["empty"])
            return " ".join(parts)
        parts.append(t["objects"].format(objects=self._objects(facts)))
        for category in sorted(facts["counts"], key=lambda c: (-facts["counts"][c], c)):
            parts.append(self._group(category, facts))
        background = facts.get("dominant_land_cover")
        if background in _DARK:
            parts.append(t["scattering"].format(background=f"dark {background}"))
        return " ".join(parts)

    def _group(self, category: str, facts: dict[str, Any]) -> str:
        noun = self.vocab[category]
        cells = [o["cell"] for o in facts["objects"] if o["category"] == category]
        if len(cells) == 1:
            return self.detailed["group_one"].format(singular=noun.singular,
                                                     where=cell_phrase(cells[0]))
        distinct = sorted(set(cells), key=_CELL_ORDER.index)
        if len(distinct) == 1:
            return self.detailed["group_same"].format(plural=noun.plural,
                                                      where=cell_phrase(distinct[0]))
        names = join_list([f"the {c}" for c in distinct])
        return self.detailed["group_many"].format(plural=noun.plural, cells=f"{names} of the image")

    def rows(self, facts: dict[str, Any]) -> list[dict[str, Any]]:
        scene_id = facts["scene_id"]
        texts = {"concise": self.concise_caption(facts), "detailed": self.detailed_caption(facts)}
        return [{
            "caption_id": make_id(scene_id, kind, "rules"),
            "scene_id": scene_id, "kind": kind, "text": text, "status": "accepted",
            "generator": "rules", "template_id": f"rules.{kind}.v{self.version}",
            "params": {"facts_version": facts["version"]},
        } for kind, text in texts.items()]


@lru_cache(maxsize=1)
def _shared(path: Path, stamp: tuple[int, int]) -> RuleCaptioner:
    """One captioner per template file version (``stamp``: its mtime and size)."""
    return RuleCaptioner(path)
