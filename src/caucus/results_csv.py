"""Read a party's published precinct results in the long CSV layout.

The layout (Iowa Democratic Party, 2020) is one value per row::

    county,precinct,candidate,measure,value
    Adair,1NW ADAIR,Biden,expression_1,6

``expression_1`` is the first alignment and ``expression_2`` the final alignment (people, whole numbers);
``sde`` is the state delegate equivalents as published (4 decimals). The county-sum pseudo-precincts
``Total`` and ``Total_recalc`` are skipped. Every problem in the file is reported at once, each with its
line, in one :class:`ResultsFileError`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from caucus.plans import Plan

COLUMNS = ("county", "precinct", "candidate", "measure", "value")
MEASURES = ("expression_1", "expression_2", "sde")
PSEUDO_PRECINCTS = frozenset({"Total", "Total_recalc"})
MAX_ERRORS = 20
SDE_QUANTUM = Decimal("0.0001")
# The scraped files write some SDEs as binary floats ("0.07840000000000001"): a value within this of
# a 4-decimal number is that number; anything further is a precision the party does not publish.
FLOAT_NOISE = Decimal("1e-12")

_Key = tuple[str, str]

_WHOLE = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")


@dataclass(frozen=True)
class PublishedPrecinct:
    """One reporting unit (a precinct or a satellite site) as the results file gives it."""

    county: str
    precinct: str
    """The county and precinct as written in the file (stripped), at the unit's first line."""
    first: dict[str, int]
    """First alignment, people per candidate (only the candidates the file lists)."""
    final: dict[str, int]
    """Final alignment, people per candidate."""
    sde: dict[str, Decimal]
    """Published state delegate equivalents per candidate, at 4 decimal places."""
    line: int
    """The first line of this unit in the file."""


