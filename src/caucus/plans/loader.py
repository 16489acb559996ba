"""Read and validate a plan directory (``plan.toml``, ``counties.csv``, ``precincts.csv``, and optionally
``boundaries.geojson``), or the same files as published in a release (:func:`read_plan_files`).

The format is documented in docs/plan-format.md. Every problem found is reported at once, in one
:class:`PlanError` whose lines name the file, the line, the column and the rule broken.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
import math
import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Any, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from caucus.plans.model import (
    County,
    CountyKind,
    NationalSeats,
    Plan,
    Precinct,
    PrecinctKind,
    fold_code,
    normalise_name,
)
from caucus.plans.numbers import parse_exact, parse_whole
from caucus.plans.settings import Boundaries, PlanSettings, Polygon, phone_problem
from caucus.rules import RULESETS

PLAN_FILE = "plan.toml"
COUNTIES_FILE = "counties.csv"
PRECINCTS_FILE = "precincts.csv"
#: optional: the counties' boundaries for the public map (GeoJSON; docs/plan-format.md)
BOUNDARIES_FILE = "boundaries.geojson"
REQUIRED_FILES = (PLAN_FILE, COUNTIES_FILE, PRECINCTS_FILE)
PLAN_FILES = (*REQUIRED_FILES, BOUNDARIES_FILE)
COUNTY_COLUMNS = ("county", "district", "county_delegates", "state_delegates", "kind")
#: the SDE column: required for a rule set that computes SDEs (Iowa), optional for one that does not (Nevada)
STATE_COLUMN = "state_delegates"
PRECINCT_COLUMNS = ("code", "county", "name", "precinct_id", "delegates", "kind")
#: optional in the header of a plan without satellite sites; required (and filled in) for every satellite row
EXPECTED_COLUMN = "expected_attendance"
PRECINCT_OPTIONAL = (EXPECTED_COLUMN,)
MAX_PROBLEMS = 20

_PLAN_KEYS = ("name", "title", "ruleset", "candidates", "national", "caucus")
#: required only for a rule set that computes SDEs: national delegates are allocated on SDEs (IA-6)
_SDE_PLAN_KEYS = ("national",)
_NATIONAL_KEYS = ("districts", "at_large", "pleo", "threshold_percent")
_CAUCUS_KEYS = ("party", "date", "doors_close", "time_zone")
_CAUCUS_OPTIONAL = ("hotline", "example_code")
_COUNTY_KINDS: tuple[CountyKind, ...] = get_args(CountyKind)
_PRECINCT_KINDS: tuple[PrecinctKind, ...] = get_args(PrecinctKind)
_PRECINCT_KIND_FOR: dict[str, str] = {"county": "precinct", "satellite-pool": "satellite"}


class PlanError(ValueError):
    """A plan that cannot be loaded. ``problems`` lists each problem, one per line of the message."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        shown = list(self.problems[:MAX_PROBLEMS])
        if len(self.problems) > MAX_PROBLEMS:
            shown.append(f"... and {len(self.problems) - MAX_PROBLEMS} more problems")
        super().__init__("\n".join(shown))


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, file: str, line: int | None, column: str | None, what: str) -> None:
        where = file if line is None else f"{file} line {line}"
        if column is not None:
            where += f': column "{column}"'
        self.items.append(f"{where}: {what}")

    def raise_if_any(self) -> None:
        if self.items:
            raise PlanError(self.items)


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    cells: dict[str, str]


def list_bundled_plans() -> list[str]:
    """Names of the plans bundled with the package, sorted."""
    return list(_bundled_names())


@functools.cache
def _bundled_names() -> tuple[str, ...]:
    root = resources.files("caucus.plans")
    return tuple(sorted(e.name for e in root.iterdir() if e.is_dir() and e.joinpath(PLAN_FILE).is_file()))


