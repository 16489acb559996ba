"""Build the bundled ``nevada-2020`` plan from the vendored party data in data/nevada2020/.

    .venv/bin/python scripts/build_nevada_plan.py            # writes src/caucus/plans/nevada-2020/
    .venv/bin/python scripts/build_nevada_plan.py --out DIR  # writes DIR/ (the tests rebuild into a temp dir)

Writes plan.toml, counties.csv and precincts.csv (PROVENANCE.md beside them is written by hand). The
output is deterministic: rebuilding from the same data gives byte-identical files. Every figure the plan
rests on is checked on the way (counts, sums, the join of the apportionment to the results file); a failed
check stops the build, with a list of what is wrong, before anything is written. The written plan is then
loaded back through the plan loader's own validation.

Nevada reports county convention delegates only (NV-4): the plan has no state delegates and no national
seats (both optional for a rule set without SDEs, docs/plan-format.md).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from caucus.plans import PlanError, read_plan_dir
from caucus.plans.loader import COUNTIES_FILE, PLAN_FILE, PRECINCTS_FILE
from caucus.results_nevada import COUNTY_ABBREVIATIONS

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT / "data" / "nevada2020"
DEFAULT_OUT = ROOT / "src" / "caucus" / "plans" / "nevada-2020"

# The candidates of the results file, in its order ("Uncommitted" is a preference group too).
CANDIDATES = (
    "Bennet", "Biden", "Buttigieg", "Delaney", "Gabbard", "Klobuchar", "Patrick", "Sanders", "Steyer",
    "Warren", "Yang", "Uncommitted",
)  # fmt: skip

# The figures the sources state or that the two files show (data/PROVENANCE.md, RULES.md NV-1).
EXPECTED_COUNTIES = 17
EXPECTED_APPORTIONMENT_ROWS = 2088
EXPECTED_APPORTIONED_DELEGATES = 14675
EXPECTED_RESULT_UNITS = 2097
# Washoe's precinct numbers have 6 digits in the results file ("100500"); 118 apportionment rows lost their
# trailing "00" ("1005"). The build writes the 6-digit number and checks that it is the results file's.
EXPECTED_WASHOE_SHORTENED = 118
# Apportioned precincts the results file does not list (no results row; each elects 1).
EXPECTED_UNREPORTED = {("Clark", "1370"), ("Clark", "2712"), ("Clark", "3878"), ("Clark", "3879")}
# The at-large "Strip" caucuses for casino workers (RULES.md NV-1): precincts of Clark County in the results
# file, not in the apportionment. D is the results file's precinct_delegates, except for two sites the
# scrape could not join (precinct_delegates NA): there D is the number of delegates the party awarded
# (INFERRED_STRIP_DELEGATES), since a precinct awards D (V-5) and both sites' awards are what the rules
# give for that D (see PROVENANCE.md).
STRIP_SITES = ("Bellagio", "Harrahs", "Mandalay Bay", "Paris", "Park MGM", "Rio", "Wynn Resorts")
INFERRED_STRIP_DELEGATES = {"Harrahs": 34, "Wynn Resorts": 11}
# Units of the results file in no apportionment that drew nobody and awarded nothing: left out of the plan.
EXPECTED_EMPTY_EXTRA = {("CLARK", "3778"), ("CLARK", "3779"), ("CLARK", "5561"), ("CLARK", "5590"),
                        ("CLARK", "5905"), ("DOUGLAS", "Zzzzzz")}

PLAN_TOML = """\
# The Nevada State Democratic Party's 2020 precinct caucuses (22 February 2020).
# Built by scripts/build_nevada_plan.py from data/nevada2020/; see PROVENANCE.md. Format: docs/plan-format.md.
# Rule set nevada-2020: county convention delegates are the result (NV-4); no SDEs, so the counties carry
# no state delegates and the plan no [national] seats (both optional for a rule set without SDEs).
name = "nevada-2020"
title = "Nevada State Democratic Party precinct caucuses, 22 February 2020"
ruleset = "nevada-2020"
# Preference groups in display order ("Uncommitted" is a preference group too; RULES.md §0).
candidates = [
{candidates}
]

# Caucus night as people see it (docs/plan-format.md; RULES.md NV-1): check-in from 10:00, call to order at
# noon, so the doors close at noon; Pacific time. No hotline number is set: the party's 2020 number is not
# reproduced here, and a party running caucuses from this plan sets its own (hotline = ["..."]) before it
# prints the precinct cards.
[caucus]
party = "Nevada State Democratic Party"
date = 2020-02-22
doors_close = 12:00:00
time_zone = "America/Los_Angeles"
example_code = "{example}"
"""


class BuildError(Exception):
    """The source data does not add up; the message lists every failed check."""


@dataclass(frozen=True, slots=True)
class Row:
    code: str
    county: str
    name: str
    precinct_id: str
    delegates: int


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def results_county(name: str) -> str:
    """The results file's spelling of a plan county (``Carson City`` -> ``CARSON``)."""
    for written, plan_name in COUNTY_ABBREVIATIONS.items():
        if plan_name == name:
            return written
    return name.upper()


