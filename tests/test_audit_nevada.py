"""The audit on Nevada's real 2020 results (data/nevada2020, vendored with provenance) and the nevada-2020 plan.

Expected totals are the certified ones (data/PROVENANCE.md, issue 14), and the unattended count is taken
from the file by a plain reading here, not from the program's output.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from functools import cache
from pathlib import Path

from typer.testing import CliRunner

from caucus.audit import AuditReport, audit_nevada
from caucus.checks import FLOW_CODES
from caucus.cli import app
from caucus.plans import load_plan
from caucus.results_nevada import read_nevada_results

RESULTS = Path(__file__).parents[1] / "data" / "nevada2020" / "results-final.csv"
# data/PROVENANCE.md: Nevada certified totals (first / final / county convention delegates)
CERTIFIED = {"Sanders": (35652, 41075, 6788), "Biden": (18424, 19179, 2927), "Buttigieg": (16102, 17598, 2073),
             "Warren": (13438, 11703, 1406), "Steyer": (9503, 4120, 682), "Klobuchar": (10100, 7376, 603)}


@cache
def report() -> AuditReport:
    plan = load_plan("nevada-2020")
    return audit_nevada(plan, read_nevada_results(RESULTS, candidates=plan.candidates), str(RESULTS))


def _raw_units() -> dict[tuple[str, str], list[dict[str, str]]]:
    units: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    with RESULTS.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            units[(row["county"], row["precinct"])].append(row)
    return units


def test_certified_totals_from_the_reported_numbers() -> None:
    totals = report().totals()
    for candidate, (first, final, delegates) in CERTIFIED.items():
        row = totals[candidate]
        assert (row["first"], row["final"], row["delegates_reported"]) == (first, final, delegates), candidate
    assert sum(int(row["delegates_reported"]) for row in totals.values()) == 14491  # type: ignore[call-overload]
    assert sum(int(row["first"]) for row in totals.values()) == 104883  # type: ignore[call-overload]
    assert sum(int(row["final"]) for row in totals.values()) == 101543  # type: ignore[call-overload]
    assert "sde_reported" not in totals["Sanders"]  # Nevada has no SDEs (NV-4)


def test_unattended_precincts_are_counted_apart() -> None:
    empty = {k for k, rows in _raw_units().items()
             if all(int(r["total_attendance"]) == 0 and int(r["align1"]) == 0 and int(r["alignfinal"]) == 0
                    and int(r["reported_del_given"]) == 0 for r in rows)}
    r = report()
    assert len(r.units) == 2097
    unattended = {(u.county, u.precinct) for u in r.units if u.status == "unattended"}
    assert len(unattended) == len(empty) == 447
    assert all(u.verdict == "reproduced" for u in r.units if u.unattended)  # the check has nothing against them
    # the 6 units of the file the plan does not have all drew nobody (src/caucus/plans/nevada-2020/PROVENANCE.md)
    assert len(r.outside_plan()) == 6 and all(u.unattended for u in r.outside_plan())
    assert r.unreported == ["Clark/1370", "Clark/2712", "Clark/3878", "Clark/3879"]


def test_verdict_counts_are_pinned_and_the_rules_explain_at_least_1466() -> None:
    r = report()
    precincts = r.in_state()
    counts = r.verdict_counts(precincts)
    assert len(precincts) == 2091
    assert counts == {"reproduced": 1388, "reproduced-given-chance": 85, "inconsistent": 177, "unattended": 441}
    awarding = len(precincts) - counts["unattended"]
    assert awarding == 1650
    assert counts["reproduced"] + counts["reproduced-given-chance"] >= 1466
    for u in r.units:
        if u.verdict == "inconsistent":
            # every precinct the rules do not explain is flagged with the rule it breaks
            assert u.blocking, u.code
            assert all(f.rule for f in u.blocking)
            if u.result.allocation is not None:
                assert [f for f in u.blocking if f.code not in FLOW_CODES], u.code
        if u.verdict == "reproduced-given-chance":
            assert "chance-not-recorded" in [f.code for f in u.findings]


def test_strip_caucuses_and_real_precincts() -> None:
    by_code = {u.code: u for u in report().units}
    harrahs = by_code["Clark/Harrahs"]  # D = 34 inferred (PROVENANCE.md): the rules give what was awarded
    assert (harrahs.delegates_to_elect, harrahs.attendance, harrahs.verdict) == (34, 82, "reproduced")
    # Carson City 107: D=7, N=125; final Biden 23, Buttigieg 44, Klobuchar 35, Sanders 21: raw 1.288, 2.464,
    # 1.96, 1.176 -> 1, 2, 2, 1 = 6, the spare to Buttigieg (.464) -> 1, 3, 2, 1; the party gave Biden 2
    carson = by_code["Carson City/107"]
    assert carson.verdict == "inconsistent"
    assert [f.message for f in carson.findings if f.code == "delegates-differ"] == [
        "reported delegates differ from the recomputed ones: Biden 2 (recomputed 1)"]
    assert carson.attendance_inferred is None  # Nevada reports N


def test_cli_audits_nevada_layout_with_the_nevada_plan() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["audit", str(RESULTS), "--plan", "nevada-2020"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "14,491" in text and "6,788" in text
    assert "Carson City / 107 (line" in text
    assert "4 precincts of the plan are not in the file: Clark/1370, Clark/2712, Clark/3878, Clark/3879" in text
    wrong = runner.invoke(app, ["audit", str(RESULTS)])
    assert wrong.exit_code != 0
    assert "audit it with --plan nevada-2020" in " ".join(wrong.stderr.split())
