"""Probe sentences per phenomenon class (issue 15), built from the agreed semantics
(README "Screening") against scenes made by seeded code, in the varied phrasing vision-language
models use: each class has true and false variants, generated from templates so that a rule
written for one wording is tested on many.

Classes: place names with and without a known location; a fine type picked by position;
distributive size and position claims ("each", "all", "both"); miscounts with size words,
counts per region that add up, subset claims ("four of the ships are tiny"); and true
captions that must not be rejected (hedges, synonyms, radar vocabulary, vague quantities,
scoped negations that hold).
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from narrator.screen import screen_text
from tests.test_screen_semantics import _scene as _plain_scene


def _scene(objects: list[tuple[str, str | None, float, float, float]],
           geo: dict | None = None, size: int = 1000) -> dict[str, Any]:
    """Facts with objects (category, fine type, centre x, y as fractions, box side in px):
    test_screen_semantics' scene, with fine types."""
    facts = _plain_scene([(cat, fx, fy, side) for cat, _, fx, fy, side in objects], geo,
                         size=size)
    for obj, (_, fine, *_) in zip(facts["objects"], objects):
        obj["fine_type"] = fine
    return facts


def _jitter(rng: random.Random, x: float, y: float) -> tuple[float, float]:
    return x + rng.uniform(-0.04, 0.04), y + rng.uniform(-0.04, 0.04)


def _airport(seed: int) -> dict[str, Any]:
    """Four aircraft of four types, one near each corner (seeded jitter), and one in the
    centre."""
    rng = random.Random(seed)
    spots = [("A330", 0.12, 0.12), ("Boeing 737", 0.88, 0.12), ("ARJ21", 0.12, 0.88),
             ("A220", 0.88, 0.88), ("Boeing 787", 0.5, 0.5)]
    return _scene([("aircraft", t, *_jitter(rng, x, y), 40) for t, x, y in spots],
                  geo={"gsd_m": 1.0})


AIRPORT = _airport(7)
CORNERS = {"A330": ["upper left", "top-left corner", "upper-left quadrant", "top left",
                    "northwest corner"],
           "Boeing 737": ["upper right", "top-right corner", "upper-right quadrant",
                          "top right", "northeast corner"],
           "ARJ21": ["lower left", "bottom-left corner", "lower-left quadrant", "bottom left",
                     "southwest corner"],
           "A220": ["lower right", "bottom-right corner", "lower-right quadrant",
                    "bottom right", "southeast corner"]}
NAMES = {"A330": ["an A330", "an Airbus A330"], "Boeing 737": ["a Boeing 737", "a 737"],
         "ARJ21": ["an ARJ21", "a COMAC ARJ21"], "A220": ["an A220", "an Airbus A220"]}
SUBJECTS = ["the aircraft {p}", "the one {p}", "the plane {p}", "the airframe {p}",
            "the jet {p}"]
COPULAS = ["is {n}", "appears to be {n}", "looks like {n}", "is likely {n}", "seems to be {n}"]
LEADS = ["Five aircraft are parked; ", "Five aircraft; ", "The apron holds five planes, and ",
         "There are five aircraft. ", "Five airliners are visible; "]


