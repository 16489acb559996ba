"""The audit on the party's real 2020 results (data/iowa2020, vendored with provenance).

Expected figures are the certified totals stated in data/PROVENANCE.md and RULES.md, not this program's
output.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction
from functools import cache
from pathlib import Path

import pytest

from caucus.audit import AuditReport, audit
from caucus.checks import FLOW_CODES
from caucus.packaged import certified_results
from caucus.plans import load_plan
from caucus.results_csv import read_results

DATA = Path(__file__).parents[1] / "data" / "iowa2020"
CERTIFIED = certified_results()
RELEASE = DATA / "results-release-2020-02-06.csv"


@cache
def report(path: Path) -> AuditReport:
    plan = load_plan("iowa-2020")
    return audit(plan, read_results(path, plan=plan), str(path))


def national(r: AuditReport, which: str) -> dict[str, int]:
    seats = load_plan("iowa-2020").national
    return r.national(which, seats.districts, seats.at_large, seats.pleo,  # type: ignore[arg-type]
                      Fraction(seats.threshold_percent, 100))


# data/PROVENANCE.md: certified statewide totals (first, final, SDE to 3 decimals)
CERTIFIED_TOTALS = {
    "Buttigieg": (37572, 43209, "562.954"), "Sanders": (43581, 45652, "562.021"),
    "Warren": (32589, 34909, "388.440"), "Biden": (26291, 23605, "340.324"),
    "Klobuchar": (22454, 21100, "263.869"), "Yang": (8914, 1758, "21.856"), "Steyer": (3061, 413, "6.619"),
    "Uncommitted": (1009, 1420, "3.732"),
}


@pytest.mark.parametrize("candidate", sorted(CERTIFIED_TOTALS))
def test_certified_totals_from_the_reported_delegates(candidate: str) -> None:
    first, final, sde = CERTIFIED_TOTALS[candidate]
    row = report(CERTIFIED).totals()[candidate]
    assert (row["first"], row["final"]) == (first, final)
    got = row["sde_from_reported_delegates"]
    assert isinstance(got, Decimal)
    assert got.quantize(Decimal("0.001")) == Decimal(sde)


def test_certified_national_delegates() -> None:
    assert national(report(CERTIFIED), "reported") == {
        "Buttigieg": 14, "Sanders": 12, "Warren": 8, "Biden": 6, "Klobuchar": 1}


def test_certified_every_unit_has_a_verdict_and_1600_reproduce() -> None:
    r = report(CERTIFIED)
    assert len(r.units) == 1765
    in_state = r.in_state()
    assert len(in_state) == 1678
    counts = r.verdict_counts(in_state)
    assert sum(counts.values()) == len(in_state)
    assert counts["reproduced"] + counts["reproduced-given-chance"] >= 1600
    for u in r.units:
        assert u.verdict in ("reproduced", "reproduced-given-chance", "inconsistent")
        if u.verdict == "inconsistent":
            named = [f for f in u.findings if f.severity == "blocking" and f.code not in FLOW_CODES]
            assert named, (u.code, u.findings)
            assert all(f.rule and f.message for f in named)
        if u.verdict == "reproduced-given-chance":
            assert "chance-not-recorded" in [f.code for f in u.findings]


def test_county_totals_are_sums_of_rounded_precinct_sdes() -> None:
    """IA-4.2 on the real data: the party's own county ``Total`` rows equal our sums of the 4-decimal
    precinct SDEs (e.g. Adair Klobuchar 0.8629, where the rounded exact sum would be 0.8627)."""
    published: dict[tuple[str, str], Decimal] = {}
    with CERTIFIED.open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row["precinct"] == "Total" and row["measure"] == "sde":
                published[(row["county"].strip(), row["candidate"])] = Decimal(row["value"]).quantize(
                    Decimal("0.0001"))
    ours: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for u in report(CERTIFIED).units:
        for g, v in u.sde_from_reported.items():
            ours[(u.county.strip(), g)] += v
    assert published[("Adair", "Klobuchar")] == Decimal("0.8629")
    # every county's and satellite pool's Total row (99 + 5, 14 candidates each) is checked, none left over
    assert len(published) == (99 + 5) * 14
    assert set(ours) == set(published)
    mismatched = [k for k in published if ours[k] != published[k]]
    assert not mismatched, mismatched[:5]


def test_release_flags_what_the_press_found() -> None:
    r = report(RELEASE)
    counts = r.finding_counts()
    for code in ("final-exceeds-first", "viable-group-lost-viability", "nonviable-awarded",
                 "delegate-total-mismatch", "delegates-differ", "duplicate-report"):
        assert counts.get(code, 0) > 0, code
    over = [u for u in r.units if any(f.code == "delegate-total-mismatch" and "exceeds" in f.message
                                      for f in u.findings)]
    assert over, "totals over D"
    # review, recanvass and recount fixed precincts: the release is worse than the certified results
    assert r.verdict_counts(r.in_state())["inconsistent"] > report(CERTIFIED).verdict_counts(
        report(CERTIFIED).in_state())["inconsistent"]
    orient = next(u for u in r.units if u.code == "Adair/04SE")
    assert orient.verdict == "inconsistent"


def test_release_sde_leader_differs_from_certified() -> None:
    """PROVENANCE.md: the 6 Feb release had Buttigieg 564.012, Sanders 562.497."""
    totals = report(RELEASE).totals()
    assert Decimal(str(totals["Buttigieg"]["sde_reported"])).quantize(Decimal("0.001")) == Decimal("564.012")
    assert Decimal(str(totals["Sanders"]["sde_reported"])).quantize(Decimal("0.001")) == Decimal("562.497")


def test_certified_precincts_reporting_one_alignment_only() -> None:
    """docs/audit.md "Reconciliation": two precincts of the certified file report one alignment and nobody in
    the other (read off the file: Graham Township has 54 people first and no final row above 0; Des Moines 80
    has no first-alignment row above 0 and 48 + 66 + 101 = 215 final). Without them 1,676 precincts remain:
    the population of RULES.md §10's reference figures."""
    r = report(CERTIFIED)
    assert {u.code: u.missing_alignment for u in r.one_alignment_only()} == {
        "Johnson/GR": "final", "Polk/DM 080": "first"}
    assert len(r.both_alignments()) == 1676
    dm80 = next(u for u in r.units if u.code == "Polk/DM 080")
    # by hand: N = 215 (the final total), D = 10, T = ceil(32.25) = 33; raw 48·10/215 = 2.2326,
    # 66·10/215 = 3.0698, 101·10/215 = 4.6977 → 2, 3, 5 (= 10); reported 0.5596, 0.8394, 1.3990 ÷ 392/1401
    assert (dm80.attendance, dm80.threshold, dm80.status) == (215, 33, "reproduced")
    assert {g: n for g, n in dm80.reported_delegates.items() if n} == {"Biden": 2, "Buttigieg": 3, "Sanders": 5}