def load_plan(name_or_path: str | os.PathLike[str]) -> Plan:
    """Load a bundled plan by name ("iowa-2020"), or a plan directory by path.

    A bundled name wins over a directory of the same name in the working directory (write
    "./iowa-2020" for that). Bundled plans are read once per process and shared (plans are immutable);
    a directory is read on every call.
    """
    text = os.fspath(name_or_path)
    if text in _bundled_names():
        return _load_bundled(text)
    if os.path.isdir(text):
        return read_plan_dir(Path(text))
    bundled = ", ".join(list_bundled_plans()) or "none"
    raise PlanError([f"{text}: neither a bundled plan (bundled: {bundled}) nor a plan directory"])


@functools.cache
def _load_bundled(name: str) -> Plan:
    return read_plan_dir(resources.files("caucus.plans").joinpath(name))


def read_plan_dir(directory: Traversable) -> Plan:
    """Read and validate the plan in ``directory`` (a path or a package resource)."""
    problems = _Problems()
    files: dict[str, bytes] = {}
    for file in PLAN_FILES:
        entry = directory.joinpath(file)
        if entry.is_file():
            files[file] = entry.read_bytes()
        elif file in REQUIRED_FILES:
            problems.add(file, None, None, f"missing: a plan directory needs {file} ({directory})")
    problems.raise_if_any()
    return read_plan_files(files)


def read_plan_files(files: Mapping[str, bytes]) -> Plan:
    """Read and validate a plan from its files' bytes by name (``plan.toml``, ``counties.csv``,
    ``precincts.csv``, optionally ``boundaries.geojson``): a plan directory, or the copy a release
    publishes under ``plan/``. ``Plan.files`` keeps the bytes."""
    problems = _Problems()
    texts: dict[str, str] = {}
    for file in PLAN_FILES:
        if file not in files:
            if file in REQUIRED_FILES:
                problems.add(file, None, None, f"missing: a plan needs {file}")
            continue
        try:
            texts[file] = files[file].decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            problems.add(file, None, None, f"not UTF-8 text: {exc}")
    problems.raise_if_any()

    header = _read_plan_toml(texts[PLAN_FILE], problems)
    counties, county_lines = _read_counties(texts[COUNTIES_FILE], header, _needs_sde(texts[PLAN_FILE]), problems)
    precincts = _read_precincts(texts[PRECINCTS_FILE], counties, county_lines, problems)
    if not problems.items and county_lines is not None:
        _check_county_sums(counties, county_lines, precincts, problems)
    boundaries = None
    if BOUNDARIES_FILE in texts:
        boundaries = _read_boundaries(texts[BOUNDARIES_FILE], counties, problems)
    problems.raise_if_any()
    assert header is not None  # no problems means the header was read
    name, title, ruleset, candidates, national, settings = header
    settings = _check_example_code(settings, precincts, problems)
    problems.raise_if_any()
    return Plan(
        name=name,
        title=title,
        ruleset=ruleset,
        candidates=candidates,
        counties=MappingProxyType(counties),
        precincts=tuple(precincts),
        national=national,
        settings=settings,
        boundaries=boundaries,
        files=MappingProxyType({file: bytes(files[file]) for file in PLAN_FILES if file in files}),
    )


_Header = tuple[str, str, str, tuple[str, ...], NationalSeats | None, PlanSettings]


def _read_plan_toml(text: str, problems: _Problems) -> _Header | None:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problems.add(PLAN_FILE, None, None, f"not valid TOML: {exc}")
        return None
    before = len(problems.items)
    name, title, ruleset = (_text(data, key, problems) for key in ("name", "title", "ruleset"))
    rules = RULESETS.get(ruleset)
    if "ruleset" in data and ruleset and rules is None:
        known = ", ".join(f'"{r}"' for r in sorted(RULESETS))
        problems.add(PLAN_FILE, None, None, f'key "ruleset": unknown rule set "{ruleset}" (known: {known})')
    sde = rules is None or rules.has_sde
    _check_keys(data, _PLAN_KEYS if sde else tuple(k for k in _PLAN_KEYS if k not in _SDE_PLAN_KEYS), "",
                problems, () if sde else _SDE_PLAN_KEYS)
    candidates = _candidates(data.get("candidates"), problems)
    national_table = data.get("national")
    national: NationalSeats | None = None
    if not isinstance(national_table, dict):
        if "national" in data:
            problems.add(PLAN_FILE, None, None, 'key "national" must be a table ([national])')
    else:
        national = _national(national_table, problems)
    caucus_table = data.get("caucus")
    settings = None
    if not isinstance(caucus_table, dict):
        if "caucus" in data:
            problems.add(PLAN_FILE, None, None, 'key "caucus" must be a table ([caucus])')
    else:
        settings = _settings(caucus_table, problems)
    if len(problems.items) > before or (sde and national is None) or settings is None:
        return None
    return name, title, ruleset, candidates, national, settings


