"""Consistency checks: a precinct report in, findings out (RULES.md §13.9 V-1..V-8 and more).

Pure: the same checks run in ``caucus audit``, at ingest and in review. Each finding has a stable
``code``, a ``severity`` (``blocking`` holds the precinct for a person; ``warning`` flags it) and a message
that names the numbers. Codes are documented in ``docs/findings.md``; never rename one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from caucus.rules import (
    Allocation,
    ChanceOutcome,
    ChanceOutcomeError,
    RuleSet,
    allocate,
    branches,
    threshold,
    to_decimal,
)

__all__ = ["FINDING_CODES", "FLOW_CODES", "REVIEWABLE_CODES", "CheckResult", "Finding", "PrecinctReport", "Verdict",
           "check_report", "find_duplicates"]

Severity = Literal["blocking", "warning"]
Verdict = Literal["reproduced", "reproduced-given-chance", "consistent", "inconsistent"]

#: code -> (severity, rule it enforces, what it means)
FINDING_CODES: dict[str, tuple[Severity, str, str]] = {
    "count-missing": ("blocking", "input", "a required count is missing"),
    "count-negative": ("blocking", "input", "a count is negative"),
    "count-not-whole": ("blocking", "input", "a count of people or delegates is not a whole number"),
    "candidate-unknown": ("blocking", "input", "a group is not a candidate of this election"),
    "first-exceeds-attendance": ("blocking", "V-1", "first alignment total above attendance"),
    "final-exceeds-first": ("blocking", "V-2", "final alignment total above first alignment total"),
    "viable-group-lost-members": ("blocking", "V-3", "a group viable at first alignment lost members"),
    "viable-group-lost-viability": ("blocking", "V-3", "a group viable at first alignment became non-viable"),
    "nonviable-awarded": ("blocking", "V-4", "a non-viable group was awarded delegates"),
    "delegate-total-mismatch": ("blocking", "V-5", "delegates awarded do not add up to the precinct's D"),
    "sde-mismatch": ("blocking", "V-6", "reported SDEs are not the delegates times the county ratio"),
    "duplicate-report": ("warning", "V-7", "report identical to another precinct's"),
    "chance-required": ("blocking", "V-8", "a game of chance is needed and no outcome is recorded"),
    "chance-not-recorded": ("warning", "V-8",
                            "reported delegates match a legal game-of-chance outcome that was not recorded"),
    "chance-outcome-invalid": ("blocking", "V-8", "a recorded game-of-chance outcome does not fit the tie"),
    "delegates-differ": ("blocking", "IA-3", "reported delegates differ from the recomputed ones"),
    "no-viable-group": ("blocking", "AMBIG-2", "no group reached the viability threshold"),
    "no-attendance": ("warning", "IA-1.3", "nobody attended: no delegates can be awarded"),
    "attendance-above-expected": ("blocking", "IA-5.3",
                                  "a satellite site's attendance is above its expected size in the plan"),
}

#: blocking findings about plausibility, not about the rules: the numbers are possible, only unlikely. They
#: are refused at ingest unless the sender confirms them, held for review, and a reviewer may accept them
#: after checking the paper (impossible numbers are never accepted, only corrected: AMBIG-10)
REVIEWABLE_CODES = frozenset({"attendance-above-expected"})


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    severity: Severity
    rule: str
    message: str
    #: the input field the finding is about, e.g. ``final.Sanders`` (for per-field error messages)
    field: str | None = None
    groups: tuple[str, ...] = ()

    @classmethod
    def make(cls, code: str, message: str, field: str | None = None, groups: Iterable[str] = ()) -> Finding:
        severity, rule, _ = FINDING_CODES[code]
        return cls(code, severity, rule, message, field, tuple(groups))


@dataclass(frozen=True)
class PrecinctReport:
    """What a precinct reported. Values may be anything a person typed: the checks validate them.

    ``attendance`` is ``N``; where it was not reported (the party's public files), ``None`` means the sum of
    the first alignment. ``sde_ratio`` is SDEs per county delegate (``S/C``; a satellite's weight / D).
    """

    precinct: str
    delegates_to_elect: int
    first: Mapping[str, object]
    final: Mapping[str, object]
    attendance: object = None
    reported_delegates: Mapping[str, object] | None = None
    reported_sde: Mapping[str, Decimal] | None = None
    sde_ratio: Fraction | None = None
    chance: Sequence[ChanceOutcome] = ()
    candidates: frozenset[str] | None = None
    #: how far a reported SDE may be from the recomputed one (0: exact at 4 decimals). Satellite sites whose
    #: weight is only known as the sum of their published, rounded SDEs need one unit of the 4th decimal.
    sde_tolerance: Decimal = Decimal(0)
    #: a satellite site's expected size from the plan (``Precinct.expected_attendance``); ``None``: no check
    expected_attendance: int | None = None


@dataclass(frozen=True)
class CheckResult:
    findings: tuple[Finding, ...]
    verdict: Verdict
    #: the server's recomputation with the recorded outcomes (``None`` if the counts were unusable)
    allocation: Allocation | None = None
    #: where the reported delegates match only a game-of-chance outcome: the outcomes that give them
    inferred_chance: tuple[ChanceOutcome, ...] = ()
    #: every complete allocation the rules allow (one unless a game of chance is open)
    legal: tuple[Allocation, ...] = field(default=())

    @property
    def blocking(self) -> bool:
        return any(f.severity == "blocking" for f in self.findings)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(f.code for f in self.findings)


def _people(n: int) -> str:
    return "1 person" if n == 1 else f"{n} people"


def _dels(n: int) -> str:
    return "1 delegate" if n == 1 else f"{n} delegates"


def _counts(stage: str, values: Mapping[str, object], out: list[Finding]) -> dict[str, int]:
    """Whole, non-negative counts; findings for anything else (named by field)."""
    good: dict[str, int] = {}
    for group, value in values.items():
        where = f"{stage}.{group}"
        if value is None or value == "":
            out.append(Finding.make("count-missing", f"{where}: the count is missing", where, [group]))
        elif isinstance(value, bool) or not isinstance(value, int | Fraction | Decimal | float | str):
            out.append(Finding.make("count-not-whole", f"{where}: {value!r} is not a whole number", where,
                                    [group]))
        else:
            try:
                number = Fraction(str(value).strip()) if isinstance(value, str) else Fraction(value)
            except (ValueError, ZeroDivisionError):
                out.append(Finding.make("count-not-whole", f"{where}: {value!r} is not a whole number", where,
                                        [group]))
                continue
            if number < 0:
                out.append(Finding.make("count-negative", f"{where}: {value} is negative", where, [group]))
            elif number.denominator != 1:
                out.append(Finding.make("count-not-whole", f"{where}: {value} is not a whole number", where,
                                        [group]))
            else:
                good[group] = int(number)
    return good


def _shape_findings(report: PrecinctReport) -> tuple[list[Finding], dict[str, int], dict[str, int],
                                                       dict[str, int] | None, int | None]:
    out: list[Finding] = []
    first = _counts("first", report.first, out)
    final = _counts("final", report.final, out)
    reported = None if report.reported_delegates is None else _counts("delegates", report.reported_delegates,
                                                                      out)
    attendance: int | None
    if report.attendance is None:
        attendance = sum(first.values())
    else:
        got = _counts("attendance", {"N": report.attendance}, out)
        attendance = got.get("N")
    if report.candidates is not None:
        groups = set(report.first) | set(report.final) | set(report.reported_delegates or {})
        for g in sorted(groups - report.candidates):
            out.append(Finding.make("candidate-unknown", f"{g!r} is not a candidate in this election",
                                    f"group.{g}", [g]))
    return out, first, final, reported, attendance


def _threshold_basis(report: PrecinctReport, n: int, first: Mapping[str, int]) -> str:
    """Where a threshold computed from an inferred attendance comes from; empty when ``N`` was reported."""
    if report.attendance is not None:
        return ""
    source = "first-alignment total" if n == sum(first.values()) else "final-alignment total (above the first)"
    return f", from N = {n} inferred from the {source}: no attendance was reported"


def _flow_findings(d: int, n: int, first: Mapping[str, int], final: Mapping[str, int],
                   t: int | None, *, basis: str = "") -> list[Finding]:
    out: list[Finding] = []
    s1, s2 = sum(first.values()), sum(final.values())
    if s1 > n:
        out.append(Finding.make("first-exceeds-attendance",
                                f"first alignment total {s1} exceeds attendance {n}", "first"))
    if s2 > s1:
        out.append(Finding.make("final-exceeds-first",
                                f"final alignment total {s2} exceeds first alignment total {s1}", "final"))
    if t is None or d < 2:
        return out
    for g in sorted(first):
        before, after = first[g], final.get(g, 0)
        if before >= max(t, 1) and after < t:
            out.append(Finding.make(
                "viable-group-lost-viability",
                f"{g} was viable at first alignment with {_people(before)} (threshold {t}{basis}) "
                f"but has {after} in the final alignment", f"final.{g}", [g]))
        elif before >= max(t, 1) and after < before:
            out.append(Finding.make(
                "viable-group-lost-members",
                f"{g} was viable at first alignment with {_people(before)} but has {after} in the final "
                f"alignment; members of viable groups may not realign", f"final.{g}", [g]))
    return out


def _delegate_findings(report: PrecinctReport, alloc: Allocation, reported: Mapping[str, int],
                       final: Mapping[str, int], basis: str = "") -> list[Finding]:
    out: list[Finding] = []
    d = report.delegates_to_elect
    total = sum(reported.values())
    if total != d and not (total > d and alloc.total == total) and not (alloc.attendance == 0 and total == 0):
        verb = "exceeds" if total > d else "is below"
        out.append(Finding.make("delegate-total-mismatch",
                                f"reported delegates total {total} {verb} the precinct's {d}", "delegates"))
    t = alloc.threshold
    floor_t = 1 if t is None else max(t, 1)
    for g, n in sorted(reported.items()):
        if n > 0 and final.get(g, 0) < floor_t:
            out.append(Finding.make(
                "nonviable-awarded",
                f"{g} awarded {_dels(n)} with {_people(final.get(g, 0))} in the final alignment, below the "
                f"viability threshold of {floor_t}{basis if t is not None else ''}", f"delegates.{g}", [g]))
    return out


def _diff(reported: Mapping[str, int], expected: Mapping[str, int]) -> list[str]:
    groups = sorted(set(reported) | set(expected))
    return [g for g in groups if reported.get(g, 0) != expected.get(g, 0)]


def _sde_findings(report: PrecinctReport, reported: Mapping[str, int]) -> list[Finding]:
    if report.reported_sde is None or report.sde_ratio is None:
        return []
    wrong = []
    for g in sorted(set(report.reported_sde) | set(reported)):
        want = to_decimal(reported.get(g, 0) * report.sde_ratio)
        got = report.reported_sde.get(g, Decimal(0))
        if abs(got - want) > report.sde_tolerance:
            wrong.append(f"{g} {got} (for {_dels(reported.get(g, 0))}: {want})")
    if not wrong:
        return []
    return [Finding.make("sde-mismatch", "reported SDEs inconsistent with the delegates: " + "; ".join(wrong),
                         "sde")]


#: findings about the alignments themselves (V-1..V-3): they hold the precinct for review but do not decide
#: whether the reported delegates follow from the reported alignments (the verdict)
FLOW_CODES = frozenset({"first-exceeds-attendance", "final-exceeds-first", "viable-group-lost-members",
                        "viable-group-lost-viability"})
#: blocking findings that do not change the verdict
_NOT_VERDICT = FLOW_CODES | REVIEWABLE_CODES


def _size_findings(report: PrecinctReport, n: int) -> list[Finding]:
    """A satellite site's head count above its expected size: its share of the pool's SDEs follows its
    attendance (IA-5.3), so one mistyped or inflated count would take the pool."""
    expected = report.expected_attendance
    if expected is None or n <= expected:
        return []
    counted = "attendance" if report.attendance is not None else "head count (largest alignment total)"
    return [Finding.make(
        "attendance-above-expected",
        f"{counted} {n} is above the site's expected attendance of {expected} in the plan; its share of the "
        "satellite pool's SDEs follows its attendance: check the sign-in sheets before HQ accepts it",
        "attendance")]


def check_report(report: PrecinctReport, ruleset: RuleSet) -> CheckResult:
    """Every check of one precinct's report; the recomputation is the authority.

    The verdict says whether the reported delegates (and SDEs) follow from the reported final alignment;
    ``blocking`` says whether a person must look at the precinct (any blocking finding, flow ones included).
    Where attendance was not reported (the party's public files), ``N`` is the first-alignment total, or
    the final-alignment total if that is larger (the room held at least that many people).
    """
    findings, first, final, reported, n = _shape_findings(report)
    if findings or n is None:
        return CheckResult(tuple(findings), "inconsistent")
    d = report.delegates_to_elect
    n_math = max(n, sum(final.values())) if report.attendance is None else n
    findings += _size_findings(report, n_math)
    basis = _threshold_basis(report, n_math, first)
    findings += _flow_findings(d, n, first, final, threshold(n_math, d, ruleset), basis=basis)
    if sum(final.values()) > n_math:
        if reported is not None:
            findings += _sde_findings(report, reported)
        return CheckResult(tuple(findings), "inconsistent")
    try:
        alloc = allocate(d, n_math, final, ruleset, report.chance)
        legal = (alloc,) if alloc.pending is None else tuple(
            b.allocation for b in branches(d, n_math, final, ruleset, report.chance))
    except ChanceOutcomeError as err:
        findings.append(Finding.make("chance-outcome-invalid", str(err), "chance"))
        return CheckResult(tuple(findings), "inconsistent")
    if n_math == 0:
        findings.append(Finding.make("no-attendance", "attendance is 0: nobody caucused, so no delegates "
                                     f"are awarded of the precinct's {d}", "attendance"))
    elif alloc.status == "no-viable-group":
        findings.append(Finding.make(
            "no-viable-group", f"no group reached the viability threshold of {alloc.threshold}{basis} "
            f"(largest final group {max(final.values(), default=0)} of {n_math})", "final"))
    inferred: tuple[ChanceOutcome, ...] = ()
    verdict: Verdict = "consistent"
    if reported is not None:
        findings += _delegate_findings(report, alloc, reported, final, basis)
        findings += _sde_findings(report, reported)
        verdict, inferred, more = _compare(alloc, legal, reported)
        findings += more
    elif alloc.pending is not None:
        findings.append(Finding.make(
            "chance-required", f"a game of chance is required: {alloc.pending.describe()}", "chance",
            alloc.pending.among))
    if any(f.severity == "blocking" and f.code not in _NOT_VERDICT for f in findings):
        verdict = "inconsistent"
    return CheckResult(tuple(findings), verdict, alloc, inferred, legal)


def _compare(alloc: Allocation, legal: tuple[Allocation, ...],
             reported: Mapping[str, int]) -> tuple[Verdict, tuple[ChanceOutcome, ...], list[Finding]]:
    if alloc.status == "complete" and not _diff(reported, alloc.delegates):
        return "reproduced", (), []
    for option in legal:
        if option.status == "complete" and not _diff(reported, option.delegates):
            event = alloc.pending
            told = event.describe() if event else "a game of chance"
            new = option.applied[len(alloc.applied):]
            chosen = "; ".join(f"{o.kind}: {', '.join(o.selected)}" for o in new)
            return "reproduced-given-chance", option.applied, [Finding.make(
                "chance-not-recorded",
                "reported delegates match a legal outcome of a game of chance that was not recorded "
                f"({told}; outcome {chosen})", "chance", event.among if event else ())]
    if alloc.status == "no-viable-group":
        if alloc.attendance == 0 and not any(reported.values()):
            return "reproduced", (), []
        return "inconsistent", (), []
    if alloc.status == "no-delegates" and not any(reported.values()):
        return "reproduced", (), []  # D = 0 and nothing reported: exactly what the rules give
    if alloc.pending is not None:
        # a pending game of chance: the rules allow each of its outcomes, never the state before it
        options = [o for o in legal if o.status == "complete"]
        shown = " | ".join(_listing(o.delegates) for o in options) or "none"
        groups = sorted({g for o in options for g in _diff(reported, o.delegates)})
        return "inconsistent", (), [Finding.make(
            "delegates-differ",
            f"reported delegates ({_listing(reported)}) match none of the {len(options)} legal outcomes of the "
            f"pending game of chance ({alloc.pending.describe()}): {shown}", "delegates", groups)]
    expected = alloc.delegates
    groups = _diff(reported, expected)
    if not groups:
        return "reproduced", (), []
    parts = [f"{g} {reported.get(g, 0)} (recomputed {expected.get(g, 0)})" for g in groups]
    note = " (the precinct elects no delegates)" if alloc.status == "no-delegates" else ""
    return "inconsistent", (), [Finding.make(
        "delegates-differ", "reported delegates differ from the recomputed ones: " + ", ".join(parts) + note,
        "delegates", groups)]


def _listing(delegates: Mapping[str, int]) -> str:
    """``Biden 2, Sanders 1`` (groups awarded delegates only), or ``nobody``."""
    return ", ".join(f"{g} {n}" for g, n in sorted(delegates.items()) if n) or "nobody"


def find_duplicates(reports: Mapping[str, tuple[Mapping[str, int], Mapping[str, int], Mapping[str, object]]]
                    ) -> dict[str, Finding]:
    """V-7: precincts whose first, final and SDE vectors are identical (and not all zero).

    ``reports`` maps a precinct label to its (first, final, sde) vectors; returns a finding per duplicate.
    """
    seen: dict[tuple[object, ...], list[str]] = {}
    for label, (first, final, sde) in reports.items():
        if not any(first.values()):
            continue
        key = (tuple(sorted((g, v) for g, v in first.items() if v)),
               tuple(sorted((g, v) for g, v in final.items() if v)),
               tuple(sorted((g, str(v)) for g, v in sde.items() if v)))
        seen.setdefault(key, []).append(label)
    out: dict[str, Finding] = {}
    for labels in seen.values():
        if len(labels) < 2:
            continue
        for label in labels:
            others = ", ".join(x for x in labels if x != label)
            out[label] = Finding.make("duplicate-report",
                                      f"first, final and SDE numbers identical to {others}", None, ())
    return out
