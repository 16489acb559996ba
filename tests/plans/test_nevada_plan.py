"""The bundled nevada-2020 plan, against the party's own files (data/nevada2020/), and what the plan format
leaves optional for a rule set without SDEs."""

from __future__ import annotations

import csv
import filecmp
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from caucus.plans import Plan, PlanError, load_plan
from caucus.results_nevada import plan_county, plan_precinct

from .test_loader import COUNTIES_CSV, PLAN_TOML, problems, write_plan

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "nevada2020"
PLAN_FILES = ("plan.toml", "counties.csv", "precincts.csv")
STRIP = {"Bellagio": 51, "Harrahs": 34, "Mandalay Bay": 33, "Paris": 33, "Park MGM": 33, "Rio": 13,
         "Wynn Resorts": 11}


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan("nevada-2020")


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_rebuilding_gives_the_bundled_files_byte_for_byte(tmp_path: Path) -> None:
    out = tmp_path / "nevada-2020"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "build_nevada_plan.py"), "--out", str(out)],
                   check=True, capture_output=True)
    bundled = Path(str(resources.files("caucus.plans").joinpath("nevada-2020")))
    assert sorted(p.name for p in out.iterdir()) == sorted(PLAN_FILES)
    for name in PLAN_FILES:
        assert filecmp.cmp(out / name, bundled / name, shallow=False), name
    assert (bundled / "PROVENANCE.md").is_file()


def test_the_plan_is_the_apportionment_plus_the_strip_caucuses(plan: Plan) -> None:
    apportionment = _rows("apportionment.csv")
    assert len(apportionment) == 2088
    assert (plan.name, plan.ruleset) == ("nevada-2020", "nevada-2020")
    assert len(plan.counties) == 17 and all(c.kind == "county" for c in plan.counties.values())
    assert len(plan.precincts) == 2088 + len(STRIP)
    for row in apportionment:
        number = row["precinct"]
        if row["county"] == "Washoe" and len(number) == 4:
            number += "00"  # Washoe's 6-digit numbers, as the results file writes them
        assert plan.precinct_by_code(f"{row['county']}/{number}").delegates == int(row["delegates"])
    assert {p.name: p.delegates for p in plan.precincts_in("Clark") if not p.name.isdigit()} == STRIP
    assert sum(p.delegates or 0 for p in plan.precincts) == 14675 + sum(STRIP.values())
    for county in plan.counties.values():
        assert county.county_delegates == sum(p.delegates or 0 for p in plan.precincts_in(county.name))


def test_no_sde_data_and_no_national_seats(plan: Plan) -> None:
    assert plan.national is None
    assert all(c.state_delegates is None for c in plan.counties.values())
    assert all(p.sde_weight is None for p in plan.precincts)
    with pytest.raises(ValueError, match="no state delegates"):
        _ = plan.counties["Clark"].sde_ratio
    # a county's district only where all of its precincts lie in one (Clark: 1, 3, 4; Lyon: 2, 4)
    assert plan.counties["Clark"].district is None and plan.counties["Lyon"].district is None
    assert plan.counties["Washoe"].district == "2" and plan.counties["Nye"].district == "4"


def test_caucus_settings_from_rules_nv_1(plan: Plan) -> None:
    s = plan.settings
    assert (s.party, s.date.isoformat(), s.doors_close_text, s.time_zone) == (
        "Nevada State Democratic Party", "2020-02-22", "12:00 pm", "America/Los_Angeles")
    assert s.hotline == ()
    assert s.example_code == "Carson City/101"
    assert plan.candidates[-1] == "Uncommitted" and len(plan.candidates) == 12


def test_every_attended_unit_of_the_results_file_is_in_the_plan(plan: Plan) -> None:
    """The county mapping (CARSON -> Carson City, WHITE -> White Pine, else capitals) joins every unit
    that drew anyone; the 6 units in no apportionment drew nobody."""
    units: dict[tuple[str, str], int] = {}
    for row in _rows("results-final.csv"):
        units[(row["county"], row["precinct"])] = int(row["total_attendance"])
    assert plan_county(plan, "CARSON") == "Carson City" and plan_county(plan, "WHITE") == "White Pine"
    assert plan_county(plan, "ESMERALDA") == "Esmeralda"
    missing = {k: n for k, n in units.items() if plan_precinct(plan, *k) is None}
    assert missing == {("CLARK", "3778"): 0, ("CLARK", "3779"): 0, ("CLARK", "5561"): 0, ("CLARK", "5590"): 0,
                       ("CLARK", "5905"): 0, ("DOUGLAS", "Zzzzzz"): 0}
    found = {plan_precinct(plan, *k).code for k in units if k not in missing}  # type: ignore[union-attr]
    assert len(found) == len(units) - len(missing)
    unreported = {p.code for p in plan.precincts} - found
    assert unreported == {"Clark/1370", "Clark/2712", "Clark/3878", "Clark/3879"}