def _needs_sde(text: str) -> bool:
    """Whether the plan's rule set computes SDEs (then every county needs its state delegates and the plan
    its national seats). A plan whose rule set cannot be read is held to the full format."""
    try:
        ruleset = tomllib.loads(text).get("ruleset")
    except tomllib.TOMLDecodeError:
        return True
    rules = RULESETS.get(ruleset.strip()) if isinstance(ruleset, str) else None
    return rules is None or rules.has_sde


def _check_keys(table: Mapping[str, Any], allowed: tuple[str, ...], prefix: str, problems: _Problems,
                optional: tuple[str, ...] = ()) -> None:
    for key in allowed:
        if key not in table:
            problems.add(PLAN_FILE, None, None, f'missing key "{prefix}{key}"')
    for key in table:
        if key not in allowed and key not in optional:
            expected = ", ".join(f'"{prefix}{k}"' for k in (*allowed, *optional))
            problems.add(PLAN_FILE, None, None, f'unknown key "{prefix}{key}" (expected {expected})')


def _text(data: Mapping[str, Any], key: str, problems: _Problems) -> str:
    value = data.get(key)
    if key in data and (not isinstance(value, str) or not value.strip()):
        problems.add(PLAN_FILE, None, None, f'key "{key}" must be non-empty text, not {value!r}')
    return value.strip() if isinstance(value, str) else ""


def _candidates(value: object, problems: _Problems) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        problems.add(PLAN_FILE, None, None, 'key "candidates" must be a non-empty list of names')
        return ()
    names: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            problems.add(PLAN_FILE, None, None, f'key "candidates": {item!r} is not a name')
        elif item.strip() in names:
            problems.add(PLAN_FILE, None, None, f'key "candidates": "{item.strip()}" is listed twice')
        else:
            names.append(item.strip())
    return tuple(names)


def _national(table: Mapping[str, Any], problems: _Problems) -> NationalSeats | None:
    before = len(problems.items)
    _check_keys(table, _NATIONAL_KEYS, "national.", problems)
    counts = {key: _seat_count(table, key, f"national.{key}", problems) for key in _NATIONAL_KEYS[1:]}
    if counts["threshold_percent"] > 100:
        problems.add(PLAN_FILE, None, None, 'key "national.threshold_percent" must be at most 100')
    districts: dict[str, int] = {}
    raw = table.get("districts")
    if not isinstance(raw, dict):
        if "districts" in table:
            problems.add(PLAN_FILE, None, None, 'key "national.districts" must be a table of seats')
    else:
        for district in raw:
            districts[district] = _seat_count(raw, district, f"national.districts.{district}", problems)
    if len(problems.items) > before:
        return None
    return NationalSeats(
        districts=MappingProxyType(districts),
        at_large=counts["at_large"],
        pleo=counts["pleo"],
        threshold_percent=counts["threshold_percent"],
    )


