"""Shared Hypothesis strategies for precincts (as in electionguard-python's ``strategies``)."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

GROUP_NAMES = ("Biden", "Buttigieg", "Klobuchar", "Sanders", "Steyer", "Warren", "Yang", "Uncommitted")


@dataclass(frozen=True)
class PrecinctCase:
    delegates: int
    attendance: int
    first: dict[str, int]
    final: dict[str, int]


@st.composite
def precincts(draw: st.DrawFn, min_delegates: int = 0, max_delegates: int = 36,
              max_people: int = 400) -> PrecinctCase:
    """A precinct: D, N, a first alignment summing to N and a final alignment that obeys the rules' flow
    (viable-at-first groups keep their members; others may move or leave)."""
    names = draw(st.lists(st.sampled_from(GROUP_NAMES), min_size=1, max_size=len(GROUP_NAMES), unique=True))
    first = {g: draw(st.integers(0, max_people // len(names))) for g in names}
    attendance = sum(first.values())
    final = {g: draw(st.integers(0, first[g] + 20)) for g in names}
    while sum(final.values()) > attendance:
        g = max(final, key=lambda k: final[k])
        final[g] -= 1
    delegates = draw(st.integers(min_delegates, max_delegates))
    return PrecinctCase(delegates, attendance, first, final)
