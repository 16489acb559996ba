"""Read and validate a plan directory (``plan.toml``, ``counties.csv``, ``precincts.csv``).

The format is documented in docs/plan-format.md. Every problem found is reported at once, in one
:class:`PlanError` whose lines name the file, the line, the column and the rule broken.
"""

from __future__ import annotations

import csv
import functools
import io
import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Any, get_args

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

PLAN_FILE = "plan.toml"
COUNTIES_FILE = "counties.csv"
PRECINCTS_FILE = "precincts.csv"
COUNTY_COLUMNS = ("county", "district", "county_delegates", "state_delegates", "kind")
PRECINCT_COLUMNS = ("code", "county", "name", "precinct_id", "delegates", "kind")
#: optional in the header of a plan without satellite sites; required (and filled in) for every satellite row
EXPECTED_COLUMN = "expected_attendance"
PRECINCT_OPTIONAL = (EXPECTED_COLUMN,)
MAX_PROBLEMS = 20

_PLAN_KEYS = ("name", "title", "ruleset", "candidates", "national")
_NATIONAL_KEYS = ("districts", "at_large", "pleo", "threshold_percent")
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
    texts: dict[str, str] = {}
    for file in (PLAN_FILE, COUNTIES_FILE, PRECINCTS_FILE):
        entry = directory.joinpath(file)
        if not entry.is_file():
            problems.add(file, None, None, f"missing: a plan directory needs {file} ({directory})")
        else:
            texts[file] = entry.read_text(encoding="utf-8-sig")
    problems.raise_if_any()

    header = _read_plan_toml(texts[PLAN_FILE], problems)
    counties, county_lines = _read_counties(texts[COUNTIES_FILE], header, problems)
    precincts = _read_precincts(texts[PRECINCTS_FILE], counties, county_lines, problems)
    if not problems.items and county_lines is not None:
        _check_county_sums(counties, county_lines, precincts, problems)
    problems.raise_if_any()
    assert header is not None  # no problems means the header was read
    name, title, ruleset, candidates, national = header
    return Plan(
        name=name,
        title=title,
        ruleset=ruleset,
        candidates=candidates,
        counties=MappingProxyType(counties),
        precincts=tuple(precincts),
        national=national,
    )


_Header = tuple[str, str, str, tuple[str, ...], NationalSeats]


def _read_plan_toml(text: str, problems: _Problems) -> _Header | None:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problems.add(PLAN_FILE, None, None, f"not valid TOML: {exc}")
        return None
    before = len(problems.items)
    _check_keys(data, _PLAN_KEYS, "", problems)
    name, title, ruleset = (_text(data, key, problems) for key in ("name", "title", "ruleset"))
    candidates = _candidates(data.get("candidates"), problems)
    national_table = data.get("national")
    if not isinstance(national_table, dict):
        if "national" in data:
            problems.add(PLAN_FILE, None, None, 'key "national" must be a table ([national])')
        national = None
    else:
        national = _national(national_table, problems)
    if len(problems.items) > before or national is None:
        return None
    return name, title, ruleset, candidates, national


def _check_keys(table: Mapping[str, Any], allowed: tuple[str, ...], prefix: str, problems: _Problems) -> None:
    for key in allowed:
        if key not in table:
            problems.add(PLAN_FILE, None, None, f'missing key "{prefix}{key}"')
    for key in table:
        if key not in allowed:
            expected = ", ".join(f'"{prefix}{k}"' for k in allowed)
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
    text: str, header: _Header | None, problems: _Problems
) -> tuple[dict[str, County], dict[str, int] | None]:
    """The valid counties, and the line of every county named (None if the file could not be read)."""
    counties: dict[str, County] = {}
    lines: dict[str, int] = {}
    by_form: dict[str, str] = {}  # normalised name -> name, so tolerant lookups are never ambiguous
    seats = None if header is None else header[4].districts
    rows = _rows(COUNTIES_FILE, text, COUNTY_COLUMNS, problems)
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
        state = parse_exact(cells["state_delegates"])
        if state is None:
            written = cells["state_delegates"]
            bad("state_delegates", f'"{written}" is not an exact number ("4", "18.1033", "14/3")')
        lines[name] = row.line
        if kind in _COUNTY_KINDS and delegates is not None and state is not None:
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
            weight = delegates * county.sde_ratio
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


__all__ = ["EXPECTED_COLUMN", "PlanError", "list_bundled_plans", "load_plan", "read_plan_dir"]
