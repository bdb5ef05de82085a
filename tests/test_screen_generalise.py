"""Linguistic phenomena the screener must judge in general, not per corpus sentence (issue 15):
each case is a sentence written here against the seeded five-ship scene of
tests/test_screen_semantics.py."""

from __future__ import annotations

import pytest

from narrator.screen import screen_text
from tests.test_screen_semantics import FIVE, _scene


@pytest.mark.parametrize(("text", "ok"), [
    # "one ... and another": parts whose number is partly unsaid only bound the total below
    ("There are five ships: one near the top right and another in the lower half.", True),
    ("Five ships: the largest one at the top right and a smaller one lower down.", True),
    # a fully numbered enumeration after a colon must still add up
    ("Five ships: two large ones and two small ones.", False),
    ("Five ships: one at the top right and six more in the lower half.", False),
])
def test_enumerations(text: str, ok: bool) -> None:
    verdict = screen_text(text, FIVE)
    assert verdict.ok == ok, [(v.type, v.text, v.expected) for v in verdict.violations]


@pytest.mark.parametrize(("text", "ok"), [
    # "N elsewhere" / "N further down": the remainder besides the parts named before
    ("Two ships in the bottom-left corner and three elsewhere.", True),
    ("Two ships in the bottom-left corner and four elsewhere.", False),
    ("Ships: one at the top right and four further down.", True),
    ("Ships: one at the top right and two further down.", False),
    ("Ships: two in the bottom-left corner and one lower down.", False),
])
def test_remainders(text: str, ok: bool) -> None:
    verdict = screen_text(text, FIVE)
    assert verdict.ok == ok, [(v.type, v.text, v.expected) for v in verdict.violations]


def test_a_plain_more_inside_an_enumeration_is_not_a_remainder() -> None:
    # "two ... and two more" after a colon enumerates the group the colon opens
    verdict = screen_text("A few ships lie in the lower half: two sit in the bottom-left corner "
                          "and two more to their right.", FIVE)
    assert verdict.ok, [(v.type, v.text, v.expected) for v in verdict.violations]


@pytest.mark.parametrize(("text", "ok"), [
    # a hedged region ("close to", "roughly") is a little wider than the bare one; the ship at
    # y=0.70 is just outside the middle third
    ("Two ships sit roughly at mid-height.", True),
    ("Two ships sit at mid-height.", False),
    ("Three ships sit close to mid-height.", False),  # the third is far off (y=0.9)
])
def test_hedged_regions(text: str, ok: bool) -> None:
    verdict = screen_text(text, FIVE)
    assert verdict.ok == ok, [(v.type, v.text, v.expected) for v in verdict.violations]


@pytest.mark.parametrize(("text", "ok"), [
    # a size after a verb; said of a whole group it holds of every member (one of the five
    # ships covers 6.8% of the image, the others under 0.1%)
    ("All five ships are tiny, point-like returns.", False),
    ("Each ship is a small target.", False),
    ("One of the ships is a large object.", True),
    ("One of the ships is tiny.", True),
    ("Four of the ships are large.", False),
])
def test_predicative_size(text: str, ok: bool) -> None:
    verdict = screen_text(text, FIVE)
    assert verdict.ok == ok, [(v.type, v.text, v.expected) for v in verdict.violations]


@pytest.mark.parametrize(("text", "ok"), [
    # "X is clearly the dominant feature", "Xs are large objects": a size claim on X
    ("Five ships; one ship is clearly the dominant feature.", True),
    ("Five ships; each ship is clearly the dominant feature.", False),
    ("Five ships; the ships are large objects.", False),  # only one of them is
    ("Five ships; one of them is a large object.", True),
])
def test_dominant_and_bare_plural_size(text: str, ok: bool) -> None:
    verdict = screen_text(text, FIVE)
    assert verdict.ok == ok, [(v.type, v.text, v.expected) for v in verdict.violations]


#: four ships, two of them near the right edge
FOUR = _scene([("ship", 0.95, 0.2, 20), ("ship", 0.93, 0.8, 20), ("ship", 0.3, 0.5, 20),
               ("ship", 0.2, 0.4, 20)])


@pytest.mark.parametrize(("text", "ok"), [
    # "half of them": at least half, unlike "most"
    ("Four ships; half of them sit near the right edge.", True),
    ("Four ships; most of them sit near the right edge.", False),
    ("Four ships; half of them sit near the top edge.", False),
])
def test_half_of_them(text: str, ok: bool) -> None:
    verdict = screen_text(text, FOUR)
    assert verdict.ok == ok, [(v.type, v.text, v.expected) for v in verdict.violations]