def _settings(table: Mapping[str, Any], problems: _Problems) -> PlanSettings | None:
    """The ``[caucus]`` table: party, date, doors_close, time_zone; optionally hotline, example_code."""
    before = len(problems.items)
    _check_keys(table, _CAUCUS_KEYS, "caucus.", problems, _CAUCUS_OPTIONAL)

    def bad(key: str, what: str) -> None:
        problems.add(PLAN_FILE, None, None, f'key "caucus.{key}": {what}')

    party = table.get("party")
    if "party" in table and (not isinstance(party, str) or not party.strip()):
        bad("party", f"must be the party's name as printed on cards and pages, not {party!r}")
    date = _toml_date(table.get("date"))
    if "date" in table and date is None:
        bad("date", f"must be the caucus day written 2020-02-03 (a TOML date), not {table.get('date')!r}")
    doors = _toml_time(table.get("doors_close"))
    if "doors_close" in table and doors is None:
        bad("doors_close", f"must be a time of day written 19:00 (24-hour clock), not {table.get('doors_close')!r}")
    zone = table.get("time_zone")
    if "time_zone" in table and not _is_zone(zone):
        bad("time_zone", f'{zone!r} is not an IANA time zone name (such as "America/Chicago" or "America/New_York")')
    raw_hotline = table.get("hotline", [])
    numbers = [raw_hotline] if isinstance(raw_hotline, str) else raw_hotline
    hotline: list[str] = []
    if not isinstance(numbers, list):
        bad("hotline", f"must be a phone number or a list of them, not {raw_hotline!r}")
    else:
        for number in numbers:
            problem = phone_problem(number)
            if problem is not None:
                bad("hotline", problem)
            elif number.strip() in hotline:
                bad("hotline", f'"{number.strip()}" is listed twice')
            else:
                hotline.append(number.strip())
    example = table.get("example_code", "")
    if not isinstance(example, str):
        bad("example_code", f"must be a precinct code of precincts.csv, not {example!r}")
    if len(problems.items) > before:
        return None
    assert isinstance(party, str) and date is not None and doors is not None and isinstance(zone, str)
    return PlanSettings(party=party.strip(), date=date, doors_close=doors, time_zone=zone,
                        hotline=tuple(hotline), example_code=str(example).strip())


def _toml_date(value: object) -> dt.date | None:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _toml_time(value: object) -> dt.time | None:
    if isinstance(value, dt.time):
        return None if value.tzinfo is not None else value
    if isinstance(value, str) and len(value.strip()) in (5, 8):
        try:
            return dt.time.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _is_zone(value: object) -> bool:
    if not isinstance(value, str) or ("/" not in value and value != "UTC"):
        return False  # abbreviations such as "CST" name no rules for daylight saving time
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _check_example_code(settings: PlanSettings, precincts: Sequence[Precinct], problems: _Problems
                        ) -> PlanSettings:
    """The example code must be a precinct of the plan; by default, the first precinct's code."""
    codes = [p.code for p in precincts]
    if not settings.example_code:
        first = next((p.code for p in precincts if p.kind == "precinct"), codes[0] if codes else "")
        return PlanSettings(settings.party, settings.date, settings.doors_close, settings.time_zone,
                            settings.hotline, first)
    if settings.example_code not in codes:
        problems.add(PLAN_FILE, None, None, f'key "caucus.example_code": "{settings.example_code}" is not a '
                                            f"precinct code of {PRECINCTS_FILE}")
    return settings


def _read_boundaries(text: str, counties: Mapping[str, County], problems: _Problems) -> Boundaries | None:
    """``boundaries.geojson``: a FeatureCollection with one feature per county (``properties.county``, a
    Polygon or MultiPolygon in longitude/latitude degrees); every county of kind ``county`` exactly once."""
    before = len(problems.items)

    def bad(what: str) -> None:
        problems.add(BOUNDARIES_FILE, None, None, what)

    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        bad(f"not valid JSON: {exc}")
        return None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" \
            or not isinstance(data.get("features"), list):
        bad('must be a GeoJSON FeatureCollection ({"type": "FeatureCollection", "features": [...]})')
        return None
    shapes: dict[str, tuple[Polygon, ...]] = {}
    for index, feature in enumerate(data["features"]):
        where = f"feature {index + 1}"
        props = feature.get("properties") if isinstance(feature, dict) else None
        name = props.get("county") if isinstance(props, dict) else None
        if not isinstance(name, str) or not name.strip():
            bad(f'{where}: needs properties.county, the county\'s name as in {COUNTIES_FILE}')
            continue
        where = f'{where} ("{name}")'
        county = counties.get(name)
        if county is None:
            bad(f'{where}: unknown county "{name}" (not in {COUNTIES_FILE})')
            continue
        if county.kind != "county":
            bad(f"{where}: {name} is a {county.kind}; only counties are drawn on the map")
            continue
        if name in shapes:
            bad(f"{where}: {name} has a boundary already")
            continue
        polygons = _polygons(feature.get("geometry"))
        if isinstance(polygons, str):
            bad(f"{where}: geometry {polygons}")
            continue
        shapes[name] = polygons
    missing = [c.name for c in counties.values() if c.kind == "county" and c.name not in shapes]
    if missing and len(problems.items) == before:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        bad(f"every county needs a boundary; none for {shown}")
    if len(problems.items) > before:
        return None
    return Boundaries(MappingProxyType({n: shapes[n] for n in counties if n in shapes}))


