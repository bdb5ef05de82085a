"""Claims about the scene rather than its objects: sensor metadata, resolution, acquisition
time, land cover, colour given to a surface, optical-only phrases, place names."""

from __future__ import annotations

import re

from narrator.screen.claims import Claim, sentences
from narrator.screen.quantity import NUMBERS
from narrator.screen.vocab import ScreenVocabulary, default_vocabulary

_MONTHS = ("january february march april may june july august september october november "
           "december").split()
_RESOLUTION = re.compile(
    r"(?P<v>\d+(?:\.\d+)?)\s*(?:-\s*)?(?:m|metres?|meters?|metre|meter)(?:[\s-]+(?:\w+\s+){0,2}?)?"
    r"(?=[\s-]*/?\s*(?:(?:ground\s+)?resolution|pixel\s+spacing|pixels?\b|px\b|gsd|ground[\s-]sampl|"
    r"spacing|posting|res\b|grid|per\s+pixel|/\s*px|sampling))"
    r"|(?:resolution|pixel\s+spacing|gsd|spacing|pixel\s+size)\s+(?:of\s+)?(?:about\s+|around\s+|"
    r"roughly\s+|approximately\s+|~\s*|nearly\s+|some\s+)?(?P<w>\d+(?:\.\d+)?)\s*(?:m|metres?|"
    r"meters?)\b", re.I)
_DATE = re.compile(
    rf"\b(?P<month>{'|'.join(m for m in _MONTHS if m != 'may')}|May(?=\s+\d))\b"
    r"|\b(?P<year>(?:19[89]|20[0-4])\d)\b(?!\s*(?:m\b|metres|meters|px|pixels|ships|vessels))"
    r"|\b(?P<season>winter|summer|autumn|spring(?=\s+(?:acquisition|image|scene|pass|season)))\b"
    r"|(?P<tod>\b(?:early\s+)?(?:morning|evening|night-?time|overnight|afternoon|dawn|dusk)\s+"
    r"(?:pass|acquisition|overpass|image|scene|capture|collect)|\b(?:acquired|captured|taken|"
    r"imaged|collected|recorded)\s+(?:in\s+the\s+)?(?:morning|evening|afternoon|at\s+night))"
    r"|(?P<clock>\b(?:[01]?\d|2[0-3]):[0-5]\d\s*(?:UTC|GMT|Z)\b)",
    re.I)
_ORBIT = re.compile(r"\b(?P<o>ascending|descending)\b(?=[\s-]*(?:pass|orbit|track|node|"
                    r"geometry|acquisition|direction|overpass))", re.I)
_INCIDENCE = re.compile(r"(?P<v>\d+(?:\.\d+)?)\s*(?:°|deg\w*)\s*(?:\w+\s+){0,2}?(?=incidence)"
                        r"|incidence(?:\s+angle)?\s+(?:of\s+|is\s+|was\s+|near\s+)?(?:about\s+|"
                        r"around\s+|roughly\s+|nearly\s+|"
                        r"approximately\s+|~\s*)?(?P<w>\d+(?:\.\d+)?)", re.I)
_DOMINANT = re.compile(r"\b(?:mostly|predominantly|dominated\s+by|largely|mainly|primarily|"
                       r"chiefly|overwhelmingly|majority\s+of\s+the\s+(?:scene|image|frame)\s+"
                       r"is|most\s+of\s+the\s+(?:scene|image|frame)\s+is)\s+(?:covered\s+by\s+|"
                       r"made\s+up\s+of\s+|consists\s+of\s+|of\s+)?(?:[\w-]+\s+){0,2}?$", re.I)
_DOMINATES_AFTER = re.compile(r"^\s*(?:dominates|dominate|covers\s+most|makes\s+up\s+most|"
                              r"occupies\s+most|takes\s+up\s+most)", re.I)
_PCT = re.compile(r"(?P<v>\d+(?:\.\d+)?)\s*(?:%|percent|per\s+cent)", re.I)
_FRACTION = re.compile(r"\b(?P<f>half|a\s+third|one[\s-]third|two[\s-]thirds|a\s+quarter|"
                       r"one[\s-]quarter|three[\s-]quarters)\b", re.I)
_FRACTIONS = {"half": 0.5, "a third": 1 / 3, "one third": 1 / 3, "two thirds": 2 / 3,
              "a quarter": 0.25, "one quarter": 0.25, "three quarters": 0.75}
