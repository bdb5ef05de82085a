"""Rule captions: concise and detailed captions verbalised from SceneFacts alone.

They are true by construction (every number, category, position and place comes from the
facts) and serve as the offline default (``--llm rules``) and as the fallback of the
proofreading loop. The concise caption is one of several paraphrases (picked by a hash of the
scene id) and names what tells scenes apart: where the scene is (geo facts), the size and
place of up to three targets (metres with a GSD, else pixels) or the spread of more; a scene
without targets is described by what it covers and where, never by "no annotated targets".
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from narrator.errors import ConfigError
from narrator.facts import GRID_NAMES
from narrator.ids import make_id, stable_seed
from narrator.resources import template_path
from narrator.text import (Vocabulary, article, cell_phrase, default_vocabulary, is_catch_all,
                           join_list, load_yaml)
from narrator.vqa.context import sig3
from narrator.vqa.geo import coast_phrase, scene_phrase, sea_sentence, where_phrase

#: land-cover classes whose backscatter is low (dark in SAR amplitude)
_DARK = {"water", "bare soil", "bare", "sand", "road", "runway"}
_CELL_ORDER = [cell for row in GRID_NAMES for cell in row]


def _num(value: float) -> str:
    """Three significant figures without a trailing '.0': 60.0 -> '60', 0.594 -> '0.594'."""
    text = sig3(value)
    return text.rstrip("0").rstrip(".") if "." in text else text


def _variants(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


class RuleCaptioner:
    kinds = ("concise", "detailed")

    def __init__(self, path: Path | None = None, vocabulary: Vocabulary | None = None) -> None:
        self.path = path or template_path("captions", "rules.yaml")
        data = load_yaml(self.path) or {}
        try:
            self.version = int(data["version"])
            self.concise = {k: _variants(v) for k, v in data["concise"].items()}
            self.detailed: dict[str, str] = data["detailed"]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
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

    @staticmethod
    def _size(o: dict[str, Any]) -> str:
        """'about 53 m long', or 'about 45 by 12 pixels' without a GSD (the number never
        stands before the noun, where it would read as a count)."""
        if o.get("length_m"):  # whole metres: a decimal point reads as a sentence end
            return f"about {max(round(o['length_m']), 1)} m long"
        return f"about {round(o['length_px'])} by {round(o['width_px'])} pixels"

    def _named(self, o: dict[str, Any]) -> str:
        """'a ship', 'an aircraft of type Boeing 787' (the type after the noun: a number
        before it would read as a count), 'an aircraft of another type' (catch-all)."""
        noun = self.vocab[o["category"]]
        fine = o.get("fine_type")
        if not fine:
            return f"{noun.article} {noun.singular}"
        if is_catch_all(fine):
            return f"{noun.article} {noun.singular} of another type"
        return f"{noun.article} {noun.singular} of type {fine}"

    def _detail(self, facts: dict[str, Any]) -> str:
        """Sizes and places of up to three targets, or where many are and how arranged."""
        objs = facts["objects"]
        if len(objs) <= 3:
            parts = [f"{self._named(o)} {self._size(o)} {cell_phrase(o['cell'])}"
                     for o in sorted(objs, key=lambda o: -o["length_px"])]
            return ": " + join_list(parts)
        counts = facts["counts"]
        main = min(counts, key=lambda c: (-counts[c], c))  # the most numerous category
        mine = [o for o in objs if o["category"] == main]
        cells = sorted({o["cell"] for o in mine}, key=_CELL_ORDER.index)
        largest = max(mine, key=lambda o: o["length_px"])
        where = (cell_phrase(cells[0]) if len(cells) == 1
                 else "spread across " + join_list([f"the {c}" for c in cells]) + " of the image")
        size = (f"{max(round(largest['length_m']), 1)} m" if largest.get("length_m")
                else f"{round(largest['length_px'])} pixels")
        arr = (facts.get("arrangement") or {}).get(main)
        lay = f" and {arr['label']}" if arr and arr.get("clear") and len(mine) >= 3 else ""
        noun = self.vocab[main]
        return (f", the {noun.plural if len(mine) > 1 else noun.singular} {where}{lay}, "
                f"the largest about {size} long" if len(mine) > 1 else
                f", the {noun.singular} {where}, about {size} long")

    def concise_caption(self, facts: dict[str, Any]) -> str:
        geo = facts["geo"]
        where = where_phrase(geo)
        sensor = self._sensor(geo)
        dominant = facts.get("dominant_land_cover")
        land = (f" over a mostly {dominant} area" if dominant and facts["total"]
                and not dominant.lower().startswith(("not ", "non-", "no ")) else "")
        slots = {"sensor": sensor, "a": "an" if sensor[:1] in ("X", "L", "S") else "a", "sensor_cap": (sensor[:1].upper() + sensor[1:]) or "",
                 "where": land + (f" {where}" if where else ""),
                 "objects": self._objects(facts), "be": "is" if facts["total"] == 1 else "are"}
        slots["Objects"] = slots["objects"][:1].upper() + slots["objects"][1:]
        if facts["total"]:
            key, slots["detail"] = "objects", self._detail(facts)
        else:
            key, slots["scene"] = "empty", scene_phrase(facts, self.vocab)
        variants = self.concise[key]
        text = variants[stable_seed(0, facts["scene_id"]) % len(variants)].format(**slots)
        return text[:1].upper() + text[1:]

    def _sensor_sentence(self, geo: dict[str, Any]) -> str:
        t = self.detailed
        res = f" with a pixel spacing of about {_num(geo['gsd_m'])} m" if geo.get("gsd_m") else ""
        pol = f" in {geo['polarization']} polarization" if geo.get("polarization") else ""
        if geo.get("platform"):
            return t["sensor"].format(band=self._sensor(geo), platform=geo["platform"],
                                      polarization=pol, resolution=res)
        return t["sensor_unknown"].format(band=self._sensor(geo), polarization=pol,
                                          resolution=res)

    def _geo_sentences(self, geo: dict[str, Any], land_cover: bool) -> list[str]:
        """Where the scene is; land or sea by the coarse global mask only when no land-cover
        mask says what the ground is (the mask is finer, and they must not disagree)."""
        out, where = [], where_phrase(geo)
        if where:
            climate = (f", in {article(geo['climate'])} {geo['climate']} climate zone"
                       if geo.get("climate") else "")
            out.append(self.detailed["where"].format(where=where, climate=climate))
        if geo.get("surface") and not land_cover:
            surface = {"land": "land only", "sea": "sea only"}.get(geo["surface"], geo["surface"])
            if geo.get("island_km2"):
                surface += f", on an island of about {_num(geo['island_km2'])} km²"
            sea = sea_sentence(geo)
            surface += "" if sea else coast_phrase(geo)
            out.append(self.detailed["surface"].format(surface=surface))
            if sea:
                out.append(sea)
        if geo.get("rotation_deg") is not None:
            out.append(f"The image grid is rotated by about {round(abs(geo['rotation_deg']))} "
                       "degrees from the map's east-west axis.")
        return out

    def detailed_caption(self, facts: dict[str, Any]) -> str:
        geo, t = facts["geo"], self.detailed
        parts = [self._sensor_sentence(geo),
                 *self._geo_sentences(geo, bool(facts["land_cover"]))]
        land = list(facts["land_cover"].items())
        if "water" in facts["land_cover"] and set(facts["land_cover"]) <= {"water", "not water"}:
            parts.append(t["water"].format(water_pct=round(facts["land_cover"]["water"] * 100)))
        elif len(land) == 1:
            parts.append(t["land_single"].format(dominant=land[0][0]))
        elif land:
            others = join_list([f"{name} ({round(frac * 100)}%)" for name, frac in land[1:]])
            parts.append(t["land"].format(dominant=land[0][0],
                                          dominant_pct=round(land[0][1] * 100), others=others))
        if not facts["total"]:
            if facts.get("absent"):
                absent = " or ".join(self.vocab[c].plural for c in facts["absent"][:3])
                parts.append(t["empty"].format(absent=absent))
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
