"""Reading your own plan directory: a round trip, and one test per rule the loader enforces."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from caucus.plans import PlanError, load_plan

PLAN_TOML = """\
name = "three-counties"
title = "Three counties and a satellite pool"
ruleset = "iowa-2020"
candidates = ["Able", "Baker", "Uncommitted"]

[caucus]
party = "Three Counties Party"
date = 2024-01-15
doors_close = 19:00:00
time_zone = "America/Chicago"

[national]
at_large = 2
pleo = 1
threshold_percent = 15

[national.districts]
"1" = 3
"2" = 2
"""
COUNTIES_CSV = """\
county,district,county_delegates,state_delegates,kind
North,1,12,3,county
South,1,5,7/3,county
East,2,4,1.5,county
Satellite,,0,0.5,satellite-pool
"""
PRECINCTS_CSV = """\
code,county,name,precinct_id,delegates,kind,expected_attendance
North/1,North,North Ward 1,101,7,precinct,
North/2,North,North Ward 2 &amp; Township,102,5,precinct,
South/1,South,South Town,201,5,precinct,
East/1,East,East Village,301,4,precinct,
Satellite/9001,Satellite,"Capital City, ST - Library",9001,,satellite,150
"""
EXACT = ' ("4", "18.1033", "14/3")'
FILES = {"plan.toml": PLAN_TOML, "counties.csv": COUNTIES_CSV, "precincts.csv": PRECINCTS_CSV}


def write_plan(directory: Path, **changes: tuple[str, str]) -> Path:
    """Write the valid plan, with ``file_stem=(old, new)`` text replacements applied."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in FILES.items():
        change = changes.get(name.replace(".", "_"))
        if change is not None:
            assert change[0] in text, change
        written = text if change is None else text.replace(change[0], change[1])
        (directory / name).write_text(written, encoding="utf-8")
    return directory


def problems(directory: Path) -> tuple[str, ...]:
    with pytest.raises(PlanError) as caught:
        load_plan(str(directory))
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def test_round_trip(tmp_path: Path) -> None:
    plan = load_plan(write_plan(tmp_path / "plan"))
    assert (plan.name, plan.title, plan.ruleset) == (
        "three-counties",
        "Three counties and a satellite pool",
        "iowa-2020",
    )
    assert plan.candidates == ("Able", "Baker", "Uncommitted")
    assert list(plan.counties) == ["North", "South", "East", "Satellite"]
    assert plan.counties["South"].sde_ratio == Fraction(7, 15)
    assert plan.counties["East"].state_delegates == Fraction(3, 2)
    assert plan.counties["Satellite"].district is None
    assert [p.code for p in plan.precincts_in("North")] == ["North/1", "North/2"]
    ward2 = plan.find_precinct("north", "North Ward 2 & Township")
    assert ward2 is not None
    assert (ward2.name, ward2.precinct_id, ward2.delegates) == ("North Ward 2 &amp; Township", "102", 5)
    assert ward2.sde_weight == Fraction(5, 4)
    site = plan.precinct_by_code("Satellite/9001")
    assert (site.name, site.kind, site.delegates, site.sde_weight, site.expected_attendance) == (
        "Capital City, ST - Library",
        "satellite",
        None,
        None,
        150,
    )
    assert ward2.expected_attendance is None
    assert dict(plan.national.districts) == {"1": 3, "2": 2}
    assert load_plan(str(tmp_path / "plan")) == plan  # a directory is re-read each time, equal by value


def test_columns_in_any_order_spaces_and_blank_lines(tmp_path: Path) -> None:
    directory = write_plan(
        tmp_path,
        precincts_csv=(
            "East/1,East,East Village,301,4,precinct,\n",
            "\nEast/1, East ,East Village,301,4,precinct, \n\n",
        ),
    )
    (directory / "counties.csv").write_text(
        "kind,county,state_delegates,county_delegates,district\n"
        "county,North,3,12,1\ncounty,South,7/3,5,1\ncounty,East,1.5,4,2\nsatellite-pool,Satellite,0.5,0,\n",
        encoding="utf-8",
    )
    plan = load_plan(directory)
    assert plan.precinct_by_code("East/1").county == "East"
    assert plan.counties["South"].state_delegates == Fraction(7, 3)


