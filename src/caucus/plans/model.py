"""An election plan: the fixed facts of one caucus (counties, precincts, delegates, candidates, seats).

Pure data: no I/O. Plans are read from disk by :mod:`caucus.plans.loader`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

from caucus.plans.settings import Boundaries, PlanSettings

CountyKind = Literal["county", "satellite-pool"]
PrecinctKind = Literal["precinct", "satellite"]

_SPACES = re.compile(r"\s+")


def normalise_name(text: str) -> str:
    """The form used for tolerant name lookups.

    HTML entities are unescaped (repeatedly, so the scraped ``&amp;amp;`` becomes ``&``), runs of
    whitespace collapse to one space, surrounding whitespace goes, and case is folded.
    """
    for _ in range(3):
        unescaped = html.unescape(text)
        if unescaped == text:
            break
        text = unescaped
    return _SPACES.sub(" ", text).strip().casefold()


def fold_code(code: str) -> str:
    """A precinct code as people type it is compared: case folded, runs of white space as one space, none
    leading or trailing (``ridge/03`` is ``Ridge/03``)."""
    return " ".join(code.split()).casefold()


@dataclass(frozen=True, slots=True)
class County:
    """A county, or a satellite pool that is reported like a county (RULES.md IA-5.1)."""

    name: str
    """"Adair"; satellite pools: "CD1 Satellite" .. "CD4 Satellite", "Out of State Satellite"."""
    district: str | None
    """Congressional district ("1".."4"); None for a pool outside every district."""
    county_delegates: int
    """C: the sum of the county's precinct delegates (0 for a satellite pool)."""
    state_delegates: Fraction | None
    """S: state-convention delegates apportioned to the county; for a pool, the pool's SDE size. None for a
    county of a plan whose rule set has no SDEs (Nevada reports county delegates only, NV-4)."""
    kind: CountyKind

    @property
    def sde_ratio(self) -> Fraction:
        """S / C, the state delegate equivalents of one county delegate (RULES.md IA-4.1)."""
        if self.kind != "county":
            raise ValueError(f"{self.name} is a satellite pool: its SDEs follow turnout, not a ratio")
        if self.county_delegates <= 0:
            raise ValueError(f"{self.name} has no county delegates, so no SDE ratio")
        if self.state_delegates is None:
            raise ValueError(f"{self.name} has no state delegates (its plan's rule set has no SDEs), so no SDE ratio")
        return self.state_delegates / self.county_delegates


@dataclass(frozen=True, slots=True)
class Precinct:
    """A precinct caucus, or a satellite caucus site."""

    code: str
    """Stable unique code, "Adair/01NW"; satellites "CD1 Satellite/1140" (the party's id)."""
    county: str
    name: str
    """The long name exactly as in the party's results files (entities such as ``&amp;`` kept)."""
    precinct_id: str
    """The party's numeric precinct id ("948199"); "" if unknown."""
    delegates: int | None
    """D; None for a satellite site, whose D comes from the tier table by attendance (IA-5.2)."""
    kind: PrecinctKind
    sde_weight: Fraction | None
    """D x S/C for a precinct; None for a satellite site and in a plan without SDEs."""
    expected_attendance: int | None = None
    """A satellite site's expected size (plan column ``expected_attendance``): a reported attendance above
    it is the blocking finding ``attendance-above-expected``, held for review. None for a precinct."""


@dataclass(frozen=True, slots=True)
class NationalSeats:
    """National convention delegates to allocate (RULES.md IA-6)."""

    districts: Mapping[str, int]
    """District-level delegates per congressional district, {"1": 7, "2": 7, "3": 8, "4": 5}."""
    at_large: int
    pleo: int
    threshold_percent: int

    def __hash__(self) -> int:
        return hash((tuple(sorted(self.districts.items())), self.at_large, self.pleo, self.threshold_percent))


