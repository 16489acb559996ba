"""County-delegate allocation at a precinct (RULES.md §3, IA-1.5, AMBIG-1..4 and -8).

Exact: raw shares are ``Fraction``; rounding is half up once (IA-3.4); ties compare decimals at the rule
set's ``tie_places``. Games of chance are inputs: without the recorded outcome the result stops with
``status == "needs-chance"`` and the pending :class:`ChanceEvent`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Literal

from .chance import ChanceEvent, ChanceKind, ChanceOutcome, ChanceOutcomeError
from .numbers import floor_half_up, quantize
from .ruleset import RuleSet
from .viability import threshold

__all__ = ["Allocation", "AllocationStatus", "allocate"]

AllocationStatus = Literal["complete", "needs-chance", "no-viable-group", "no-delegates"]


@dataclass(frozen=True)
class Allocation:
    """What the rules give a precinct. ``delegates`` has every group of the final alignment (0 included).

    When ``status`` is ``needs-chance``, ``delegates`` is the allocation just before the pending game of
    chance (tied groups still hold the contested delegate) and ``pending`` says who is tied for what.
    """

    delegates_to_elect: int
    attendance: int
    threshold: int | None
    final: Mapping[str, int]
    status: AllocationStatus
    delegates: Mapping[str, int]
    #: groups at or above the threshold in the final alignment (before any IA-3.3 drop)
    viable: frozenset[str]
    #: viable groups that lost viability because more groups were viable than delegates (IA-3.3)
    dropped: frozenset[str] = frozenset()
    raw: Mapping[str, Fraction] = field(default_factory=dict)
    pending: ChanceEvent | None = None
    applied: tuple[ChanceOutcome, ...] = ()
    steps: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        """Delegates awarded in all."""
        return sum(self.delegates.values())

    @property
    def awarded(self) -> dict[str, int]:
        """Only the groups that won delegates."""
        return {g: n for g, n in self.delegates.items() if n > 0}


class _NeedsChance(Exception):
    def __init__(self, event: ChanceEvent, delegates: dict[str, int]) -> None:
        super().__init__(event.describe())
        self.event = event
        self.delegates = delegates


@dataclass
class _Run:
    ruleset: RuleSet
    outcomes: Sequence[ChanceOutcome]
    used: list[ChanceOutcome] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)

    def settle(self, kind: ChanceKind, among: list[str], count: int, state: dict[str, int]) -> set[str]:
        """The groups chosen by the recorded outcome of this tie, or raise ``_NeedsChance``."""
        event = ChanceEvent(kind, tuple(sorted(among)), count)
        index = len(self.used)
        if index >= len(self.outcomes):
            raise _NeedsChance(event, dict(state))
        outcome = self.outcomes[index]
        if not outcome.matches(event):
            raise ChanceOutcomeError(
                f"recorded game of chance {index + 1} ({outcome.kind} among {', '.join(outcome.among)}) "
                f"does not match the tie the rules produce: {event.describe()}"
            )
        chosen = set(outcome.selected)
        if len(chosen) != count or not chosen <= set(event.among):
            raise ChanceOutcomeError(
                f"recorded game of chance {index + 1} selects {', '.join(sorted(chosen)) or 'nobody'}; "
                f"it must select exactly {count} of {', '.join(event.among)}"
            )
        self.used.append(outcome)
        self.steps.append(f"game of chance: {event.describe()}; chosen: {', '.join(sorted(chosen))}")
        return chosen


def _check_inputs(delegates_to_elect: int, attendance: int, final: Mapping[str, int]) -> None:
    if delegates_to_elect < 0:
        raise ValueError(f"delegates to elect {delegates_to_elect} must not be negative")
    if attendance < 0:
        raise ValueError(f"attendance {attendance} must not be negative")
    for group, count in final.items():
        if count < 0:
            raise ValueError(f"final alignment for {group} is {count}; counts must not be negative")
    total = sum(final.values())
    if total > attendance:
        raise ValueError(f"final alignment total {total} exceeds attendance {attendance}")


def allocate(
    delegates_to_elect: int,
    attendance: int,
    final: Mapping[str, int],
    ruleset: RuleSet,
    chance: Sequence[ChanceOutcome] = (),
) -> Allocation:
    """Allocate ``delegates_to_elect`` county delegates from the final alignment.

    ``attendance`` is ``N`` fixed at the first alignment (IA-1.3); ``chance`` are the precinct's recorded
    game-of-chance outcomes in the order the ties arise. Raises ``ValueError`` on impossible input
    (negative counts, final total above ``N``) and :class:`ChanceOutcomeError` on a recorded outcome that
    does not fit.
    """
    _check_inputs(delegates_to_elect, attendance, final)
    final = dict(final)
    zero = dict.fromkeys(final, 0)
    d, n = delegates_to_elect, attendance
    t = threshold(n, d, ruleset)
    run = _Run(ruleset, chance)
    base = Allocation(d, n, t, final, status="no-delegates", delegates=zero, viable=frozenset())
    if d == 0:
        return base
    floor_t = 1 if t is None else max(t, 1)
    viable = frozenset(g for g, c in final.items() if c >= floor_t)
    if not viable:
        run.steps.append(f"no group reached the threshold of {floor_t}")
        return replace(base, status="no-viable-group", steps=tuple(run.steps))
    dropped: set[str] = set()
    state = dict(zero)
    raw: dict[str, Fraction] = {}
    try:
        if t is None:
            _plurality(final, viable, state, run)
        else:
            dropped = _drop_smallest(d, final, viable, run, state) if (
                len(viable) > d and ruleset.more_viable_than_delegates == "drop-smallest") else set()
            keep = viable - dropped
            raw = {g: Fraction(final[g] * d, n) for g in sorted(keep)}
            _round_and_adjust(d, raw, state, run)
    except _NeedsChance as stop:
        return replace(base, status="needs-chance", delegates=stop.delegates, viable=viable,
                       dropped=frozenset(dropped), raw=raw, pending=stop.event, applied=tuple(run.used),
                       steps=tuple(run.steps))
    extra = len(run.used)
    if extra < len(chance):
        raise ChanceOutcomeError(
            f"{len(chance)} games of chance recorded but the rules need only {extra}"
        )
    return replace(base, status="complete", delegates=state, viable=viable, dropped=frozenset(dropped),
                   raw=raw, applied=tuple(run.used), steps=tuple(run.steps))


def _plurality(final: Mapping[str, int], viable: frozenset[str], state: dict[str, int], run: _Run) -> None:
    """AMBIG-1: one delegate goes to the largest final group; a tie for largest is a game of chance."""
    top = max(final[g] for g in viable)
    leaders = sorted(g for g in viable if final[g] == top)
    winner = set(leaders) if len(leaders) == 1 else run.settle("gain", leaders, 1, state)
    for g in winner:
        state[g] = 1
    run.steps.append(f"one-delegate precinct: plurality to {', '.join(sorted(winner))} with {top}")


def _drop_smallest(d: int, final: Mapping[str, int], viable: frozenset[str], run: _Run,
                   state: dict[str, int]) -> set[str]:
    """IA-3.3: the smallest viable groups lose viability until as many remain as there are delegates."""
    need = len(viable) - d
    ordered = sorted(viable, key=lambda g: (final[g], g))
    boundary = final[ordered[need - 1]]
    smaller = {g for g in viable if final[g] < boundary}
    at_boundary = sorted(g for g in viable if final[g] == boundary)
    remaining = need - len(smaller)
    chosen = set(at_boundary) if remaining == len(at_boundary) else run.settle("drop", at_boundary, remaining, state)
    dropped = smaller | chosen
    run.steps.append(
        f"{len(viable)} viable groups for {d} delegates: {', '.join(sorted(dropped))} lose viability (IA-3.3)"
    )
    return dropped


def _round_and_adjust(d: int, raw: Mapping[str, Fraction], state: dict[str, int], run: _Run) -> None:
    places = run.ruleset.tie_places
    shown = {g: quantize(r, places) for g, r in raw.items()}
    for g, r in raw.items():
        state[g] = floor_half_up(r)
    run.steps.append(f"rounded half up: {sum(state[g] for g in raw)} of {d}")
    while sum(state[g] for g in raw) > d:
        excess = sum(state[g] for g in raw) - d
        # IA-3.5: never take a group's only delegate; take from the largest allocation minus raw share.
        candidates = [g for g in raw if state[g] >= 2]
        if not candidates:
            run.steps.append(f"every group holds one delegate: {excess} added to the precinct (NV-3.3)")
            return
        key = {g: state[g] - shown[g] for g in candidates}
        top = max(key.values())
        tied = sorted(g for g in candidates if key[g] == top)
        losers = set(tied) if len(tied) <= excess else run.settle("lose", tied, excess, state)
        for g in losers:
            state[g] -= 1
        run.steps.append(f"too many delegates: {', '.join(sorted(losers))} give one back")
    while sum(state[g] for g in raw) < d:
        spare = d - sum(state[g] for g in raw)
        key = {g: shown[g] - state[g] for g in raw}
        top = max(key.values())
        tied = sorted(g for g in raw if key[g] == top)
        gainers = set(tied) if len(tied) <= spare else run.settle("gain", tied, spare, state)
        for g in gainers:
            state[g] += 1
        run.steps.append(f"spare delegates: {', '.join(sorted(gainers))} gain one")
