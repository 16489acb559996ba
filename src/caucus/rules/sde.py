"""State delegate equivalents (IA-4): exact fractions, published half up at 4 decimals.

Totals (county, district, state) are sums of the already-published precinct values (IA-4.2).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from fractions import Fraction

from .numbers import to_decimal

__all__ = ["county_ratio", "precinct_sdes", "published_sdes", "sum_published"]


def county_ratio(state_delegates: Fraction | int, county_delegates: int) -> Fraction:
    """SDEs per county delegate: ``S / C`` (IA-4.1)."""
    if county_delegates <= 0:
        raise ValueError(f"county delegates {county_delegates} must be positive to form an SDE ratio")
    return Fraction(state_delegates) / county_delegates


def precinct_sdes(delegates: Mapping[str, int], ratio: Fraction) -> dict[str, Fraction]:
    """Exact SDEs per group: ``CD_g × S/C``."""
    return {g: cd * ratio for g, cd in delegates.items()}


def published_sdes(delegates: Mapping[str, int], ratio: Fraction, places: int = 4) -> dict[str, Decimal]:
    """SDEs per group as published: each rounded half up to ``places`` decimals (IA-4.2)."""
    return {g: to_decimal(v, places) for g, v in precinct_sdes(delegates, ratio).items()}


def sum_published(values: Iterable[Decimal]) -> Decimal:
    """A county, district or state total: the sum of published (already rounded) precinct values."""
    return sum(values, Decimal(0))