@dataclass(frozen=True)
class Plan:
    """An election plan. Build one with :func:`caucus.plans.load_plan`."""

    name: str
    title: str
    ruleset: str
    """The name of the rule set in ``caucus.rules`` that runs this plan ("iowa-2020")."""
    candidates: tuple[str, ...]
    """Preference groups in display order, including "Uncommitted" and "Other"."""
    counties: Mapping[str, County]
    """Counties and satellite pools by name, in file order."""
    precincts: tuple[Precinct, ...]
    national: NationalSeats | None
    """National seats (``[national]``); None for a plan whose rule set has no SDEs (national delegates are
    allocated on SDEs, IA-6; Nevada's NV-6 allocation is not modelled)."""
    settings: PlanSettings
    """The ``[caucus]`` table: party, caucus day, doors-close time, time zone, hotline, example code."""
    boundaries: Boundaries | None = None
    """The counties' boundaries (``boundaries.geojson``), for the public map; None: the plan has none."""
    files: Mapping[str, bytes] = field(default_factory=dict, repr=False, compare=False)
    """The plan's files as read (name -> bytes): every release publishes them (docs/publish.md)."""
    _by_code: dict[str, Precinct] = field(init=False, repr=False, compare=False)
    _by_name: dict[tuple[str, str], Precinct] = field(init=False, repr=False, compare=False)
    _by_county: dict[str, tuple[Precinct, ...]] = field(init=False, repr=False, compare=False)
    _county_names: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_code: dict[str, Precinct] = {}
        by_name: dict[tuple[str, str], Precinct] = {}
        folded: dict[str, str] = {}
        grouped: dict[str, list[Precinct]] = {name: [] for name in self.counties}
        for precinct in self.precincts:
            if precinct.code in by_code:
                raise ValueError(f"duplicate precinct code {precinct.code!r}")
            if fold_code(precinct.code) in folded:
                raise ValueError(
                    f"precinct codes {folded[fold_code(precinct.code)]!r} and {precinct.code!r} differ only in case "
                    "or spaces; codes are matched as people type them, so they must differ in letters or digits"
                )
            folded[fold_code(precinct.code)] = precinct.code
            if precinct.county not in grouped:
                raise ValueError(f"precinct {precinct.code!r} names unknown county {precinct.county!r}")
            key = (normalise_name(precinct.county), normalise_name(precinct.name))
            if key in by_name:
                raise ValueError(
                    f"precincts {by_name[key].code!r} and {precinct.code!r} have the same name"
                    f" {precinct.name!r} in {precinct.county}"
                )
            by_code[precinct.code] = precinct
            by_name[key] = precinct
            grouped[precinct.county].append(precinct)
        object.__setattr__(self, "_by_code", by_code)
        object.__setattr__(self, "_by_name", by_name)
        object.__setattr__(self, "_by_county", {name: tuple(ps) for name, ps in grouped.items()})
        object.__setattr__(self, "_county_names", {normalise_name(name): name for name in self.counties})

    def __hash__(self) -> int:
        # Equal plans hash equally; cheap, so a plan can key a cache.
        return hash((self.name, self.ruleset, self.candidates, len(self.precincts)))

    def precinct_by_code(self, code: str) -> Precinct:
        """The precinct with this code; KeyError if there is none."""
        try:
            return self._by_code[code]
        except KeyError:
            raise KeyError(f"no precinct with code {code!r} in plan {self.name}") from None

    def find_precinct(self, county: str, name: str) -> Precinct | None:
        """Tolerant lookup by county and long name (see :func:`normalise_name`); None if not found."""
        return self._by_name.get((normalise_name(county), normalise_name(name)))

    def find_county(self, name: str) -> County | None:
        """Tolerant lookup of a county or satellite pool by name; None if not found."""
        canonical = self._county_names.get(normalise_name(name))
        return None if canonical is None else self.counties[canonical]

    def precincts_in(self, county: str) -> tuple[Precinct, ...]:
        """The precincts (or satellite sites) of a county or pool, in plan order; KeyError if unknown."""
        try:
            return self._by_county[county]
        except KeyError:
            raise KeyError(f"no county {county!r} in plan {self.name}") from None
