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

from caucus.audit import AuditReport, UnitAudit
from caucus.audit import audit as run_audit
from caucus.checks import FINDING_CODES
from caucus.cli.common import EXIT_INCONSISTENT, err, fail, out
from caucus.packaged import CERTIFIED_PLAN, certified_results
from caucus.plans import Plan, PlanError, load_plan
from caucus.results_csv import ResultsFileError, read_results

SCHEMA = "caucus.audit/1"


def audit(
    results: Annotated[Path | None, typer.Argument(help="Published results, long CSV: county,precinct,"
                                                         "candidate,measure,value (default, with the "
                                                         "iowa-2020 plan: the party's certified 2020 "
                                                         "results, shipped with caucus).")] = None,
    plan: Annotated[str, typer.Option(help="Bundled plan name or a plan directory.")] = "iowa-2020",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output (docs/audit.md).")] = False,
    show: Annotated[int, typer.Option(help="Inconsistent precincts to list (-1: all).")] = 25,
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
    try:
        published = read_results(results, plan=the_plan)
    except ResultsFileError as e:
        fail(str(e))
    report = _run(the_plan, published, str(results), quiet=as_json)
    elapsed = time.perf_counter() - started
    if as_json:
        out.print_json(json.dumps(to_json(report, the_plan)), indent=1)
    else:
        _print(report, the_plan, show, elapsed)
    if fail_on_inconsistent and any(u.verdict == "inconsistent" for u in report.units):
        raise typer.Exit(EXIT_INCONSISTENT)


def _run(plan: Plan, published: list[Any], source: str, quiet: bool) -> AuditReport:
    with Progress(TextColumn("auditing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True, disable=quiet or not err.is_terminal) as bar:
        task = bar.add_task("audit", total=len(published))
        return run_audit(plan, published, source, progress=lambda i, n: bar.update(task, completed=i))


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
        "threshold": u.threshold, "verdict": u.verdict,
        "reported_delegates": {g: n for g, n in u.reported_delegates.items() if n},
        "recomputed_delegates": None if alloc is None else {g: n for g, n in alloc.delegates.items() if n},
        "pending_chance": None if pending is None else {
            "kind": pending.kind, "among": list(pending.among), "count": pending.count,
            "description": pending.describe()},
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
        },
        "finding_counts": report.finding_counts(),
        "totals": {g: {k: _dec(v) for k, v in row.items()} for g, row in report.totals().items()},
        "national_delegates": {"from_reported_sde": _national(report, plan, "reported"),
                               "recomputed": _national(report, plan, "recomputed")},
        "units": [_unit_json(u) for u in report.units],
    }


def _print(report: AuditReport, plan: Plan, show: int, elapsed: float) -> None:
    out.print(f"[bold]caucus audit[/] of {report.source} against plan [bold]{report.plan}[/] "
              f"({len(report.units):,} reporting units, {elapsed:.2f} s)")
    verdicts = Table(title="Verdicts", title_justify="left")
    verdicts.add_column("units")
    for v in ("reproduced", "given a chance outcome", "inconsistent", "total"):
        verdicts.add_column(v, justify="right")
    for label, units in (("precincts electing delegates", report.in_state()), ("satellite sites",
                                                                                report.satellites())):
        c = report.verdict_counts(units)
        verdicts.add_row(label, f"{c['reproduced']:,}", f"{c['reproduced-given-chance']:,}",
                         f"{c['inconsistent']:,}", f"{len(units):,}")
    out.print(verdicts)
    findings = Table(title="Findings", title_justify="left")
    for col in ("code", "severity", "rule", "units"):
        findings.add_column(col, justify="right" if col == "units" else "left")
    for code, n in report.finding_counts().items():
        sev, rule, _ = FINDING_CODES[code]
        findings.add_row(code, sev, rule, f"{n:,}")
    out.print(findings)
    totals = Table(title="Statewide totals", title_justify="left")
    for col in ("candidate", "first", "final", "SDE reported", "SDE from reported CDs", "SDE recomputed"):
        totals.add_column(col, justify="left" if col == "candidate" else "right")
    rows = sorted(report.totals().items(), key=lambda kv: -Decimal(str(kv[1]["sde_reported"])))
    for g, row in rows:
        if not row["first"] and not row["final"]:
            continue
        totals.add_row(g, f"{row['first']:,}", f"{row['final']:,}",
                       *(f"{Decimal(str(row[k])):.3f}" for k in ("sde_reported", "sde_from_reported_delegates",
                                                                  "sde_recomputed")))
    out.print(totals)
    for which, label in (("reported", "from reported SDEs"), ("recomputed", "recomputed")):
        nat = _national(report, plan, which)
        out.print(f"National delegates {label}: " + ", ".join(f"{g} {n}" for g, n in nat.items()))
    bad = [u for u in report.units if u.verdict == "inconsistent"]
    if bad and show:
        listed = bad if show < 0 else bad[:show]
        out.print(f"\n[bold]Inconsistent units[/] ({len(listed)} of {len(bad)}; --show -1 for all)")
        for u in listed:
            out.print(f"  {u.county} / {u.precinct} (line {u.line}, D={u.delegates_to_elect}):", highlight=False)
            for f in u.findings:
                out.print(f"    [{f.severity}] {f.code}: {f.message}", highlight=False, markup=False)