def test_not_a_plan(tmp_path: Path) -> None:
    with pytest.raises(
        PlanError, match=r"nowhere: neither a bundled plan \(bundled: iowa-2020, nevada-2020\) nor a plan directory"
    ):
        load_plan("nowhere")
    (tmp_path / "plan.toml").write_text(PLAN_TOML, encoding="utf-8")
    assert problems(tmp_path) == (
        f"counties.csv: missing: a plan directory needs counties.csv ({tmp_path})",
        f"precincts.csv: missing: a plan directory needs precincts.csv ({tmp_path})",
    )


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        # precincts.csv
        ("precincts_csv", "North Ward 1,101,7,", "North Ward 1,101,x,",
         'precincts.csv line 2: column "delegates": "x" is not a whole number'),
        ("precincts_csv", "South/1,South,", "South/1,Sooth,",
         'precincts.csv line 4: column "county": unknown county "Sooth" (not in counties.csv)'),
        ("precincts_csv", "East/1,", "North/1,",
         'precincts.csv line 5: column "code": "North/1" is used twice (first on line 2)'),
        ("precincts_csv", "East/1,", " north/1 ,",
         'precincts.csv line 5: column "code": "north/1" differs from "North/1" (line 2) only in case or spaces; '
         "codes are matched as people type them, so they must differ in letters or digits"),
        ("precincts_csv", ",301,", ",101,",
         'precincts.csv line 5: column "precinct_id": "101" is used twice (first on line 2)'),
        ("precincts_csv", "North Ward 2 &amp; Township", "NORTH  WARD 1",
         'precincts.csv line 3: column "name": "NORTH  WARD 1" is already a precinct of North (line 2)'),
        ("precincts_csv", "East Village", "",
         'precincts.csv line 5: column "name": empty:'
         " every precinct needs its name as the results files write it"),
        ("precincts_csv", ",4,precinct", ",4,ward",
         'precincts.csv line 5: column "kind": "ward" is not one of precinct, satellite'),
        ("precincts_csv", "9001,,satellite", "9001,4,satellite",
         'precincts.csv line 6: column "delegates":'
         ' must be empty for a satellite (its D follows attendance), not "4"'),
        ("precincts_csv", "9001,,satellite,150", "9001,3,precinct,",
         'precincts.csv line 6: column "kind":'
         ' "Satellite" is a satellite-pool: its rows are of kind satellite, not precinct'),
        ("precincts_csv", "precinct_id,delegates,kind", "precinct_id,kind,ward",
         'precincts.csv line 1: missing column(s) "delegates"; unknown column(s) "ward";'
         " expected columns: code, county, name, precinct_id, delegates, kind (and optionally expected_attendance)"),
        ("precincts_csv", "South Town,201,5,precinct,", "South Town,201,5,",
         "precincts.csv line 4: has 6 fields, the header has 7"),
        # precincts.csv: a satellite site's expected attendance
        ("precincts_csv", "9001,,satellite,150", "9001,,satellite,",
         'precincts.csv line 6: column "expected_attendance": empty:'
         " a satellite site needs its expected attendance, a whole number of at least 1"),
        ("precincts_csv", "9001,,satellite,150", "9001,,satellite,0",
         'precincts.csv line 6: column "expected_attendance": "0" is not a whole number of at least 1'
         " (the most people expected at the site)"),
        ("precincts_csv", "9001,,satellite,150", "9001,,satellite,1.5e2",
         'precincts.csv line 6: column "expected_attendance": "1.5e2" is not a whole number of at least 1'
         " (the most people expected at the site)"),
        ("precincts_csv", "9001,,satellite,150", "9001,,satellite,-3",
         'precincts.csv line 6: column "expected_attendance": "-3" is not a whole number of at least 1'
         " (the most people expected at the site)"),
        ("precincts_csv", "East Village,301,4,precinct,", "East Village,301,4,precinct,40",
         'precincts.csv line 5: column "expected_attendance": must be empty for a precinct'
         ' (only a satellite site has an expected attendance), not "40"'),
        # counties.csv
        ("counties_csv", "North,1,12,3,county", "North,1,13,3,county",
         'counties.csv line 2: column "county_delegates": 13 is not the sum of the delegates'
         " of North's precincts in precincts.csv (12)"),
        ("counties_csv", "South,1,5,7/3,", "South,1,5,7/0,",
         'counties.csv line 3: column "state_delegates": "7/0" is not an exact number' + EXACT),
        ("counties_csv", "East,2,4,1.5,", "East,2,4,-1.5,",
         'counties.csv line 4: column "state_delegates": "-1.5" is not an exact number' + EXACT),
        ("counties_csv", "East,2,4,", "East,2,four,",
         'counties.csv line 4: column "county_delegates": "four" is not a whole number'),
        ("counties_csv", "East,2,", "East,3,",
         'counties.csv line 4: column "district":'
         ' "3" has no district seats in plan.toml [national.districts]'),
        ("counties_csv", "Satellite,,0,", "Satellite,,2,",
         'counties.csv line 5: column "county_delegates":'
         " must be 0 for a satellite pool (it has no precincts), not 2"),
        ("counties_csv", "0.5,satellite-pool", "0.5,pool",
         'counties.csv line 5: column "kind": "pool" is not one of county, satellite-pool'),
        ("counties_csv", "0.5,satellite-pool\n", "0.5,satellite-pool\nNorth,2,4,1.5,county\n",
         'counties.csv line 6: column "county": "North" is listed twice (first on line 2)'),
        ("counties_csv", "0.5,satellite-pool\n", "0.5,satellite-pool\nnorth ,2,4,1.5,county\n",
         'counties.csv line 6: column "county": "north" is listed twice (first on line 2)'),
        ("counties_csv", "county,district,", "name,district,",
         'counties.csv line 1: missing column(s) "county"; unknown column(s) "name";'
         " expected columns: county, district, county_delegates, state_delegates, kind"),
        # plan.toml
        ("plan_toml", 'ruleset = "iowa-2020"\n', "", 'plan.toml: missing key "ruleset"'),
        ("plan_toml", 'ruleset = "iowa-2020"\n', 'ruleset = "iowa-2020"\nrules = "x"\n',
         'plan.toml: unknown key "rules"'
         ' (expected "name", "title", "ruleset", "candidates", "national", "caucus")'),
        ("plan_toml", '"Baker", "Uncommitted"', '"Baker", "Baker"',
         'plan.toml: key "candidates": "Baker" is listed twice'),
        ("plan_toml", "pleo = 1", "pleo = 1.5",
         'plan.toml: key "national.pleo": 1.5 is not a whole number of seats'),
        ("plan_toml", '"2" = 2', '"2" = -2',
         'plan.toml: key "national.districts.2": -2 is not a whole number of seats'),
        ("plan_toml", "threshold_percent = 15", "threshold_percent = 150",
         'plan.toml: key "national.threshold_percent" must be at most 100'),
        ("plan_toml", 'title = "Three', 'title = Three', None),
    ],
)  # fmt: skip
def test_each_rule(tmp_path: Path, file: str, old: str, new: str, expected: str | None) -> None:
    found = problems(write_plan(tmp_path, **{file: (old, new)}))
    if expected is None:  # a TOML syntax error: tomllib's own message, with its line and column
        assert len(found) == 1
        assert found[0].startswith("plan.toml: not valid TOML: ")
        assert "line 2" in found[0]
    else:
        assert found == (expected,)