_SURFACE = re.compile(
    r"^[\s-]*(?:(?:painted|coloured|colored|roofed|hulled)\b|(?:[\w-]+\s+)?(?:hull|hulls|deck|"
    r"decks|roof|roofs|rooftops?|apron|aprons|tarmac|runways?|taxiways?|concrete|asphalt|"
    r"pavement|paint|paintwork|fuselages?|wings?|superstructures?|containers?|cargo|sand|"
    r"beach|soil|grass|vegetation|trees|fields?|buildings?|ships?|vessels?|boats?|aircraft|"
    r"planes?|jets?|airliners?|cars?|tanks?|bridges?|docks?|piers?|liveries|livery|"
    r"structures?|surfaces?|ground|land|terrain|slopes?|ash|rock|crater)\b)", re.I)
_GENERIC_PLACE = (r"(?:Gulf|Bay|Strait|Sea|Port|Lake|Mount|River|Isle|Island|Cape|Region|Province|"
                  r"State|City|County|District|Republic|Kingdom|Prefecture|Municipality)")
_PLACE_CUE = re.compile(
    r"\b(?:off\s+the\s+coast\s+of|coast\s+of|port\s+of|Port\s+of|harbou?r\s+of|city\s+of|"
    r"island\s+of|near|in|at|over|outside|around|of|along|across|off|from|by|on|beside|"
    r"alongside|within)\s+(?:the\s+)?"
    rf"(?P<name>{_GENERIC_PLACE}\s+of\s+(?:the\s+)?[A-Z][a-z]+(?:[\s-][A-Z][a-z]+)*|"
    r"[A-Z][a-z]{2,}(?:[\s-][A-Z][a-z]+)*(?:\s+(?:River|Strait|Bay|Gulf|Sea|Island|Islands|"
    r"Harbou?r|Port|Airport|International\s+Airport|Estuary|Delta|Canal|Channel))?)\b"
    rf"|(?P<name2>{_GENERIC_PLACE}\s+of\s+[A-Z][a-z]+)"
    r"|(?P<name3>(?:[A-Z][a-z]+[\s-]){1,4}(?:International\s+)?(?:Airport|Airfield|Air\s+Base|"
    r"Airbase|Harbou?r|Naval\s+Base|Naval\s+Station|Shipyard|Dockyard|Container\s+Terminal|"
    r"Port|Bay|Strait|Estuary|Canal|Island|Islands|Peninsula|Gulf)\b)")


_CONNECTORS = {"and", "or", "to", "on", "in", "against"}


def _in_spans(pos: int, spans: list[tuple[int, int]]) -> bool:
    return any(a <= pos < b for a, b in spans)


def metadata_claims(text: str, vocab: ScreenVocabulary) -> list[Claim]:
    out: list[Claim] = []
    for m in vocab.re_platform.finditer(text):
        out.append(Claim("platform", m.group(0), m.group(0), m.span(), m.group(0)))
    for m in vocab.re_band.finditer(text):
        out.append(Claim("band", m.group("band"), m.group("band"), m.span(), m.group(0)))
    for m in vocab.re_pol.finditer(text):
        if m.group("pol") and m.group("pol") != m.group("pol").upper():
            continue  # "vv" in lower case is not a polarization
        value = (" ".join(vocab.re_pol_case.findall(m.group("pol"))) if m.group("pol")
                 else m.group("kind").lower().split("-")[0].split()[0][:4])
        out.append(Claim("polarization", value, value, m.span(), m.group(0)))
    for m in vocab.re_mode.finditer(text):
        mode = m.group("mode") or m.group("mode2")
        out.append(Claim("mode", mode, mode, m.span(), m.group(0)))
    for m in _RESOLUTION.finditer(text):
        out.append(Claim("resolution", "gsd", float(m.group("v") or m.group("w")), m.span(),
                         m.group(0)))
    for m in _DATE.finditer(text):
        kind = next(k for k in ("month", "year", "season", "tod", "clock") if m.group(k))
        out.append(Claim("time", kind, m.group(kind).lower(), m.span(), m.group(0)))
    for m in _ORBIT.finditer(text):
        out.append(Claim("orbit", "orbit", m.group("o").lower(), m.span(), m.group(0)))
    for m in _INCIDENCE.finditer(text):
        out.append(Claim("incidence", "angle", float(m.group("v") or m.group("w")), m.span(),
                         m.group(0)))
    return out


_LAND_SKIP_BEFORE = re.compile(r"(?:built-up|built\s+up|bare|open|dry|agricultural|urban|"
                               r"developed|farm|crop|grass|forest|wet|flooded|volcanic)\s+$",
                               re.I)
