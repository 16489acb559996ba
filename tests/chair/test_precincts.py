"""The generated precincts of the differential test cover what the chair app must get right."""

from __future__ import annotations

from collections import Counter

from tests.chair.precincts import choose, generate, trace


def test_generated_precincts_cover_every_kind_of_outcome() -> None:
    cases = generate(3000, seed=2020)
    kinds: Counter[str] = Counter()
    for case in cases:
        steps = trace(case)
        kinds[steps[-1]["status"]] += 1
        kinds.update(f"chance-{s['pending']['kind']}" for s in steps if s["pending"])
        kinds["one-delegate"] += case.delegates == 1
        kinds["satellite"] += case.satellite
        kinds["nevada"] += case.ruleset == "nevada-2020"
        last = steps[-1]
        kinds["over-allocated"] += last["status"] == "complete" and sum(last["delegates"].values()) > case.delegates
    for kind in ("complete", "no-viable-group", "no-delegates", "chance-lose", "chance-gain", "chance-drop",
                 "one-delegate", "satellite", "nevada", "over-allocated"):
        assert kinds[kind] >= 10, (kind, kinds)


def test_chance_rule_picks_count_of_the_tied_groups() -> None:
    assert choose(["Warren", "Biden", "Sanders"], 1, 0) == ["Biden"]
    assert choose(["Warren", "Biden", "Sanders"], 2, 1) == ["Sanders", "Warren"]
    assert choose(["Warren", "Biden", "Sanders"], 2, 2) == ["Biden", "Warren"]
