"""Build the bundled ``iowa-2020`` plan from the vendored party data in data/iowa2020/ and the certified results.

    .venv/bin/python scripts/build_iowa_plan.py            # writes src/caucus/plans/iowa-2020/
    .venv/bin/python scripts/build_iowa_plan.py --out DIR  # writes DIR/ (the tests rebuild into a temp dir)

Writes plan.toml, counties.csv and precincts.csv (PROVENANCE.md beside them is written by hand). The
output is deterministic: rebuilding from the same data gives byte-identical files. Every figure the
plan rests on is checked on the way (counts, sums, each county's S/C against the apportionment's
per-precinct SDEs); a failed check stops the build, with a list of what is wrong, before anything is
written. The written plan is then loaded back through the plan loader's own validation.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from caucus.plans import PlanError, normalise_name, read_plan_dir
from caucus.plans.loader import (
    COUNTIES_FILE,
    COUNTY_COLUMNS,
    EXPECTED_COLUMN,
    PLAN_FILE,
    PRECINCT_COLUMNS,
    PRECINCTS_FILE,
)
from caucus.plans.numbers import format_exact

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT / "data" / "iowa2020"
DEFAULT_OUT = ROOT / "src" / "caucus" / "plans" / "iowa-2020"
#: the certified results are shipped with the plan (package data: the demo replays them), not in data/
DEFAULT_CERTIFIED = DEFAULT_OUT / "results-certified.csv"

# Satellite pools (RULES.md IA-5.1, IA-5.4): name, congressional district, pool SDE size. The sizes are
# those observed in the party's 2020 results; how the party set them is not documented (AMBIG-5).
POOLS: tuple[tuple[str, str | None, str], ...] = (
    ("CD1 Satellite", "1", "6"),
    ("CD2 Satellite", "2", "11.0001"),
    ("CD3 Satellite", "3", "18.1033"),
    ("CD4 Satellite", "4", "4.0004"),
    ("Out of State Satellite", None, "4.0420"),
)
# A satellite site's expected attendance (plan column expected_attendance; docs/plan-format.md). The party's
# site list (satellite-sites.csv) gives no sizes, so the size is derived from the site's certified 2020 head
# count H (the larger of its first- and final-alignment totals in results-certified.csv):
# max(EXPECTED_FLOOR, EXPECTED_HEADROOM x H). Headroom 2: a site may double its 2020 turnout before it is held
# for review. Floor 20: the first tier of the satellite delegate table (1-20 attendees elect 4, IA-5.2), so a
# care home that drew 0-10 people in 2020 may still draw a full first tier.
EXPECTED_HEADROOM = 2
EXPECTED_FLOOR = 20
CANDIDATES = (
    "Bennet", "Biden", "Bloomberg", "Buttigieg", "Delaney", "Gabbard", "Klobuchar",
    "Patrick", "Sanders", "Steyer", "Warren", "Yang", "Uncommitted", "Other",
)  # fmt: skip
DISTRICT_SEATS = {"1": 7, "2": 7, "3": 8, "4": 5}

# The figures the sources state (RULES.md §0, IA-4.1, IA-5, data/PROVENANCE.md).
EXPECTED_COUNTIES = 99
EXPECTED_APPORTIONMENT_ROWS = 1681
EXPECTED_ZERO_DELEGATE = 3
EXPECTED_COUNTY_DELEGATES = 11402
EXPECTED_STATE_DELEGATES = 2107
EXPECTED_SITES_BY_POOL = {
    "CD1 Satellite": 12,
    "CD2 Satellite": 17,
    "CD3 Satellite": 20,
    "CD4 Satellite": 11,
    "Out of State Satellite": 27,
}
EXPECTED_COUNTIES_BY_DISTRICT = {"1": 20, "2": 24, "3": 16, "4": 39}
# The apportionment file writes SDE weights as binary floats (0.6274509803921569): they must equal
# D x S/C to within float error.
FLOAT_TOLERANCE = Fraction(1, 10**9)

PLAN_TOML = """\
# The Iowa Democratic Party's 2020 precinct caucuses (3 February 2020).
# Built by scripts/build_iowa_plan.py from data/iowa2020/; see PROVENANCE.md. Format: docs/plan-format.md.
name = "iowa-2020"
title = "Iowa Democratic Party precinct caucuses, 3 February 2020"
ruleset = "iowa-2020"
# Preference groups in display order ("Uncommitted" is a preference group too; RULES.md §0).
candidates = [
{candidates}
]