_LAND_SKIP_AFTER = re.compile(r"^[\s-]*(?:cover|use|classes|class|mask|share|shares|"
                              r"categories|based|-based|side|ward|wards)\b", re.I)


def land_claims(text: str, vocab: ScreenVocabulary) -> list[Claim]:
    out: list[Claim] = []
    found = [(m, vocab.land_of(m.group(0))) for m in vocab.re_land.finditer(text)]
    for m in vocab.re_land_word.finditer(text):
        if not _LAND_SKIP_BEFORE.search(text[:m.start()]) and not any(
                a.start() <= m.start() < a.end() for a, _ in found):
            found.append((m, "land"))
    context = [m.span() for m in vocab.re_context.finditer(text)]
    mentions = []
    for m, cls in sorted(found, key=lambda f: f[0].start()):
        if cls is None or _in_spans(m.start(), context) or _LAND_SKIP_AFTER.match(
                text[m.end():]):
            continue
        mentions.append((m, cls))
        if re.search(r"\b(?:no|without|free\s+of|devoid\s+of|lack\s+of|absence\s+of|nor|not\s+any)"
                     r"\s+(?:[\w-]+\s+){0,2}$", text[:m.start()], re.I):
            out.append(Claim("land_absent", cls, True, m.span(), m.group(0)))
            continue
        out.append(Claim("land_mention", cls, True, m.span(), m.group(0)))
        if _DOMINANT.search(text[:m.start()][-80:]) or _DOMINATES_AFTER.match(text[m.end():]):
            out.append(Claim("land_dominant", cls, True, m.span(), m.group(0)))
    out += _shares(text, mentions)
    return out


def _shares(text: str, mentions: list) -> list[Claim]:
    """Each percentage (or "half", "a third" of the scene) goes to the nearest land word of
    its clause: right after it ("about 60% water") or right before ("water (60%)")."""
    out = []
    values = [(m.start(), m.end(), float(m.group("v")) / 100) for m in _PCT.finditer(text)]
    for f in _FRACTION.finditer(text):
        if re.search(r"\b(?:left|right|upper|lower|top|bottom|eastern|western|northern|"
                     r"southern|other|first|second|north|south|east|west)[\s-]+$",
                     text[:f.start()], re.I):
            continue
        if re.search(r"(?:of\s+the\s+(?:scene|image|frame)|cover|covers|covered)",
                     text[max(0, f.start() - 40):f.end() + 40], re.I):
            values.append((f.start(), f.end(),
                           _FRACTIONS[re.sub(r"[\s-]+", " ", f.group("f").lower())]))
    for a, b, v in values:
        best, dist = None, 10**9
        for m, cls in mentions:
            gap = text[b:m.start()] if m.start() >= b else text[m.end():a]
            if re.search(r"[;.]|\bwhile\b|\bwhereas\b|\band\b|\bwith\b", gap):
                continue
            if "," in gap or "(" in gap and m.start() >= b:
                continue
            d = len(gap) + (0 if m.start() >= b else 1)
            if d < dist:
                best, dist = (m, cls), d
        if best is not None and dist <= 60:
            m, cls = best
            out.append(Claim("land_share", cls, v, (min(a, m.start()), max(b, m.end())),
                             text[min(a, m.start()):max(b, m.end())]))
    return out


_PRED_COLOUR = re.compile(
    r"\b(?:hulls?|decks?|roofs?|rooftops?|aprons?|tarmac|runways?|taxiways?|fuselages?|"
    r"superstructures?|containers?|paint(?:work)?|liveries|livery)\s+(?:is|are|look|looks|"
    r"appear|appears|seem|seems)\s+(?:(?:mostly|mainly|largely|light|dark|pale)\s+)?"
    r"(?P<c>[a-z]+(?:-[a-z]+)?)\b(?![\s-]+(?:returns?|spots?|points?|pixels?|echo))"
    r"|\b(?:painted|coloured|colored)\s+(?:in\s+)?(?:(?:light|dark|pale|bright)\s+)?"
    r"(?P<c2>[a-z]+)\b", re.I)