NV_TOML = PLAN_TOML.replace('ruleset = "iowa-2020"', 'ruleset = "nevada-2020"').split("[national]")[0]
NV_COUNTIES = "county,district,county_delegates,kind\nNorth,1,12,county\nSouth,,5,county\nEast,2,4,county\n"
NV_PRECINCTS = ("code,county,name,precinct_id,delegates,kind\nNorth/1,North,North Ward 1,101,7,precinct\n"
                "North/2,North,North Ward 2,102,5,precinct\nSouth/1,South,South Town,201,5,precinct\n"
                "East/1,East,East Village,301,4,precinct\n")


def _nevada_like(directory: Path, toml: str = NV_TOML, counties: str = NV_COUNTIES) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in (("plan.toml", toml), ("counties.csv", counties), ("precincts.csv", NV_PRECINCTS)):
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def test_a_rule_set_without_sdes_may_leave_out_state_delegates_and_national_seats(tmp_path: Path) -> None:
    plan = load_plan(_nevada_like(tmp_path / "a"))
    assert plan.national is None and plan.counties["North"].state_delegates is None
    assert plan.counties["North"].district == "1"  # no [national.districts] to check it against
    # the column may also be there, empty or filled (then it is read), and [national] may be given
    with_column = NV_COUNTIES.replace("county_delegates,kind", "county_delegates,state_delegates,kind").replace(
        ",12,county", ",12,3,county").replace(",5,county", ",5,,county").replace(",4,county", ",4,,county")
    plan = load_plan(_nevada_like(tmp_path / "b", counties=with_column))
    assert plan.counties["North"].state_delegates == 3 and plan.counties["South"].state_delegates is None
    with_national = NV_TOML + "[national" + PLAN_TOML.split("[national", 1)[1]
    assert load_plan(_nevada_like(tmp_path / "c", toml=with_national)).national is not None
    bad = NV_COUNTIES.replace("county_delegates,kind", "county_delegates,state_delegates,kind").replace(
        ",12,county", ",12,x,county").replace(",5,county", ",5,,county").replace(",4,county", ",4,,county")
    assert problems(_nevada_like(tmp_path / "d", counties=bad)) == (
        'counties.csv line 2: column "state_delegates": "x" is not an exact number ("4", "18.1033", "14/3")',)


def test_a_rule_set_with_sdes_still_requires_them(tmp_path: Path) -> None:
    assert problems(write_plan(tmp_path / "a", counties_csv=("North,1,12,3,county", "North,1,12,,county"))) == (
        'counties.csv line 2: column "state_delegates": "" is not an exact number ("4", "18.1033", "14/3"): the '
        "rule set computes SDEs (state delegate equivalents), so every county needs its state delegates",)
    without_column = "\n".join(",".join(c for i, c in enumerate(line.split(",")) if i != 3)
                               for line in COUNTIES_CSV.splitlines()) + "\n"
    found = problems(write_plan(tmp_path / "b", counties_csv=(COUNTIES_CSV, without_column)))
    assert found == ('counties.csv line 1: missing column(s) "state_delegates"; expected columns: county, '
                     "district, county_delegates, state_delegates, kind",)
    no_national = PLAN_TOML.split("[national]")[0]
    assert problems(write_plan(tmp_path / "c", plan_toml=(PLAN_TOML, no_national))) == (
        'plan.toml: missing key "national"',)
    # the same Nevada-like plan under Iowa's rule set
    with pytest.raises(PlanError, match='missing key "national"'):
        load_plan(_nevada_like(tmp_path / "d", toml=NV_TOML.replace("nevada-2020", "iowa-2020")))


def test_an_unknown_rule_set_is_named(tmp_path: Path) -> None:
    found = problems(write_plan(tmp_path, plan_toml=('ruleset = "iowa-2020"', 'ruleset = "ohio-2020"')))
    assert found == ('plan.toml: key "ruleset": unknown rule set "ohio-2020" (known: "iowa-2020", "nevada-2020")',)