# Caucus night as people see it (docs/plan-format.md): the party, the day, when the doors close, the time
# zone every time is shown in, and the example code of the chair app's sign-in form. No hotline number is
# set: the party's 2020 number is not reproduced here, and a party running caucuses from this plan sets its
# own (hotline = ["..."]) before it prints the precinct cards.
[caucus]
party = "Iowa Democratic Party"
date = 2020-02-03
doors_close = 19:00:00
time_zone = "America/Chicago"
example_code = "Adair/01NW"

# National convention delegates (RULES.md IA-6): district-level seats per congressional district,
# at-large and PLEO seats allocated statewide, and the viability threshold in percent of SDEs.
[national]
at_large = 9
pleo = 5
threshold_percent = 15

[national.districts]
{districts}
"""


class BuildError(Exception):
    """The source data does not add up; the message lists every failed check."""


@dataclass(frozen=True, slots=True)
class Apportioned:
    county: str
    short: str
    delegates: int
    sde: Fraction


@dataclass(frozen=True, slots=True)
class Row:
    code: str
    county: str
    name: str
    precinct_id: str
    delegates: int | None
    kind: str
    expected_attendance: int | None = None


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def results_units(path: Path) -> list[tuple[str, str]]:
    """(county, precinct) of each reporting unit in a results file, in file order, without county totals."""
    seen: dict[tuple[str, str], None] = {}
    for row in read_csv(path):
        if row["precinct"] not in ("Total", "Total_recalc"):
            seen.setdefault((row["county"], row["precinct"]), None)
    return list(seen)


def head_counts(path: Path) -> dict[tuple[str, str], int]:
    """(county, precinct) -> the larger of its first- and final-alignment totals, from a results file."""
    totals: defaultdict[tuple[str, str], dict[str, int]] = defaultdict(lambda: {"expression_1": 0,
                                                                              "expression_2": 0})
    for row in read_csv(path):
        if row["precinct"] not in ("Total", "Total_recalc") and row["measure"] in ("expression_1", "expression_2"):
            totals[(row["county"], row["precinct"])][row["measure"]] += int(row["value"])
    return {unit: max(counts.values()) for unit, counts in totals.items()}


def expected_attendance(head_count: int) -> int:
    """A satellite site's expected attendance from its certified 2020 head count (see EXPECTED_HEADROOM)."""
    return max(EXPECTED_FLOOR, EXPECTED_HEADROOM * head_count)


def satellite_location(long_name: str) -> str:
    """ "Cedar Rapids, IA - RWDSU Local 110" -> "RWDSU Local 110" (the feed's name for the site)."""
    return long_name.split(" - ", 1)[1] if " - " in long_name else long_name


