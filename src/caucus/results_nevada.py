"""Read Nevada's published precinct results (the Nevada State Democratic Party's 2020 layout).

One row per precinct and candidate::

    county,precinct,total_attendance,candidate,reported_del_given,align1,alignfinal,...
    CARSON,101,127,Biden,0,10,0,...

``total_attendance`` is ``N`` (in person plus early votes, NV-3.1), repeated on every row of the precinct;
``align1`` and ``alignfinal`` are the first and final alignment (people); ``reported_del_given`` the county
convention delegates the party awarded (NV-4: Nevada publishes no SDEs). An optional ``precinct_delegates``
column gives ``D`` where the scrape could join the apportionment (``NA`` where it could not); other columns
(``congressional_district``, ``precinct_full``, ``is_complete``) are ignored.

The file writes counties in capitals, two of them shortened: :data:`COUNTY_ABBREVIATIONS` maps them to
the plan's names (``CARSON`` is ``Carson City``, ``WHITE`` is ``White Pine``); every other county is its
plan name in capitals. Every problem in the file is reported at once, each with its line, in one
:class:`~caucus.results_csv.ResultsFileError`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from caucus.plans import Plan, Precinct
from caucus.plans.model import normalise_name
from caucus.results_csv import ResultsFileError

__all__ = ["COLUMNS", "COUNTY_ABBREVIATIONS", "NevadaPrecinct", "is_nevada_layout", "plan_county",
           "plan_precinct", "read_nevada_results"]

COLUMNS = ("county", "precinct", "total_attendance", "candidate", "reported_del_given", "align1", "alignfinal")
DELEGATES_COLUMN = "precinct_delegates"
#: The results file's county names that are not simply the plan's name in capitals (data/nevada2020/).
COUNTY_ABBREVIATIONS: Mapping[str, str] = {"CARSON": "Carson City", "WHITE": "White Pine"}
#: what the scrape writes where it has no value (R's missing value)
MISSING = "NA"

_WHOLE = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class NevadaPrecinct:
    """One precinct as Nevada's results file gives it."""

    county: str
    precinct: str
    """The county and precinct exactly as written in the file (``CARSON``, ``101``)."""
    attendance: int
    """``total_attendance``: N, in person plus early votes, fixed at the first alignment (NV-3.1)."""
    first: dict[str, int]
    final: dict[str, int]
    reported: dict[str, int]
    """County convention delegates awarded, per candidate (0 included)."""
    delegates: int | None
    """``precinct_delegates`` as the file gives it; None where the column is absent or ``NA``."""
    line: int


def is_nevada_layout(path: Path | str) -> bool:
    """Whether the file's header has Nevada's columns (the audit picks the reader by the header)."""
    with Path(path).open(newline="", encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle), None) or []
    return set(COLUMNS) <= {cell.strip() for cell in header}


def plan_county(plan: Plan, written: str) -> str | None:
    """The plan's county for a county as the results file writes it (``CARSON`` -> ``Carson City``)."""
    name = COUNTY_ABBREVIATIONS.get(written.strip().upper(), written)
    found = plan.find_county(name)
    return None if found is None else found.name


def plan_precinct(plan: Plan, county: str, precinct: str) -> Precinct | None:
    """The plan's precinct for a unit of the results file, or None if the plan does not have it."""
    name = plan_county(plan, county)
    return None if name is None else plan.find_precinct(name, precinct)


@dataclass
class _Unit:
    county: str
    precinct: str
    line: int
    attendance: int | None = None
    delegates: int | None = None
    first: dict[str, int] = field(default_factory=dict)
    final: dict[str, int] = field(default_factory=dict)
    reported: dict[str, int] = field(default_factory=dict)


def read_nevada_results(path: Path | str, *, candidates: Sequence[str] | None = None) -> list[NevadaPrecinct]:
    """Every precinct in the file, in the order they first appear.

    ``candidates``: the plan's preference groups; a candidate outside them is an error. Raises
    ``ResultsFileError`` listing every problem found (each with its line and column).
    """
    path = Path(path)
    errors: list[str] = []
    units: dict[tuple[str, str], _Unit] = {}
    seen: dict[tuple[str, str, str], int] = {}
    unknown: set[str] = set()

    def error(line: int, what: str, column: str | None = None) -> None:
        errors.append(f"{path.name} line {line}: {what}" + (f" (column {column})" if column else ""))

    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = csv.reader(handle)
        header = [cell.strip() for cell in next(rows, None) or []]
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            listed = ", ".join(f'"{c}"' for c in missing)
            raise ResultsFileError([f"{path.name} line 1: header lacks column(s) {listed}; Nevada's layout has "
                                    f"{', '.join(COLUMNS)} (and optionally {DELEGATES_COLUMN})"])
        index = {c: header.index(c) for c in header}
        for record in rows:
            if not any(cell.strip() for cell in record):
                continue
            line = rows.line_num
            if len(record) != len(header):
                error(line, f"has {len(record)} fields, the header has {len(header)}")
                continue
            cell = {c: record[i].strip() for c, i in index.items()}
            county, precinct, candidate = cell["county"], cell["precinct"], cell["candidate"]
            bad = [c for c in ("county", "precinct", "candidate") if not cell[c]]
            for column in bad:
                error(line, f"empty {column}", column)
            numbers: dict[str, int] = {}
            for column in ("total_attendance", "reported_del_given", "align1", "alignfinal"):
                if _WHOLE.fullmatch(cell[column]):
                    numbers[column] = int(cell[column])
                else:
                    error(line, f'"{cell[column]}" is not a whole, non-negative number', column)
            d_text = cell.get(DELEGATES_COLUMN, MISSING)
            d = int(d_text) if _WHOLE.fullmatch(d_text) else None
            if d is None and d_text not in (MISSING, ""):
                error(line, f'"{d_text}" is not a whole number of delegates (nor {MISSING})', DELEGATES_COLUMN)
            if bad or len(numbers) < 4:
                continue
            if candidates is not None and candidate not in candidates:
                if candidate not in unknown:
                    unknown.add(candidate)
                    error(line, f'unknown candidate "{candidate}" (the plan has: {", ".join(candidates)})',
                          "candidate")
                continue
            key = (normalise_name(county), normalise_name(precinct))
            earlier = seen.setdefault((*key, candidate), line)
            if earlier != line:
                error(line, f"{county} / {precinct} / {candidate} is given twice (first on line {earlier})")
                continue
            unit = units.get(key)
            if unit is None:
                unit = units[key] = _Unit(county, precinct, line, numbers["total_attendance"], d)
            elif unit.attendance != numbers["total_attendance"]:
                error(line, f"total_attendance {numbers['total_attendance']} differs from {unit.attendance} on "
                            f"line {unit.line} for the same precinct", "total_attendance")
                continue
            elif unit.delegates != d:
                error(line, f"precinct_delegates {d_text} differs from line {unit.line} for the same precinct",
                      DELEGATES_COLUMN)
                continue
            unit.first[candidate] = numbers["align1"]
            unit.final[candidate] = numbers["alignfinal"]
            unit.reported[candidate] = numbers["reported_del_given"]
    if errors:
        raise ResultsFileError(errors)
    return [NevadaPrecinct(u.county, u.precinct, u.attendance or 0, u.first, u.final, u.reported, u.delegates,
                           u.line) for u in units.values()]
