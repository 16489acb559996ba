"""Totals of a release: each precinct's published SDEs (satellite sites from their pool's turnout), county
and statewide sums of the published values (IA-4.2), the SDE leader and margin, the national projection.

Pure: records and the plan in, numbers out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from caucus.plans import Plan
from caucus.publish.model import Record
from caucus.rules import national_delegates, site_group_sdes, site_sde

ZERO = Decimal("0.0000")


def _dec(text: str) -> Decimal:
    return Decimal(text).quantize(ZERO)


@dataclass
class Totals:
    """Sums over a set of precincts, per candidate."""

    candidates: tuple[str, ...]
    reporting: int = 0
    total: int = 0
    first: dict[str, int] = field(default_factory=dict)
    final: dict[str, int] = field(default_factory=dict)
    delegates: dict[str, int] = field(default_factory=dict)
    sde: dict[str, Decimal] = field(default_factory=dict)
    #: how many of the precincts summed have an SDE for each group (a group's key is in ``sde`` while some
    #: precinct has one: the national projection sees exactly the groups a sum over the precincts would)
    sde_count: dict[str, int] = field(default_factory=dict)

    def add(self, record: Record, sde: Mapping[str, Decimal] | None, sign: int = 1) -> None:
        """Add a released precinct's numbers (``sign=-1``: take them away again: sums are exact)."""
        self.reporting += sign
        for key, target in (("first", self.first), ("final", self.final), ("delegates", self.delegates)):
            for g, n in record[key].items():
                target[g] = target.get(g, 0) + sign * int(n)
        for g, v in (sde or {}).items():
            self._add_sde(g, v if sign > 0 else -v, sign)

    def _add_sde(self, g: str, value: Decimal, count: int) -> None:
        left = self.sde_count.get(g, 0) + count
        if left <= 0:
            self.sde.pop(g, None)
            self.sde_count.pop(g, None)
            return
        self.sde_count[g] = left
        self.sde[g] = self.sde.get(g, ZERO) + value

    def merge(self, other: Totals) -> None:
        """Add another set's sums (a county's into the state's)."""
        self.reporting += other.reporting
        self.total += other.total
        for mine, theirs in ((self.first, other.first), (self.final, other.final),
                             (self.delegates, other.delegates)):
            for g, n in theirs.items():
                mine[g] = mine.get(g, 0) + n
        for g, v in other.sde.items():
            self._add_sde(g, v, other.sde_count[g])

    def copy(self) -> Totals:
        return Totals(self.candidates, self.reporting, self.total, dict(self.first), dict(self.final),
                      dict(self.delegates), dict(self.sde), dict(self.sde_count))

    def order(self) -> list[str]:
        """Candidates by SDEs, then final alignment, then first alignment (descending), then name."""
        return sorted(self.candidates, key=lambda g: (-self.sde.get(g, ZERO), -self.final.get(g, 0),
                                                      -self.first.get(g, 0), g))

    def leader(self) -> dict[str, Any] | None:
        """The SDE leader and its margin over the runner-up (None without SDEs or on a tie for first)."""
        ranked = self.order()
        if not ranked or self.sde.get(ranked[0], ZERO) <= 0:
            return None
        top = self.sde.get(ranked[0], ZERO)
        second = self.sde.get(ranked[1], ZERO) if len(ranked) > 1 else ZERO
        if top == second:
            return None
        whole = sum(self.sde.values(), ZERO)
        return {"name": ranked[0], "sde": str(top), "marginSde": str(top - second),
                "marginShare": f"{(top - second) / whole:.4f}"}

    def rows(self, national: Mapping[str, int] | None = None) -> list[dict[str, Any]]:
        return [
            {
                "name": g,
                "firstAlignment": self.first.get(g, 0),
                "finalAlignment": self.final.get(g, 0),
                "countyDelegates": self.delegates.get(g, 0),
                "sde": str(self.sde.get(g, ZERO)),
                **({"nationalDelegates": national.get(g, 0)} if national is not None else {}),
            }
            for g in self.order()
        ]


def published_sdes(plan: Plan, records: Mapping[str, Record]) -> dict[str, dict[str, Decimal] | None]:
    """Each released precinct's SDEs as published. A precinct's come with its record (S/C of its county);
    a satellite site's follow the turnout of its whole pool (IA-5.3), so they are published once every site
    of the pool is released (None until then)."""
    out: dict[str, dict[str, Decimal] | None] = {}
    for code, record in records.items():
        sde = record.get("sde")
        out[code] = {g: _dec(v) for g, v in sde.items()} if sde is not None else None
    for county in plan.counties.values():
        if county.kind != "satellite-pool":
            continue
        sites = plan.precincts_in(county.name)
        if not sites or any(site.code not in records for site in sites):
            continue
        attendance = {site.code: int(records[site.code].get("attendance") or 0) for site in sites}
        pool = sum(attendance.values())
        if pool <= 0:
            continue
        for site in sites:
            record = records[site.code]
            if record.get("sde") is not None:
                continue
            d = int(record.get("delegatesToElect") or 0)
            if d <= 0:
                continue
            weight = site_sde(Fraction(county.state_delegates or 0), pool, attendance[site.code])
            out[site.code] = site_group_sdes({g: int(n) for g, n in record["delegates"].items()}, d, weight)
    return out


def national_projection(plan: Plan, records: Mapping[str, Record],
                        sdes: Mapping[str, Mapping[str, Decimal] | None]) -> dict[str, Any] | None:
    """National delegates (IA-6) from the released SDEs by congressional district and statewide; None for a
    plan without national seats (a rule set without SDEs, docs/plan-format.md)."""
    if plan.national is None:
        return None
    by_county: dict[str, dict[str, Decimal]] = {}
    for code in records:
        into = by_county.setdefault(records[code]["county"], {})
        for g, v in (sdes.get(code) or {}).items():
            into[g] = into.get(g, ZERO) + v
    return national_from_sums(plan, by_county)


def national_from_sums(plan: Plan, by_county: Mapping[str, Mapping[str, Decimal]]) -> dict[str, Any] | None:
    """The national projection from each county's (or pool's) sums of released SDEs (see
    :func:`national_projection`)."""
    seats = plan.national
    if seats is None:
        return None
    districts: dict[str, dict[str, Decimal]] = {d: {} for d in seats.districts}
    statewide: dict[str, Decimal] = {}
    for county, values in by_county.items():
        district = plan.counties[county].district
        for g, v in values.items():
            statewide[g] = statewide.get(g, ZERO) + v
            if district in districts:
                districts[district][g] = districts[district].get(g, ZERO) + v
    result = national_delegates(districts, statewide, district_seats=seats.districts, at_large=seats.at_large,
                                pleo=seats.pleo, threshold=Fraction(seats.threshold_percent, 100))
    return {
        "total": sum(seats.districts.values()) + seats.at_large + seats.pleo,
        "thresholdPercent": seats.threshold_percent,
        "byCandidate": result.totals,
        "units": [
            {"unit": u.unit, "seats": u.seats, "awarded": dict(sorted(u.awarded.items())),
             "tied": list(u.tied), "unassigned": u.unassigned}
            for u in result.units
        ],
    }


def totals_of(candidates: tuple[str, ...], codes: Iterable[str], records: Mapping[str, Record],
              sdes: Mapping[str, Mapping[str, Decimal] | None]) -> Totals:
    totals = Totals(candidates)
    for code in codes:
        totals.total += 1
        if code in records:
            totals.add(records[code], sdes.get(code))
    return totals