class ResultsFileError(ValueError):
    """A results file that cannot be read. ``errors`` holds every problem, each naming its line."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = tuple(errors)
        shown = list(self.errors[:MAX_ERRORS])
        if len(self.errors) > MAX_ERRORS:
            shown.append(f"... and {len(self.errors) - MAX_ERRORS} more errors")
        super().__init__("\n".join(shown))


@dataclass
class _Unit:
    county: str
    precinct: str
    line: int
    first: dict[str, int] = field(default_factory=dict)
    final: dict[str, int] = field(default_factory=dict)
    sde: dict[str, Decimal] = field(default_factory=dict)


def read_results(path: Path | str, *, plan: Plan | None = None) -> list[PublishedPrecinct]:
    """Every reporting unit in the file, in the order they first appear.

    With a plan, every county, precinct and candidate must be in it; precinct names are matched
    tolerantly (:meth:`Plan.find_precinct`), so spellings that differ only in whitespace, case or HTML
    entities are the same unit. Raises :class:`ResultsFileError` listing every problem found.
    """
    path = Path(path)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return _read(path.name, handle, plan)


def read_results_text(text: str, name: str, *, plan: Plan | None = None) -> list[PublishedPrecinct]:
    """:func:`read_results` of a file's text (an upload): the same checks, the same line-numbered errors,
    ``name`` naming the file in them."""
    return _read(name, io.StringIO(text.removeprefix("\ufeff"), newline=""), plan)


def _read(name: str, handle: Iterable[str], plan: Plan | None) -> list[PublishedPrecinct]:
    reader = _Reader(name, plan)
    rows = csv.reader(handle)
    try:
        index = _header(name, next(rows, None))
        for record in rows:
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(COLUMNS):
                found = f"has {len(record)} fields, expected {len(COLUMNS)} ({', '.join(COLUMNS)})"
                reader.error(rows.line_num, found, None)
                continue
            reader.row(rows.line_num, [record[index[c]].strip() for c in COLUMNS])
    except csv.Error as exc:
        reader.error(rows.line_num, f"is not valid CSV ({exc})", None)
    if reader.errors:
        raise ResultsFileError(reader.errors)
    return [
        PublishedPrecinct(u.county, u.precinct, u.first, u.final, u.sde, u.line)
        for u in reader.units.values()
    ]


class _Reader:
    """The state of one pass over a results file."""

    def __init__(self, name: str, plan: Plan | None) -> None:
        self.name = name
        self.plan = plan
        self.errors: list[str] = []
        self.units: dict[_Key, _Unit] = {}
        self.seen: dict[tuple[_Key, str, str], int] = {}  # (unit, candidate, measure) -> line
        self.keys: dict[tuple[str, str], _Key | None] = {}  # (county, precinct) as written -> unit
        self.reported: set[tuple[str, str]] = set()  # plan problems are reported at their first line

    def error(self, line: int, what: str, column: str | None) -> None:
        self.errors.append(f"{self.name} line {line}: {what}" + (f" (column {column})" if column else ""))

    def row(self, line: int, cells: Sequence[str]) -> None:
        county, precinct, candidate, measure, value = cells
        if precinct in PSEUDO_PRECINCTS:
            return
        ok = True
        for column, text in (("county", county), ("precinct", precinct), ("candidate", candidate)):
            if not text:
                self.error(line, f"empty {column}", column)
                ok = False
        if measure not in MEASURES:
            self.error(
                line, f'unknown measure "{measure}" (expected one of {", ".join(MEASURES)})', "measure"
            )
            return
        number = _value(measure, value)
        if isinstance(number, str):
            self.error(line, number, "value")
            return
        if not ok:
            return
        if (county, precinct) not in self.keys:
            self.keys[(county, precinct)] = self.unit_key(line, county, precinct)
        key = self.keys[(county, precinct)]
        self.check_candidate(line, candidate)
        if key is None:
            return
        earlier = self.seen.setdefault((key, candidate, measure), line)
        if earlier != line:
            self.error(
                line,
                f"{county} / {precinct} / {candidate} / {measure} is given twice (first on line {earlier})",
                None,
            )
            return
        unit = self.units.get(key)
        if unit is None:
            unit = self.units[key] = _Unit(county, precinct, line)
        if isinstance(number, Decimal):
            unit.sde[candidate] = number
        else:
            (unit.first if measure == "expression_1" else unit.final)[candidate] = number

    def unit_key(self, line: int, county: str, precinct: str) -> _Key | None:
        """The unit's identity: as written, or with a plan its plan code (None if the plan lacks it)."""
        plan = self.plan
        if plan is None:
            return (county, precinct)
        if plan.find_county(county) is None:
            if ("county", county) not in self.reported:
                self.reported.add(("county", county))
                self.error(line, f'unknown county "{county}" (not in plan {plan.name})', "county")
            return None
        found = plan.find_precinct(county, precinct)
        if found is None:
            what = f'unknown precinct "{precinct}" in county "{county}" (not in plan {plan.name})'
            self.error(line, what, "precinct")
            return None
        return (found.county, found.code)

    def check_candidate(self, line: int, candidate: str) -> None:
        plan = self.plan
        if plan is None or candidate in plan.candidates or ("candidate", candidate) in self.reported:
            return
        self.reported.add(("candidate", candidate))
        names = ", ".join(plan.candidates)
        self.error(line, f'unknown candidate "{candidate}" (plan {plan.name} has: {names})', "candidate")


def _header(name: str, header: list[str] | None) -> dict[str, int]:
    if header is None:
        raise ResultsFileError([f"{name} line 1: the file is empty; expected the header {','.join(COLUMNS)}"])
    cells = [cell.strip() for cell in header]
    missing = [c for c in COLUMNS if c not in cells]
    unknown = [c for c in cells if c not in COLUMNS]
    repeated = sorted({c for c in cells if cells.count(c) > 1})
    if missing or unknown or repeated:
        parts = [
            f"{label} column(s) " + ", ".join(f'"{c}"' for c in columns)
            for label, columns in (("missing", missing), ("unknown", unknown), ("repeated", repeated))
            if columns
        ]
        what = f"header has {'; '.join(parts)}; expected columns: {', '.join(COLUMNS)}"
        raise ResultsFileError([f"{name} line 1: {what}"])
    return {c: cells.index(c) for c in COLUMNS}


def _value(measure: str, text: str) -> int | Decimal | str:
    """The number in ``text`` for this measure, or what is wrong with it."""
    if measure != "sde":
        if _WHOLE.fullmatch(text):
            return int(text)
        return f'"{text}" is not a whole, non-negative number of people'
    if not _DECIMAL.fullmatch(text):
        return f'"{text}" is not a non-negative decimal number of SDEs'
    value = Decimal(text)
    rounded = value.quantize(SDE_QUANTUM, rounding=ROUND_HALF_UP)
    if abs(value - rounded) > FLOAT_NOISE:
        return f'"{text}" has more than 4 decimal places (SDEs are published at 4)'
    return rounded
