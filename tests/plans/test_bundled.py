"""The bundled iowa-2020 plan, against the figures of the party's own data (data/iowa2020/)."""

from __future__ import annotations

import csv
import filecmp
import subprocess
import sys
from collections import Counter
from fractions import Fraction
from importlib import resources
from pathlib import Path

import pytest

from caucus.packaged import certified_results
from caucus.plans import Plan, list_bundled_plans, load_plan, read_plan_dir

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "iowa2020"
PLAN_FILES = ("plan.toml", "counties.csv", "precincts.csv")


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan("iowa-2020")


def test_bundled_plans_are_listed_and_cached(plan: Plan) -> None:
    assert list_bundled_plans() == ["iowa-2020", "nevada-2020"]
    assert load_plan("iowa-2020") is plan
    assert (plan.name, plan.ruleset) == ("iowa-2020", "iowa-2020")


def test_the_bundled_plan_read_uncached_equals_the_cached_one(plan: Plan) -> None:
    """(How long loading takes is a benchmark: benchmarks/bench_startup.py.)"""
    fresh = read_plan_dir(resources.files("caucus.plans").joinpath("iowa-2020"))
    assert fresh is not plan
    assert fresh == plan


def test_counts_and_exact_sums(plan: Plan) -> None:
    counties = [c for c in plan.counties.values() if c.kind == "county"]
    precincts = [p for p in plan.precincts if p.kind == "precinct"]
    satellites = [p for p in plan.precincts if p.kind == "satellite"]
    assert len(counties) == 99
    assert len(precincts) == 1681
    assert sum(1 for p in precincts if p.delegates) == 1678
    assert sorted(p.code for p in precincts if p.delegates == 0) == ["Lee/FM4B", "Lee/HR", "Lee/KE2B"]
    assert len(satellites) == 87
    assert sum(p.delegates or 0 for p in precincts) == 11402
    assert sum((c.county_delegates for c in counties), 0) == 11402
    assert sum((c.state_delegates for c in counties), Fraction(0)) == Fraction(2107)
    assert sum((p.sde_weight or Fraction(0) for p in precincts), Fraction(0)) == Fraction(2107)
    assert all(p.delegates is None and p.sde_weight is None for p in satellites)
    assert len({p.code for p in plan.precincts}) == 1768


def test_county_ratios(plan: Plan) -> None:
    assert plan.counties["Adair"].sde_ratio == Fraction(4, 51)
    assert plan.counties["Poweshiek"].sde_ratio == Fraction(14, 100)
    polk = plan.counties["Polk"]
    assert (polk.county_delegates, polk.state_delegates) == (1401, Fraction(392))
    assert plan.counties["Johnson"].sde_ratio == Fraction(162, 400)
    adair = plan.precinct_by_code("Adair/01NW")
    assert (adair.name, adair.precinct_id, adair.delegates) == ("1NW ADAIR", "948199", 8)
    assert adair.sde_weight == 8 * Fraction(4, 51)
    for precinct in plan.precincts:
        if precinct.delegates is not None:
            assert precinct.sde_weight == precinct.delegates * plan.counties[precinct.county].sde_ratio


