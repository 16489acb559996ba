"""Nevada early ranked ballots (NV-2, NV-3.2, NV-3.4): first choices join the first alignment; a ballot
whose first choice is not viable moves to its highest-ranked viable choice (AMBIG-7: viability as set by
the first alignment)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["early_first_alignment", "realign_early_ballots"]


def early_first_alignment(in_person: Mapping[str, int], ballots: Sequence[Sequence[str]]) -> dict[str, int]:
    """First alignment: in-person counts plus each early ballot's first choice."""
    counts = dict(in_person)
    for ranks in ballots:
        if not ranks:
            raise ValueError("an early ballot must rank at least one preference")
        counts[ranks[0]] = counts.get(ranks[0], 0) + 1
    return counts


def realign_early_ballots(ballots: Sequence[Sequence[str]], viable: frozenset[str]) -> dict[str, int]:
    """Where each early ballot counts in the final alignment: its highest-ranked viable choice.

    A ballot with no viable choice counts nowhere (it stays with a non-viable group and wins nothing).
    """
    counts: dict[str, int] = {}
    for ranks in ballots:
        for choice in ranks:
            if choice in viable:
                counts[choice] = counts.get(choice, 0) + 1
                break
    return counts