def build(data: Path, certified: Path = DEFAULT_CERTIFIED) -> tuple[str, list[list[str]], list[list[str]]]:
    """The plan's three files (plan.toml text, counties rows, precincts rows), after every check."""
    failures: list[str] = []

    def check(ok: bool, what: str) -> None:
        if not ok:
            failures.append(what)

    apportionment = [
        Apportioned(
            r["County"].strip(),
            r["Precinct Short Name"].strip(),
            int(r["Delegates to County Convention"]),
            Fraction(r["State Delegate Equivalents"]),
        )
        for r in read_csv(data / "apportionment.csv")
    ]
    by_short = {(a.county, a.short): a for a in apportionment}
    check(len(apportionment) == EXPECTED_APPORTIONMENT_ROWS, f"apportionment rows: {len(apportionment)}")
    check(len(by_short) == len(apportionment), "apportionment: a (county, short name) repeats")
    totals = {r["county"]: r for r in read_csv(data / "county-delegates.csv")}
    districts = {r["county"]: r["congressional_district"] for r in read_csv(data / "county-districts.csv")}
    names = sorted({a.county for a in apportionment})
    check(len(names) == EXPECTED_COUNTIES, f"apportionment counties: {len(names)}")
    check(sorted(totals) == names, "county-delegates.csv counties differ from the apportionment's")
    check(sorted(districts) == names, "county-districts.csv counties differ from the apportionment's")
    if failures:
        raise BuildError("\n".join(failures))

    # Counties: C = the sum of the apportionment's D; S from county-delegates.csv; S/C x D = the
    # apportionment's per-precinct SDE.
    delegates_in: Counter[str] = Counter()
    sde_in: defaultdict[str, Fraction] = defaultdict(Fraction)
    precinct_count: Counter[str] = Counter()
    for a in apportionment:
        delegates_in[a.county] += a.delegates
        sde_in[a.county] += a.sde
        precinct_count[a.county] += 1
    state: dict[str, Fraction] = {}
    for county in names:
        row = totals[county]
        c, s = int(row["county_delegates"]), Fraction(row["state_delegates"])
        state[county] = s
        check(c == delegates_in[county], f"{county}: C {c} != apportionment sum {delegates_in[county]}")
        check(int(row["precincts"]) == precinct_count[county], f"{county}: precinct count differs")
        check(
            abs(sde_in[county] - s) < FLOAT_TOLERANCE, f"{county}: apportionment SDEs sum to {sde_in[county]}"
        )
        check(
            abs(Fraction(row["sde_per_county_delegate"]) - s / c) < FLOAT_TOLERANCE, f"{county}: S/C column"
        )
    for a in apportionment:
        ratio = state[a.county] / delegates_in[a.county]
        check(abs(a.delegates * ratio - a.sde) < FLOAT_TOLERANCE, f"{a.county}/{a.short}: SDE != D x S/C")
    total_d = sum(a.delegates for a in apportionment)
    total_s = sum(state.values(), Fraction(0))
    check(total_d == EXPECTED_COUNTY_DELEGATES, f"sum of D is {total_d}")
    check(total_s == EXPECTED_STATE_DELEGATES, f"sum of S is {total_s}")
    zero = [a for a in apportionment if a.delegates == 0]
    check(len(zero) == EXPECTED_ZERO_DELEGATE, f"{len(zero)} precincts elect 0 delegates")
    by_district = Counter(districts.values())
    check(by_district == EXPECTED_COUNTIES_BY_DISTRICT, f"counties per district: {dict(by_district)}")

    # Precinct names and party ids: precinct-key.csv, then the party feed for the ids the key lacks.
    key = {(r["county"], r["precinct"]): r for r in read_csv(data / "precinct-key.csv")}
    feed = json.loads((data / "precinct-feed-2020-02-06.json").read_text(encoding="utf-8"))["precincts"]
    feed_ids: dict[tuple[str, str], str] = {}
    for entry in feed:
        feed_key = (entry["locality_name"], normalise_name(str(entry["precinct"])))
        check(feed_key not in feed_ids, f"feed: {feed_key} repeats")
        feed_ids[feed_key] = str(entry["precinct_id"])

    units = results_units(certified)
    release_units = results_units(data / "results-release-2020-02-06.csv")
    check(
        {(c, normalise_name(p)) for c, p in units} == {(c, normalise_name(p)) for c, p in release_units},
        "the two results files list different reporting units",
    )
    pools = {name for name, _, _ in POOLS}
    heads = head_counts(certified)
    rows: list[Row] = []
    used: set[tuple[str, str]] = set()
    for county, name in units:
        entry = key.get((county, name))
        if county in pools:
            location = normalise_name(entry["short_name"] if entry else satellite_location(name))
            from_feed = feed_ids.get((county, location), "")
            pid = entry["nyt_precinct_id"] if entry and entry["nyt_precinct_id"] else from_feed
            check(pid != "", f"satellite {county}/{name}: no party id")
            check(
                not from_feed or from_feed == pid,
                f"satellite {county}/{name}: key id {pid} != feed {from_feed}",
            )
            rows.append(Row(f"{county}/{pid}", county, name, pid, None, "satellite",
                            expected_attendance(heads[(county, name)])))
            continue
        if entry is None:
            check(False, f"{county}/{name}: not in precinct-key.csv")
            continue
        short = entry["short_name"]
        apportioned = by_short.get((county, short))
        if apportioned is None:
            check(False, f"{county}/{name}: short name {short} not in the apportionment")
            continue
        check((county, short) not in used, f"{county}/{short}: two results rows map to it")
        used.add((county, short))
        check(
            Fraction(entry["county_delegates"]) == apportioned.delegates,
            f"{county}/{short}: key D != apportionment D",
        )
        from_feed = feed_ids.get((county, normalise_name(short)), "")
        pid = entry["nyt_precinct_id"] or from_feed
        check(not from_feed or from_feed == pid, f"{county}/{short}: key id {pid} != feed id {from_feed}")
        rows.append(Row(f"{county}/{short}", county, name, pid, apportioned.delegates, "precinct"))
    # Precincts in the apportionment without results rows: only the 0-delegate ones may be.
    for a in apportionment:
        if (a.county, a.short) not in used:
            check(a.delegates == 0, f"{a.county}/{a.short}: elects {a.delegates} but has no results")
            rows.append(Row(f"{a.county}/{a.short}", a.county, a.short, "", a.delegates, "precinct"))
    sites = Counter(r.county for r in rows if r.kind == "satellite")
    check(sites == EXPECTED_SITES_BY_POOL, f"satellite sites per pool: {dict(sites)}")
    site_list = read_csv(data / "satellite-sites.csv")
    in_iowa = sum(1 for s in site_list if s["State/ Country"] == "IA")
    check(len(site_list) == sum(sites.values()), f"satellite-sites.csv has {len(site_list)} sites")
    check(
        in_iowa == sum(n for p, n in sites.items() if p != "Out of State Satellite"), f"{in_iowa} sites in IA"
    )
    ids = Counter(r.precinct_id for r in rows if r.precinct_id)
    check(all(n == 1 for n in ids.values()), "a party precinct id repeats")
    if failures:
        raise BuildError("\n".join(failures))

    order = {name: i for i, name in enumerate([*names, *(p for p, _, _ in POOLS)])}
    rows.sort(key=lambda r: order[r.county])  # stable: results order within a county, 0-delegate last
    county_rows = [
        [c, districts[c], str(delegates_in[c]), format_exact(state[c]), "county"] for c in names
    ] + [[p, d or "", "0", format_exact(Fraction(size)), "satellite-pool"] for p, d, size in POOLS]
    precinct_rows = [
        [r.code, r.county, r.name, r.precinct_id, "" if r.delegates is None else str(r.delegates), r.kind,
         "" if r.expected_attendance is None else str(r.expected_attendance)]
        for r in rows
    ]
    toml = PLAN_TOML.format(
        candidates="\n".join(f'    "{c}",' for c in CANDIDATES),
        districts="\n".join(f'"{d}" = {n}' for d, n in DISTRICT_SEATS.items()),
    )
    return toml, county_rows, precinct_rows


def csv_text(header: tuple[str, ...], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def write_plan(data: Path, out: Path, certified: Path = DEFAULT_CERTIFIED) -> None:
    toml, county_rows, precinct_rows = build(data, certified)
    files = {
        PLAN_FILE: toml,
        COUNTIES_FILE: csv_text(COUNTY_COLUMNS, county_rows),
        PRECINCTS_FILE: csv_text((*PRECINCT_COLUMNS, EXPECTED_COLUMN), precinct_rows),
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8", newline="")
    plan = read_plan_dir(out)  # the loader's own validation, and the exact sums once more
    weights = sum((p.sde_weight or Fraction(0) for p in plan.precincts), Fraction(0))
    if weights != EXPECTED_STATE_DELEGATES:
        raise BuildError(f"precinct SDE weights sum to {weights}, not {EXPECTED_STATE_DELEGATES}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with the party's files")
    parser.add_argument("--certified", type=Path, default=DEFAULT_CERTIFIED,
                        help="the party's certified results (long CSV)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="plan directory to write")
    args = parser.parse_args(argv)
    try:
        write_plan(args.data, args.out, args.certified)
    except (BuildError, PlanError) as exc:
        print(f"build_iowa_plan: the data does not add up:\n{exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
