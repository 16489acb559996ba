"""Audit of a party's published precinct results: recompute every precinct and check it.

Input: a plan and the published long results (first alignment, final alignment, SDEs per group). The
published files carry neither attendance nor county delegates, so (as documented in docs/audit.md):
- ``N`` is the first-alignment total;
- the reported county delegates are ``SDE ÷ (S/C)`` for a precinct; for a satellite site, whose SDE weight
  follows turnout in its pool, ``SDE × D_site ÷ W`` with ``W`` the site's published SDE total and
  ``D_site`` from the tier table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Literal, TypeVar

from caucus.checks import CheckResult, Finding, PrecinctReport, Verdict, check_report, find_duplicates
from caucus.plans import Plan
from caucus.results_csv import PublishedPrecinct
from caucus.rules import (
    RuleSet,
    branches,
    floor_half_up,
    get_ruleset,
    national_delegates,
    site_delegates,
    to_decimal,
)

__all__ = ["AuditReport", "UnitAudit", "audit"]

SATELLITE_SDE_TOLERANCE = Decimal("0.0001")
_N = TypeVar("_N", int, Decimal, Fraction)


@dataclass
class UnitAudit:
    """One reporting unit (a precinct or a satellite site) and its verdict."""

    code: str
    county: str
    precinct: str
    kind: Literal["precinct", "satellite"]
    line: int
    district: str | None
    delegates_to_elect: int
    attendance: int
    threshold: int | None
    first: dict[str, int]
    final: dict[str, int]
    reported_sde: dict[str, Decimal]
    reported_delegates: dict[str, int]
    sde_ratio: Fraction
    result: CheckResult
    #: SDEs the reported delegates give at 4 decimals (IA-4.2)
    sde_from_reported: dict[str, Decimal] = field(default_factory=dict)
    #: SDEs from our own recomputation; an open game of chance counts at its expected value
    sde_recomputed: dict[str, Fraction] = field(default_factory=dict)
    #: True when no recomputation was possible (e.g. final total above first) and the reported SDEs stand in
    recomputed_from_reported: bool = False

    @property
    def verdict(self) -> Verdict:
        return self.result.verdict

    @property
    def findings(self) -> tuple[Finding, ...]:
        return self.result.findings


@dataclass
class AuditReport:
    plan: str
    ruleset: str
    source: str
    units: list[UnitAudit]
    candidates: tuple[str, ...]

    def in_state(self) -> list[UnitAudit]:
        """Precincts that elect delegates (satellite sites excluded)."""
        return [u for u in self.units if u.kind == "precinct" and u.delegates_to_elect > 0]

    def satellites(self) -> list[UnitAudit]:
        return [u for u in self.units if u.kind == "satellite"]

    def verdict_counts(self, units: Iterable[UnitAudit]) -> dict[str, int]:
        counts = Counter(u.verdict for u in units)
        return {v: counts.get(v, 0) for v in ("reproduced", "reproduced-given-chance", "inconsistent")}

    def finding_counts(self) -> dict[str, int]:
        counts = Counter(f.code for u in self.units for f in u.findings)
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def _sum(self, pick: Callable[[UnitAudit], Mapping[str, _N]], zero: _N) -> dict[str, _N]:
        totals: dict[str, _N] = {}
        for u in self.units:
            for g, v in pick(u).items():
                totals[g] = totals.get(g, zero) + v
        return totals

    def totals(self) -> dict[str, dict[str, object]]:
        """Statewide totals per candidate: alignments, and SDEs as reported, from the reported delegates,
        and as recomputed (an open game of chance at its expected value)."""
        out: dict[str, dict[str, object]] = {}
        first = self._sum(lambda u: u.first, 0)
        final = self._sum(lambda u: u.final, 0)
        reported = self._sum(lambda u: u.reported_sde, Decimal(0))
        from_reported = self._sum(lambda u: u.sde_from_reported, Decimal(0))
        recomputed = self._sum(lambda u: u.sde_recomputed, Fraction(0))
        for g in self.candidates:
            out[g] = {
                "first": first.get(g, 0),
                "final": final.get(g, 0),
                "sde_reported": reported.get(g, Decimal(0)),
                "sde_from_reported_delegates": from_reported.get(g, Decimal(0)),
                "sde_recomputed": to_decimal(recomputed.get(g, Fraction(0)), 4),
            }
        return out

    def national(self, which: Literal["reported", "recomputed"], seats: Mapping[str, int], at_large: int,
                 pleo: int, threshold: Fraction) -> dict[str, int]:
        """National delegates from the SDEs by district (out-of-state satellites: statewide only)."""
        districts: dict[str, dict[str, Fraction]] = {d: {} for d in seats}
        statewide: dict[str, Fraction] = {}
        for u in self.units:
            values: Mapping[str, Fraction | Decimal] = (
                u.sde_from_reported if which == "reported" else u.sde_recomputed)
            for g, v in values.items():
                statewide[g] = statewide.get(g, Fraction(0)) + Fraction(v)
                if u.district in districts:
                    districts[u.district][g] = districts[u.district].get(g, Fraction(0)) + Fraction(v)
        result = national_delegates(districts, statewide, district_seats=seats, at_large=at_large, pleo=pleo,
                                    threshold=threshold)
        return result.totals


def _reported_delegates(sde: Mapping[str, Decimal], per_delegate: Fraction) -> dict[str, int]:
    return {g: floor_half_up(Fraction(v) / per_delegate) for g, v in sde.items()}


def _expected_sde(result: CheckResult, per_delegate: Fraction, ruleset: RuleSet) -> dict[str, Fraction]:
    """SDEs of the recomputation: a complete allocation as published; an open game of chance weighted over
    its legal outcomes (each published at 4 decimals)."""
    alloc = result.allocation
    if alloc is None:
        return {}
    outcomes = [(Fraction(1), alloc)] if alloc.status != "needs-chance" else [
        (b.probability, b.allocation) for b in branches(alloc.delegates_to_elect, alloc.attendance, alloc.final,
                                                         ruleset, alloc.applied)]
    out: dict[str, Fraction] = {}
    for p, a in outcomes:
        for g, cd in a.delegates.items():
            out[g] = out.get(g, Fraction(0)) + p * Fraction(to_decimal(cd * per_delegate))
    return out


def audit(plan: Plan, published: list[PublishedPrecinct], source: str = "",
          progress: Callable[[int, int], None] | None = None) -> AuditReport:
    """Recompute and check every published unit of ``plan``; units not in the plan raise ``KeyError``."""
    ruleset = get_ruleset(plan.ruleset)
    candidates = frozenset(plan.candidates)
    units: list[UnitAudit] = []
    for i, pub in enumerate(published):
        units.append(_audit_unit(plan, ruleset, pub, candidates))
        if progress is not None:
            progress(i + 1, len(published))
    duplicates = find_duplicates({u.code: (u.first, u.final, u.reported_sde) for u in units})
    for u in units:
        if u.code in duplicates:
            u.result = CheckResult((*u.result.findings, duplicates[u.code]), u.result.verdict,
                                   u.result.allocation, u.result.inferred_chance, u.result.legal)
    return AuditReport(plan.name, ruleset.name, source, units, plan.candidates)


def _audit_unit(plan: Plan, ruleset: RuleSet, pub: PublishedPrecinct, candidates: frozenset[str]) -> UnitAudit:
    precinct = plan.find_precinct(pub.county, pub.precinct)
    if precinct is None:
        raise KeyError(f"line {pub.line}: precinct {pub.precinct!r} in {pub.county!r} is not in plan {plan.name}")
    county = plan.counties[precinct.county]
    attendance = sum(pub.first.values())
    tolerance = Decimal(0)
    if precinct.kind == "satellite":
        d = site_delegates(attendance, ruleset)
        weight = sum((Fraction(v) for v in pub.sde.values()), Fraction(0))
        per_delegate = weight / d
        tolerance = SATELLITE_SDE_TOLERANCE
    else:
        d = precinct.delegates or 0
        per_delegate = county.sde_ratio
    reported = _reported_delegates(pub.sde, per_delegate) if per_delegate else dict.fromkeys(pub.sde, 0)
    report = PrecinctReport(
        precinct=precinct.code, delegates_to_elect=d, first=pub.first, final=pub.final,
        reported_delegates=reported, reported_sde=pub.sde, sde_ratio=per_delegate, candidates=candidates,
        sde_tolerance=tolerance, expected_attendance=precinct.expected_attendance)
    result = check_report(report, ruleset)
    # a satellite site's weight is only known from its published SDEs, so those stand as they are
    from_reported = dict(pub.sde) if precinct.kind == "satellite" else {
        g: to_decimal(cd * per_delegate) for g, cd in reported.items()}
    recomputed = _expected_sde(result, per_delegate, ruleset)
    fallback = result.allocation is None
    if fallback:
        recomputed = {g: Fraction(v) for g, v in from_reported.items()}
    return UnitAudit(
        code=precinct.code, county=precinct.county, precinct=pub.precinct, kind=precinct.kind, line=pub.line,
        district=county.district, delegates_to_elect=d, attendance=attendance,
        threshold=result.allocation.threshold if result.allocation else None, first=dict(pub.first),
        final=dict(pub.final), reported_sde=dict(pub.sde), reported_delegates=reported, sde_ratio=per_delegate,
        result=result, sde_from_reported=from_reported, sde_recomputed=recomputed,
        recomputed_from_reported=fallback)
