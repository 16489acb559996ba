"""Every legal outcome of a precinct's games of chance, with its probability under fair games.

Used by the checks and the audit to tell "differs only by a legal outcome of a game of chance" from
"inconsistent", and by simulations (which pick one branch with their own seeded generator, outside the core).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations

from .allocation import Allocation, allocate
from .chance import ChanceOutcome
from .ruleset import RuleSet

__all__ = ["Branch", "branches"]


@dataclass(frozen=True, slots=True)
class Branch:
    """One complete allocation reachable through ``outcomes``; ``probability`` if every game is fair."""

    probability: Fraction
    outcomes: tuple[ChanceOutcome, ...]
    allocation: Allocation


def branches(
    delegates_to_elect: int,
    attendance: int,
    final: Mapping[str, int],
    ruleset: RuleSet,
    recorded: Sequence[ChanceOutcome] = (),
) -> list[Branch]:
    """All complete allocations that follow ``recorded`` and any further games of chance the rules need."""
    result = allocate(delegates_to_elect, attendance, final, ruleset, recorded)
    event = result.pending
    if event is None:
        return [Branch(Fraction(1), tuple(recorded), result)]
    choices = list(combinations(event.among, event.count))
    weight = Fraction(1, len(choices))
    found: list[Branch] = []
    for chosen in choices:
        outcome = ChanceOutcome.of(event, list(chosen))
        for b in branches(delegates_to_elect, attendance, final, ruleset, (*recorded, outcome)):
            found.append(Branch(weight * b.probability, b.outcomes, b.allocation))
    return found
