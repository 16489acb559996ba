"""Every vector of the project's spec (RULES.md §13, ``tests/vectors/caucus-math.json``) in one test."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest

from caucus.rules import (
    IOWA_2020,
    NEVADA_2020,
    ChanceOutcome,
    allocate,
    allocate_seats,
    county_ratio,
    early_first_alignment,
    national_delegates,
    published_sdes,
    realign_early_ballots,
    site_delegates,
    site_group_sdes,
    site_sde,
    threshold,
    valid_ballots,
    viable_at_first,
    void_ballot,
)

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "caucus-math.json").read_text())


def _cases() -> list[Any]:
    cases = []
    for kind in ("threshold", "alloc", "sde", "satellite"):
        for i, v in enumerate(VECTORS[kind]):
            cases.append(pytest.param(kind, v, id=f"{kind}-{v.get('id', v.get('site', v.get('county', i)))}"))
    for unit, v in VECTORS["national"].items():
        cases.append(pytest.param("national", {"unit": unit, **v}, id=f"national-{unit}"))
    return cases


def _ruleset(policy: str) -> Any:
    return NEVADA_2020 if policy == "nevada-2020" else IOWA_2020


@pytest.mark.parametrize(("kind", "v"), _cases())
def test_vector(kind: str, v: dict[str, Any]) -> None:
    if kind == "threshold":
        assert threshold(v["N"], v["D"], IOWA_2020) == v["expected_T"]
    elif kind == "alloc":
        _check_alloc(v)
    elif kind == "sde":
        if "cds" not in v:  # the IA-4.2 summation rule, checked on the real data in tests/test_audit.py
            assert v["rule"].startswith("county_total = sum of 4dp-rounded")
            return
        ratio = county_ratio(v["state_dels"], v["county_dels"])
        expected = {g: Decimal(str(x)).quantize(Decimal("0.0001")) for g, x in v["expected"].items()}
        assert published_sdes(v["cds"], ratio) == expected
    elif kind == "satellite":
        assert site_delegates(v["attendance"], IOWA_2020) == v["D_site"]
        a = allocate(v["D_site"], v["attendance"], v["final"], IOWA_2020)
        assert a.status == "complete"
        assert a.awarded == v["expected_cds"]
        weight = site_sde(Fraction(v["pool_sde"]), v["pool_attendance"], v["attendance"])
        sdes = site_group_sdes(a.awarded, v["D_site"], weight)
        assert sdes == {g: Decimal(str(x)).quantize(Decimal("0.0001")) for g, x in v["expected_sde"].items()}
    elif kind == "national":
        _check_national(v)


def _check_alloc(v: dict[str, Any]) -> None:
    rs = _ruleset(v["policy"])
    policies = [IOWA_2020, NEVADA_2020] if v["policy"] == "any" else [rs]
    for ruleset in policies:
        a = allocate(v["D"], v["N"], v["final"], ruleset)
        assert a.threshold == v["T"]
        if v["expected"] is not None:
            assert a.status == "complete", a.pending
            assert a.awarded == v["expected"]
            assert a.total == v["D"] or ruleset.more_viable_than_delegates == "add-delegates"
            continue
        want = v["expected_chance"]
        assert a.status == "needs-chance"
        assert a.pending is not None
        assert (a.pending.kind, a.pending.count) == (want["type"], want["count"])
        assert sorted(a.pending.among) == sorted(want["among"])
        if "pre" in want:
            assert a.awarded == want["pre"]
        # Every legal outcome completes the allocation to exactly D, with the chosen groups affected.
        for chosen in _choices(a.pending.among, a.pending.count):
            done = allocate(v["D"], v["N"], v["final"], ruleset, [ChanceOutcome.of(a.pending, chosen)])
            assert done.status == "complete"
            assert done.total == v["D"]
            if want["type"] == "lose":
                for g in a.pending.among:
                    assert done.delegates[g] == want["pre"][g] - (1 if g in chosen else 0)
            if want["type"] == "drop":
                assert all(done.delegates[g] == 0 for g in chosen)
                assert all(n == 1 for g, n in done.awarded.items())
            if want["type"] == "gain":
                assert done.awarded == dict.fromkeys(chosen, 1)


def _choices(among: tuple[str, ...], count: int) -> list[list[str]]:
    return [list(c) for c in combinations(among, count)]


def _check_national(v: dict[str, Any]) -> None:
    if v["unit"] == "expected_total":
        seats = {"1": 7, "2": 7, "3": 8, "4": 5}
        n = VECTORS["national"]
        result = national_delegates(
            {k[-1]: n[k]["sde"] for k in ("CD1", "CD2", "CD3", "CD4")},
            n["AtLarge"]["sde"],
            district_seats=seats,
            at_large=n["AtLarge"]["seats"],
            pleo=n["PLEO"]["seats"],
            threshold=IOWA_2020.national_threshold,
        )
        assert result.totals == {g: x for g, x in v.items() if g != "unit"}
        return
    sdes = {g: Decimal(str(x)) for g, x in v["sde"].items()}
    got = allocate_seats(v["unit"], sdes, v["seats"], IOWA_2020.national_threshold)
    assert {g: n for g, n in got.awarded.items() if n} == v["expected"]
    assert got.unassigned == 0


EARLY = json.loads((Path(__file__).parents[1] / "vectors" / "early-ballots.json").read_text())


def _ballots(v: dict[str, Any]) -> list[list[str]]:
    return [list(ranks) for ranks, n in v["ballots"] for _ in range(n)]


@pytest.mark.parametrize("v", EARLY["early"], ids=[v["id"] for v in EARLY["early"]])
def test_early_ballot_vector(v: dict[str, Any]) -> None:
    """RULES.md §13.8 and NV-2: early ballots join the first alignment and realign (NV-3.2, NV-3.4)."""
    ballots = _ballots(v)
    assert sum(void_ballot(b) for b in ballots) == v["void"]
    in_person_n = v.get("in_person_attendance", sum(v["in_person_first"].values()))
    n = in_person_n + len(valid_ballots(ballots))
    assert n == v["N"]
    assert threshold(n, v["D"], NEVADA_2020) == v["T"]
    first = early_first_alignment(v["in_person_first"], ballots)
    assert {g: c for g, c in first.items() if c} == v["first"]
    viable = viable_at_first(first, n, v["D"], NEVADA_2020)
    assert sorted(viable) == v["viable"]
    early_final = realign_early_ballots(ballots, viable)
    assert early_final == v["early_final"]
    final = dict(v["in_person_final"])
    for g, c in early_final.items():
        final[g] = final.get(g, 0) + c
    assert final == v["final"]
    a = allocate(v["D"], n, final, NEVADA_2020)
    assert a.status == "complete"
    assert a.awarded == v["expected"]
