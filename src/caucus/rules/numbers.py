"""Exact arithmetic helpers: half-up rounding of fractions, 4-decimal publication.

Never Python's ``round`` (banker's rounding) and never floats: every caucus number is an integer or a
``Fraction`` until the named publication step, where it is rounded half up once.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from math import floor

__all__ = ["ceil_fraction", "floor_half_up", "quantize", "to_decimal", "to_fraction"]


def floor_half_up(x: Fraction) -> int:
    """Round to a whole number, .5 and above up (IA-3.4): ``floor(x + 1/2)``."""
    return floor(x + Fraction(1, 2))


def ceil_fraction(x: Fraction) -> int:
    """Ceiling of an exact fraction, in integers only."""
    return -((-x.numerator) // x.denominator)


def quantize(x: Fraction, places: int = 4) -> Fraction:
    """``x`` rounded half up (away from zero for negatives) to ``places`` decimals, still exact."""
    scale = 10**places
    if x < 0:
        return -quantize(-x, places)
    return Fraction(floor_half_up(x * scale), scale)


def to_decimal(x: Fraction, places: int = 4) -> Decimal:
    """The published form of ``x``: rounded half up to ``places`` decimals, as a ``Decimal``."""
    q = quantize(x, places)
    return Decimal(q.numerator) / Decimal(q.denominator) if q.denominator != 1 else Decimal(q.numerator)


def to_fraction(x: Decimal | Fraction | int | str) -> Fraction:
    """An exact fraction from a published decimal, an integer or a string such as ``"18.1033"``."""
    if isinstance(x, Fraction):
        return x
    return Fraction(x)