def build(data: Path) -> tuple[str, list[list[str]], list[list[str]]]:
    """The plan's three files (plan.toml text, counties rows, precincts rows), after every check."""
    failures: list[str] = []

    def check(ok: bool, what: str) -> None:
        if not ok:
            failures.append(what)

    apportionment = read_csv(data / "apportionment.csv")
    check(len(apportionment) == EXPECTED_APPORTIONMENT_ROWS, f"apportionment rows: {len(apportionment)}")
    counties = list(dict.fromkeys(r["county"] for r in apportionment))
    check(len(counties) == EXPECTED_COUNTIES, f"apportionment counties: {len(counties)}")
    check(sum(int(r["delegates"]) for r in apportionment) == EXPECTED_APPORTIONED_DELEGATES,
          "apportioned delegates do not sum to the expected total")

    # The results file, by (county as written, precinct as written).
    units: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for r in read_csv(data / "results-final.csv"):
        units[(r["county"], r["precinct"])].append(r)
    check(len(units) == EXPECTED_RESULT_UNITS, f"results units: {len(units)}")
    written_counties = {c for c, _ in units}
    check(written_counties == {results_county(c) for c in counties},
          f"results counties {sorted(written_counties)} do not map one to one onto the apportionment's")

    rows: list[Row] = []
    used: set[tuple[str, str]] = set()
    shortened = 0
    unreported: set[tuple[str, str]] = set()
    apportioned = {(r["county"], r["precinct"]) for r in apportionment}
    for r in apportionment:
        county, number, d = r["county"], r["precinct"], int(r["delegates"])
        if county == "Washoe" and len(number) == 4:
            shortened += 1
            check((county, number + "00") not in apportioned, f"Washoe {number}00 is apportioned twice")
            number += "00"
        key = (results_county(county), number)
        check(key not in used, f"{county}/{number}: two apportionment rows")
        found = units.get(key)
        if found is None:
            unreported.add((county, number))
        else:
            used.add(key)
            given = found[0]["precinct_delegates"]
            check(given in ("NA", str(d)), f"{county}/{number}: results file D {given} != apportionment {d}")
        precinct_id = found[0]["precinct_full"] if found else ""
        rows.append(Row(f"{county}/{number}", county, number, precinct_id, d))
    check(shortened == EXPECTED_WASHOE_SHORTENED, f"{shortened} shortened Washoe numbers")
    check(unreported == EXPECTED_UNREPORTED, f"apportioned precincts without results: {sorted(unreported)}")

    extra = sorted(set(units) - used)
    strip = [k for k in extra if k[0] == "CLARK" and k[1] in STRIP_SITES]
    check([p for _, p in strip] == sorted(STRIP_SITES), f"Strip sites in the results file: {strip}")
    empty = set(extra) - set(strip)
    check(empty == EXPECTED_EMPTY_EXTRA, f"unapportioned units: {sorted(empty)}")
    for key in sorted(empty):
        attended = sum(int(r["total_attendance"]) + int(r["align1"]) + int(r["reported_del_given"])
                       for r in units[key])
        check(attended == 0, f"{key}: not apportioned, yet it has attendance or delegates")
    for _, site in strip:
        found = units[("CLARK", site)]
        given = found[0]["precinct_delegates"]
        awarded = sum(int(r["reported_del_given"]) for r in found)
        if site in INFERRED_STRIP_DELEGATES:
            check(given == "NA", f"Strip site {site}: D {given} is published now; drop the inference")
            d = INFERRED_STRIP_DELEGATES[site]
            check(d == awarded, f"Strip site {site}: inferred D {d} != {awarded} awarded")
        else:
            check(given.isdigit(), f"Strip site {site}: no D")
            d = int(given) if given.isdigit() else 0
        rows.append(Row(f"Clark/{site}", "Clark", site, found[0]["precinct_full"], d))
    names_in_file = {r["candidate"] for rs in units.values() for r in rs}
    check(names_in_file == set(CANDIDATES), f"candidates in the results file: {sorted(names_in_file)}")
    if failures:
        raise BuildError("\n".join(failures))

    order = {name: i for i, name in enumerate(counties)}
    rows.sort(key=lambda r: order[r.county])  # stable: apportionment order, the Strip sites after Clark's
    delegates_in: Counter[str] = Counter()
    districts: defaultdict[str, set[str]] = defaultdict(set)
    for r in rows:
        delegates_in[r.county] += r.delegates
    for r in apportionment:
        districts[r["county"]].add(r["congressional_district"])
    # A county's district is written only where all its precincts lie in one (Clark and Lyon are split).
    county_rows = [
        [c, next(iter(districts[c])) if len(districts[c]) == 1 else "", str(delegates_in[c]), "county"]
        for c in counties
    ]
    precinct_rows = [[r.code, r.county, r.name, r.precinct_id, str(r.delegates), "precinct"] for r in rows]
    toml = PLAN_TOML.format(candidates="\n".join(f'    "{c}",' for c in CANDIDATES), example=rows[0].code)
    return toml, county_rows, precinct_rows


def csv_text(header: tuple[str, ...], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def write_plan(data: Path, out: Path) -> None:
    toml, county_rows, precinct_rows = build(data)
    files = {
        PLAN_FILE: toml,
        COUNTIES_FILE: csv_text(("county", "district", "county_delegates", "kind"), county_rows),
        PRECINCTS_FILE: csv_text(("code", "county", "name", "precinct_id", "delegates", "kind"), precinct_rows),
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8", newline="")
    plan = read_plan_dir(out)  # the loader's own validation, and the exact sums once more
    total = sum(p.delegates or 0 for p in plan.precincts)
    strip = sum(int(p.delegates or 0) for p in plan.precincts if p.name in STRIP_SITES)
    if total != EXPECTED_APPORTIONED_DELEGATES + strip:
        raise BuildError(f"precinct delegates sum to {total}, not {EXPECTED_APPORTIONED_DELEGATES} + {strip}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with the party's files")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="plan directory to write")
    args = parser.parse_args(argv)
    try:
        write_plan(args.data, args.out)
    except (BuildError, PlanError) as exc:
        print(f"build_nevada_plan: the data does not add up:\n{exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
