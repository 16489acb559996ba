"""``evaluate`` remembers recent evaluations (issue 15: the writer's status derivation re-evaluated what a report's
checks had just evaluated): a remembered evaluation must be the one a fresh evaluation of the same inputs gives,
and inputs that differ in anything (a count, a number's type, the rule set, the precinct) must not share one."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

from caucus.packaged import certified_results
from caucus.rehearse import scripts_from_results
from caucus.rules.ruleset import IOWA_2020
from caucus.service.context import PrecinctInfo
from caucus.service.evaluation import STAGE_ORDER, _evaluate, evaluate

INFO = PrecinctInfo(code="P1", county="Polk", name="P1", kind="precinct", delegates=6, sde_ratio=Fraction(7, 3))
CANDIDATES = ("Biden", "Buttigieg", "Klobuchar", "Sanders", "Warren", "Yang")


def _stages(limit: int) -> list[dict[str, dict[str, object]]]:
    """Every prefix of the stages of real precincts (attendance; attendance and first; ...)."""
    found = []
    for script in scripts_from_results(certified_results(), limit=limit):
        payloads = dict(zip(STAGE_ORDER, script.stages, strict=False))
        found += [{stage: payloads[stage] for stage in STAGE_ORDER[:n]} for n in range(1, len(payloads) + 1)]
    return found


def test_a_remembered_evaluation_is_the_fresh_one() -> None:
    for payloads in _stages(30):
        first = evaluate(INFO, IOWA_2020, CANDIDATES, payloads)
        assert evaluate(INFO, IOWA_2020, CANDIDATES, payloads) is first  # remembered
        assert first == _evaluate(INFO, IOWA_2020, CANDIDATES, payloads)


def test_inputs_that_differ_do_not_share_an_evaluation() -> None:
    payloads = next(p for p in _stages(5) if "final" in p)
    counts = dict(payloads["first"]["counts"])  # type: ignore[call-overload]
    group = next(iter(counts))
    changed = [
        {**payloads, "first": {"counts": {**counts, group: counts[group] + 1}}},  # one count
        {**payloads, "first": {"counts": {**counts, group: float(counts[group])}}},  # a number's type
    ]
    evaluate(INFO, IOWA_2020, CANDIDATES, payloads)
    for other in changed:
        assert evaluate(INFO, IOWA_2020, CANDIDATES, other) == _evaluate(INFO, IOWA_2020, CANDIDATES, other)
    elsewhere = dataclasses.replace(INFO, delegates=2)
    assert (evaluate(elsewhere, IOWA_2020, CANDIDATES, payloads)
            == _evaluate(elsewhere, IOWA_2020, CANDIDATES, payloads))
    strict = dataclasses.replace(IOWA_2020, thresholds=((2, Fraction(1, 2)),))
    assert evaluate(INFO, strict, CANDIDATES, payloads) == _evaluate(INFO, strict, CANDIDATES, payloads)
    assert (evaluate(INFO, strict, CANDIDATES, payloads).recomputed
            != evaluate(INFO, IOWA_2020, CANDIDATES, payloads).recomputed)
