"""National delegates (IA-6): district, at-large and PLEO seats by SDE share, 15% threshold, largest
remainders (Hamilton). A preference "falling below" the threshold is excluded, so exactly 15% qualifies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from math import floor

from .numbers import to_fraction

__all__ = ["NationalResult", "SeatAllocation", "allocate_seats", "national_delegates"]


@dataclass(frozen=True, slots=True)
class SeatAllocation:
    """Seats of one unit (a district, at-large or PLEO)."""

    unit: str
    seats: int
    total: Fraction
    qualifying: tuple[str, ...]
    awarded: Mapping[str, int]
    #: preferences tied for the last seat(s) by remainder: those seats stay unassigned and need a decision
    tied: tuple[str, ...] = ()
    unassigned: int = 0


@dataclass(frozen=True, slots=True)
class NationalResult:
    units: tuple[SeatAllocation, ...]

    @property
    def totals(self) -> dict[str, int]:
        """National delegates per preference over every unit."""
        out: dict[str, int] = {}
        for unit in self.units:
            for g, n in unit.awarded.items():
                out[g] = out.get(g, 0) + n
        return {g: n for g, n in sorted(out.items(), key=lambda kv: (-kv[1], kv[0])) if n > 0}


def allocate_seats(unit: str, sdes: Mapping[str, Fraction | Decimal | int], seats: int,
                   threshold: Fraction) -> SeatAllocation:
    """Allocate ``seats`` among preferences holding at least ``threshold`` of the unit's SDEs."""
    values = {g: to_fraction(v) for g, v in sdes.items() if to_fraction(v) > 0}
    total = sum(values.values(), Fraction(0))
    if seats < 0:
        raise ValueError(f"{unit}: seats {seats} must not be negative")
    if total == 0:
        return SeatAllocation(unit, seats, total, (), {}, (), seats)
    qualifying = tuple(sorted((g for g, v in values.items() if v >= threshold * total),
                              key=lambda g: (-values[g], g)))
    base = sum(values[g] for g in qualifying)
    quota = {g: seats * values[g] / base for g in qualifying}
    awarded = {g: floor(q) for g, q in quota.items()}
    left = seats - sum(awarded.values())
    remainders = sorted(qualifying, key=lambda g: quota[g] - awarded[g], reverse=True)
    tied: tuple[str, ...] = ()
    unassigned = 0
    if left:
        cut = quota[remainders[left - 1]] - awarded[remainders[left - 1]]
        above = [g for g in remainders if quota[g] - awarded[g] > cut]
        at_cut = [g for g in remainders if quota[g] - awarded[g] == cut]
        room = left - len(above)
        for g in above:
            awarded[g] += 1
        if room == len(at_cut):
            for g in at_cut:
                awarded[g] += 1
        else:
            tied, unassigned = tuple(sorted(at_cut)), room
    return SeatAllocation(unit, seats, total, qualifying, awarded, tied, unassigned)


def national_delegates(
    districts: Mapping[str, Mapping[str, Fraction | Decimal | int]],
    statewide: Mapping[str, Fraction | Decimal | int],
    *,
    district_seats: Mapping[str, int],
    at_large: int,
    pleo: int,
    threshold: Fraction,
) -> NationalResult:
    """District delegates from each district's SDEs; at-large and PLEO from the statewide SDEs."""
    missing = sorted(set(district_seats) - set(districts))
    if missing:
        raise ValueError(f"no SDEs given for district(s) {', '.join(missing)}")
    units = [allocate_seats(f"CD{name}", districts[name], seats, threshold)
             for name, seats in sorted(district_seats.items())]
    units.append(allocate_seats("at-large", statewide, at_large, threshold))
    units.append(allocate_seats("PLEO", statewide, pleo, threshold))
    return NationalResult(tuple(units))
