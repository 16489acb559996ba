"""Exact numbers in plan files."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caucus.plans.numbers import format_exact, parse_exact, parse_whole


@pytest.mark.parametrize(
    ("text", "value"),
    [("4", Fraction(4)), ("4.0", Fraction(4)), ("18.1033", Fraction("18.1033")), ("14/3", Fraction(14, 3)),
     ("0", Fraction(0)), ("0/7", Fraction(0))],
)  # fmt: skip
def test_parse_exact(text: str, value: Fraction) -> None:
    assert parse_exact(text) == value


@pytest.mark.parametrize(
    "text", ["", "x", "-1", "+1", "1e3", "1.", ".5", "1/0", "1/-2", "nan", "1 / 2", "1.5/2"]
)
def test_parse_exact_rejects(text: str) -> None:
    assert parse_exact(text) is None


def test_parse_whole() -> None:
    assert parse_whole("36") == 36
    assert [parse_whole(t) for t in ("", "1.0", "-1", "x", "1e2", "٣")] == [None] * 6


@pytest.mark.parametrize(
    ("value", "text"),
    [(Fraction(4), "4"), (Fraction("4.0420"), "4.042"), (Fraction("11.0001"), "11.0001"),
     (Fraction(14, 3), "14/3"), (Fraction(1, 8), "0.125"), (Fraction(0), "0")],
)  # fmt: skip
def test_format_exact(value: Fraction, text: str) -> None:
    assert format_exact(value) == text


@given(st.fractions(min_value=0, max_denominator=10**6))
def test_format_then_parse_is_exact(value: Fraction) -> None:
    assert parse_exact(format_exact(value)) == value
