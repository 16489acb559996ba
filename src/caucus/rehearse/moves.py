"""Mistakes that move a delegate, for the rehearsal's corrections and recanvasses.

A chair (or the recanvass) finds that the final alignment was miscounted: some people were written in the
wrong group. The wrong numbers must be possible under the rules (else the server refuses them on arrival
and nothing is left to correct) and must award different delegates than the true ones, so that correcting
them moves a delegate, which a one-stage-at-a-time correction cannot record. Found by trying moves of a
few people between groups and keeping the first that the checks (the pure core) accept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from caucus.checks import PrecinctReport, check_report
from caucus.plans import Plan
from caucus.rehearse.truth import PrecinctTruth
from caucus.rules import get_ruleset

MAX_MOVED = 12  # people written in the wrong group, at most


@dataclass(frozen=True)
class Miscount:
    """A possible but wrong final alignment and the delegates it awards."""

    final: Mapping[str, int]
    delegates: Mapping[str, int]

    def bodies(self) -> tuple[dict[str, object], dict[str, object]]:
        return ({"stage": "final", "counts": {g: n for g, n in self.final.items() if n}},
                {"stage": "delegates", "delegates": {g: n for g, n in self.delegates.items() if n}})


def miscount(plan: Plan, unit: PrecinctTruth) -> Miscount | None:
    """A wrong final alignment of ``unit`` that the rules accept and that awards other delegates (no game of
    chance in it), or None if the unit has none within :data:`MAX_MOVED` people (or is a satellite site, or
    has early ballots: its miscount would have to respect where the early ballots realign)."""
    fact = plan.precinct_by_code(unit.code)
    if fact.kind == "satellite" or not fact.delegates or unit.chance or unit.early:
        return None
    ruleset = get_ruleset(plan.ruleset)
    truth = {g: n for g, n in unit.delegates.items() if n}
    groups = sorted(g for g, n in unit.final.items() if n)
    for moved in range(1, MAX_MOVED + 1):
        for source in groups:
            if unit.final.get(source, 0) < moved:
                continue
            for target in groups:
                if target == source:
                    continue
                final = dict(unit.final)
                final[source] = final.get(source, 0) - moved
                final[target] = final.get(target, 0) + moved
                report = PrecinctReport(precinct=unit.code, delegates_to_elect=fact.delegates, first=dict(unit.first),
                                        final=final, attendance=unit.attendance, reported_delegates=None,
                                        candidates=frozenset(plan.candidates))
                result = check_report(report, ruleset)
                allocation = result.allocation
                if result.blocking or allocation is None or allocation.pending is not None:
                    continue
                delegates = {g: n for g, n in allocation.delegates.items() if n}
                if delegates != truth:
                    return Miscount(final, delegates)
    return None