def test_apportionment_agrees_with_plan(plan: Plan) -> None:
    with (DATA / "apportionment.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1681
    for row in rows:
        precinct = plan.precinct_by_code(f"{row['County'].strip()}/{row['Precinct Short Name']}")
        assert precinct.delegates == int(row["Delegates to County Convention"])
        assert precinct.sde_weight is not None
        assert abs(precinct.sde_weight - Fraction(row["State Delegate Equivalents"])) < Fraction(1, 10**12)


def test_districts_and_pools(plan: Plan) -> None:
    districts = Counter(c.district for c in plan.counties.values() if c.kind == "county")
    assert districts == {"1": 20, "2": 24, "3": 16, "4": 39}
    pools = {
        c.name: (c.district, c.state_delegates) for c in plan.counties.values() if c.kind == "satellite-pool"
    }
    assert pools == {
        "CD1 Satellite": ("1", Fraction(6)),
        "CD2 Satellite": ("2", Fraction("11.0001")),
        "CD3 Satellite": ("3", Fraction("18.1033")),
        "CD4 Satellite": ("4", Fraction("4.0004")),
        "Out of State Satellite": (None, Fraction("4.0420")),
    }
    sites = {name: len(plan.precincts_in(name)) for name in pools}
    assert sites == {
        "CD1 Satellite": 12,
        "CD2 Satellite": 17,
        "CD3 Satellite": 20,
        "CD4 Satellite": 11,
        "Out of State Satellite": 27,
    }
    with pytest.raises(ValueError, match="satellite pool"):
        _ = plan.counties["CD1 Satellite"].sde_ratio


def test_national_seats_and_candidates(plan: Plan) -> None:
    assert dict(plan.national.districts) == {"1": 7, "2": 7, "3": 8, "4": 5}
    assert (plan.national.at_large, plan.national.pleo, plan.national.threshold_percent) == (9, 5, 15)
    assert plan.candidates == (
        "Bennet", "Biden", "Bloomberg", "Buttigieg", "Delaney", "Gabbard", "Klobuchar",
        "Patrick", "Sanders", "Steyer", "Warren", "Yang", "Uncommitted", "Other",
    )  # fmt: skip


@pytest.mark.parametrize("results", [certified_results(), DATA / "results-release-2020-02-06.csv"],
                         ids=["results-certified.csv", "results-release-2020-02-06.csv"])
def test_every_reporting_unit_of_the_results_is_in_the_plan(plan: Plan, results: Path) -> None:
    found: dict[tuple[str, str], str] = {}
    with results.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["precinct"] in ("Total", "Total_recalc"):
                continue
            precinct = plan.find_precinct(row["county"], row["precinct"])
            assert precinct is not None, (row["county"], row["precinct"])
            found[(row["county"], row["precinct"])] = precinct.code
    assert len(found) == 1765
    assert len(set(found.values())) == 1765
    kinds = Counter(plan.precinct_by_code(code).kind for code in found.values())
    assert kinds == {"precinct": 1678, "satellite": 87}


def test_tolerant_lookup(plan: Plan) -> None:
    carroll = plan.find_precinct("Carroll", "Carroll Ward Three & S1/2 Maple River Twp")
    assert carroll is not None
    assert carroll.name == "Carroll Ward Three &amp;amp; S1/2 Maple River Twp"  # as the party wrote it
    assert plan.find_precinct("Pottawattamie", "Council Bluff  04") is plan.precinct_by_code(
        "Pottawattamie/CB 04"
    )
    assert plan.find_precinct("Guthrie ", " BLACK ") is plan.precinct_by_code("Guthrie/1")
    assert plan.find_precinct("Adair", "1nw  adair") is plan.precinct_by_code("Adair/01NW")
    assert plan.find_precinct("Adair", "no such precinct") is None
    assert plan.find_county("guthrie ") is plan.counties["Guthrie"]
    with pytest.raises(KeyError, match="Nowhere/1"):
        plan.precinct_by_code("Nowhere/1")
    with pytest.raises(KeyError, match="Nowhere"):
        plan.precincts_in("Nowhere")


def test_rebuilding_gives_the_bundled_files_byte_for_byte(tmp_path: Path) -> None:
    out = tmp_path / "iowa-2020"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_iowa_plan.py"), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    bundled = Path(str(resources.files("caucus.plans").joinpath("iowa-2020")))
    assert sorted(p.name for p in out.iterdir()) == sorted(PLAN_FILES)
    for name in PLAN_FILES:
        assert filecmp.cmp(out / name, bundled / name, shallow=False), name


def test_the_bundled_boundaries_are_what_the_script_writes_and_small(tmp_path: Path) -> None:
    out = tmp_path / "boundaries.geojson"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "build_iowa_boundaries.py"), "--out", str(out)],
                   check=True, capture_output=True)
    bundled = Path(str(resources.files("caucus.plans").joinpath("iowa-2020", "boundaries.geojson")))
    assert filecmp.cmp(out, bundled, shallow=False)
    assert bundled.stat().st_size < 40_000  # not the 836 KB national atlas it is cut from


def test_the_bundled_plan_has_iowa_settings_and_99_county_boundaries(plan: Plan) -> None:
    settings = plan.settings
    assert (settings.party, settings.date.isoformat(), settings.doors_close_text, settings.time_zone) == (
        "Iowa Democratic Party", "2020-02-03", "7:00 pm", "America/Chicago")
    assert settings.hotline == ()  # the party's 2020 number is not reproduced: a party sets its own
    assert settings.example_code == "Adair/01NW"
    assert plan.boundaries is not None
    assert list(plan.boundaries.counties) == [c.name for c in plan.counties.values() if c.kind == "county"]
    west, south, east, north = plan.boundaries.extent
    # Iowa lies between the Missouri and the Mississippi, 40°23' to 43°30' north
    assert -96.7 < west < -96.5 and -90.2 < east < -90.1 and 40.3 < south < 40.4 and 43.4 < north < 43.6
