"""Exact numbers as written in plan files: whole numbers, exact decimals and fractions."""

from __future__ import annotations

import re
from fractions import Fraction

_WHOLE = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")
_FRACTION = re.compile(r"([0-9]+)/([0-9]+)")


def parse_whole(text: str) -> int | None:
    """A non-negative whole number written with digits only ("12"); None for anything else."""
    return int(text) if _WHOLE.fullmatch(text) else None


def parse_exact(text: str) -> Fraction | None:
    """A non-negative exact number: "4", "18.1033" or "14/3"; None for anything else (and for "x/0")."""
    if _DECIMAL.fullmatch(text):
        return Fraction(text)
    match = _FRACTION.fullmatch(text)
    if match and int(match.group(2)) != 0:
        return Fraction(int(match.group(1)), int(match.group(2)))
    return None


def format_exact(value: Fraction) -> str:
    """The shortest exact text for a non-negative value: "4", "18.1033"; "14/3" if no decimal is exact."""
    if value < 0:
        raise ValueError(f"negative value {value}")
    if value.denominator == 1:
        return str(value.numerator)
    den = value.denominator
    twos = fives = 0
    while den % 2 == 0:
        den //= 2
        twos += 1
    while den % 5 == 0:
        den //= 5
        fives += 1
    if den != 1:
        return f"{value.numerator}/{value.denominator}"
    places = max(twos, fives)
    scaled = value.numerator * 10**places // value.denominator
    whole, frac = divmod(scaled, 10**places)
    return f"{whole}.{frac:0{places}d}".rstrip("0")
