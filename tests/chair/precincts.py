"""Generated precincts for the differential test of the chair app's math against the Python engine.

Seeded and tie-prone: few people per group and few distinct counts, so that every kind of game of chance
(lose, gain, drop), one-delegate precincts, satellites, no viable group and over-allocation all occur often.
The Python side plays each precinct to the end (:func:`trace`), settling each game of chance by a fixed
rule that the browser side applies too, and records every step.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from caucus.rules import (
    IOWA_2020,
    NEVADA_2020,
    ChanceOutcome,
    RuleSet,
    allocate,
    early_first_alignment,
    early_moves,
    site_delegates,
    valid_ballots,
    viable_at_first,
    void_ballot,
)
from tests.strategies import GROUP_NAMES

RULESETS = {r.name: r for r in (IOWA_2020, NEVADA_2020)}


@dataclass(frozen=True)
class Case:
    ruleset: str
    delegates: int
    attendance: int
    final: dict[str, int]
    satellite: bool

    def as_json(self) -> dict[str, Any]:
        return {"ruleset": self.ruleset, "D": self.delegates, "N": self.attendance, "final": self.final,
                "satellite": self.satellite}


def generate(count: int, seed: int) -> list[Case]:
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        ruleset = "nevada-2020" if rng.random() < 0.15 else "iowa-2020"
        names = rng.sample(GROUP_NAMES, rng.randint(1, len(GROUP_NAMES)))
        scale = rng.choice([3, 6, 12, 40, 150])
        levels = [rng.randint(0, scale) for _ in range(rng.randint(1, 3))]  # few distinct counts: ties
        final = {g: rng.choice(levels) + (rng.randint(0, 2) if rng.random() < 0.3 else 0) for g in names}
        attendance = sum(final.values()) + (rng.randint(0, scale) if rng.random() < 0.4 else 0)
        satellite = ruleset == "iowa-2020" and rng.random() < 0.1
        if satellite:
            delegates = site_delegates(attendance, IOWA_2020)
        else:
            delegates = rng.choice([0, 1, 1, 2, 3, 4, 5, 6, 8, 10, 12, 17, 24, 36, rng.randint(0, 36)])
        cases.append(Case(ruleset, delegates, attendance, final, satellite))
    return cases


def choose(among: tuple[str, ...] | list[str], count: int, step: int) -> list[str]:
    """The fixed rule both sides use to settle a game of chance: rotate the sorted names by the step."""
    names = sorted(among)
    start = step % len(names)
    rotated = names[start:] + names[:start]
    return sorted(rotated[:count])


def _snapshot(alloc: Any) -> dict[str, Any]:
    pending = alloc.pending
    return {
        "status": alloc.status,
        "threshold": alloc.threshold,
        "delegates": dict(sorted(alloc.delegates.items())),
        "viable": sorted(alloc.viable),
        "dropped": sorted(alloc.dropped),
        "pending": None if pending is None else {"kind": pending.kind, "among": list(pending.among),
                                                 "count": pending.count, "description": pending.describe()},
    }


def trace(case: Case) -> list[dict[str, Any]]:
    """Every step of the allocation: each stop for a game of chance, then the final result."""
    ruleset: RuleSet = RULESETS[case.ruleset]
    outcomes: list[ChanceOutcome] = []
    steps = []
    while True:
        alloc = allocate(case.delegates, case.attendance, case.final, ruleset, outcomes)
        steps.append(_snapshot(alloc))
        if alloc.pending is None:
            return steps
        chosen = choose(alloc.pending.among, alloc.pending.count, len(outcomes))
        outcomes.append(ChanceOutcome.of(alloc.pending, chosen))


@dataclass(frozen=True)
class EarlyCase:
    """A Nevada precinct with early ranked ballots: in-person first and final alignments and the ballots."""

    delegates: int
    in_person_first: dict[str, int]
    in_person_final: dict[str, int]
    ballots: list[list[str]]

    def as_json(self) -> dict[str, Any]:
        # pairs, not objects: a group called "__proto__" must survive the trip into the page
        return {"D": self.delegates, "first": list(self.in_person_first.items()),
                "final": list(self.in_person_final.items()), "ballots": self.ballots}


def generate_early(count: int, seed: int) -> list[EarlyCase]:
    """Seeded Nevada precincts with early ballots: short, repeated and void ballots included; in-person
    members of groups viable in the merged first alignment stay, the others leave or move at random."""
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        # "__proto__" among the names: the chair app's math must keep it as an ordinary group (a Map)
        pool = (*GROUP_NAMES, "__proto__")
        names = rng.sample(pool, rng.randint(1, 6))
        first = {g: rng.randint(0, rng.choice([2, 5, 12])) for g in names}
        ballots = [[rng.choice(names) for _ in range(rng.randint(0, 5))] for _ in range(rng.randint(0, 15))]
        d = rng.choice([0, 1, 2, 3, 4, 5, 7, 10])
        n = sum(first.values()) + len(valid_ballots(ballots))
        viable = viable_at_first(early_first_alignment(first, ballots), n, d, NEVADA_2020)
        final = {g: c for g, c in first.items() if g in viable}
        for g, c in first.items():
            if g not in viable:
                for _ in range(c):
                    if rng.random() < 0.7:
                        to = rng.choice(names)
                        final[to] = final.get(to, 0) + 1
        cases.append(EarlyCase(d, first, final, ballots))
    return cases


def trace_early(case: EarlyCase) -> dict[str, Any]:
    """The merged first alignment, N, the viable set, each ballot's move, the final alignment and the
    allocation steps (as :func:`trace`), from the Python engine."""
    first = early_first_alignment(case.in_person_first, case.ballots)
    n = sum(case.in_person_first.values()) + len(valid_ballots(case.ballots))
    viable = viable_at_first(first, n, case.delegates, NEVADA_2020)
    moves = early_moves(case.ballots, viable)
    final = dict(case.in_person_final)
    for move in moves:
        if move.final is not None:
            final[move.final] = final.get(move.final, 0) + 1
    steps = trace(Case("nevada-2020", case.delegates, n, final, False))
    return {"void": sum(void_ballot(b) for b in case.ballots), "N": n, "first": dict(sorted(first.items())),
            "viable": sorted(viable), "moves": [[m.first, m.final] for m in moves],
            "final": dict(sorted(final.items())), "steps": steps}