def _polygons(geometry: object) -> tuple[Polygon, ...] | str:
    """The polygons of a GeoJSON Polygon or MultiPolygon, or what is wrong with it."""
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        return 'must be a GeoJSON "Polygon" or "MultiPolygon"'
    coordinates = geometry.get("coordinates")
    parts = [coordinates] if geometry["type"] == "Polygon" else coordinates
    if not isinstance(parts, list) or not parts:
        return "has no coordinates"
    polygons = []
    for part in parts:
        if not isinstance(part, list) or not part:
            return "has a polygon without rings"
        rings = []
        for ring in part:
            if not isinstance(ring, list) or len(ring) < 4:
                return "has a ring of fewer than 4 positions (a closed ring repeats its first position)"
            points = []
            for position in ring:
                if not isinstance(position, list) or len(position) < 2 or not all(
                        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                        for v in position[:2]):
                    return f"has a position {position!r} that is not [longitude, latitude]"
                lon, lat = float(position[0]), float(position[1])
                if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                    return f"has a position {position!r} outside longitude -180..180, latitude -90..90"
                points.append((lon, lat))
            rings.append(tuple(points))
        polygons.append(tuple(rings))
    return tuple(polygons)


def _seat_count(table: Mapping[str, Any], key: str, label: str, problems: _Problems) -> int:
    value = table.get(key)
    if key not in table:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        problems.add(PLAN_FILE, None, None, f'key "{label}": {value!r} is not a whole number of seats')
        return 0
    return value


