"""Viability thresholds (IA-1) in integer arithmetic: ``T = ceil(share × N)``."""

from __future__ import annotations

from .numbers import ceil_fraction
from .ruleset import RuleSet

__all__ = ["threshold"]


def threshold(attendance: int, delegates: int, ruleset: RuleSet) -> int | None:
    """People a group needs to be viable, or ``None`` where there is no threshold (one-delegate precincts).

    ``ceil(15N/100)``, ``ceil(N/6)``, ``ceil(N/4)`` computed exactly (never ``N/6.67`` or ``0.166667``).
    """
    if attendance < 0 or delegates < 0:
        raise ValueError(f"attendance {attendance} and delegates {delegates} must not be negative")
    share = ruleset.threshold_share(delegates)
    if share is None:
        return None
    return ceil_fraction(share * attendance)