def tone_claims(text: str, vocab: ScreenVocabulary, places: list[tuple[int, int]]
                ) -> list[Claim]:
    """Colours given to surfaces and optical-only phrases."""
    out = [Claim("colour", m.group(0).lower(), True, m.span(), m.group(0))
           for m in vocab.re_colour.finditer(text) if not _in_spans(m.start(), places)]
    for m in vocab.re_achromatic.finditer(text):
        nxt = re.match(r"[\s-]*([\w-]+)", text[m.end():])
        word = nxt.group(1).lower() if nxt else ""
        if word in vocab.tone_nouns or word.rstrip("s") in vocab.tone_nouns:
            continue
        surface = _SURFACE.match(text[m.end():])
        if surface:
            after = re.match(r"[\s-]*([\w-]+)", text[m.end() + surface.end():])
            word = after.group(1).lower() if after else ""
            if word not in _CONNECTORS and (word in vocab.tone_nouns
                                            or word.rstrip("s") in vocab.tone_nouns):
                continue  # "bright white ship returns": the tone of the returns
            out.append(Claim("colour", m.group(0).lower(), True, m.span(), m.group(0)))
    for m in _PRED_COLOUR.finditer(text):  # "the hulls are grey", "painted white"
        key = "c" if m.group("c") else "c2"
        word = m.group(key)
        if (vocab.re_achromatic.fullmatch(word) or vocab.re_colour.fullmatch(word)) and not any(
                c.span[0] <= m.start(key) < c.span[1] for c in out):
            out.append(Claim("colour", word.lower(), True, m.span(key), word))
    for a, b in sentences(text):
        s = text[a:b]
        if vocab.re_radar_cue.search(s):
            continue
        for m in vocab.re_optical.finditer(s):
            if re.search(r"radar\s+$", s[:m.start()], re.I):
                continue
            out.append(Claim("optical", m.group(0).lower(), True, (a + m.start(), a + m.end()),
                             m.group(0)))
    return out


def place_claims(text: str, vocab: ScreenVocabulary, skip: set[str]) -> list[Claim]:
    spans: dict[tuple[int, int], str] = {m.span(): m.group(0) for m in
                                         vocab.re_place.finditer(text)}
    for m in _PLACE_CUE.finditer(text):
        key = next(k for k in ("name", "name2", "name3") if m.group(k))
        name, start = m.group(key), m.start(key)
        if key == "name3":  # "Beijing Capital International Airport": the proper words
            words = name.split()
            while words and words[0].lower() in skip:
                words.pop(0)
            if len(words) < 2:
                continue
            name, start = " ".join(words), start + len(name) - len(" ".join(words))
        if name.lower() in skip or name.split()[0].lower() in skip:
            continue
        if any(a <= start < b for a, b in spans):
            continue
        spans[(start, start + len(name))] = name
    out = [Claim("place", vocab.demonyms.get(name, name), vocab.demonyms.get(name, name), span,
                  name) for span, name in sorted(spans.items())]
    for m in vocab.re_demonym.finditer(text):  # "a Chinese port": the country it names
        if not any(a <= m.start() < b for a, b in spans):
            country = vocab.demonyms[m.group("d")]
            out.append(Claim("place", country, country, m.span("d"), m.group("d")))
    return out


def place_skip_words(vocab: ScreenVocabulary) -> set[str]:
    """Capitalised words that are not places: sensors, fine types, months, sentence words."""
    words = {p.lower() for p in vocab.platforms} | {w for w in vocab.fine} | set(_MONTHS)
    words |= {t for p in vocab.platforms for t in re.split(r"[\s-]+", p.lower()) if len(t) > 2}
    words |= {w.lower() for w in vocab.modes} | set(NUMBERS)
    words |= {t for w in vocab.modes for t in re.split(r"[\s-]+", w.lower()) if len(t) > 2}
    words |= {"single", "look", "complex", "detected", "level", "product", "open", "data",
              "program", "programme", "mission", "constellation", "satellite", "figure",
              "table", "note", "json", "caption", "interferometric", "wide", "swath"}
    words |= {"sar", "radar", "the", "this", "airbus", "boeing", "comac", "synthetic",
              "aperture", "image", "scene", "ship", "vessel", "sentinel", "copernicus", "esa",
              "north", "south", "east", "west", "ground", "range", "azimuth", "in", "at",
              "there", "several", "both", "one", "two", "three", "it", "its", "overall",
              "hh", "vv", "hv", "vh", "gsd", "ais", "grd", "slc", "utc", "dual", "quad"}
    return words


def scene_claims(text: str, vocab: ScreenVocabulary | None = None) -> tuple[list[Claim],
                                                                           list[tuple[int, int]]]:
    """The scene claims of ``text`` and the spans of place names (not object words)."""
    vocab = vocab or default_vocabulary()
    places = place_claims(text, vocab, place_skip_words(vocab))
    place_spans = [c.span for c in places]
    claims = metadata_claims(text, vocab) + land_claims(text, vocab) + places
    claims += tone_claims(text, vocab, place_spans)
    return claims, place_spans