def test_certified_totals_other_than_d_that_follow_the_rules() -> None:
    """Precincts awarding a total other than D (V-5) whose split is the rules' allocation of that total.
    By hand: Cherokee #4 (D 6, N 24, T 4; 8/4/4/4/4 → raw 2, 1, 1, 1, 1 → Biden 2) reported 1 each = 5; with
    D = 5: raw 1.6667, 0.8333 ×4 → 2, 1, 1, 1, 1 = 6, Biden (the only group holding 2) gives one back → 1 each.
    Harrison MA (D 5, N 35, T 6; 11/9/8/6 → raw 1.5714, 1.2857, 1.1429, 0.8571 → 2, 1, 1, 1) reported 2, 2,
    1, 1 = 6; with D = 6: raw 1.8857, 1.5429, 1.3714, 1.0286 → 2, 2, 1, 1."""
    r = report(CERTIFIED)
    by_code = {u.code: u for u in r.units}
    for code in ("Cherokee/4 CHER", "Harrison/MA"):
        u = by_code[code]
        assert u.status == "inconsistent"
        assert "delegate-total-mismatch" in [f.code for f in u.findings]
        assert u.as_reported_total == "reproduced"
    assert by_code["Cherokee/4 CHER"] in r.as_reported_total()["reproduced"]
    # a precinct whose total is D has no such verdict
    assert by_code["Adair/04SE"].as_reported_total is None
