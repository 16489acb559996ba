"""Nevada early ranked ballots (NV-2, NV-3.1, NV-3.2, NV-3.4, AMBIG-7), pure.

- NV-2: a ballot ranks at least 3 and at most 5 *different* preferences. The sources conflict on a repeated
  name (RULES.md NV-2: S54 "not void", S55 "must be different"); the decision here is that a repeat is not
  itself a fault but counts once: a ballot's ranks are its distinct names in order (``distinct_ranks``),
  and a ballot with fewer than 3 distinct names is **void**. A void ballot is counted and shown, but it is
  not in ``N`` and never joins a group.
- NV-3.1 / NV-3.2: ``N`` is the in-person attendance plus the precinct's valid early ballots, fixed at the
  first alignment; each valid early ballot joins the first alignment with its first choice.
- NV-3.4 / AMBIG-7: at realignment an early ballot whose first choice is viable stays; one whose first
  choice is not viable moves to its highest-ranked choice among the groups viable **at the first
  alignment** (so realigned early ballots never make a group viable); a ballot with no such choice counts
  in no group of the final alignment (like someone who leaves). In a one-delegate precinct (no threshold)
  every group with someone in it counts as viable, so no early ballot moves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .ruleset import RuleSet
from .viability import threshold

__all__ = [
    "MAX_RANKS",
    "MIN_RANKS",
    "EarlyMove",
    "distinct_ranks",
    "early_first_alignment",
    "early_moves",
    "first_choices",
    "realign_early_ballots",
    "valid_ballots",
    "viable_at_first",
    "void_ballot",
]

#: NV-2: a ballot must rank at least this many different preferences (fewer: void)
MIN_RANKS = 3
#: NV-2: a ballot ranks at most this many
MAX_RANKS = 5


def distinct_ranks(ranks: Sequence[str]) -> tuple[str, ...]:
    """A ballot's preferences in rank order, each name once (blank ranks skipped)."""
    seen: list[str] = []
    for name in ranks:
        if name and name not in seen:
            seen.append(name)
    return tuple(seen)


def void_ballot(ranks: Sequence[str]) -> bool:
    """NV-2: fewer than 3 different preferences voids the ballot."""
    return len(distinct_ranks(ranks)) < MIN_RANKS


def valid_ballots(ballots: Sequence[Sequence[str]]) -> list[tuple[str, ...]]:
    """The ballots that count (not void), each as its distinct ranks."""
    return [distinct_ranks(b) for b in ballots if not void_ballot(b)]


def first_choices(ballots: Sequence[Sequence[str]]) -> dict[str, int]:
    """Valid early ballots per first choice (NV-3.2); void ballots are left out."""
    counts: dict[str, int] = {}
    for ranks in valid_ballots(ballots):
        counts[ranks[0]] = counts.get(ranks[0], 0) + 1
    return counts


def early_first_alignment(in_person: Mapping[str, int], ballots: Sequence[Sequence[str]]) -> dict[str, int]:
    """First alignment: in-person counts plus each valid early ballot's first choice (NV-3.2)."""
    counts = dict(in_person)
    for group, n in first_choices(ballots).items():
        counts[group] = counts.get(group, 0) + n
    return counts


def viable_at_first(first: Mapping[str, int], attendance: int, delegates: int, ruleset: RuleSet) -> frozenset[str]:
    """The groups viable at the first alignment (``first`` and ``attendance`` include early voters): the
    set early ballots realign into (AMBIG-7). With no threshold (D = 1) every group with someone in it."""
    t = threshold(attendance, delegates, ruleset)
    floor_t = 1 if t is None else max(t, 1)
    return frozenset(g for g, n in first.items() if n >= floor_t)


@dataclass(frozen=True, slots=True)
class EarlyMove:
    """Where one valid early ballot counts: ``first`` its first choice, ``final`` the group it counts in at
    the final alignment (``None``: no viable choice), ``moved`` whether it left its first choice."""

    first: str
    final: str | None

    @property
    def moved(self) -> bool:
        return self.final != self.first


def early_moves(ballots: Sequence[Sequence[str]], viable: frozenset[str]) -> list[EarlyMove]:
    """Each valid ballot's first choice and the group it counts in at the final alignment (NV-3.4)."""
    moves = []
    for ranks in valid_ballots(ballots):
        final = next((choice for choice in ranks if choice in viable), None)
        moves.append(EarlyMove(ranks[0], final))
    return moves


def realign_early_ballots(ballots: Sequence[Sequence[str]], viable: frozenset[str]) -> dict[str, int]:
    """Early ballots per group in the final alignment: each valid ballot at its highest-ranked viable
    choice; a ballot with no viable choice counts nowhere; void ballots never count."""
    counts: dict[str, int] = {}
    for move in early_moves(ballots, viable):
        if move.final is not None:
            counts[move.final] = counts.get(move.final, 0) + 1
    return counts
