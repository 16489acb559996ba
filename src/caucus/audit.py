"""Audit of a party's published precinct results: recompute every precinct and check it.

Two layouts (docs/audit.md):
- Iowa's long results (first alignment, final alignment, SDEs per group) carry neither attendance nor
  county delegates, so ``N`` is **inferred**: the first-alignment total (or the final one if larger); the
  reported county delegates are ``SDE ÷ (S/C)`` for a precinct; for a satellite site, whose SDE weight
  follows turnout in its pool, ``SDE × D_site ÷ W`` with ``W`` the site's published SDE total and
  ``D_site`` from the tier table (:func:`audit`).
- Nevada's results give ``N`` (in person plus early votes) and the county delegates awarded; there are no
  SDEs (:func:`audit_nevada`).

A unit that nobody attended and that reports nothing is **unattended**: counted apart, not as reproduced.
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
from caucus.results_csv import PublishedPrecinct, ResultsFileError
from caucus.results_nevada import NevadaPrecinct, plan_precinct
from caucus.rules import (
    RuleSet,
    branches,
    floor_half_up,
    get_ruleset,
    national_delegates,
    site_delegates,
    to_decimal,
)

__all__ = ["STATUSES", "AuditReport", "UnitAudit", "audit", "audit_nevada"]

#: what the audit says of a unit: the check's verdict, or ``unattended`` (nobody came, nothing reported)
STATUSES = ("reproduced", "reproduced-given-chance", "inconsistent", "unattended")

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
    sde_ratio: Fraction | None
    result: CheckResult
    #: SDEs the reported delegates give at 4 decimals (IA-4.2)
    sde_from_reported: dict[str, Decimal] = field(default_factory=dict)
    #: SDEs from our own recomputation; an open game of chance counts at its expected value
    sde_recomputed: dict[str, Fraction] = field(default_factory=dict)
    #: True when no recomputation was possible (e.g. final total above first) and the reported SDEs stand in
    recomputed_from_reported: bool = False
    #: how ``attendance`` (N) was obtained: ``None`` when reported; otherwise what it was inferred from
    attendance_inferred: str | None = None
    #: False for a unit of the results file that the plan does not have (only unattended ones are audited)
    in_plan: bool = True
    #: county delegates of our own recomputation; an open game of chance counts at its expected value
    delegates_recomputed: dict[str, Fraction] = field(default_factory=dict)
    #: where the reported delegates add up to a total other than ``D`` (V-5): whether they are the rules'
    #: allocation of that total (``reproduced``, ``reproduced-given-chance``) or not (``inconsistent``)
    as_reported_total: str | None = None

    @property
    def verdict(self) -> Verdict:
        return self.result.verdict

    @property
    def unattended(self) -> bool:
        """Nobody came and nothing is reported: no verdict to give (counted apart)."""
        return self.attendance == 0 and not any(self.first.values()) and not any(self.final.values()) \
            and not any(self.reported_delegates.values())

    @property
    def status(self) -> str:
        """The verdict, or ``unattended`` (see :data:`STATUSES`)."""
        return "unattended" if self.unattended else self.verdict

    @property
    def missing_alignment(self) -> Literal["first", "final"] | None:
        """The alignment the unit reports nobody in while the other has people (``None`` otherwise).

        Such a unit is audited all the same (``N`` from the other alignment, or no viable group), but a
        count that needs both alignments (RULES.md §10's reference figures) leaves it out (docs/audit.md).
        """
        first, final = sum(self.first.values()), sum(self.final.values())
        if first == 0 and final > 0:
            return "first"
        if final == 0 and first > 0:
            return "final"
        return None

    @property
    def blocking(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "blocking")

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
    #: whether the rule set computes SDEs (Iowa); without them (Nevada) totals are in county delegates
    has_sde: bool = True
    #: codes of the plan's precincts that elect delegates but are not in the results file
    unreported: list[str] = field(default_factory=list)

    def in_state(self) -> list[UnitAudit]:
        """Precincts of the plan that elect delegates (satellite sites excluded)."""
        return [u for u in self.units if u.kind == "precinct" and u.delegates_to_elect > 0 and u.in_plan]

    def satellites(self) -> list[UnitAudit]:
        return [u for u in self.units if u.kind == "satellite"]

    def one_alignment_only(self) -> list[UnitAudit]:
        """Precincts electing delegates that report one alignment and nobody in the other."""
        return [u for u in self.in_state() if u.missing_alignment is not None]

    def as_reported_total(self) -> dict[str, list[UnitAudit]]:
        """Precincts (both alignments) whose reported delegates add up to a total other than ``D``, by the
        verdict had they elected that total: the ``reproduced`` ones differ from the rules only in ``D``."""
        out: dict[str, list[UnitAudit]] = {}
        for u in self.both_alignments():
            if u.as_reported_total is not None:
                out.setdefault(u.as_reported_total, []).append(u)
        return out

    def both_alignments(self) -> list[UnitAudit]:
        """Precincts electing delegates that report both alignments: the population of RULES.md §10's
        reference figures (certified Iowa: 1,676 of 1,678; docs/audit.md, "Reconciliation")."""
        return [u for u in self.in_state() if u.missing_alignment is None]

    def outside_plan(self) -> list[UnitAudit]:
        """Units of the file that the plan does not have (nobody attended them)."""
        return [u for u in self.units if not u.in_plan]

    def verdict_counts(self, units: Iterable[UnitAudit]) -> dict[str, int]:
        """Units by status: the verdicts, with the unattended ones apart (never counted as reproduced)."""
        counts = Counter(u.status for u in units)
        return {v: counts.get(v, 0) for v in STATUSES}

    def blocking_by_finding(self) -> dict[str, list[UnitAudit]]:
        """Every unit with a blocking finding, whatever its verdict, grouped by finding code (most first)."""
        groups: dict[str, list[UnitAudit]] = {}
        for u in self.units:
            for code in dict.fromkeys(f.code for f in u.blocking):
                groups.setdefault(code, []).append(u)
        return dict(sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])))

    def inferred_attendance(self) -> int:
        """Units whose N (and so threshold) is inferred rather than reported."""
        return sum(1 for u in self.units if u.attendance_inferred is not None and not u.unattended)

    def chance_at_expected_value(self) -> int:
        """Units whose recomputation has an open game of chance (counted at its expected value)."""
        return sum(1 for u in self.units if u.result.allocation is not None
                   and u.result.allocation.pending is not None)

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
        delegates = self._sum(lambda u: u.reported_delegates, 0)
        delegates_recomputed = self._sum(lambda u: u.delegates_recomputed, Fraction(0))
        for g in self.candidates:
            out[g] = {
                "first": first.get(g, 0),
                "final": final.get(g, 0),
                "delegates_reported": delegates.get(g, 0),
                "delegates_recomputed": to_decimal(delegates_recomputed.get(g, Fraction(0)), 4),
            }
            if self.has_sde:
                out[g].update({
                    "sde_reported": reported.get(g, Decimal(0)),
                    "sde_from_reported_delegates": from_reported.get(g, Decimal(0)),
                    "sde_recomputed": to_decimal(recomputed.get(g, Fraction(0)), 4),
                })
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


def _outcomes(result: CheckResult, ruleset: RuleSet) -> list[tuple[Fraction, dict[str, int]]]:
    """The recomputation's allocations with their probabilities: one, or an open game of chance's legal
    outcomes weighted as fair games."""
    alloc = result.allocation
    if alloc is None:
        return []
    if alloc.status != "needs-chance":
        return [(Fraction(1), dict(alloc.delegates))]
    return [(b.probability, dict(b.allocation.delegates)) for b in branches(
        alloc.delegates_to_elect, alloc.attendance, alloc.final, ruleset, alloc.applied)]


def _as_reported_total(reported: Mapping[str, int], d: int, n: int, final: Mapping[str, int],
                       ruleset: RuleSet) -> str | None:
    """The verdict had the precinct elected the total it reported instead of ``D`` (``None`` if equal)."""
    total = sum(reported.values())
    if total in (d, 0) or n == 0 or sum(final.values()) > n:
        return None
    found = [b for b in branches(total, n, final, ruleset)
             if b.allocation.status == "complete" and all(
                 reported.get(g, 0) == b.allocation.delegates.get(g, 0) for g in {*reported, *final})]
    if not found:
        return "inconsistent"
    return "reproduced-given-chance" if found[0].outcomes else "reproduced"


def _expected(outcomes: list[tuple[Fraction, dict[str, int]]], per_delegate: Fraction | None
              ) -> dict[str, Fraction]:
    """Expected county delegates (``per_delegate`` None), or SDEs each published at 4 decimals."""
    out: dict[str, Fraction] = {}
    for p, delegates in outcomes:
        for g, cd in delegates.items():
            value = Fraction(cd) if per_delegate is None else Fraction(to_decimal(cd * per_delegate))
            out[g] = out.get(g, Fraction(0)) + p * value
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
    return AuditReport(plan.name, ruleset.name, source, units, plan.candidates, has_sde=ruleset.has_sde)


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
    outcomes = _outcomes(result, ruleset)
    recomputed = _expected(outcomes, per_delegate)
    delegates_recomputed = _expected(outcomes, None)
    fallback = result.allocation is None
    if fallback:
        recomputed = {g: Fraction(v) for g, v in from_reported.items()}
        delegates_recomputed = {g: Fraction(v) for g, v in reported.items()}
    n_math = result.allocation.attendance if result.allocation else max(attendance, sum(pub.final.values()))
    as_total = _as_reported_total(reported, d, n_math, pub.final, ruleset) if precinct.kind == "precinct" else None
    inferred = "the first-alignment total" if n_math == attendance else "the final-alignment total (above the first)"
    return UnitAudit(
        code=precinct.code, county=precinct.county, precinct=pub.precinct, kind=precinct.kind, line=pub.line,
        district=county.district, delegates_to_elect=d, attendance=n_math,
        threshold=result.allocation.threshold if result.allocation else None, first=dict(pub.first),
        final=dict(pub.final), reported_sde=dict(pub.sde), reported_delegates=reported, sde_ratio=per_delegate,
        result=result, sde_from_reported=from_reported, sde_recomputed=recomputed,
        recomputed_from_reported=fallback, attendance_inferred=inferred,
        delegates_recomputed=delegates_recomputed, as_reported_total=as_total)


def audit_nevada(plan: Plan, published: list[NevadaPrecinct], source: str = "",
                 progress: Callable[[int, int], None] | None = None) -> AuditReport:
    """Recompute and check every precinct of Nevada's published results (:mod:`caucus.results_nevada`).

    ``N`` is the file's ``total_attendance`` (NV-3.1) and the reported delegates its ``reported_del_given``.
    A unit the plan lacks is audited only if nobody attended it (it is then counted apart); one that was
    attended raises :class:`ResultsFileError` naming its line.
    """
    ruleset = get_ruleset(plan.ruleset)
    candidates = frozenset(plan.candidates)
    units: list[UnitAudit] = []
    unknown: list[str] = []
    seen: set[str] = set()
    for i, pub in enumerate(published):
        precinct = plan_precinct(plan, pub.county, pub.precinct)
        empty = pub.attendance == 0 and not any((*pub.first.values(), *pub.final.values(),
                                                 *pub.reported.values()))
        if precinct is None and not empty:
            unknown.append(f"line {pub.line}: precinct {pub.precinct!r} in {pub.county!r} is not in plan "
                           f"{plan.name}, yet it reports people or delegates")
            continue
        code = precinct.code if precinct else f"{pub.county}/{pub.precinct}"
        d = precinct.delegates if precinct and precinct.delegates is not None else (pub.delegates or 0)
        seen.add(code)
        report = PrecinctReport(precinct=code, delegates_to_elect=d, first=pub.first, final=pub.final,
                                attendance=pub.attendance, reported_delegates=pub.reported, candidates=candidates)
        result = check_report(report, ruleset)
        outcomes = _outcomes(result, ruleset)
        recomputed = _expected(outcomes, None) if outcomes else {g: Fraction(v) for g, v in pub.reported.items()}
        county = plan.counties[precinct.county] if precinct else None
        units.append(UnitAudit(
            code=code, county=precinct.county if precinct else pub.county, precinct=pub.precinct, kind="precinct",
            line=pub.line, district=county.district if county else None, delegates_to_elect=d,
            attendance=pub.attendance, threshold=result.allocation.threshold if result.allocation else None,
            first=dict(pub.first), final=dict(pub.final), reported_sde={}, reported_delegates=dict(pub.reported),
            sde_ratio=None, result=result, recomputed_from_reported=result.allocation is None,
            in_plan=precinct is not None, delegates_recomputed=recomputed))
        if progress is not None:
            progress(i + 1, len(published))
    if unknown:
        raise ResultsFileError(unknown)
    unreported = [p.code for p in plan.precincts if p.code not in seen and (p.delegates or 0) > 0]
    return AuditReport(plan.name, ruleset.name, source, units, plan.candidates, has_sde=False,
                       unreported=unreported)
