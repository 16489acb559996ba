"""Each finding code on a precinct built to break exactly one rule, with the exact message."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from caucus.checks import FINDING_CODES, FLOW_CODES, PrecinctReport, check_report, find_duplicates
from caucus.plans import load_plan
from caucus.rules import IOWA_2020, NEVADA_2020, ChanceOutcome

POWESHIEK = Fraction(14, 100)
# Grinnell 2nd Ward 07 (RULES.md R1): D=17, N=328, T=50 -> 3/4/4/6.
R1_FIRST = {"Buttigieg": 55, "Klobuchar": 70, "Sanders": 78, "Warren": 124, "Yang": 1}
R1_FINAL = {"Buttigieg": 55, "Klobuchar": 70, "Sanders": 78, "Warren": 124, "Yang": 0}
R1_DELS = {"Buttigieg": 3, "Klobuchar": 4, "Sanders": 4, "Warren": 6}


def r1(**changes: object) -> PrecinctReport:
    base: dict[str, object] = {
        "precinct": "Poweshiek/G2-7", "delegates_to_elect": 17, "first": R1_FIRST, "final": R1_FINAL,
        "reported_delegates": R1_DELS, "sde_ratio": POWESHIEK,
        "reported_sde": {g: Decimal(n) * Decimal("0.14") for g, n in R1_DELS.items()},
    }
    base.update(changes)
    return PrecinctReport(**base)  # type: ignore[arg-type]


def test_a_correct_real_precinct_is_reproduced_with_no_findings() -> None:
    result = check_report(r1(), IOWA_2020)
    assert result.findings == ()
    assert result.verdict == "reproduced"


def only(result_codes: tuple[str, ...], code: str) -> None:
    assert code in result_codes, result_codes


@pytest.mark.parametrize(
    ("changes", "code", "message"),
    [
        ({"attendance": 300}, "first-exceeds-attendance", "first alignment total 328 exceeds attendance 300"),
        ({"final": {**R1_FINAL, "Warren": 130}}, "final-exceeds-first",
         "final alignment total 333 exceeds first alignment total 328"),
        ({"final": {**R1_FINAL, "Warren": 120}}, "viable-group-lost-members",
         "Warren was viable at first alignment with 124 people but has 120 in the final alignment; "
         "members of viable groups may not realign"),
        ({"final": {**R1_FINAL, "Buttigieg": 49}}, "viable-group-lost-viability",
         "Buttigieg was viable at first alignment with 55 people (threshold 50, from N = 328 inferred from the "
         "first-alignment total: no attendance was reported) but has 49 in the final alignment"),
        ({"final": {**R1_FINAL, "Buttigieg": 49}, "attendance": 328}, "viable-group-lost-viability",
         "Buttigieg was viable at first alignment with 55 people (threshold 50) but has 49 in the final "
         "alignment"),
        ({"reported_delegates": {**R1_DELS, "Yang": 1, "Warren": 5}}, "nonviable-awarded",
         "Yang awarded 1 delegate with 0 people in the final alignment, below the viability threshold of 50, "
         "from N = 328 inferred from the first-alignment total: no attendance was reported"),
        ({"reported_delegates": {**R1_DELS, "Warren": 7}}, "delegate-total-mismatch",
         "reported delegates total 18 exceeds the precinct's 17"),
        ({"reported_delegates": {**R1_DELS, "Warren": 7, "Sanders": 3}}, "delegates-differ",
         "reported delegates differ from the recomputed ones: Sanders 3 (recomputed 4), Warren 7 (recomputed 6)"),
        ({"reported_sde": {"Buttigieg": Decimal("0.42"), "Klobuchar": Decimal("0.56"),
                           "Sanders": Decimal("0.56"), "Warren": Decimal("0.98")}}, "sde-mismatch",
         "reported SDEs inconsistent with the delegates: Warren 0.98 (for 6 delegates: 0.84)"),
        ({"first": {**R1_FIRST, "Sanders": None}}, "count-missing", "first.Sanders: the count is missing"),
        ({"final": {**R1_FINAL, "Sanders": -2}}, "count-negative", "final.Sanders: -2 is negative"),
        ({"final": {**R1_FINAL, "Sanders": "7x"}}, "count-not-whole", "final.Sanders: '7x' is not a whole number"),
        ({"final": {**R1_FINAL, "Sanders": 7.5}}, "count-not-whole", "final.Sanders: 7.5 is not a whole number"),
        ({"candidates": frozenset(R1_FIRST) - {"Yang"}}, "candidate-unknown",
         "'Yang' is not a candidate in this election"),
    ],
)
def test_each_broken_rule_has_its_finding(changes: dict[str, object], code: str, message: str) -> None:
    result = check_report(r1(**changes), IOWA_2020)
    found = {f.code: f for f in result.findings}
    assert code in found, result.findings
    assert found[code].message == message
    assert found[code].severity == FINDING_CODES[code][0]
    assert result.blocking
    if code not in FLOW_CODES:
        assert result.verdict == "inconsistent"


def test_flow_findings_hold_the_precinct_but_the_delegates_can_still_reproduce() -> None:
    # Warren (viable) loses 4 members; the published delegates still follow from the final alignment.
    result = check_report(r1(final={**R1_FINAL, "Warren": 120}), IOWA_2020)
    assert result.codes == ("viable-group-lost-members",)
    assert (result.verdict, result.blocking) == ("reproduced", True)


def test_every_code_is_documented() -> None:
    doc = (__import__("pathlib").Path(__file__).parents[1] / "docs" / "findings.md").read_text()
    for code in FINDING_CODES:
        assert f"`{code}`" in doc, code


IOWA_FALLS = {"Klobuchar": 19, "Warren": 19, "Buttigieg": 14, "Biden": 10}  # D=12, N=62 (R11)


def falls(reported: dict[str, int], chance: tuple[ChanceOutcome, ...] = ()) -> PrecinctReport:
    return PrecinctReport("Hardin/Iowa Falls", 12, IOWA_FALLS, IOWA_FALLS, reported_delegates=reported,
                          chance=chance)


def test_a_legal_chance_outcome_not_recorded_is_a_warning_not_an_inconsistency() -> None:
    result = check_report(falls({"Klobuchar": 4, "Warren": 3, "Buttigieg": 3, "Biden": 2}), IOWA_2020)
    assert result.verdict == "reproduced-given-chance"
    assert result.codes == ("chance-not-recorded",)
    assert result.findings[0].severity == "warning"
    assert result.findings[0].message == (
        "reported delegates match a legal outcome of a game of chance that was not recorded (1 of Klobuchar, "
        "Warren must lose one delegate by a game of chance; outcome lose: Warren)")
    assert [o.selected for o in result.inferred_chance] == [("Warren",)]


def test_a_recorded_chance_outcome_reproduces_exactly() -> None:
    toss = ChanceOutcome("lose", ("Klobuchar", "Warren"), ("Warren",))
    result = check_report(falls({"Klobuchar": 4, "Warren": 3, "Buttigieg": 3, "Biden": 2}, (toss,)), IOWA_2020)
    assert (result.verdict, result.findings) == ("reproduced", ())


def test_reported_against_the_recorded_outcome_is_inconsistent() -> None:
    toss = ChanceOutcome("lose", ("Klobuchar", "Warren"), ("Klobuchar",))
    result = check_report(falls({"Klobuchar": 4, "Warren": 3, "Buttigieg": 3, "Biden": 2}, (toss,)), IOWA_2020)
    assert result.verdict == "inconsistent"
    assert result.findings[0].message == (
        "reported delegates differ from the recomputed ones: Klobuchar 4 (recomputed 3), Warren 3 (recomputed 4)")


def test_an_outcome_that_is_not_a_chance_result_is_inconsistent() -> None:
    result = check_report(falls({"Klobuchar": 5, "Warren": 3, "Buttigieg": 2, "Biden": 2}), IOWA_2020)
    assert result.verdict == "inconsistent"
    assert result.codes == ("delegates-differ",)
    # RULES.md R11: the tie is for Klobuchar's or Warren's 4th delegate; either way Buttigieg 3, Biden 2.
    # The finding shows the legal outcomes, never the state before the game ("recomputed 4" for both)
    assert result.findings[0].message == (
        "reported delegates (Biden 2, Buttigieg 2, Klobuchar 5, Warren 3) match none of the 2 legal outcomes of "
        "the pending game of chance (1 of Klobuchar, Warren must lose one delegate by a game of chance): "
        "Biden 2, Buttigieg 3, Klobuchar 3, Warren 4 | Biden 2, Buttigieg 3, Klobuchar 4, Warren 3")
    assert "recomputed" not in result.findings[0].message
    assert result.findings[0].groups == ("Buttigieg", "Klobuchar", "Warren")


def test_a_required_chance_with_no_reported_delegates_blocks() -> None:
    report = PrecinctReport("Hardin/Iowa Falls", 12, IOWA_FALLS, IOWA_FALLS)
    result = check_report(report, IOWA_2020)
    assert result.codes == ("chance-required",)
    assert result.blocking


def test_a_recorded_outcome_that_does_not_fit_the_tie() -> None:
    wrong = ChanceOutcome("lose", ("Biden", "Warren"), ("Warren",))
    result = check_report(falls({"Klobuchar": 4, "Warren": 3, "Buttigieg": 3, "Biden": 2}, (wrong,)), IOWA_2020)
    assert result.codes == ("chance-outcome-invalid",)
    assert "does not match the tie the rules produce" in result.findings[0].message


def test_no_viable_group_blocks() -> None:
    groups = dict.fromkeys("ABCDEFGHIJ", 1)  # N=10, D=5, T=2: nobody viable
    result = check_report(PrecinctReport("X/1", 5, groups, groups, attendance=10), IOWA_2020)
    assert result.codes == ("no-viable-group",)
    assert result.findings[0].message == (
        "no group reached the viability threshold of 2 (largest final group 1 of 10)")
    # without a reported attendance, N is the first-alignment total, and the message says so
    inferred = check_report(PrecinctReport("X/1", 5, groups, groups), IOWA_2020)
    assert inferred.findings[0].message == (
        "no group reached the viability threshold of 2, from N = 10 inferred from the first-alignment total: "
        "no attendance was reported (largest final group 1 of 10)")


def test_a_precinct_electing_no_delegates_that_reports_none_is_reproduced() -> None:
    """Lee/FM4B elects 0 (data/iowa2020/apportionment.csv): nothing reported is exactly what the rules give,
    not an empty ``delegates-differ``; a delegate reported there is named."""
    assert load_plan("iowa-2020").precinct_by_code("Lee/FM4B").delegates == 0
    people = {"Biden": 3, "Sanders": 2}
    quiet = check_report(PrecinctReport("Lee/FM4B", 0, people, people, attendance=5,
                                        reported_delegates={"Biden": 0, "Sanders": 0}), IOWA_2020)
    assert (quiet.verdict, quiet.codes) == ("reproduced", ())
    loud = check_report(PrecinctReport("Lee/FM4B", 0, people, people, attendance=5,
                                       reported_delegates={"Biden": 1, "Sanders": 0}), IOWA_2020)
    assert loud.verdict == "inconsistent"
    differ = next(f for f in loud.findings if f.code == "delegates-differ")
    assert differ.message == ("reported delegates differ from the recomputed ones: Biden 1 (recomputed 0) "
                              "(the precinct elects no delegates)")


def test_nevada_added_delegate_is_not_a_total_mismatch() -> None:
    final = {"A": 13, "B": 13, "C": 13, "D": 13, "E": 24}
    report = PrecinctReport("NV/1", 4, final, final, reported_delegates=dict.fromkeys(final, 1))
    assert check_report(report, NEVADA_2020).verdict == "reproduced"
    assert "delegates-differ" in check_report(report, IOWA_2020).codes


def test_duplicates_are_found_and_all_zero_precincts_are_not() -> None:
    a = ({"X": 5, "Y": 3}, {"X": 8}, {"X": Decimal("0.5")})
    zero = ({"X": 0}, {"X": 0}, {"X": Decimal(0)})
    found = find_duplicates({"p1": a, "p2": a, "p3": zero, "p4": zero,
                             "p5": ({"X": 5, "Y": 3}, {"X": 8}, {"X": Decimal("0.6")})})
    assert sorted(found) == ["p1", "p2"]
    assert found["p1"].message == "first, final and SDE numbers identical to p2"


def test_a_precinct_where_nobody_came_is_a_warning() -> None:
    zero = {"Biden": 0, "Sanders": 0}
    result = check_report(PrecinctReport("X/2", 3, zero, zero, reported_delegates=zero), IOWA_2020)
    assert result.codes == ("no-attendance",)
    assert result.verdict == "reproduced"
    assert result.findings[0].message == (
        "attendance is 0: nobody caucused, so no delegates are awarded of the precinct's 3")
