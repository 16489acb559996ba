"""A plan's own settings ([caucus] in plan.toml) and its boundaries file: each rule the loader enforces, with
the file, the key and the rule named; the times shown to people in the plan's zone."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from caucus.plans import PlanError, load_plan, read_plan_files
from tests.plans.test_loader import write_plan

UTC = dt.UTC
SQUARE = [[[-93.0, 42.0], [-92.0, 42.0], [-92.0, 43.0], [-93.0, 43.0], [-93.0, 42.0]]]


def problems(directory: Path) -> tuple[str, ...]:
    with pytest.raises(PlanError) as caught:
        load_plan(str(directory))
    return caught.value.problems


def test_settings_are_read(tmp_path: Path) -> None:
    directory = write_plan(tmp_path, plan_toml=('time_zone = "America/Chicago"\n',
                                                'time_zone = "America/Chicago"\nhotline = ["+1 (555) 010-0199", '
                                                '"555.010.0198"]\nexample_code = "South/1"\n'))
    settings = load_plan(str(directory)).settings
    assert settings.party == "Three Counties Party"
    assert settings.date == dt.date(2024, 1, 15)
    assert settings.doors_close == dt.time(19, 0)
    assert settings.hotline == ("+1 (555) 010-0199", "555.010.0198")
    assert settings.example_code == "South/1"
    assert settings.doors_close_text == "7:00 pm"


def test_example_code_defaults_to_the_first_precinct_and_hotline_is_optional(tmp_path: Path) -> None:
    settings = load_plan(str(write_plan(tmp_path))).settings
    assert settings.example_code == "North/1"
    assert settings.hotline == ()


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('party = "Three Counties Party"\n', "", 'plan.toml: missing key "caucus.party"'),
        ('party = "Three Counties Party"', 'party = "  "',
         'plan.toml: key "caucus.party": must be the party\'s name as printed on cards and pages, not \'  \''),
        ("date = 2024-01-15", 'date = "15/01/2024"',
         'plan.toml: key "caucus.date": must be the caucus day written 2020-02-03 (a TOML date), not \'15/01/2024\''),
        ("date = 2024-01-15", "date = 2024-01-15T19:00:00",
         'plan.toml: key "caucus.date": must be the caucus day written 2020-02-03 (a TOML date), '
         "not datetime.datetime(2024, 1, 15, 19, 0)"),
        ("doors_close = 19:00:00", 'doors_close = "7pm"',
         'plan.toml: key "caucus.doors_close": must be a time of day written 19:00 (24-hour clock), not \'7pm\''),
        ('time_zone = "America/Chicago"', 'time_zone = "CST"',
         'plan.toml: key "caucus.time_zone": \'CST\' is not an IANA time zone name '
         '(such as "America/Chicago" or "America/New_York")'),
        ('time_zone = "America/Chicago"', 'time_zone = "America/Chicag"',
         'plan.toml: key "caucus.time_zone": \'America/Chicag\' is not an IANA time zone name '
         '(such as "America/Chicago" or "America/New_York")'),
        ('time_zone = "America/Chicago"', 'time_zone = "America/Chicago"\nhotline = ["call Ann"]',
         'plan.toml: key "caucus.hotline": "call Ann" is not a phone number: only digits, spaces and + - ( ) . '
         "may be used"),
        ('time_zone = "America/Chicago"', 'time_zone = "America/Chicago"\nhotline = "911"',
         'plan.toml: key "caucus.hotline": "911" has 3 digits; a phone number has 7 to 15'),
        ('time_zone = "America/Chicago"', 'time_zone = "America/Chicago"\nhotline = ["555 0100", "555 0100"]',
         'plan.toml: key "caucus.hotline": "555 0100" is listed twice'),
        ('time_zone = "America/Chicago"', 'time_zone = "America/Chicago"\nexample_code = "Nowhere/1"',
         'plan.toml: key "caucus.example_code": "Nowhere/1" is not a precinct code of precincts.csv'),
        ('time_zone = "America/Chicago"', 'time_zone = "America/Chicago"\nhotline_number = "555 0100"',
         'plan.toml: unknown key "caucus.hotline_number" (expected "caucus.party", "caucus.date", '
         '"caucus.doors_close", "caucus.time_zone", "caucus.hotline", "caucus.example_code")'),
    ],
)  # fmt: skip
def test_each_settings_rule(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert problems(write_plan(tmp_path, plan_toml=(old, new))) == (expected,)


def test_a_plan_without_its_caucus_table_names_it(tmp_path: Path) -> None:
    found = problems(write_plan(tmp_path, plan_toml=("[caucus]\n", "[other]\n")))
    assert 'plan.toml: missing key "caucus"' in found


def test_times_are_shown_in_the_plan_zone_with_its_abbreviation(tmp_path: Path) -> None:
    settings = load_plan(str(write_plan(tmp_path))).settings
    # 01:45 UTC on 4 February 2020 is 7:45 pm Central Standard Time on the 3rd (UTC-6)
    moment = dt.datetime(2020, 2, 4, 1, 45, 7, tzinfo=UTC)
    assert settings.clock(moment) == "7:45 pm CST"
    assert settings.moment(moment) == "Mon 3 Feb 2020, 7:45:07 pm CST"
    # in July Chicago keeps daylight time (UTC-5)
    assert settings.clock(dt.datetime(2024, 7, 1, 0, 5, tzinfo=UTC)) == "7:05 pm CDT"
    with pytest.raises(ValueError, match="naive"):
        settings.clock(dt.datetime(2020, 2, 4, 1, 45))


def _boundaries(*features: dict[str, object]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": list(features)})


def _feature(county: str, coordinates: object = SQUARE, kind: str = "Polygon") -> dict[str, object]:
    return {"type": "Feature", "properties": {"county": county},
            "geometry": {"type": kind, "coordinates": coordinates}}


def _files(directory: Path, boundaries: str) -> dict[str, bytes]:
    files = {name: (directory / name).read_bytes() for name in ("plan.toml", "counties.csv", "precincts.csv")}
    return {**files, "boundaries.geojson": boundaries.encode()}


def test_boundaries_are_read_in_plan_order(tmp_path: Path) -> None:
    directory = write_plan(tmp_path)
    text = _boundaries(_feature("East"), _feature("North", [SQUARE, SQUARE], "MultiPolygon"), _feature("South"))
    (directory / "boundaries.geojson").write_text(text)
    plan = load_plan(str(directory))
    assert plan.boundaries is not None
    assert list(plan.boundaries.counties) == ["North", "South", "East"]
    assert len(plan.boundaries.counties["North"]) == 2
    assert plan.boundaries.extent == (-93.0, 42.0, -92.0, 43.0)
    assert plan.files["boundaries.geojson"] == text.encode()
    assert load_plan(str(write_plan(tmp_path / "none"))).boundaries is None


@pytest.mark.parametrize(
    ("features", "expected"),
    [
        ([_feature("North"), _feature("South")], "boundaries.geojson: every county needs a boundary; none for East"),
        ([_feature("North"), _feature("South"), _feature("East"), _feature("West")],
         'boundaries.geojson: feature 4 ("West"): unknown county "West" (not in counties.csv)'),
        ([_feature("North"), _feature("South"), _feature("East"), _feature("Satellite")],
         'boundaries.geojson: feature 4 ("Satellite"): Satellite is a satellite-pool; only counties are drawn on '
         "the map"),
        ([_feature("North"), _feature("North"), _feature("South"), _feature("East")],
         'boundaries.geojson: feature 2 ("North"): North has a boundary already'),
        ([_feature("North", [[[-93, 42], [-92, 42], [-93, 42]]]), _feature("South"), _feature("East")],
         'boundaries.geojson: feature 1 ("North"): geometry has a ring of fewer than 4 positions (a closed ring '
         "repeats its first position)"),
        ([_feature("North", [[[-93, 42], [-92, 42], [-92, 99], [-93, 42]]]), _feature("South"), _feature("East")],
         'boundaries.geojson: feature 1 ("North"): geometry has a position [-92, 99] outside longitude -180..180, '
         "latitude -90..90"),
        ([_feature("North", SQUARE, "LineString"), _feature("South"), _feature("East")],
         'boundaries.geojson: feature 1 ("North"): geometry must be a GeoJSON "Polygon" or "MultiPolygon"'),
        ([{"type": "Feature", "properties": {}, "geometry": None}, _feature("North"), _feature("South"),
          _feature("East")],
         "boundaries.geojson: feature 1: needs properties.county, the county's name as in counties.csv"),
    ],
)  # fmt: skip
def test_each_boundaries_rule(tmp_path: Path, features: list[dict[str, object]], expected: str) -> None:
    with pytest.raises(PlanError) as caught:
        read_plan_files(_files(write_plan(tmp_path), _boundaries(*features)))
    assert caught.value.problems == (expected,)


def test_boundaries_that_are_not_geojson(tmp_path: Path) -> None:
    with pytest.raises(PlanError) as caught:
        read_plan_files(_files(write_plan(tmp_path), '{"type": "Topology"}'))
    assert caught.value.problems == ('boundaries.geojson: must be a GeoJSON FeatureCollection ({"type": '
                                     '"FeatureCollection", "features": [...]})',)
