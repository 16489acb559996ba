"""The rehearsal's ground truth: against the certified file itself (read here with the standard library's
csv module, and the statewide figures of data/PROVENANCE.md), and invariants checked with the rules core and
the checks."""

from __future__ import annotations

import csv
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from caucus.checks import PrecinctReport, check_report
from caucus.plans import load_plan
from caucus.rehearse.synthetic import synthetic_truth
from caucus.rehearse.truth import CERTIFIED, PrecinctTruth, truth_from_results, unit_sdes
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


def _the_file() -> dict[tuple[str, str], dict[str, dict[str, Decimal]]]:
    """(county, precinct name) -> measure -> candidate -> value, as the party published them."""
    units: dict[tuple[str, str], dict[str, dict[str, Decimal]]] = defaultdict(lambda: defaultdict(dict))
    with CERTIFIED.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["precinct"] not in ("Total", "Total_recalc"):
                units[row["county"], row["precinct"]][row["measure"]][row["candidate"]] = Decimal(row["value"])
    return units


def test_the_certified_truth_is_the_files_own_numbers() -> None:
    """What the night is judged against comes from the file: every played unit's alignments, the SDEs of
    every precinct played with its published delegates, and the totals made of them; what is left out is
    exactly the file's units with an alignment of nobody. The statewide sums are the certified ones."""
    plan = load_plan("iowa-2020")
    truth = truth_from_results()
    by_code = {}
    for (county, name), unit in _the_file().items():
        fact = plan.find_precinct(county.strip(), name)
        assert fact is not None, (county, name)
        by_code[fact.code] = unit
    everyone = list(by_code.values())
    assert sum(sum(u["expression_1"].values()) for u in everyone) == 176_352  # data/PROVENANCE.md
    assert sum(sum(u["expression_2"].values()) for u in everyone) == 172_300
    empty = {code for code, u in by_code.items()
             if not any(u["expression_1"].values()) or not any(u["expression_2"].values())}
    assert len(empty) == sum(truth.left_out.values()) == 6
    assert {u.code for u in truth.precincts} == set(by_code) - empty
    from_file = 0
    for unit in truth.precincts:
        party = by_code[unit.code]
        assert {g: n for g, n in unit.first.items() if n} == {g: v for g, v in party["expression_1"].items() if v}
        assert {g: n for g, n in unit.final.items() if n} == {g: v for g, v in party["expression_2"].items() if v}
        if unit.sde is not None:
            from_file += 1
            assert not unit.held and unit.impossible_delegates is None, unit.code
            assert dict(unit.sde) == {g: q for g, v in party["sde"].items() if (q := v.quantize(Decimal("0.0001")))}
            # the rules core agrees with the party on every such precinct (IA-4.2)
            assert {g: v for g, v in unit_sdes(plan, "iowa-2020", unit, {}).items() if v} == dict(unit.sde)
        elif not unit.held:  # computed: a satellite site, or a precinct whose published delegates are impossible
            assert plan.precinct_by_code(unit.code).kind == "satellite" or unit.impossible_delegates is not None
    assert from_file > 0
    totals = truth.totals()
    for key, measure in (("first", "expression_1"), ("final", "expression_2")):
        want = defaultdict(int)
        for unit in truth.published:
            for g, v in by_code[unit.code][measure].items():
                want[g] += int(v)
        assert {g: t[key] for g, t in totals.items() if t[key]} == {g: n for g, n in want.items() if n}, key


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


def test_a_synthetic_state_can_be_played_in_part_the_rest_unreported(tmp_path: Path) -> None:
    whole = synthetic_truth(tmp_path / "whole", 900, seed=5)
    part = synthetic_truth(tmp_path / "part", 900, seed=5, play=40)
    assert len(load_plan(part.plan).precincts) == 900  # the election is the whole state
    assert [u.code for u in part.precincts] == [u.code for u in whole.precincts[:40]]
    assert part.left_out == {"not played (--limit): unreported": 860}
    assert len({load_plan(part.plan).precinct_by_code(u.code).county for u in part.precincts}) > 1
    # the published totals expected are those of the played units only
    first = {name: sum(u.first.get(name, 0) for u in part.published) for name in part.totals()}
    assert {name: t["first"] for name, t in part.totals().items()} == first
