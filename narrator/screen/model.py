"""The claim and the object mention it comes from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from narrator.screen.quantity import Where


@dataclass(frozen=True, slots=True)
class Claim:
    kind: str          # see README "Screening": count, present, absent, position, size, ...
    subject: str       # category (several joined by "|"), fine type, class or the word itself
    value: Any         # a (low, high) range, a region phrase, a share, a string ...
    span: tuple[int, int]
    text: str
    detail: Any = field(default=None, compare=False, hash=False)  # e.g. the region predicate

    @property
    def key(self) -> tuple[str, str, str]:
        """What self-consistency votes on (spans differ between candidates)."""
        return (self.kind, self.subject, repr(self.value))


@dataclass
class Mention:
    start: int
    end: int
    cats: frozenset[str]
    fine: str | None = None
    qty: tuple[int, int | None] | None = None
    qstart: int = -1
    mode: str = "exists"        # all, most, subset, exact, exists, none
    adjectives: tuple[str, ...] = ()
    negated: bool = False
    pronoun: bool = False
    blocker: bool = False       # a land or tone noun: owns regions but claims nothing
    total: tuple[int, int | None] | None = None  # "three of the five ships": five
    appositive: bool = False    # "one aircraft, an ARJ21, ...": the ARJ21 is that aircraft
    additive: bool = False      # "two more", "another": a group besides those named before
    anaphora: bool = False      # "four smaller ones", "a medium one"
    superlative: str | None = None  # "max" / "min": the largest / smallest of its kind
    regions: list[Where] = field(default_factory=list)
    part: bool = False          # "four of the ships": a part of a whole of unsaid number
    regional: bool = False      # a numbered part of an enumeration by place
    where_all: bool = False     # "three ships, all in the upper half": every member is there
