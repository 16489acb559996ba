"""Exact arithmetic helpers: half-up rounding of fractions, 4-decimal publication.

Never Python's ``round`` (banker's rounding) and never floats: every caucus number is an integer or a
``Fraction`` until the named publication step, where it is rounded half up once.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

__all__ = ["ceil_fraction", "floor_half_up", "quantize", "to_decimal", "to_fraction"]


def floor_half_up(x: Fraction) -> int:
    """Round to a whole number, .5 and above up (IA-3.4): ``floor(x + 1/2)``."""
    # floor(n/d + 1/2) == (2n + d) // 2d for d > 0, in integers only (Fraction keeps d > 0)
    return (2 * x.numerator + x.denominator) // (2 * x.denominator)


def ceil_fraction(x: Fraction) -> int:
    """Ceiling of an exact fraction, in integers only."""
    return -((-x.numerator) // x.denominator)


def quantize(x: Fraction, places: int = 4) -> Fraction:
    """``x`` rounded half up (away from zero for negatives) to ``places`` decimals, still exact."""
    return Fraction(_scaled(x, places), 10**places)


def _scaled(x: Fraction, places: int) -> int:
    """``x × 10^places`` rounded half up (away from zero for negatives), in integers only."""
    n, d = x.numerator, x.denominator
    if n < 0:
        return -_scaled(-x, places)
    scale: int = 10**places
    return (2 * n * scale + d) // (2 * d)


def to_decimal(x: Fraction, places: int = 4) -> Decimal:
    """The published form of ``x``: rounded half up to ``places`` decimals, as a ``Decimal``."""
    q = _scaled(Fraction(x), places)
    return Decimal(q) / Decimal(10**places) if q % 10**places else Decimal(q // 10**places)


def to_fraction(x: Decimal | Fraction | int | str) -> Fraction:
    """An exact fraction from a published decimal, an integer or a string such as ``"18.1033"``."""
    if isinstance(x, Fraction):
        return x
    return Fraction(x)
