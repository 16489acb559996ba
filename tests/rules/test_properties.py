"""Invariants of the caucus math over generated precincts (Hypothesis)."""

from __future__ import annotations

import random
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from caucus.rules import (
    IOWA_2020,
    NEVADA_2020,
    allocate,
    allocate_seats,
    branches,
    ceil_fraction,
    county_ratio,
    precinct_sdes,
    published_sdes,
    threshold,
)
from tests.strategies import PrecinctCase, precincts

settings.register_profile("ci", max_examples=300, deadline=None)
settings.load_profile("ci")


@given(st.integers(0, 5000), st.integers(1, 40))
def test_threshold_is_smallest_whole_number_of_people_at_the_share(n: int, d: int) -> None:
    t = threshold(n, d, IOWA_2020)
    share = IOWA_2020.threshold_share(d)
    if share is None:
        assert t is None
        return
    assert t is not None
    assert Fraction(t, 1) >= share * n
    assert t == 0 or Fraction(t - 1, 1) < share * n
    assert t == ceil_fraction(share * n)


@given(precincts(min_delegates=1))
def test_iowa_every_legal_outcome_awards_exactly_d(case: PrecinctCase) -> None:
    outcomes = branches(case.delegates, case.attendance, case.final, IOWA_2020)
    for b in outcomes:
        a = b.allocation
        if a.status == "no-viable-group":
            assert a.total == 0
            assert all(c < max(a.threshold or 1, 1) for c in case.final.values())
            continue
        assert a.status == "complete"
        assert a.total == case.delegates
    assert sum(b.probability for b in outcomes) == 1


@given(precincts(min_delegates=2))
def test_non_viable_get_nothing_and_viable_get_at_least_one(case: PrecinctCase) -> None:
    for ruleset in (IOWA_2020, NEVADA_2020):
        for b in branches(case.delegates, case.attendance, case.final, ruleset):
            a = b.allocation
            t = a.threshold
            assert t is not None
            for g, count in case.final.items():
                if count < t or g in a.dropped or count == 0:
                    assert a.delegates[g] == 0, (g, count, t)
                elif a.status == "complete":
                    assert a.delegates[g] >= 1, (g, count, t)


@given(precincts(min_delegates=2), st.randoms(use_true_random=False))
def test_nevada_adds_delegates_only_when_every_group_holds_one(case: PrecinctCase, rnd: random.Random) -> None:
    a = allocate(case.delegates, case.attendance, case.final, NEVADA_2020)
    if a.status != "complete":
        return
    if a.total > case.delegates:
        assert all(n == 1 for n in a.awarded.values())
    else:
        assert a.total == case.delegates


@given(precincts(), st.randoms(use_true_random=False))
def test_result_does_not_depend_on_group_order(case: PrecinctCase, rnd: random.Random) -> None:
    items = list(case.final.items())
    rnd.shuffle(items)
    a = allocate(case.delegates, case.attendance, case.final, IOWA_2020)
    b = allocate(case.delegates, case.attendance, dict(items), IOWA_2020)
    assert dict(a.delegates) == dict(b.delegates)
    assert a.status == b.status
    assert a.pending == b.pending


@given(precincts(min_delegates=1), st.integers(1, 400), st.integers(1, 2000))
def test_sdes_of_a_precinct_sum_to_its_weight(case: PrecinctCase, state: int, county: int) -> None:
    ratio = county_ratio(state, county)
    for b in branches(case.delegates, case.attendance, case.final, IOWA_2020):
        if b.allocation.status != "complete":
            continue
        exact = precinct_sdes(b.allocation.delegates, ratio)
        assert sum(exact.values()) == case.delegates * ratio
        shown = published_sdes(b.allocation.delegates, ratio)
        # each published value is within half a unit of the 4th decimal of the exact one
        for g, v in shown.items():
            assert abs(Fraction(v) - exact[g]) <= Fraction(1, 20000)


@given(st.dictionaries(st.sampled_from(["A", "B", "C", "D", "E"]), st.integers(0, 10**6), min_size=1),
       st.integers(1, 12))
def test_national_seats_add_up_and_respect_the_threshold(sdes: dict[str, int], seats: int) -> None:
    got = allocate_seats("unit", sdes, seats, Fraction(15, 100))
    total = sum(sdes.values())
    if total == 0:
        assert got.unassigned == seats
        return
    assert sum(got.awarded.values()) + got.unassigned == seats
    for g, n in got.awarded.items():
        assert n == 0 or sdes[g] * 100 >= 15 * total
