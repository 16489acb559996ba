"""``caucus tabulate``: the precinct calculator; ``caucus plans``: the bundled plans."""

from __future__ import annotations

import csv
import json
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from caucus.checks import PrecinctReport, check_report
from caucus.cli.common import fail, out
from caucus.plans import PlanError, list_bundled_plans, load_plan
from caucus.rules import (
    Allocation,
    ChanceOutcome,
    ChanceOutcomeError,
    RuleSet,
    UnknownRuleSet,
    allocate,
    get_ruleset,
    published_sdes,
    site_delegates,
    to_decimal,
)


def _parse_groups(pairs: list[str]) -> dict[str, int]:
    groups: dict[str, int] = {}
    for i, pair in enumerate(pairs, 1):
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            fail(f"group {i} {pair!r}: write GROUP=COUNT, e.g. Sanders=78")
        if not value.strip().isdigit():
            fail(f"group {name.strip()}: count {value!r} is not a whole number of people")
        groups[name.strip()] = int(value)
    return groups


def _read_csv(path: Path) -> tuple[dict[str, int], dict[str, int] | None]:
    if not path.is_file():
        fail(f"{path}: no such file")
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = [h.strip().lower() for h in next(reader, [])]
        if "group" not in header or "final" not in header:
            fail(f"{path} line 1: the header must have columns group,final (and optionally first); got "
                 f"{','.join(header) or 'nothing'}")
        col = {h: i for i, h in enumerate(header)}
        final: dict[str, int] = {}
        first: dict[str, int] = {}
        for line, row in enumerate(reader, 2):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                fail(f"{path} line {line}: {len(row)} columns, expected {len(header)}")
            group = row[col["group"]].strip()
            for name, target in (("final", final), ("first", first)):
                if name not in col:
                    continue
                text = row[col[name]].strip()
                if not text.isdigit():
                    fail(f"{path} line {line}: column {name!r}: {text!r} is not a whole number of people")
                target[group] = int(text)
    return final, (first if "first" in col else None)


def _outcomes(d: int, n: int, final: dict[str, int], ruleset: RuleSet, chance: list[str]) -> list[ChanceOutcome]:
    """Turn ``--chance kind:G1,G2`` options into outcomes of the ties the rules actually produce."""
    outcomes: list[ChanceOutcome] = []
    for i, text in enumerate(chance, 1):
        kind, _, who = text.partition(":")
        a = allocate(d, n, final, ruleset, outcomes)
        if a.pending is None:
            fail(f"--chance {i} ({text}): the rules need no further game of chance")
        if kind != a.pending.kind:
            fail(f"--chance {i} ({text}): the tie is '{a.pending.kind}': {a.pending.describe()}")
        selected = [g.strip() for g in who.split(",") if g.strip()]
        outcomes.append(ChanceOutcome.of(a.pending, selected))
    return outcomes


