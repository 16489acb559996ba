"""The rehearsal's ground truth: invariants checked with the rules core and the checks, independently of
how the truth was built."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from caucus.checks import PrecinctReport, check_report
from caucus.plans import load_plan
from caucus.rehearse.synthetic import synthetic_truth
from caucus.rehearse.truth import CERTIFIED, PrecinctTruth, truth_from_results
from caucus.results_csv import read_results
from caucus.rules import get_ruleset
from caucus.rules.satellite import site_delegates

IOWA = get_ruleset("iowa-2020")


def _report(plan_name: str, unit: PrecinctTruth) -> PrecinctReport:
    fact = load_plan(plan_name).precinct_by_code(unit.code)
    d = fact.delegates if fact.delegates is not None else site_delegates(unit.attendance, IOWA)
    return PrecinctReport(precinct=unit.code, delegates_to_elect=d, first=unit.first, final=unit.final,
                          attendance=unit.attendance, reported_delegates=unit.delegates, chance=unit.chance)


def test_the_certified_night_plays_every_unit_a_channel_can_report_and_publishes_only_possible_numbers() -> None:
    truth = truth_from_results()
    published = read_results(CERTIFIED, plan=load_plan("iowa-2020"))
    assert len(truth.precincts) + sum(truth.left_out.values()) == len(published)
    for unit in truth.precincts:
        verdict = check_report(_report("iowa-2020", unit), IOWA)
        if unit.held:  # the room broke a rule: recorded and held, never published
            assert verdict.blocking, unit.code
        else:  # what is published follows from the alignments exactly
            assert not verdict.blocking and verdict.verdict == "reproduced", (unit.code, verdict.findings)
        if unit.impossible_delegates is not None:
            assert dict(unit.impossible_delegates) != dict(unit.delegates)
    assert sum(1 for u in truth.precincts if u.held) > 100  # 2020's impossible precincts are many
    totals = truth.totals()
    assert sum(t["first"] for t in totals.values()) == sum(sum(u.first.values()) for u in truth.published)


def test_a_synthetic_state_is_reproducible_from_its_seed_and_every_unit_passes_the_checks(tmp_path: Path) -> None:
    one = synthetic_truth(tmp_path / "a", 600, seed=11)
    two = synthetic_truth(tmp_path / "b", 600, seed=11)
    other = synthetic_truth(tmp_path / "c", 600, seed=12)
    for name in ("plan.toml", "counties.csv", "precincts.csv"):
        assert (tmp_path / "a" / name).read_text() == (tmp_path / "b" / name).read_text()
    assert [u.first for u in one.precincts] == [u.first for u in two.precincts]
    assert [u.first for u in one.precincts] != [u.first for u in other.precincts]
    plan = load_plan(one.plan)
    assert len(plan.precincts) == 600 and len(one.precincts) == 600
    assert sum(1 for p in plan.precincts if p.kind == "satellite") == 6
    for unit in one.precincts:
        verdict = check_report(_report(one.plan, unit), IOWA)
        assert not verdict.blocking and verdict.verdict == "reproduced", (unit.code, verdict.findings)
    assert any(u.chance for u in one.precincts)  # games of chance happen, and are recorded
    assert any(len(u.delegates) == 1 and sum(u.delegates.values()) == 1 for u in one.precincts)
    assert sum(t["sde"] for t in one.totals().values()) > Decimal(0)