def _rows(file: str, text: str, columns: tuple[str, ...], problems: _Problems,
          optional: tuple[str, ...] = ()) -> list[_Row] | None:
    """The data rows, with cells by column name; None if the header is wrong (a problem is added).

    ``optional`` columns may be left out of the header; a row then has no cell for them."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        problems.add(file, 1, None, f"empty file: expected the header {','.join(columns)}")
        return None
    names = [cell.strip() for cell in header]
    missing = [c for c in columns if c not in names]
    unknown = [c for c in names if c not in columns and c not in optional]
    repeated = sorted({c for c in names if names.count(c) > 1})
    if missing or unknown or repeated:
        parts = []
        if missing:
            parts.append("missing column(s) " + ", ".join(f'"{c}"' for c in missing))
        if unknown:
            parts.append("unknown column(s) " + ", ".join(f'"{c}"' for c in unknown))
        if repeated:
            parts.append("repeated column(s) " + ", ".join(f'"{c}"' for c in repeated))
        extra = f" (and optionally {', '.join(optional)})" if optional else ""
        problems.add(file, 1, None, "; ".join(parts) + f"; expected columns: {', '.join(columns)}{extra}")
        return None
    rows: list[_Row] = []
    for record in reader:
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(names):
            what = f"has {len(record)} fields, the header has {len(names)}"
            problems.add(file, reader.line_num, None, what)
            continue
        rows.append(
            _Row(reader.line_num, {name: cell.strip() for name, cell in zip(names, record, strict=True)})
        )
    return rows


def _read_counties(
    text: str, header: _Header | None, sde: bool, problems: _Problems
) -> tuple[dict[str, County], dict[str, int] | None]:
    """The valid counties, and the line of every county named (None if the file could not be read).

    ``sde``: the plan's rule set computes SDEs, so every county needs ``state_delegates``; otherwise the
    column may be left out or empty (a county without SDE data)."""
    counties: dict[str, County] = {}
    lines: dict[str, int] = {}
    by_form: dict[str, str] = {}  # normalised name -> name, so tolerant lookups are never ambiguous
    national = None if header is None else header[4]
    seats = None if national is None else national.districts
    columns = COUNTY_COLUMNS if sde else tuple(c for c in COUNTY_COLUMNS if c != STATE_COLUMN)
    rows = _rows(COUNTIES_FILE, text, columns, problems, () if sde else (STATE_COLUMN,))
    if rows is None:
        return counties, None
    for row in rows:
        cells = row.cells

        def bad(column: str, what: str, line: int = row.line) -> None:
            problems.add(COUNTIES_FILE, line, column, what)

        name = cells["county"]
        if not name:
            bad("county", "empty: every row needs a county name")
            continue
        first = by_form.setdefault(normalise_name(name), name)
        if first in lines:
            bad("county", f'"{name}" is listed twice (first on line {lines[first]})')
            continue
        kind = cells["kind"]
        if kind not in _COUNTY_KINDS:
            bad("kind", f'"{kind}" is not one of {", ".join(_COUNTY_KINDS)}')
        district = cells["district"] or None
        if district is not None and seats is not None and district not in seats:
            bad("district", f'"{district}" has no district seats in {PLAN_FILE} [national.districts]')
        delegates = parse_whole(cells["county_delegates"])
        if delegates is None:
            bad("county_delegates", f'"{cells["county_delegates"]}" is not a whole number')
        elif kind == "county" and delegates == 0:
            bad("county_delegates", "a county must elect at least one county delegate")
        elif kind == "satellite-pool" and delegates != 0:
            bad("county_delegates", f"must be 0 for a satellite pool (it has no precincts), not {delegates}")
        written = cells.get(STATE_COLUMN, "")
        state = parse_exact(written)
        if state is None and (sde or written):
            why = "" if written else (": the rule set computes SDEs (state delegate equivalents), so every county "
                                      "needs its state delegates")
            bad(STATE_COLUMN, f'"{written}" is not an exact number ("4", "18.1033", "14/3"){why}')
        elif state is None and kind == "satellite-pool":
            bad(STATE_COLUMN, "empty: a satellite pool needs its SDE size (its sites share it by turnout)")
        lines[name] = row.line
        if kind in _COUNTY_KINDS and delegates is not None and (state is not None or not sde):
            counties[name] = County(name, district, delegates, state, _county_kind(kind))
    return counties, lines


def _county_kind(kind: str) -> CountyKind:
    return "county" if kind == "county" else "satellite-pool"


def _read_precincts(
    text: str, counties: Mapping[str, County], listed: Mapping[str, int] | None, problems: _Problems
) -> list[Precinct]:
    """The valid precinct rows.

    A county named in counties.csv whose own row is wrong is not also reported as unknown, and no county
    is when counties.csv could not be read at all (``listed`` None).
    """
    precincts: list[Precinct] = []
    code_lines: dict[str, int] = {}
    folded_codes: dict[str, tuple[str, int]] = {}
    id_lines: dict[str, int] = {}
    name_lines: dict[tuple[str, str], int] = {}
    satellites_without_column: list[int] = []
    for row in _rows(PRECINCTS_FILE, text, PRECINCT_COLUMNS, problems, PRECINCT_OPTIONAL) or []:
        cells = row.cells
        before = len(problems.items)

        def bad(column: str, what: str, line: int = row.line) -> None:
            problems.add(PRECINCTS_FILE, line, column, what)

        code, county_name, name = cells["code"], cells["county"], cells["name"]
        precinct_id = cells["precinct_id"]
        if not code:
            bad("code", "empty: every precinct needs a unique code")
        elif code in code_lines:
            bad("code", f'"{code}" is used twice (first on line {code_lines[code]})')
        elif fold_code(code) in folded_codes:
            other, line = folded_codes[fold_code(code)]
            bad("code", f'"{code}" differs from "{other}" (line {line}) only in case or spaces; codes are matched '
                        "as people type them, so they must differ in letters or digits")
        else:
            code_lines[code] = row.line
            folded_codes[fold_code(code)] = (code, row.line)
        if precinct_id:
            if precinct_id in id_lines:
                bad("precinct_id", f'"{precinct_id}" is used twice (first on line {id_lines[precinct_id]})')
            else:
                id_lines[precinct_id] = row.line
        county = counties.get(county_name)
        if listed is not None and county_name not in listed:
            bad("county", f'unknown county "{county_name}" (not in {COUNTIES_FILE})')
        if not name:
            bad("name", "empty: every precinct needs its name as the results files write it")
        else:
            key = (county_name, normalise_name(name))
            if key in name_lines:
                bad("name", f'"{name}" is already a precinct of {county_name} (line {name_lines[key]})')
            else:
                name_lines[key] = row.line
        kind = cells["kind"]
        if kind not in _PRECINCT_KINDS:
            bad("kind", f'"{kind}" is not one of {", ".join(_PRECINCT_KINDS)}')
        elif county is not None and _PRECINCT_KIND_FOR[county.kind] != kind:
            wanted = _PRECINCT_KIND_FOR[county.kind]
            bad("kind", f'"{county_name}" is a {county.kind}: its rows are of kind {wanted}, not {kind}')
        delegates = parse_whole(cells["delegates"])
        if kind == "satellite" and cells["delegates"]:
            written = cells["delegates"]
            bad("delegates", f'must be empty for a satellite (its D follows attendance), not "{written}"')
        elif kind != "satellite" and delegates is None:
            bad("delegates", f'"{cells["delegates"]}" is not a whole number')
        expected = _expected_attendance(cells, kind, bad)
        if kind == "satellite" and EXPECTED_COLUMN not in cells:
            satellites_without_column.append(row.line)
        if len(problems.items) > before or county is None:
            continue
        if kind == "satellite":
            precincts.append(Precinct(code, county_name, name, precinct_id, None, "satellite", None, expected))
        else:
            assert delegates is not None
            weight = None if county.state_delegates is None else delegates * county.sde_ratio
            precincts.append(Precinct(code, county_name, name, precinct_id, delegates, "precinct", weight))
    if satellites_without_column:
        lines = satellites_without_column
        problems.add(PRECINCTS_FILE, 1, None,
                     f'missing column "{EXPECTED_COLUMN}": every satellite site needs its expected attendance '
                     f"(the plan has {len(lines)} satellite site(s), the first on line {lines[0]})")
    return precincts


def _expected_attendance(cells: Mapping[str, str], kind: str, bad: Callable[[str, str], None]) -> int | None:
    """A satellite site's expected attendance: a whole number of at least 1; empty for a precinct."""
    if EXPECTED_COLUMN not in cells:
        return None
    written = cells[EXPECTED_COLUMN]
    if kind != "satellite":
        if written:
            bad(EXPECTED_COLUMN, f'must be empty for a precinct (only a satellite site has an expected '
                                 f'attendance), not "{written}"')
        return None
    if not written:
        bad(EXPECTED_COLUMN, "empty: a satellite site needs its expected attendance, a whole number of at least 1")
        return None
    value = parse_whole(written)
    if value is None or value < 1:
        bad(EXPECTED_COLUMN, f'"{written}" is not a whole number of at least 1 (the most people expected at the '
                             "site)")
        return None
    return value


def _check_county_sums(
    counties: Mapping[str, County],
    lines: Mapping[str, int],
    precincts: Sequence[Precinct],
    problems: _Problems,
) -> None:
    sums: dict[str, int] = dict.fromkeys(counties, 0)
    for precinct in precincts:
        sums[precinct.county] += precinct.delegates or 0
    for name, county in counties.items():
        if county.kind == "county" and sums[name] != county.county_delegates:
            problems.add(
                COUNTIES_FILE,
                lines[name],
                "county_delegates",
                f"{county.county_delegates} is not the sum of the delegates of {name}'s precincts"
                f" in {PRECINCTS_FILE} ({sums[name]})",
            )


__all__ = ["BOUNDARIES_FILE", "EXPECTED_COLUMN", "PLAN_FILES", "PlanError", "list_bundled_plans", "load_plan",
           "read_plan_dir", "read_plan_files"]
