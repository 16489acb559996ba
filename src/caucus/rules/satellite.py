"""Satellite caucuses (IA-5): tier table for D, SDEs proportional to turnout within the pool (AMBIG-5)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction

from .numbers import to_decimal
from .ruleset import RuleSet

__all__ = ["site_delegates", "site_group_sdes", "site_sde"]


def site_delegates(attendance: int, ruleset: RuleSet) -> int:
    """County delegates a satellite site elects, from its attendance (IA-5.2)."""
    if not ruleset.satellite_tiers:
        raise ValueError(f"rule set {ruleset.name} has no satellite caucuses")
    if attendance < 0:
        raise ValueError(f"attendance {attendance} must not be negative")
    for maximum, delegates in ruleset.satellite_tiers:
        if maximum is None or attendance <= maximum:
            return delegates
    raise ValueError(f"rule set {ruleset.name}: the satellite tier table must end with an open tier")


def site_sde(pool_sde: Fraction, pool_attendance: int, attendance: int) -> Fraction:
    """A site's SDE weight: ``pool SDE × site attendance / pool attendance`` (IA-5.3)."""
    if pool_attendance <= 0:
        raise ValueError(f"pool attendance {pool_attendance} must be positive")
    if not 0 <= attendance <= pool_attendance:
        raise ValueError(
            f"site attendance {attendance} must be between 0 and pool attendance {pool_attendance}"
        )
    return Fraction(pool_sde) * attendance / pool_attendance


def site_group_sdes(delegates: Mapping[str, int], site_delegates_total: int, weight: Fraction,
                    places: int = 4) -> dict[str, Decimal]:
    """Group SDEs at a site, published: ``site SDE × CD_g / D_site`` rounded half up (IA-5.3)."""
    if site_delegates_total <= 0:
        raise ValueError(f"site delegates {site_delegates_total} must be positive")
    return {g: to_decimal(weight * cd / site_delegates_total, places) for g, cd in delegates.items()}