def _fine_by_position() -> list[tuple[str, bool]]:
    rng = random.Random(15)
    out = []
    for k in range(48):
        truth = list(CORNERS)[k % 4]
        said = truth if k % 2 == 0 else rng.choice([t for t in NAMES if t != truth])
        place = CORNERS[truth][k % 5]
        prep = "at the" if "corner" in place else "in the"
        subj = SUBJECTS[(k // 2) % 5].format(p=f"{prep} {place}")
        text = LEADS[k % 5] + subj + " " + COPULAS[(k // 3) % 5].format(
            n=rng.choice(NAMES[said])) + "."
        out.append((text[0].upper() + text[1:], said == truth))
    return out


@pytest.mark.parametrize(("text", "ok"), _fine_by_position())
def test_fine_type_picked_by_position(text: str, ok: bool) -> None:
    v = screen_text(text, AIRPORT)
    assert v.ok == ok, [(x.type, x.text, x.expected) for x in v.violations]


#: six ships in the upper half (two large, 8% of the image each; four medium, 1%), four tiny
#: ones in the lower right; seeded jitter
def _harbour(seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    objs = [("ship", None, *_jitter(rng, 0.2, 0.15), 290),
            ("ship", None, *_jitter(rng, 0.75, 0.2), 285)]
    objs += [("ship", None, *_jitter(rng, x, 0.3), 100) for x in (0.15, 0.4, 0.6, 0.85)]
    objs += [("ship", None, *_jitter(rng, x, y), 12) for x, y in
             ((0.7, 0.7), (0.85, 0.72), (0.75, 0.88), (0.88, 0.9))]
    return _scene(objs, geo={"gsd_m": 2.0})


HARBOUR = _harbour(3)  # ten ships


def _counts() -> list[tuple[str, bool]]:
    rows = [
        # counts with size words: the total, or the number of that size
        ("Two large ships.", True), ("Two large ships dominate the upper half.", True),
        ("Three large ships.", False), ("Four large vessels are moored.", False),
        ("Four small ships.", True), ("Eight small ships.", False),
        ("Twelve small boats.", False),
        ("Five tiny vessels.", False), ("Four tiny vessels.", True),
        ("Two big tankers and eight small boats.", True),
        ("Two big tankers and six small boats.", False),
        ("Three big ships and eight small ones.", False),
        # per-region parts add up to the total
        ("Six ships in the upper half and four in the lower right.", True),
        ("Six ships in the upper half and three in the lower right.", False),
        ("Five ships in the upper half and four in the lower right.", False),
        ("Four ships in the lower right and six in the upper half.", True),
        ("Four vessels in the lower-right quadrant and five in the top half.", False),
        ("Six vessels in the northern half and four in the south-east.", True),
        ("Seven vessels in the northern half and four in the south-east.", False),
        ("Two large ships at the top and eight small ones elsewhere.", True),
        ("Two large ships at the top and six small ones elsewhere.", False),
        # subset claims: at least that many of that size
        ("Four of the ships are tiny.", True), ("Five of the ships are tiny.", False),
        ("Two of the vessels are large.", True), ("Three of the vessels are large.", False),
        ("Four of the boats are large.", False),
        # vague quantities
        ("About ten ships.", True), ("Roughly a dozen ships.", True),
        ("Nearly a dozen vessels.", True), ("A handful of ships.", False),
        ("Several ships.", False), ("Many ships are visible.", True), ("Dozens of ships.", False),
        ("More than eight ships.", True), ("Fewer than eight ships.", False),
        ("At least twelve ships.", False), ("Up to ten vessels.", True),
        ("A fleet of ten vessels.", True), ("Over a dozen vessels.", False),
        ("Between eight and twelve ships.", True), ("Two or three ships.", False),
        ("Ten ships: two large ones and eight small ones.", True),
        ("Ten ships: two large ones and seven small ones.", False),
    ]
    return rows


@pytest.mark.parametrize(("text", "ok"), _counts())
def test_counts_with_sizes_regions_and_subsets(text: str, ok: bool) -> None:
    v = screen_text(text, HARBOUR)
    assert v.ok == ok, [(x.type, x.text, x.expected) for x in v.violations]


def _distributive() -> list[tuple[str, bool]]:
    return [
        # every member must hold (the four small ships are in the lower right, tiny)
        ("Four small ships, all in the lower-right quadrant.", True),
        ("Four small ships, all in the lower half.", True),
        ("Ten ships, all in the upper half.", False),
        ("Ten ships, all clustered in the upper half of the image.", False),
        ("Two large vessels, both in the upper third.", True),
        ("Two large vessels, both in the lower half.", False),
        ("Two large vessels, both located near the bottom edge.", False),
        ("Ten ships, each a tiny point-like target.", False),
        ("Ten ships, each one a small object.", False),
        ("Two large vessels, each a large object occupying a large part of the scene.", True),
        ("Ten vessels are present, each one a large object.", False),
        ("All ten ships are tiny.", False), ("All ten ships lie in the upper half.", False),
        ("Both large ships lie in the upper half.", True),
        ("Both large ships lie in the lower half.", False),
        ("The ten ships cluster in the upper half.", False),
        ("Most of the ships lie in the upper half.", True),
        ("Most of the ships lie in the lower half.", False),
        ("No ships in the lower-left quadrant.", True),
        ("No ships in the lower-right quadrant.", False),
        ("The lower-left quadrant is empty.", True),
        ("The lower-right quadrant is empty.", False),
        # a size or type picked by position
        ("Ten ships; the one in the upper left is a large vessel.", True),
        ("Ten ships; the one in the upper left is a tiny, point-like target.", False),
        ("Ten ships; the one near the bottom-right corner is tiny.", True),
        ("Ten ships; the one near the bottom-right corner is a large object.", False),
    ]


@pytest.mark.parametrize(("text", "ok"), _distributive())
def test_distributive_size_and_position(text: str, ok: bool) -> None:
    v = screen_text(text, HARBOUR)
    assert v.ok == ok, [(x.type, x.text, x.expected) for x in v.violations]


NO_PLACE = HARBOUR
PLACED = {**HARBOUR, "geo": {"gsd_m": 2.0, "place": "Qingdao", "admin_region": "Shandong",
                             "country": "China"}}
PLACES_WRONG = ["Rotterdam", "Singapore", "the Port of Los Angeles", "Busan", "Hamburg",
                "Heathrow Airport", "Beijing Capital International Airport", "Shanghai",
                "the Strait of Malacca", "San Francisco Bay"]
PLACES_RIGHT = ["Qingdao", "Shandong", "China", "the Port of Qingdao", "Qingdao, China",
                "Shandong Province"]
PLACE_FRAMES = ["Ten ships near {p}.", "A SAR view of the waters off {p} with ten ships.",
                "{P}: ten vessels lie at anchor.", "Ten ships off the coast of {p}.",
                "This image shows ten ships in {p}."]


def _places() -> list[tuple[str, dict, bool]]:
    out = []
    for i, p in enumerate(PLACES_WRONG * 2):
        frame = PLACE_FRAMES[i % len(PLACE_FRAMES)]
        text = frame.format(p=p, P=p[0].upper() + p[1:])
        out.append((text, NO_PLACE, False))   # no location known: unsupported
        out.append((text, PLACED, False))     # contradicts the known place
    for i, p in enumerate(PLACES_RIGHT * 2):
        frame = PLACE_FRAMES[i % len(PLACE_FRAMES)]
        out.append((frame.format(p=p, P=p[0].upper() + p[1:]), PLACED, True))
    return out


@pytest.mark.parametrize(("text", "facts", "ok"), _places())
def test_place_names(text: str, facts: dict, ok: bool) -> None:
    v = screen_text(text, facts)
    assert v.ok == ok, [(x.type, x.text, x.expected) for x in v.violations]


TRUE_CAPTIONS = [
    "This SAR image appears to show ten vessels, appearing as bright point targets.",
    "Roughly ten ships are visible as bright returns against the dark sea surface.",
    "Several small boats cluster in the lower-right quadrant.",
    "A few tiny vessels sit near the bottom-right corner.",
    "Two large vessels occupy the upper part of the scene; smaller boats lie further down.",
    "There are no vessels in the lower-left quadrant.",
    "No ships appear in the lower-left part of the image.",
    "Radar penetrates cloud cover, so the scene is unaffected by weather.",
    "Speckle gives the water a grainy texture, and double-bounce makes the hulls bright.",
    "The two largest ships show strong double-bounce returns.",
    "The larger vessels lie in the upper half, while smaller boats gather in the lower right.",
    "About a dozen ships, possibly ten, are scattered across the scene.",
    "Multiple ships are present, including two large ones near the top.",
    "Ten ships in total, four of them tiny boats in the lower right.",
    "The vessels appear as bright white spots on dark water.",
    "Calm water shows specular reflection, so it looks dark.",
    "A handful of small vessels, likely fishing boats, sit in the lower right.",
    "Ten boats are visible, the biggest two near the top of the frame.",
    "Two big tankers sit near the top, with eight smaller vessels around.",
    "The upper half holds six ships; the lower-left quadrant is empty.",
]


@pytest.mark.parametrize("text", TRUE_CAPTIONS)
def test_true_captions_pass(text: str) -> None:
    v = screen_text(text, HARBOUR)
    assert v.ok, [(x.type, x.text, x.expected) for x in v.violations]


#: more phrasings: the place before the type, appositions, enumerations with types, lengths said
#: of every member ("each about 20 m"), groups with "all"/"both" (A: the airport, H: the harbour)
MORE = [
    ('A', 'In the upper-left corner sits an A330.', True),
    ('A', 'In the upper-left corner sits a Boeing 737.', False),
    ('A', 'An A220 is parked in the lower right.', True),
    ('A', 'An A330 is parked in the lower right.', False),
    ('A', 'The top-left aircraft is an A330.', True),
    ('A', 'The top-left aircraft is an ARJ21.', False),
    ('A', 'The aircraft at the top left, an A330, is the largest.', True),
    ('A', 'The aircraft at the top left, an ARJ21, is parked near a stand.', False),
    ('A', 'Of the five aircraft, the one in the lower right is an A220.', True),
    ('A', 'Of the five aircraft, the one in the lower right is a Boeing 787.', False),
    ('A', 'The plane nearest the top-right corner appears to be a Boeing 737.', True),
    ('A', 'The plane nearest the top-right corner appears to be an A330.', False),
    ('A', 'Five aircraft: an A330 at the upper left, a 737 at the upper right, an ARJ21 at the lower left, an A220 at the lower right and a 787 in the centre.', True),
    ('A', 'Five aircraft: an A330 at the upper left, a 737 at the upper right, an A220 at the lower left, an ARJ21 at the lower right and a 787 in the centre.', False),
    ('A', 'A Boeing 787 sits in the middle of the apron.', True),
    ('A', 'A Boeing 787 sits in the upper-left corner.', False),
    ('A', 'The central aircraft is a Boeing 787.', True),
    ('A', 'The central aircraft is an A330.', False),
    ('A', 'The aircraft in the centre of the image is a Dreamliner.', True),
    ('A', 'The aircraft in the centre of the image is an A220.', False),
    ('A', 'Five aircraft are visible; the lower-left one is an ARJ21.', True),
    ('A', 'Five aircraft are visible; the lower-left one is an A330.', False),
    ('A', 'Five airliners; the bottom-right jet is likely an Airbus A220.', True),
    ('A', 'Five airliners; the bottom-right jet is likely an Airbus A330.', False),
    ('A', 'The airport apron shows five parked aircraft of different types.', True),
    ('A', 'Five aircraft, including one widebody in the upper left.', True),
    ('A', 'Five aircraft, including one narrowbody in the upper left.', False),
    ('A', 'Two widebodies: one in the upper left and one in the centre.', True),
    ('A', 'Two widebodies: one in the upper right and one in the centre.', False),
    ('H', 'Ten ships, each about 580 m long.', False),
    ('H', 'Two large ships, each about 580 m long.', True),
    ('H', 'Two large ships, each roughly 100 m long.', False),
    ('H', 'The two large ships are each around 570 m in length.', True),
    ('H', 'The four small vessels in the lower right are each about 24 m long.', True),
    ('H', 'The four small vessels in the lower right are each about 200 m long.', False),
    ('H', 'Four tiny boats, all in the lower-right quadrant.', True),
    ('H', 'Four tiny boats, all in the upper-left quadrant.', False),
    ('H', 'The two big ships are both in the top third.', True),
    ('H', 'The two big ships are both in the bottom third.', False),
    ('H', 'Both large vessels sit along the top of the image.', True),
    ('H', 'Both large vessels sit along the bottom of the image.', False),
    ('H', 'All four small boats are in the lower-right quadrant.', True),
    ('H', 'All four small boats are in the upper-left quadrant.', False),
    ('H', 'The small boats all lie in the lower right.', True),
    ('H', 'The small boats all lie in the upper left.', False),
    ('H', 'The vessels are all located in the upper half.', False),
    ('H', 'The vessels are spread across the image, most in the upper half.', True),
]


@pytest.mark.parametrize(("scene", "text", "ok"), MORE)
def test_more_phrasings(scene: str, text: str, ok: bool) -> None:
    v = screen_text(text, {"A": AIRPORT, "H": HARBOUR}[scene])
    assert v.ok == ok, [(x.type, x.text, x.expected) for x in v.violations]


#: place names: P is the harbour located at Qingdao (Shandong, China), H has no location;
#: a name the location does not say is wrong, any name without a location is unsupported
PLACE_PHRASINGS = [
    ('P', 'Ships moored near Qingdao in Shandong province.', True),
    ('P', 'This scene, near Qingdao, shows ten ships.', True),
    ('P', 'Ten vessels in the waters of Shandong, China.', True),
    ('P', 'Ten vessels anchored off Qingdao.', True),
    ('P', 'Ten ships in Jiaozhou Bay near Qingdao.', False),
    ('P', 'Ten vessels near Rotterdam.', False),
    ('P', 'Ten vessels in the Port of Rotterdam, Netherlands.', False),
    ('P', 'Ten vessels in Tokyo Bay.', False),
    ('P', 'Ten vessels off the coast of Japan.', False),
    ('P', 'The image shows the Yangshan Deep-Water Port near Shanghai.', False),
    ('P', 'Ten vessels near Hamburg, Germany.', False),
    ('P', 'Ten vessels at Busan New Port.', False),
    ('P', 'Ten vessels at Dalian, in Liaoning province.', False),
    ('P', 'Ten ships in the Yellow Sea.', False),
    ('H', 'Ten vessels near Qingdao.', False),
    ('H', 'Ten vessels in Jiaozhou Bay.', False),
    ('H', 'The Port of Long Beach with ten ships.', False),
    ('H', 'Ten ships at anchor in Victoria Harbour.', False),
    ('H', 'Ten ships, likely in a Chinese port.', False),
    ('H', 'Ten ships in a busy harbour area.', False),
    ('H', 'Ten ships in open water near a coastline.', True),
    ('H', 'Ten ships in the South China Sea.', False),
    ('H', 'Ten ships in the Mediterranean.', False),
    ('H', 'Ten ships off Marseille.', False),
    ('H', 'Ten ships near the mouth of the Elbe.', False),
    ('H', 'Ten ships along the Suez Canal.', False),
    ('H', 'A Heathrow-like apron.', False),
    ('H', 'Ten ships in coastal waters.', True),
    ('H', 'Ten ships in what looks like a European port.', False),
    ('P', 'Ten vessels in Chinese coastal waters.', True),
    ('P', 'Ten vessels in a Japanese port area.', False),
    ('H', 'Ten vessels in Chinese coastal waters.', False),
    ('H', 'Ten ships, seen by a European radar satellite.', True),
]


@pytest.mark.parametrize(("scene", "text", "ok"), PLACE_PHRASINGS)
def test_place_phrasings(scene: str, text: str, ok: bool) -> None:
    v = screen_text(text, {"P": PLACED, "H": HARBOUR}[scene])
    assert v.ok == ok, [(x.type, x.text, x.expected) for x in v.violations]


#: true captions in hedged, vague and radar wording that must pass (false rejections)
TRUE_PHRASINGS = [
    ('H', 'The scene likely shows around ten vessels of varying sizes.'),
    ('H', 'There appear to be roughly ten ships; two are notably larger than the rest.'),
    ('H', 'Two prominent vessels stand out near the top, accompanied by several smaller targets.'),
    ('H', 'A couple of large ships dominate the northern part of the scene.'),
    ('H', 'In the lower right, a few small boats appear as faint bright dots.'),
    ('H', 'The lower-left quadrant contains no vessels.'),
    ('H', 'No vessels are visible in the bottom-left area.'),
    ('H', 'There is nothing in the lower-left quadrant apart from sea clutter.'),
    ('H', 'The two largest vessels are likely cargo ships or tankers.'),
    ('H', 'Ten bright targets are consistent with ships at sea.'),
    ('H', 'The image shows typical SAR speckle; ships appear as bright returns due to double-bounce scattering.'),
    ('H', 'The dark background indicates calm water, which reflects the radar signal away from the sensor.'),
    ('H', 'Smaller boats, perhaps fishing vessels, are grouped in the lower right.'),
    ('H', 'Most of the vessels are in the upper half of the image.'),
    ('H', 'Several ships line up across the upper half, and a small group sits in the lower right.'),
    ('H', 'A handful of boats cluster in the south-east corner of the frame.'),
    ('H', 'Ten ships in total: six in the upper half and four in the lower right.'),
    ('H', 'The larger two ships lie in the top third, the remaining eight are smaller.'),
    ('H', 'Two very large vessels, probably bulk carriers, are moored near the top.'),
    ('H', 'Multiple small boats are visible in the lower-right part of the scene.'),
    ('H', 'Ships of different sizes are scattered mostly across the upper half.'),
    ('H', 'The image contains ten ship targets with no other objects.'),
    ('H', 'There are no aircraft, vehicles or buildings in this scene.'),
    ('H', 'Ten ships are visible, none of them in the lower-left quadrant.'),
    ('H', 'The vessels are not in the lower-left quadrant.'),
    ('H', 'Four small boats sit in the lower right, while six larger ones are in the upper half.'),
    ('H', 'Approximately ten ships can be seen in this radar image.'),
    ('H', 'Roughly half of the ships are in the upper part.'),
    ('H', 'The sea surface appears dark and homogeneous, with bright point-like vessel signatures.'),
    ('H', 'Two large ships in the upper part, four medium ones in a line below them, and four small ones in the lower right.'),
    ('H', 'Some ten vessels occupy the scene.'),
    ('H', 'Ten or so ships.'),
    ('H', 'Ten-odd ships can be seen.'),
    ('A', 'Five aircraft are parked on the apron, including a Boeing 787 in the center.'),
    ('A', 'The apron hosts five airliners of various types, such as an A330 and an A220.'),
    ('A', 'Five planes are visible; the largest is a Boeing 787 near the center.'),
    ('A', 'Five aircraft are spread towards the corners, with one in the middle.'),
    ('A', 'Aircraft are parked at each corner of the apron and one sits in the centre.'),
    ('A', 'There are five aircraft and no ships.'),
]


@pytest.mark.parametrize(("scene", "text"), TRUE_PHRASINGS)
def test_true_phrasings_pass(scene: str, text: str) -> None:
    v = screen_text(text, {"A": AIRPORT, "H": HARBOUR}[scene])
    assert v.ok, [(x.type, x.text, x.expected) for x in v.violations]


#: miscounts as they are planted: totals, subgroups by size ("three large ships"), shares
#: ("three of them are large"), counts in a region, vague words ("a trio of", "no more than")
COUNT_PHRASINGS = [
    ('Eleven ships are visible.', False),
    ('The image shows 9 vessels.', False),
    ('A total of eleven ships.', False),
    ('I count ten ships.', True),
    ('There are ten ships: two large and eight small.', True),
    ('Ten ships, of which two are large.', True),
    ('Ten ships, of which three are large.', False),
    ('Nine smaller vessels surround two large ones.', False),
    ('Eight smaller vessels and two large ones.', True),
    ('Two large ships along with seven smaller boats.', False),
    ('Ten ships; two of them are large.', True),
    ('Ten ships; three of them are large.', False),
    ('Six ships in the upper half.', True),
    ('Five ships in the upper half.', False),
    ('Four ships in the lower-right quadrant.', True),
    ('Three ships in the lower-right quadrant.', False),
    ('The upper half contains six ships.', True),
    ('The upper half contains seven ships.', False),
    ('Only two ships are in the upper half.', False),
    ('A dozen ships.', False),
    ('About a dozen ships are visible.', True),
    ('At least ten ships are visible.', True),
    ('No more than nine ships are visible.', False),
    ('Ten ships, eight of them small.', False),
    ('Ten ships, four of them small.', True),
    ('Twelve vessels can be counted in this scene.', False),
    ('There are exactly ten vessels in this scene.', True),
    ('There are precisely eleven vessels in this scene.', False),
    ('Around fifteen ships are visible.', False),
    ('Roughly 10 ships are visible.', True),
    ('Two large vessels and a few smaller ones in the upper half, plus four tiny boats in the lower right.', True),
    ('Two large vessels and a few smaller ones in the upper half, plus six tiny boats in the lower right.', False),
    ('A pair of large ships near the top.', True),
    ('A trio of large ships near the top.', False),
    ('A single large ship near the top.', False),
    ('One large ship sits in the upper left and another in the upper right.', True),
    ('One large ship sits in the upper left and another in the lower left.', False),
    ('The two large vessels sit side by side near the top.', True),
    ('Three big vessels occupy the top of the scene.', False),
    ('Only one large vessel is visible.', False),
    ('Ten ships, two of them large, sit close to one another.', True),
]


@pytest.mark.parametrize(("text", "ok"), COUNT_PHRASINGS)
def test_count_phrasings(text: str, ok: bool) -> None:
    v = screen_text(text, HARBOUR)
    assert v.ok == ok, [(x.type, x.text, x.expected) for x in v.violations]


def _flood(known: bool) -> dict[str, Any]:
    """A flood scene (no objects) with land cover; ``known``: with metadata and a location."""
    geo = {"platform": "Sentinel-1A", "band": "C", "polarization": "VV VH", "gsd_m": 10.0,
           "acquired_at": "2019-07-15T05:30:00Z", "orbit_direction": "descending",
           "place": "Murcia", "admin_region": "Region of Murcia", "country": "Spain",
           "center_lat": 38.0, "center_lon": -1.1} if known else {}
    facts = _scene([], geo=geo)
    facts["land_cover"] = {"water": 0.55, "vegetation": 0.3, "built-up": 0.15}
    return facts


#: metadata, land cover, tone, optical phrases and places on a flood scene with (S) and
#: without (U) metadata and location
SCENE_PHRASINGS = [
    ('S', 'A Sentinel-1 C-band image of flooded farmland near Murcia, Spain.', True),
    ('S', 'This VV/VH dual-polarized Sentinel-1A scene shows flooding in southeastern Spain.', True),
    ('S', 'The scene, acquired in July 2019 on a descending pass, is dominated by open water.', True),
    ('S', 'Roughly half of the scene is water, with vegetation covering about 30%.', True),
    ('S', 'Built-up areas make up around 15% of the scene.', True),
    ('S', 'Water dominates the scene, with patches of vegetation and some urban areas.', True),
    ('S', 'At 10 m pixel spacing, field boundaries are hard to discern.', True),
    ('S', 'Floodwater appears dark due to specular reflection away from the sensor.', True),
    ('S', 'The image was captured in summer.', True),
    ('S', 'The image was captured in winter.', False),
    ('S', 'An ascending-pass Sentinel-1 image.', False),
    ('S', 'An HH-polarized image.', False),
    ('S', 'A TerraSAR-X image of the region.', False),
    ('S', 'An X-band image of the flooded area.', False),
    ('S', 'At 3 m resolution, individual buildings are visible.', False),
    ('S', 'Acquired in March 2019.', False),
    ('S', 'The scene is mostly vegetation.', False),
    ('S', 'About 80% of the scene is water.', False),
    ('S', 'Large areas of bare soil surround the water.', False),
    ('S', 'Snow covers the higher ground.', False),
    ('S', 'Flooding near Valencia.', False),
    ('S', 'Flooding in Portugal.', False),
    ('S', 'Flooding in the Segura basin, Murcia.', False),
    ('S', 'The flood waters look blue and the fields green.', False),
    ('S', 'Sun glint is visible on the water surface.', False),
    ('S', 'Cloud shadows dapple the fields.', False),
    ('S', 'Radar penetrates cloud cover, so flooding is visible despite the weather.', True),
    ('S', 'Dark, smooth water contrasts with the brighter, textured vegetation.', True),
    ('S', 'A few ships are anchored in the flood water.', False),
    ('U', 'A Sentinel-1 image of flooding.', False),
    ('U', 'A C-band SAR image showing flood water.', False),
    ('U', 'At 10 m resolution the scene shows water and vegetation.', False),
    ('U', 'A VV-polarized image.', False),
    ('U', 'Flood water covers about half of the scene.', True),
    ('U', 'The scene shows water, vegetation and built-up areas.', True),
    ('U', 'A SAR image of a flooded region.', True),
    ('U', 'Flooding near Murcia.', False),
    ('U', 'The image was acquired in the morning.', False),
    ('U', 'The SAR image shows a predominantly water-covered area.', True),
    ('U', 'This radar scene shows flooding along a river.', True),
]


@pytest.mark.parametrize(("scene", "text", "ok"), SCENE_PHRASINGS)
def test_scene_phrasings(scene: str, text: str, ok: bool) -> None:
    v = screen_text(text, _flood(scene == "S"))
    assert v.ok == ok, [(x.type, x.text, x.expected) for x in v.violations]


#: hallucinated objects, colour versus tone, optical phrases, superlatives, scoped absences and
#: subgroups named by a place adjective ("the six upper ships") on the harbour
OBJECT_PHRASINGS = [
    ('Ten ships and a small island in the upper left.', False),
    ('Ten ships and two buoys near the bottom.', False),
    ('Ten ships, with a pier extending from the left edge.', False),
    ('Ten ships; no aircraft, cars or storage tanks.', True),
    ('Ten ships near a wind farm.', False),
    ('Ten ships and an oil platform in the upper right.', False),
    ('Ten ships and a bridge across the top.', False),
    ('Ten ships moored alongside a harbour quay.', False),
    ('Ten ships at sea, no harbour infrastructure visible.', True),
    ('Ten white ships on dark water.', False),
    ('Ten ships appear as white spots on dark water.', True),
    ('Ten ships with bright white hulls.', False),
    ('Ten ships show as bright white returns.', True),
    ('Ten ships cast long shadows in the morning sun.', False),
    ('Ten ships; the sea looks calm and clear blue.', False),
    ('Ten ships; haze obscures the lower part of the image.', False),
    ('Ten ships; radar shadow and layover are minimal at sea.', True),
    ('Ten ships; the hulls are grey against the black sea.', False),
    ('Ten ships as grey-white blobs on a dark background.', True),
    ('Ten ships; their grey decks stand out.', False),
    ('Ten vessels in the upper half and lower right, none on the left edge below mid-height.', True),
    ('Ten ships; the largest sits in the upper-left quadrant.', True),
    ('Ten ships; the largest sits in the lower-right quadrant.', False),
    ('Ten ships; the smallest are in the lower right.', True),
    ('Ten ships; the smallest are in the upper left.', False),
    ('The northernmost ship is one of the two large ones.', True),
    ('Ten ships, the top-left one being the largest.', True),
    ('Four small boats cluster tightly in the south-east.', True),
    ('Four small boats cluster tightly in the north-west.', False),
    ('Six ships lie in the top half of the image.', True),
    ('The six upper ships lie in a horizontal band near the top.', True),
    ('The ships occupy the left half of the image.', False),
    ('Two large ships at the top, one on each side.', True),
    ('Two large ships at the bottom, one on each side.', False),
    ('The image centre is empty of vessels.', True),
    ('Ships are absent from the central part of the scene.', True),
    ('No ships appear in the lower half.', False),
    ('The lower half contains only small boats.', True),
]


@pytest.mark.parametrize(("text", "ok"), OBJECT_PHRASINGS)
def test_object_phrasings(text: str, ok: bool) -> None:
    v = screen_text(text, HARBOUR)
    assert v.ok == ok, [(x.type, x.text, x.expected) for x in v.violations]


#: fine types on the airport: enumerations, groups (widebody), "all of them narrowbodies",
#: "none of them an A380", lengths of every member, negations with "not a single"
FINE_PHRASINGS = [
    ('Five aircraft: one A330, one Boeing 737, one ARJ21, one A220 and one Boeing 787.', True),
    ('Five aircraft: two A330s, one Boeing 737, one ARJ21 and one A220.', False),
    ('The apron holds an A330, a 737, an ARJ21, an A220 and a 787.', True),
    ('The apron holds an A330, a 737, an ARJ21, an A220 and an A350.', False),
    ('Two widebody jets (an A330 and a 787) and three narrowbodies.', True),
    ('Three widebody jets and two narrowbodies.', False),
    ('Five aircraft, none of them an A380.', True),
    ('Five aircraft, including two Boeing 787s.', False),
    ('Among the five aircraft is a single Boeing 787.', True),
    ('Five aircraft, all of them narrowbodies.', False),
    ('The A330 sits in the upper-left part of the image.', True),
    ('The A330 sits in the lower-right part of the image.', False),
    ('The 787 is parked at the centre.', True),
    ('The 787 is parked near the right edge.', False),
    ('Five aircraft. They are spread over the four corners and the centre.', True),
    ('Five aircraft. They are all in the upper half.', False),
    ('Five aircraft. Two of them are in the upper half.', True),
    ('Five aircraft. The remaining ones are smaller.', True),
    ('Five aircraft, each roughly 40 m long.', True),
    ('Five aircraft, each roughly 70 m long.', False),
    ('The A330 measures about 40 m in length.', True),
    ('The A330 measures about 65 m in length.', False),
    ('Not a single ship is visible; the scene shows five aircraft.', True),
    ('There is no sign of any vehicles near the aircraft.', True),
    ('There are no other aircraft besides the five parked ones.', True),
    ('Apart from five aircraft, there are two cars on the apron.', False),
    ('Five aircraft with no ground vehicles around them.', True),
    ('A lone aircraft sits in the centre.', True),
    ('One aircraft sits in the centre, the other four near the corners.', True),
    ('One aircraft sits in the centre, the other three near the corners.', False),
    ('Five aircraft of different types, one of another type near the centre.', False),
    ('Five aircraft; they are all narrowbodies.', False),
    ('Five aircraft, none of them a Boeing 737.', False),
    ('Not a single aircraft is visible.', False),
    ('There is not a single ship in this scene.', True),
]


@pytest.mark.parametrize(("text", "ok"), FINE_PHRASINGS)
def test_fine_phrasings(text: str, ok: bool) -> None:
    v = screen_text(text, AIRPORT)
    assert v.ok == ok, [(x.type, x.text, x.expected) for x in v.violations]


#: six storage tanks (40 px at 0.5 m: 20 m across) in two columns on the left, two cars in
#: the lower right
TANKS = _scene([("tank", None, x, y, 40) for x, y in ((0.1, 0.2), (0.25, 0.2), (0.1, 0.45),
                                                    (0.25, 0.45), (0.1, 0.7), (0.25, 0.7))]
               + [("car", None, 0.7, 0.8, 8), ("car", None, 0.75, 0.82, 8)], geo={"gsd_m": 0.5})
TANK_PHRASINGS = [
    ('This high-resolution SAR image shows six circular storage tanks arranged in two columns along the left side, each roughly 20 m in diameter. Two small vehicles are visible in the lower right.', True),
    ('This high-resolution SAR image shows six circular storage tanks arranged in two columns along the left side, each roughly 45 m in diameter. Two small vehicles are visible in the lower right.', False),
    ('This high-resolution SAR image shows seven circular storage tanks arranged in two columns along the left side. Two small vehicles are visible in the lower right.', False),
    ('Six storage tanks sit in the left third of the image, with a pair of cars parked in the lower right.', True),
    ('Six storage tanks sit in the right third of the image, with a pair of cars parked in the lower right.', False),
    ('Six storage tanks sit in the left third of the image, with a pair of cars parked in the upper left.', False),
    ('Six oil tanks, each about 20 m across, form a neat grid on the left.', True),
    ('Six oil tanks, each about 60 m across, form a neat grid on the left.', False),
    ('The tank farm contains six tanks; two cars are parked nearby.', True),
    ('The tank farm contains six tanks and three cars.', False),
    ('Six tanks appear as bright circular features with strong double-bounce returns; a couple of vehicles sit to the southeast.', True),
    ('Six tanks appear as bright circular features; the tanks are painted white.', False),
    ('The tanks are arranged in three rows of two.', True),
    ('Six tanks and two cars; no ships or aircraft are present.', True),
    ('Six tanks and two cars, plus a small boat at the right edge.', False),
    ('The storage tanks dominate the left half of the scene, while the right half is mostly empty apart from two cars.', True),
    ('Six large storage tanks fill the frame.', False),
    ('Six small storage tanks occupy the left side.', True),
    ('All six tanks are located in the upper half.', False),
    ('Two vehicles, each about 4 m long, are parked in the lower right.', True),
    ('Two vehicles, each about 15 m long, are parked in the lower right.', False),
    ('The cars are in the upper right.', False),
    ('The image likely depicts an industrial site with storage tanks.', True),
    ('The scene is near an industrial port in Germany.', False),
    ('Six storage tanks with a diameter of about 20 m.', True),
    ('Six storage tanks with a diameter of about 50 m.', False),
]


@pytest.mark.parametrize(("text", "ok"), TANK_PHRASINGS)
def test_tank_phrasings(text: str, ok: bool) -> None:
    v = screen_text(text, TANKS)
    assert v.ok == ok, [(x.type, x.text, x.expected) for x in v.violations]


#: long captions in the manner of GPT-4o, true and with one planted error each: subgroups
#: spread over sentences only bound the total below, comparatives ("the bigger ones"),
#: "the largest two", "below mid-height", lengths of the largest
LONG_CAPTIONS = [
    ('This SAR image captures a maritime scene with ten vessels. Two large ships dominate the upper portion, their hulls producing strong returns, while four medium-sized vessels form a loose line just below them. In the lower right, four tiny boats appear as faint point-like targets. The surrounding sea is dark and homogeneous, typical of calm water.', True),
    ('This SAR image captures a maritime scene with ten vessels. Two large ships dominate the lower portion, their hulls producing strong returns, while four medium-sized vessels form a loose line above them. In the lower right, four tiny boats appear as faint point-like targets.', False),
    ('This SAR image captures a maritime scene with twelve vessels. Two large ships dominate the upper portion, while four medium-sized vessels form a loose line just below them. In the lower right, four tiny boats appear as faint point-like targets.', False),
    ('This SAR image captures a maritime scene with ten vessels. Two large ships dominate the upper portion. In the lower left, four tiny boats appear as faint point-like targets.', False),
    ('This SAR image captures a maritime scene with ten vessels. Three large ships dominate the upper portion, and several tiny boats appear in the lower right.', False),
    ('The image, likely acquired by a C-band sensor, shows ten vessels at sea.', False),
    ('Ten vessels are visible; the two largest, probably bulk carriers of roughly 500-600 m, lie near the top.', True),
    ('Ten vessels are visible; the two largest, probably bulk carriers of roughly 200 m, lie near the top.', False),
    ('Overall, the scene contains about ten ships of varying sizes, with the bigger ones in the northern half and a cluster of small boats toward the south-east.', True),
    ('Overall, the scene contains about ten ships of varying sizes, with the bigger ones in the southern half and a cluster of small boats toward the south-east.', False),
    ('Overall, the scene contains about ten ships of varying sizes, with the bigger ones in the northern half and a cluster of small boats toward the south-west.', False),
    ('The radar backscatter from the vessels is strong, with bright double-bounce returns, and the sea surface shows low backscatter. No land, buildings or harbour structures are visible.', True),
    ('The radar backscatter from the vessels is strong, and the sea surface shows low backscatter. A small harbour is visible in the lower left.', False),
    ('The vessels include a couple of large cargo ships at the top and a group of tiny fishing boats in the lower right; the middle band holds five mid-sized ships.', False),
    ('In total there are ten ships: two big, four medium and four small.', True),
    ('Ten ships are present. The largest two sit in the top third; none is in the left half below mid-height.', True),
    ('Ten ships are present. The largest two sit in the bottom third; none is in the left half below mid-height.', False),
    ('Ten ships are present. Most of them are in the upper half, and the lower-left quadrant is empty.', True),
    ('Ten ships are present. Most of them are in the lower half, and the lower-left quadrant is empty.', False),
    ('Ten ships are present. Most of them are in the upper half, and the lower-right quadrant is empty.', False),
]


@pytest.mark.parametrize(("text", "ok"), LONG_CAPTIONS)
def test_long_captions(text: str, ok: bool) -> None:
    v = screen_text(text, HARBOUR)
    assert v.ok == ok, [(x.type, x.text, x.expected) for x in v.violations]


#: a port scene with full metadata, as the geo step writes it (place Yangpu, Shanghai, China)
PORT = _scene([("harbor", None, 0.44, 0.84, 71), ("ship", None, 0.34, 0.66, 36),
               ("ship", None, 0.21, 0.57, 39), ("car", None, 0.73, 0.81, 9),
               ("car", None, 0.68, 0.79, 9)],
              geo={"platform": "Sentinel-1A", "band": "C", "polarization": "VV", "mode": "IW",
                   "incidence_angle": 24.1, "orbit_direction": "ASCENDING",
                   "acquired_at": "2024-09-11T21:52:00Z", "gsd_m": 10.0,
                   "center_lon": 121.9, "center_lat": 31.3, "place": "Yangpu",
                   "admin_region": "Shanghai", "country": "China", "season": "autumn"},
              size=512)
PORT["land_cover"] = {"built-up": 0.52, "water": 0.48}
METADATA_PHRASINGS = [
    ('A Sentinel-1A IW-mode VV image acquired on 11 September 2024.', True),
    ('A Sentinel-1A IW-mode VV image acquired on 3 March 2024.', False),
    ('Acquired on an ascending pass at about 24 degrees incidence.', True),
    ('Acquired on a descending pass.', False),
    ('The incidence angle is roughly 36°.', False),
    ('The image has 10 m pixel spacing.', True),
    ('The image has 1 m pixel spacing.', False),
    ('A port area near Shanghai, China.', True),
    ('A port area in Yangpu, Shanghai.', True),
    ('A port area near Ningbo.', False),
    ('A port area in Pudong.', False),
    ('A port area in South Korea.', False),
    ('The scene was captured in autumn 2024.', True),
    ('The scene was captured in summer 2024.', False),
    ('Captured in 2023.', False),
    ('Acquired at 21:52 UTC.', True),
    ('Acquired at 10:15 UTC.', False),
    ('An early-morning acquisition in local time.', True),
    ('An afternoon acquisition.', False),
    ('A dual-polarization VV+VH image.', False),
    ('An HH image.', False),
    ('A TerraSAR-X scene of Shanghai.', False),
    ('A Sentinel-1B scene.', False),
    ('A Sentinel-1 scene in C-band.', True),
    ('An L-band image.', False),
    ('The scene is roughly half built-up and half water.', True),
    ('The scene is mostly vegetation.', False),
    ('Water covers about 80% of the scene.', False),
    ('A humid subtropical coastal city.', True),
    ('Two ships are moored at a harbour, with two cars nearby.', True),
    ('Three ships are moored at a harbour.', False),
    ('Two ships and two harbours.', False),
]


@pytest.mark.parametrize(("text", "ok"), METADATA_PHRASINGS)
def test_metadata_phrasings(text: str, ok: bool) -> None:
    v = screen_text(text, PORT)
    assert v.ok == ok, [(x.type, x.text, x.expected) for x in v.violations]


#: an airport scene with eight typed aircraft, as the SAR-AIRcraft loader gives it
APRON = _scene([("aircraft", t, x, y, side) for t, x, y, side in (
    ("ARJ21", 0.2, 0.26, 31), ("other", 0.72, 0.53, 28), ("Boeing 787", 0.9, 0.49, 57),
    ("ARJ21", 0.58, 0.78, 34), ("other", 0.39, 0.67, 29), ("A320/321", 0.2, 0.56, 40),
    ("A220", 0.53, 0.76, 38), ("ARJ21", 0.07, 0.56, 32))], geo={"gsd_m": 1.0})
APRON_PHRASINGS = [
    ('Eight aircraft: three ARJ21s, one Boeing 787, one A320/321, one A220 and two of other types.', True),
    ('Eight aircraft: three ARJ21s, one Boeing 787, one A320/321, one A220 and two aircraft of other types.', True),
    ('Eight aircraft: two ARJ21s, one Boeing 787, one A320/321, one A220 and three of other types.', False),
    ('Eight aircraft, three of which are ARJ21s.', True),
    ('Eight aircraft, four of which are ARJ21s.', False),
    ('The largest aircraft, a Boeing 787, sits near the right edge.', True),
    ('The largest aircraft, a Boeing 787, sits near the left edge.', False),
    ('The largest aircraft is an A330 near the right edge.', False),
    ('The Boeing 787 near the right edge is roughly 57 m long.', True),
    ('The Boeing 787 near the right edge is roughly 30 m long.', False),
    ('A single widebody, a Boeing 787, is parked on the right.', True),
    ('Two widebodies are parked on the right.', False),
    ('The aircraft near the left edge is an ARJ21.', True),
    ('The aircraft near the left edge is an A220.', False),
    ('An A320-family jet sits left of centre at mid-height.', True),
    ('An A320-family jet sits in the upper-right quadrant.', False),
    ('Two aircraft of other types lie near the centre of the scene.', True),
    ('Two aircraft of other types lie in the top-left corner.', False),
    ('The ARJ21s are spread out: one in the upper left, one near the left edge and one in the lower half.', True),
    ('The ARJ21s are all in the upper half.', False),
    ('Most aircraft are in the lower half.', True),
    ('Most aircraft are in the upper half.', False),
    ('Eight small aircraft are scattered over the apron.', True),
    ('Eight large aircraft are scattered over the apron.', False),
    ('Roughly eight jets, mostly narrowbodies.', True),
    ('Roughly eight jets, mostly widebodies.', False),
    ('Eight airliners; none is a Boeing 737.', True),
    ('Eight airliners including a Boeing 737.', False),
    ('Eight aircraft with wingspans of about 30-40 m.', True),
    ('Eight aircraft with wingspans of about 80 m.', False),
]


@pytest.mark.parametrize(("text", "ok"), APRON_PHRASINGS)
def test_apron_phrasings(text: str, ok: bool) -> None:
    v = screen_text(text, APRON)
    assert v.ok == ok, [(x.type, x.text, x.expected) for x in v.violations]


#: the port scene again: harbour words (quay, berthed), vehicles, hallucinated port objects,
#: lengths of both ships (36 and 39 px at 10 m), places after "on"
PORT_PHRASINGS = [
    ('Two vessels are berthed along a quay in the lower part of the image, with two small vehicles parked nearby on the right.', True),
    ('Two vessels are berthed along a quay in the upper part of the image.', False),
    ('Three vessels are berthed along a quay.', False),
    ('A pair of ships sits left of centre, just above the harbour.', True),
    ('A pair of ships sits right of centre.', False),
    ('The harbour structure lies in the lower half, near the bottom edge.', True),
    ('The harbour structure lies in the upper half.', False),
    ('Two cars are visible in the lower right.', True),
    ('Two trucks are visible in the lower right.', False),
    ('A couple of vehicles appear as tiny bright points in the lower-right quadrant.', True),
    ('A few vehicles appear in the lower-left quadrant.', False),
    ('Several cranes line the quay.', False),
    ('Shipping containers are stacked on the dock.', False),
    ('The two ships are both small targets, each under 600 m long.', True),
    ('The two ships are both large, each over 300 m long.', False),
    ('Each ship is about 370 m long.', True),
    ('Each ship is about 120 m long.', False),
    ('Both vessels are roughly 350-400 m in length.', True),
    ('The port appears to be an industrial harbour on the Huangpu River in Shanghai.', False),
    ('No aircraft or storage tanks are present.', True),
    ('There is no harbour infrastructure in this image.', False),
    ('Two ships, one harbour and two cars.', True),
    ('One ship, one harbour and two cars are visible.', False),
]


@pytest.mark.parametrize(("text", "ok"), PORT_PHRASINGS)
def test_port_phrasings(text: str, ok: bool) -> None:
    v = screen_text(text, PORT)
    assert v.ok == ok, [(x.type, x.text, x.expected) for x in v.violations]


#: place words on the apron: far/extreme sides, compass parts, "-hand side", edges, quadrants,
#: "the central and lower parts" (a band), "concentrated in" (most of them)
PLACE_WORDS = [
    ('The Boeing 787 sits at the far right, roughly halfway down.', True),
    ('The Boeing 787 sits at the far left, roughly halfway down.', False),
    ('The Boeing 787 is in the eastern part of the image.', True),
    ('The Boeing 787 is in the western part of the image.', False),
    ('The Boeing 787 is on the right-hand side.', True),
    ('The Boeing 787 is on the left-hand side.', False),
    ('The Boeing 787 is positioned toward the right edge of the frame.', True),
    ('The Boeing 787 is positioned toward the bottom edge of the frame.', False),
    ('An ARJ21 sits in the top-left area.', True),
    ('An ARJ21 sits in the top-right area.', False),
    ('An A220 is parked in the lower-central part of the apron.', True),
    ('An A220 is parked in the upper-central part of the apron.', False),
    ('The A320/321 is located on the left side at mid-height.', True),
    ('The A320/321 is located on the right side at mid-height.', False),
    ('One ARJ21 is at the extreme left edge.', True),
    ('No aircraft is at the extreme left edge.', False),
    ('No aircraft lie along the top edge.', True),
    ('No aircraft lie along the right edge.', False),
    ('The northern third of the image holds only one aircraft.', True),
    ('The northern third of the image holds three aircraft.', False),
    ('Aircraft are concentrated in the central and lower parts of the image.', True),
    ('Aircraft are concentrated in the upper parts of the image.', False),
    ('The southwest quadrant holds two aircraft.', False),
    ('The southeast quadrant holds three aircraft.', True),
    ('There is a single aircraft in the upper half.', True),
    ('Most of the aircraft lie below the horizontal centre line.', True),
    ('Most of the aircraft lie above the horizontal centre line.', False),
]


@pytest.mark.parametrize(("text", "ok"), PLACE_WORDS)
def test_place_words(text: str, ok: bool) -> None:
    v = screen_text(text, APRON)
    assert v.ok == ok, [(x.type, x.text, x.expected) for x in v.violations]


#: quantity words and hedges on the five-aircraft airport (A) and the ten-ship harbour (H):
#: "half a dozen", "N or so", "twenty-odd", "10+", ranges, bounds, "scores of"
QUANTITY_WORDS = [
    ('A', 'Half a dozen aircraft are parked.', True),
    ('A', 'A dozen or so aircraft are parked.', False),
    ('A', 'Four or five aircraft are parked.', True),
    ('A', 'Three to four aircraft are parked.', False),
    ('A', '3-5 aircraft are parked.', True),
    ('A', '6-8 aircraft are parked.', False),
    ('A', 'A handful of aircraft are parked.', True),
    ('A', 'A couple of aircraft are parked.', False),
    ('A', 'Possibly five aircraft are parked.', True),
    ('A', 'What appear to be three aircraft are parked.', False),
    ('A', 'There seem to be five planes.', True),
    ('A', 'There might be seven planes.', False),
    ('A', 'Five or so aircraft.', True),
    ('A', 'Scores of aircraft fill the apron.', False),
    ('A', 'Several dozen aircraft.', False),
    ('A', 'Several aircraft are parked on the apron.', True),
    ('A', 'Many aircraft are parked on the apron.', False),
    ('A', 'Numerous aircraft are parked on the apron.', False),
    ('A', 'Multiple aircraft are parked on the apron.', True),
    ('A', 'Only a few aircraft are parked on the apron.', False),
    ('A', 'At most five aircraft.', True),
    ('A', 'No more than four aircraft.', False),
    ('A', 'Fewer than ten aircraft.', True),
    ('A', 'Under four aircraft.', False),
    ('A', 'Close to five aircraft.', True),
    ('A', 'Nearly ten aircraft.', False),
    ('A', 'Five aircraft in total.', True),
    ('A', 'A total of six aircraft.', False),
    ('A', 'The apron holds five aircraft and no other objects.', True),
    ('A', 'The apron holds five aircraft and a fuel truck.', False),
    ('H', 'A dozen or so vessels.', True),
    ('H', 'Around a dozen vessels.', True),
    ('H', 'Over twenty vessels.', False),
    ('H', 'Some 10 vessels.', True),
    ('H', 'Some 15 vessels.', False),
    ('H', 'Ten-plus vessels are visible in the scene.', True),
    ('H', '10+ vessels are visible in the scene.', True),
    ('H', '12+ vessels.', False),
    ('H', 'Between 5 and 8 vessels.', False),
    ('H', 'Nine to eleven vessels.', True),
    ('H', 'Twenty-odd vessels are visible in the scene.', False),
    ('H', 'Ten or so vessels are visible.', True),
    ('H', 'Twenty or so vessels are visible.', False),
    ('H', 'Eleven-odd vessels are visible.', True),
]


@pytest.mark.parametrize(("scene", "text", "ok"), QUANTITY_WORDS)
def test_quantity_words(scene: str, text: str, ok: bool) -> None:
    v = screen_text(text, {"A": AIRPORT, "H": HARBOUR}[scene])
    assert v.ok == ok, [(x.type, x.text, x.expected) for x in v.violations]


#: absences scoped to a place and group positions with "all", "both", "each of", "none of"
SCOPED_PHRASINGS = [
    ('No vessels are present in the lower-left quadrant.', True),
    ('No vessels are present in the lower-right quadrant.', False),
    ('The bottom-left corner contains no ships.', True),
    ('The bottom-right corner contains no ships.', False),
    ('There are no ships in the left half below the middle.', True),
    ('The lower-left part of the image is devoid of ships.', True),
    ('The upper-left part of the image is devoid of ships.', False),
    ('The left side of the scene is free of vessels.', False),
    ('Nothing is visible in the lower-left quadrant.', True),
    ('Nothing is visible in the upper-right quadrant.', False),
    ('Apart from the ten ships, the sea is empty.', True),
    ('The lower half has no large ships.', True),
    ('The upper half has no large ships.', False),
    ('None of the ships lie in the lower-left quadrant.', True),
    ('None of the ships lie in the upper-right quadrant.', False),
    ('No ships appear anywhere near the bottom-left corner.', True),
    ('Vessels are absent from the bottom-left quadrant.', True),
    ('Vessels are absent from the upper half.', False),
    ('The western half of the image below mid-height holds no vessels.', True),
    ('There are no ships in the upper half.', False),
    ('All ten ships are clustered in the northern half.', False),
    ('All four small boats are grouped together in the south-east.', True),
    ('The four small boats are packed into the lower-right corner area.', True),
    ('The two large ships lie side by side along the top.', True),
    ('The two large ships lie side by side along the bottom.', False),
    ('Both big vessels are found in the upper third of the frame.', True),
    ('Both big vessels are found in the lower third of the frame.', False),
    ('Each of the large ships sits in the upper half.', True),
    ('Each of the large ships sits in the lower half.', False),
]


@pytest.mark.parametrize(("text", "ok"), SCOPED_PHRASINGS)
def test_scoped_phrasings(text: str, ok: bool) -> None:
    v = screen_text(text, HARBOUR)
    assert v.ok == ok, [(x.type, x.text, x.expected) for x in v.violations]


#: sizes: shares of the image in percent, "sizeable", "fills the frame" (and its negation),
#: predicates of the members a place picks ("the vessels in the lower right are tiny")
SIZE_PHRASINGS = [
    ('The largest ship covers about 8% of the image.', True),
    ('The largest ship covers about 30% of the image.', False),
    ('A sizeable vessel sits in the upper left.', True),
    ('A sizeable vessel sits in the lower right.', False),
    ('A very large ship dominates the upper-left quadrant.', True),
    ('A very large ship dominates the lower-right quadrant.', False),
    ('The tiny boats in the lower right each cover well under 1% of the frame.', True),
    ('Two ships are big enough to dominate the frame.', False),
    ('No single ship fills the frame.', True),
    ('One ship fills most of the frame.', False),
    ('The ships are all small, point-like targets.', False),
    ('The vessels in the lower right are tiny.', True),
    ('The vessels in the upper left are tiny.', False),
    ('Small boats populate the lower-right quadrant.', True),
    ('Large ships populate the lower-right quadrant.', False),
    ('A huge vessel occupies a large part of the upper-right quadrant.', True),
    ('A huge vessel occupies a large part of the lower-left quadrant.', False),
    ('The medium-sized ships are roughly 200 m long.', True),
    ('The medium-sized ships are roughly 50 m long.', False),
    ('Each of the large ships covers roughly 8 percent of the scene.', True),
    ('The smallest boat occupies less than 0.1% of the image.', True),
    ('The smallest boat occupies more than 5% of the image.', False),
    ('No single vessel covers more than 10% of the image.', True),
]


@pytest.mark.parametrize(("text", "ok"), SIZE_PHRASINGS)
def test_size_phrasings(text: str, ok: bool) -> None:
    v = screen_text(text, HARBOUR)
    assert v.ok == ok, [(x.type, x.text, x.expected) for x in v.violations]


#: "both", "twin", "a single", "only one", pronouns across sentences, "a third one" on the
#: two-ship port (E) and the ten-ship harbour (H)
PAIR_PHRASINGS = [
    ('H', 'Both ships lie in the upper half.', False),
    ('E', 'Both ships lie in the left half.', True),
    ('E', 'Both ships lie in the right half.', False),
    ('E', 'The two vessels are close together, left of centre.', True),
    ('E', 'The pair of vessels sits in the right half.', False),
    ('E', 'Twin vessels are moored side by side.', True),
    ('E', 'Twin vessels and a third one are moored nearby.', False),
    ('E', 'Two ships. They sit in the left half.', True),
    ('E', 'Two ships. They sit in the right half.', False),
    ('E', 'Two ships. One of them is in the upper half.', False),
    ('E', 'Two ships, one slightly above the other, both left of centre.', True),
    ('E', 'A single ship is moored at the harbour.', False),
    ('E', 'Only one car is visible.', False),
    ('E', 'Just two cars are visible in the lower right.', True),
    ('E', 'The two cars are parked in the upper left.', False),
]


@pytest.mark.parametrize(("scene", "text", "ok"), PAIR_PHRASINGS)
def test_pair_phrasings(scene: str, text: str, ok: bool) -> None:
    v = screen_text(text, {"E": PORT, "H": HARBOUR}[scene])
    assert v.ok == ok, [(x.type, x.text, x.expected) for x in v.violations]


#: tone and radar wording versus colour and optical phrases, and unsupported metadata and
#: places, on the airport (pixel spacing known, nothing else)
RADAR_PHRASINGS = [
    ('The aircraft produce bright cross-shaped returns due to double-bounce from fuselage and wings.', True),
    ('Sunlight glints off the fuselages of the parked aircraft.', False),
    ('The aircraft have white fuselages.', False),
    ('Five aircraft are parked on grey tarmac.', False),
    ('Five aircraft appear bright against the dark apron.', True),
    ('The apron and runway appear dark due to smooth surfaces.', True),
    ('The image appears to have been taken at night.', False),
    ('This is likely a Sentinel-1 image.', False),
    ('This high-resolution SAR image shows five aircraft.', True),
    ('At roughly 1 m resolution, the aircraft shapes are clear.', True),
    ('At roughly 3 m resolution, the aircraft shapes are clear.', False),
    ('Five aircraft, likely at a Chinese airport.', False),
    ('Five aircraft; the airport is probably Beijing Daxing International Airport.', False),
    ('Five aircraft parked at stands; no vehicles are visible.', True),
    ('The five aircraft are of five different types.', True),
    ('Five aircraft cast long shadows to the north.', False),
    ('Radar shadows behind the aircraft are visible.', True),
    ('Clouds partly cover the apron.', False),
    ('Despite cloud cover, the radar image shows five aircraft.', True),
    ('The scene, free of clouds, shows five aircraft in clear weather.', False),
]


@pytest.mark.parametrize(("text", "ok"), RADAR_PHRASINGS)
def test_radar_phrasings(text: str, ok: bool) -> None:
    v = screen_text(text, AIRPORT)
    assert v.ok == ok, [(x.type, x.text, x.expected) for x in v.violations]
