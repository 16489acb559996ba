"""Synthetic early ranked ballots for a rehearsal of a rule set with early ballots (Nevada 2020).

Nevada's certified ``align1``/``alignfinal`` counts include the early voters (NV-3.1, NV-3.2), but the party
never published the ballots. For the rehearsal each played precinct gets a seeded set of made-up early
ballots **consistent with the certified counts**: their first choices are part of the certified first
alignment, and where the rules send each of them at realignment (its highest-ranked group viable at the first
alignment, AMBIG-7) is part of the certified final alignment; the chair then reports only the in-person
remainder, and the server's merge must give back exactly the certified totals. Construction, per precinct:

- a share of each group viable at the first alignment voted early and ranks it first (they stay);
- a share of each non-viable group voted early: each such ballot's second choice is a viable group that
  grew at realignment by at least as many people (so the room's viable groups never shrink), or, within the
  people the final alignment lost, a ballot ranking only non-viable groups (it counts in no group);
- about one ballot in 25 is void (fewer than 3 different choices, NV-2): counted, in no group.

The result is checked with the rules core (the merge gives the certified totals; every in-person number is
whole and the room never gains people); a precinct for which that fails, and every held unit, is played
with no early ballots (counted in ``EarlyPlan.without``).
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from caucus.rules import (
    RuleSet,
    early_first_alignment,
    realign_early_ballots,
    valid_ballots,
    viable_at_first,
)

if TYPE_CHECKING:
    from caucus.rehearse.truth import PrecinctTruth

__all__ = ["EarlyPlan", "add_early_ballots", "early_csv", "in_person"]

EARLY_SHARE = (0.3, 0.8)  # Nevada: about 75,000 early ballots for 104,883 in the first alignment
VOID_RATE = 0.04


@dataclass
class EarlyPlan:
    ballots: int = 0
    void: int = 0
    precincts: int = 0
    #: played precincts given no early ballots, by reason
    without: dict[str, int] = dataclasses.field(default_factory=dict)


def in_person(delegates: int, attendance: int, first: dict[str, int], final: dict[str, int], *,
              ballots: Sequence[Sequence[str]], ruleset: RuleSet) -> tuple[int, dict[str, int], dict[str, int]]:
    """The in-person attendance, first and final alignment: the totals minus the early ballots' part."""
    valid = valid_ballots(ballots)
    early_first = early_first_alignment({}, ballots)
    viable = viable_at_first(first, attendance, delegates, ruleset)
    early_final = realign_early_ballots(ballots, viable)
    room_first = {g: first.get(g, 0) - early_first.get(g, 0) for g in set(first) | set(early_first)}
    room_final = {g: final.get(g, 0) - early_final.get(g, 0) for g in set(final) | set(early_final)}
    return attendance - len(valid), room_first, room_final


def _ballots_for(rng: random.Random, candidates: Sequence[str], delegates: int, attendance: int, *,
                 first: dict[str, int], final: dict[str, int], ruleset: RuleSet) -> list[tuple[str, ...]]:
    viable = viable_at_first(first, attendance, delegates, ruleset)
    share = rng.uniform(*EARLY_SHARE)
    def others(*skip: str) -> list[str]:
        return [c for c in candidates if c not in skip]

    ballots: list[tuple[str, ...]] = []
    growth = {v: max(0, final.get(v, 0) - first.get(v, 0)) for v in viable}
    vanish = max(0, sum(first.values()) - sum(final.values()))
    for g in sorted(first):
        n = int(first[g] * share)
        for _ in range(n):
            if g in viable:
                rest = rng.sample(others(g), 2)
                ballots.append((g, *rest))
                continue
            room = [v for v in sorted(growth) if growth[v] > 0]
            if room:
                v = rng.choice(room)
                growth[v] -= 1
                ballots.append((g, v, rng.choice(others(g, v))))
            elif vanish > 0:
                pool = [c for c in candidates if c not in viable and c != g]
                if len(pool) < 2:
                    break
                vanish -= 1
                ballots.append((g, *rng.sample(pool, 2)))
            else:
                break
    if ballots and rng.random() < VOID_RATE * 10:
        g = rng.choice(candidates)
        ballots.append((g, g))  # one different choice: void (NV-2)
    rng.shuffle(ballots)
    return ballots


def add_early_ballots(units: list[PrecinctTruth], candidates: Sequence[str], ruleset: RuleSet, seed: int,
                      delegates: dict[str, int]) -> EarlyPlan:
    """Give each played, non-held unit (``PrecinctTruth``) seeded early ballots (see the module's doc); the
    units are replaced in ``units``. ``delegates``: D by unit code."""
    rng = random.Random(seed)
    plan = EarlyPlan()
    for i, unit in enumerate(units):
        if unit.held or unit.impossible_delegates:
            plan.without["held or impossible delegates"] = plan.without.get("held or impossible delegates", 0) + 1
            continue
        d = delegates[unit.code]
        first, final = dict(unit.first), dict(unit.final)
        ballots = _ballots_for(rng, candidates, d, unit.attendance, first=first, final=final, ruleset=ruleset)
        if not ballots:
            plan.without["too small"] = plan.without.get("too small", 0) + 1
            continue
        room_n, room_first, room_final = in_person(d, unit.attendance, first, final, ballots=ballots, ruleset=ruleset)
        numbers = [room_n, *room_first.values(), *room_final.values()]
        viable = viable_at_first(first, unit.attendance, d, ruleset)
        ok = (min(numbers) >= 0 and sum(room_first.values()) <= room_n
              and sum(room_final.values()) <= sum(room_first.values())
              and all(room_final.get(g, 0) >= room_first.get(g, 0) for g in viable))
        if not ok:
            plan.without["no consistent ballots"] = plan.without.get("no consistent ballots", 0) + 1
            continue
        room = (room_n, {g: n for g, n in room_first.items() if n}, {g: n for g, n in room_final.items() if n})
        units[i] = dataclasses.replace(unit, early=tuple(ballots), room=room)
        plan.precincts += 1
        plan.ballots += len(ballots)
        plan.void += len(ballots) - len(valid_ballots(ballots))
    return plan


def early_csv(units: Sequence[PrecinctTruth], county_of: dict[str, tuple[str, str]]) -> str:
    """The early ballots of ``units`` as the party's export (docs/early-ballots.md); ``county_of``: code ->
    (county, precinct as the export writes it)."""
    lines = ["county,precinct,ballot_id,rank1,rank2,rank3,rank4,rank5"]
    n = 0
    for unit in units:
        county, precinct = county_of[unit.code]
        for ranks in unit.early:
            n += 1
            cells = [*ranks, *[""] * (5 - len(ranks))]
            lines.append(",".join([_csv(county), _csv(precinct), f"EV-{n:06d}", *map(_csv, cells)]))
    return "\n".join(lines) + "\n"


def _csv(text: str) -> str:
    return f'"{text}"' if "," in text or '"' in text else text