def test_a_plan_without_satellites_may_leave_out_the_expected_attendance_column(tmp_path: Path) -> None:
    """Plans written before the column existed still load, as long as they have no satellite site."""
    directory = write_plan(tmp_path, precincts_csv=(PRECINCTS_CSV, "\n".join(
        line.rsplit(",", 1)[0] for line in PRECINCTS_CSV.splitlines() if "Satellite" not in line) + "\n"))
    assert "expected_attendance" not in (directory / "precincts.csv").read_text(encoding="utf-8")
    plan = load_plan(directory)
    assert [p.expected_attendance for p in plan.precincts] == [None, None, None, None]


def test_a_satellite_site_needs_the_expected_attendance_column(tmp_path: Path) -> None:
    without = "\n".join(line.rsplit(",", 1)[0] for line in PRECINCTS_CSV.splitlines()) + "\n"
    assert problems(write_plan(tmp_path, precincts_csv=(PRECINCTS_CSV, without))) == (
        'precincts.csv line 1: missing column "expected_attendance": every satellite site needs its expected '
        "attendance (the plan has 1 satellite site(s), the first on line 6)",
    )


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    directory = write_plan(
        tmp_path,
        precincts_csv=(
            "North Ward 1,101,7,precinct,\nNorth/2,North,",
            "North Ward 1,101,x,precinct,\nNorth/2,Nowhere,",
        ),
        counties_csv=("East,2,4,1.5,", "East,2,4,1.5.1,"),
    )
    assert problems(directory) == (
        'counties.csv line 4: column "state_delegates": "1.5.1" is not an exact number' + EXACT,
        'precincts.csv line 2: column "delegates": "x" is not a whole number',
        'precincts.csv line 3: column "county": unknown county "Nowhere" (not in counties.csv)',
    )  # East's own row is wrong, so East's precincts are not also reported as in an unknown county


def test_long_lists_of_problems_are_cut_in_the_message(tmp_path: Path) -> None:
    rows = "".join(f"X/{i},Nowhere,Place {i},,1,precinct,\n" for i in range(25))
    directory = write_plan(tmp_path, precincts_csv=("East/1,", rows + "East/1,"))
    with pytest.raises(PlanError) as caught:
        load_plan(directory)
    assert len(caught.value.problems) == 25
    lines = str(caught.value).splitlines()
    assert len(lines) == 21
    assert lines[0] == 'precincts.csv line 5: column "county": unknown county "Nowhere" (not in counties.csv)'
    assert lines[-1] == "... and 5 more problems"


def test_the_documented_example_loads(tmp_path: Path) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "plan-format.md").read_text(encoding="utf-8")
    example = doc.split("## Example", 1)[1].split("\n## ", 1)[0]
    for name in FILES:
        block = example.split(f"`{name}`\n```", 1)[1].split("\n", 1)[1].split("```", 1)[0]
        (tmp_path / name).write_text(block, encoding="utf-8")
    plan = load_plan(tmp_path)
    assert plan.name == "example-2024"
    assert plan.precinct_by_code("North/1").sde_weight == Fraction(7, 4)
    assert plan.counties["South"].sde_ratio == Fraction(7, 15)
