"""``caucus audit``: recompute and check every precinct of a published results file."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from caucus.audit import STATUSES, AuditReport, UnitAudit, audit_nevada
from caucus.audit import audit as run_audit
from caucus.checks import FINDING_CODES
from caucus.cli.common import EXIT_INCONSISTENT, err, fail, out
from caucus.packaged import CERTIFIED_PLAN, certified_results
from caucus.plans import Plan, PlanError, load_plan
from caucus.results_csv import ResultsFileError, read_results
from caucus.results_nevada import is_nevada_layout, read_nevada_results

SCHEMA = "caucus.audit/1"


def audit(
    results: Annotated[Path | None, typer.Argument(help="Published results: Iowa's long CSV (county,precinct,"
                                                         "candidate,measure,value) or Nevada's layout "
                                                         "(county,precinct,total_attendance,candidate,"
                                                         "reported_del_given,align1,alignfinal,...), told "
                                                         "apart by the header (default, with the "
                                                         "iowa-2020 plan: the party's certified 2020 "
                                                         "results, shipped with caucus).")] = None,
    plan: Annotated[str, typer.Option(help="Bundled plan name or a plan directory.")] = "iowa-2020",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output (docs/audit.md).")] = False,
    show: Annotated[int, typer.Option(help="Precincts to list under each blocking finding (-1: all).")] = -1,
    fail_on_inconsistent: Annotated[bool, typer.Option(help="Exit 1 if any precinct is inconsistent.")] = False,
) -> None:
    """Recompute every precinct from its alignments and check it against the rules."""
    try:
        the_plan = load_plan(plan)
    except (PlanError, FileNotFoundError, NotADirectoryError) as e:
        fail(f"plan {plan}: {e}")
    if results is None:
        if plan != CERTIFIED_PLAN:
            fail(f"RESULTS: name the results file to audit (only the {CERTIFIED_PLAN} plan ships one)")
        results = certified_results()
    if not results.is_file():
        fail(f"{results}: no such file")
    started = time.perf_counter()
    nevada = is_nevada_layout(results)
    if nevada and the_plan.national is not None:
        fail(f"{results} is in Nevada's layout (total_attendance, reported_del_given, align1, alignfinal), "
             f"but plan {the_plan.name} computes SDEs; audit it with --plan nevada-2020")
    if not nevada and the_plan.national is None:
        fail(f"plan {the_plan.name} has no SDEs (rule set {the_plan.ruleset}); {results} must be in Nevada's "
             "layout: county,precinct,total_attendance,candidate,reported_del_given,align1,alignfinal")
    try:
        if nevada:
            report = _run(the_plan, read_nevada_results(results, candidates=the_plan.candidates), str(results),
                          quiet=as_json, nevada=True)
        else:
            report = _run(the_plan, read_results(results, plan=the_plan), str(results), quiet=as_json)
    except ResultsFileError as e:
        fail(str(e))
    elapsed = time.perf_counter() - started
    if as_json:
        out.print_json(json.dumps(to_json(report, the_plan)), indent=1)
    else:
        _print(report, the_plan, show, elapsed)
    if fail_on_inconsistent and any(u.verdict == "inconsistent" for u in report.units):
        raise typer.Exit(EXIT_INCONSISTENT)


def _run(plan: Plan, published: list[Any], source: str, quiet: bool, nevada: bool = False) -> AuditReport:
    with Progress(TextColumn("auditing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True, disable=quiet or not err.is_terminal) as bar:
        task = bar.add_task("audit", total=len(published))
        run = audit_nevada if nevada else run_audit
        return run(plan, published, source, progress=lambda i, n: bar.update(task, completed=i))


def _caveat(report: AuditReport) -> str:
    """What the "recomputed" figures rest on besides the reported numbers."""
    parts = []
    inferred = report.inferred_attendance()
    if inferred:
        parts.append(f"attendance (N) inferred from the alignment totals in {inferred:,} units, as the file "
                     "reports none")
    chance = report.chance_at_expected_value()
    if chance:
        parts.append(f"{chance:,} open games of chance counted at their expected value")
    return "; ".join(parts)


def _national(report: AuditReport, plan: Plan, which: str) -> dict[str, int]:
    seats = plan.national
    if seats is None:
        return {}
    return report.national(which, seats.districts, seats.at_large, seats.pleo,  # type: ignore[arg-type]
                           Fraction(seats.threshold_percent, 100))


def _unit_json(u: UnitAudit) -> dict[str, Any]:
    alloc = u.result.allocation
    pending = alloc.pending if alloc else None
    return {
        "code": u.code, "county": u.county, "precinct": u.precinct, "kind": u.kind, "line": u.line,
        "district": u.district, "delegates_to_elect": u.delegates_to_elect, "attendance": u.attendance,
        "attendance_inferred_from": u.attendance_inferred, "in_plan": u.in_plan,
        "threshold": u.threshold, "verdict": u.verdict, "status": u.status,
        "reported_delegates": {g: n for g, n in u.reported_delegates.items() if n},
        "recomputed_delegates": None if alloc is None else {g: n for g, n in alloc.delegates.items() if n},
        "pending_chance": None if pending is None else {
            "kind": pending.kind, "among": list(pending.among), "count": pending.count,
            "description": pending.describe(),
            "legal_outcomes": [{g: n for g, n in a.delegates.items() if n} for a in u.result.legal
                               if a.status == "complete"]},
        "inferred_chance": [{"kind": o.kind, "among": list(o.among), "selected": list(o.selected)}
                            for o in u.result.inferred_chance],
        "findings": [{"code": f.code, "severity": f.severity, "rule": f.rule, "message": f.message,
                      "field": f.field} for f in u.findings],
    }


def _dec(x: object) -> object:
    return str(x) if isinstance(x, Decimal) else x


def to_json(report: AuditReport, plan: Plan) -> dict[str, Any]:
    """The stable ``caucus.audit/1`` document (docs/audit.md)."""
    return {
        "schema": SCHEMA,
        "plan": report.plan,
        "ruleset": report.ruleset,
        "source": report.source,
        "summary": {
            "units": len(report.units),
            "precincts": {"total": len(report.in_state()), **report.verdict_counts(report.in_state())},
            "satellites": {"total": len(report.satellites()), **report.verdict_counts(report.satellites())},
            "outside_plan": len(report.outside_plan()),
            "unreported": report.unreported,
            "precincts_both_alignments": {"total": len(report.both_alignments()),
                                          **report.verdict_counts(report.both_alignments())},
            "one_alignment_only": [{"code": u.code, "missing": u.missing_alignment, "status": u.status}
                                   for u in report.one_alignment_only()],
            "total_other_than_d": {v: [u.code for u in units] for v, units in report.as_reported_total().items()},
        },
        "finding_counts": report.finding_counts(),
        "blocking_by_finding": {code: [u.code for u in units]
                                for code, units in report.blocking_by_finding().items()},
        "totals": {g: {k: _dec(v) for k, v in row.items()} for g, row in report.totals().items()},
        "recomputed_caveat": _caveat(report),
        "national_delegates": None if plan.national is None else {
            "from_reported_sde": _national(report, plan, "reported"),
            "recomputed": _national(report, plan, "recomputed")},
        "units": [_unit_json(u) for u in report.units],
    }


def _print(report: AuditReport, plan: Plan, show: int, elapsed: float) -> None:
    out.print(f"[bold]caucus audit[/] of {report.source} against plan [bold]{report.plan}[/] "
              f"({len(report.units):,} reporting units, {elapsed:.2f} s)")
    verdicts = Table(title="Verdicts", title_justify="left")
    verdicts.add_column("units")
    labels = {"reproduced": "reproduced", "reproduced-given-chance": "given a chance outcome",
              "inconsistent": "inconsistent", "unattended": "unattended (apart)"}
    for v in STATUSES:
        verdicts.add_column(labels[v], justify="right")
    verdicts.add_column("total", justify="right")
    rows = [("precincts electing delegates", report.in_state())]
    if report.one_alignment_only():
        rows.append(("  of which with both alignments", report.both_alignments()))
    if report.satellites():
        rows.append(("satellite sites", report.satellites()))
    if report.outside_plan():
        rows.append(("not in the plan", report.outside_plan()))
    for label, units in rows:
        c = report.verdict_counts(units)
        verdicts.add_row(label, *(f"{c[v]:,}" for v in STATUSES), f"{len(units):,}")
    out.print(verdicts)
    if report.one_alignment_only():
        out.print("Reporting one alignment only (audited above; outside a count that needs both, as RULES.md "
                  "§10's reference figures): " + ", ".join(
                      f"{u.code} ({u.missing_alignment} alignment empty, {u.status})"
                      for u in report.one_alignment_only()), highlight=False)
    follows = report.as_reported_total().get("reproduced", [])
    if follows:
        out.print(f"{len(follows):,} inconsistent precincts award a total other than D whose split is the rules' "
                  "allocation of that total (RULES.md §10's reference counts them as exact, docs/audit.md): "
                  + ", ".join(u.code for u in follows), highlight=False)
    if report.unreported:
        shown = ", ".join(report.unreported[:10]) + (" ..." if len(report.unreported) > 10 else "")
        out.print(f"{len(report.unreported):,} precincts of the plan are not in the file: {shown}", highlight=False)
    findings = Table(title="Findings", title_justify="left")
    for col in ("code", "severity", "rule", "units"):
        findings.add_column(col, justify="right" if col == "units" else "left")
    for code, n in report.finding_counts().items():
        sev, rule, _ = FINDING_CODES[code]
        findings.add_row(code, sev, rule, f"{n:,}")
    out.print(findings)
    _print_totals(report)
    caveat = _caveat(report)
    if plan.national is not None:
        for which, label in (("reported", "from reported SDEs"), ("recomputed", "recomputed")):
            nat = _national(report, plan, which)
            note = f" (caveat: {caveat})" if which == "recomputed" and caveat else ""
            out.print(f"National delegates {label}: " + ", ".join(f"{g} {n}" for g, n in nat.items()) + note,
                      highlight=False)
    elif caveat:
        out.print(f"Recomputed figures: {caveat}.", highlight=False)
    _print_blocking(report, show)


def _print_totals(report: AuditReport) -> None:
    totals = Table(title="Statewide totals", title_justify="left")
    columns: tuple[str, ...]
    keys: tuple[str, ...]
    if report.has_sde:
        columns = ("first", "final", "SDE reported", "SDE from reported CDs", "SDE recomputed")
        keys = ("sde_reported", "sde_from_reported_delegates", "sde_recomputed")
        order = "sde_reported"
    else:
        columns = ("first", "final", "county delegates reported", "county delegates recomputed")
        keys = ("delegates_reported", "delegates_recomputed")
        order = "delegates_reported"
    for col in ("candidate", *columns):
        totals.add_column(col, justify="left" if col == "candidate" else "right")
    rows = sorted(report.totals().items(), key=lambda kv: -Decimal(str(kv[1][order])))
    sums = {k: Decimal(0) for k in ("first", "final", *keys)}
    for g, row in rows:
        if not row["first"] and not row["final"] and not row["delegates_reported"]:
            continue
        for k in sums:
            sums[k] += Decimal(str(row[k]))
        totals.add_row(g, f"{row['first']:,}", f"{row['final']:,}", *(_fmt(row[k], report.has_sde) for k in keys))
    totals.add_row("all", f"{sums['first']:,}", f"{sums['final']:,}", *(_fmt(sums[k], report.has_sde) for k in keys))
    out.print(totals)


def _fmt(value: object, sde: bool) -> str:
    number = Decimal(str(value))
    if sde:
        return f"{number:.3f}"
    return f"{number:,}" if number == number.to_integral_value() else f"{number:,.2f}"


def _print_blocking(report: AuditReport, show: int) -> None:
    """Every unit with a blocking finding, whatever its verdict, grouped by finding."""
    groups = report.blocking_by_finding()
    held = {u.code for units in groups.values() for u in units}
    if not held:
        out.print("\nNo unit has a blocking finding.")
        return
    out.print(f"\n[bold]Units with a blocking finding[/] ({len(held):,}, whatever their verdict), by finding:")
    for code, units in groups.items():
        _, rule, meaning = FINDING_CODES[code]
        listed = units if show < 0 else units[:show]
        more = "" if len(listed) == len(units) else f"; {len(listed)} listed, --show -1 for all"
        out.print(f"\n[bold]{code}[/] ({rule}): {meaning} — {len(units):,} units{more}", highlight=False)
        for u in listed:
            messages = [f.message for f in u.findings if f.code == code]
            out.print(f"  {u.county} / {u.precinct} (line {u.line}, D={u.delegates_to_elect}, {u.status}): "
                      + "; ".join(messages), highlight=False, markup=False, soft_wrap=True)