def tabulate(
    groups: Annotated[list[str] | None, typer.Argument(help="Final alignment as GROUP=COUNT ...")] = None,
    delegates: Annotated[int | None, typer.Option("--delegates", "-d", help="Delegates the precinct elects "
                                                  "(D). Omit with --satellite.")] = None,
    attendance: Annotated[int | None, typer.Option("--attendance", "-n", help="Attendance N (default: the "
                                                   "first alignment total, else the final total).")] = None,
    csv_file: Annotated[Path | None, typer.Option("--csv", help="CSV with columns group,final[,first].")] = None,
    ruleset_name: Annotated[str, typer.Option("--rules", help="Rule set.")] = "iowa-2020",
    ratio: Annotated[str | None, typer.Option(help="SDEs per county delegate, e.g. 14/100.")] = None,
    county: Annotated[str | None, typer.Option(help="Take the SDE ratio from this county of --plan.")] = None,
    plan: Annotated[str, typer.Option(help="Plan for --county.")] = "iowa-2020",
    satellite: Annotated[bool, typer.Option(help="A satellite site: D from attendance (tier table).")] = False,
    chance: Annotated[list[str] | None, typer.Option(help="Recorded game of chance, in order: KIND:GROUP[,GROUP] "
                                                     "with KIND lose, gain or drop.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Precinct calculator: threshold, viability, delegates, SDEs and any game of chance needed."""
    try:
        ruleset = get_ruleset(ruleset_name)
    except UnknownRuleSet as e:
        fail(str(e))
    first: dict[str, int] | None = None
    if csv_file is not None:
        final, first = _read_csv(csv_file)
    else:
        final = _parse_groups(groups or [])
    if not final:
        fail("give the final alignment as GROUP=COUNT arguments or --csv FILE")
    n = attendance if attendance is not None else sum((first or final).values())
    if satellite:
        delegates = site_delegates(n, ruleset)
    if delegates is None:
        fail("give --delegates D (or --satellite)")
    if delegates < 0 or n < 0:
        fail("--delegates and --attendance must not be negative")
    if sum(final.values()) > n:
        fail(f"final alignment total {sum(final.values())} exceeds attendance {n}")
    per_delegate = _ratio(ratio, county, plan)
    try:
        outcomes = _outcomes(delegates, n, final, ruleset, chance or [])
        result = allocate(delegates, n, final, ruleset, outcomes)
    except ChanceOutcomeError as e:
        fail(str(e))
    findings = check_report(PrecinctReport("tabulate", delegates, first or final, final, attendance=n,
                                           chance=outcomes), ruleset).findings if first else ()
    if as_json:
        out.print_json(json.dumps(_as_json(result, per_delegate, [f.message for f in findings])))
        return
    _print(result, per_delegate, ruleset, [f"[{f.severity}] {f.code}: {f.message}" for f in findings])


def _ratio(ratio: str | None, county: str | None, plan: str) -> Fraction | None:
    if ratio is not None:
        try:
            value = Fraction(ratio)
        except (ValueError, ZeroDivisionError):
            fail(f"--ratio {ratio!r} is not a number or fraction such as 14/100")
        return value
    if county is None:
        return None
    try:
        found = load_plan(plan).find_county(county)
    except PlanError as e:
        fail(str(e))
    if found is None or found.kind != "county":
        fail(f"--county {county!r} is not a county of plan {plan}")
    return None if found.state_delegates is None else found.sde_ratio


def _as_json(a: Allocation, per_delegate: Fraction | None, findings: list[str]) -> dict[str, Any]:
    sdes = published_sdes(a.delegates, per_delegate) if per_delegate is not None else None
    return {
        "delegates_to_elect": a.delegates_to_elect, "attendance": a.attendance, "threshold": a.threshold,
        "status": a.status, "viable": sorted(a.viable - a.dropped), "dropped": sorted(a.dropped),
        "groups": {g: {"final": a.final[g], "raw": None if g not in a.raw else str(to_decimal(a.raw[g])),
                       "delegates": a.delegates[g], "sde": None if sdes is None else str(sdes[g])}
                   for g in a.final},
        "pending_chance": None if a.pending is None else {
            "kind": a.pending.kind, "among": list(a.pending.among), "count": a.pending.count,
            "description": a.pending.describe()},
        "steps": list(a.steps), "findings": findings,
    }


def _print(a: Allocation, per_delegate: Fraction | None, ruleset: RuleSet, findings: list[str]) -> None:
    t = "none (plurality)" if a.threshold is None else f"{a.threshold} people"
    out.print(f"D = {a.delegates_to_elect}, N = {a.attendance}, viability threshold: {t}")
    table = Table()
    for col in ("group", "final", "viable", "raw", "delegates", *(("SDE",) if per_delegate else ())):
        table.add_column(col, justify="left" if col == "group" else "right")
    sdes = published_sdes(a.delegates, per_delegate) if per_delegate is not None else {}
    for g in sorted(a.final, key=lambda k: -a.final[k]):
        viable = "dropped" if g in a.dropped else ("yes" if g in a.viable else "no")
        raw = f"{to_decimal(a.raw[g])}" if g in a.raw else ""
        row = [g, str(a.final[g]), viable, raw, str(a.delegates[g])]
        if per_delegate is not None:
            row.append(f"{sdes[g]}")
        table.add_row(*row)
    out.print(table)
    for step in a.steps:
        out.print(f"  - {step}", highlight=False)
    if a.pending is not None:
        out.print(f"[bold yellow]A {ruleset.chance_method} is needed:[/] {a.pending.describe()}. "
                  f"Record its result with --chance {a.pending.kind}:GROUP; the delegates above hold the "
                  "contested delegate(s) until then.")
    elif a.status == "no-viable-group":
        out.print("[bold red]No group is viable:[/] nothing is awarded; the precinct is held for review.")
    for f in findings:
        out.print(f, highlight=False, markup=False)


def plans() -> None:
    """List the bundled election plans."""
    for name in list_bundled_plans():
        p = load_plan(name)
        out.print(f"{name}: {p.title} ({len(p.counties)} counties and pools, {len(p.precincts):,} reporting "
                  f"units, rule set {p.ruleset})", highlight=False)
