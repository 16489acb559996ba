"""NV-2 and NV-3.4 edge cases of the early-ballot rules (RULES.md NV-2; docs/early-ballots.md decisions)."""

from __future__ import annotations

from caucus.rules import (
    NEVADA_2020,
    distinct_ranks,
    early_first_alignment,
    early_moves,
    realign_early_ballots,
    viable_at_first,
    void_ballot,
)


def test_fewer_than_three_different_preferences_void_a_ballot_and_repeats_count_once() -> None:
    assert void_ballot([]) and void_ballot(["Biden"]) and void_ballot(["Biden", "Warren"])
    assert void_ballot(["Biden", "Biden", "Biden"]) and void_ballot(["Biden", "", "Warren"])
    assert not void_ballot(["Biden", "Uncommitted", "Warren"])  # Uncommitted may fill ranks 2-3
    assert distinct_ranks(["Biden", "Biden", "Warren", "Biden", "Yang"]) == ("Biden", "Warren", "Yang")
    assert not void_ballot(["Biden", "Biden", "Warren", "Yang"])


def test_void_ballots_never_join_a_group_and_moves_follow_first_alignment_viability() -> None:
    ballots = [["Yang", "Steyer", "Warren"], ["Yang", "Yang"], ["Steyer", "Gabbard", "Yang"]]
    first = early_first_alignment({"Warren": 10, "Steyer": 1}, ballots)
    assert first == {"Warren": 10, "Steyer": 2, "Yang": 1}  # the void ["Yang", "Yang"] is in no group
    viable = viable_at_first(first, 13, 4, NEVADA_2020)  # T = ceil(0.15 x 13) = 2
    assert viable == {"Warren", "Steyer"}
    assert [(m.first, m.final) for m in early_moves(ballots, viable)] == [("Yang", "Steyer"), ("Steyer", "Steyer")]
    # a ballot ranking no viable group counts nowhere; in a one-delegate precinct nobody moves
    assert realign_early_ballots([["Yang", "Gabbard", "Bennet"]], frozenset({"Warren"})) == {}
    assert viable_at_first({"Yang": 1, "Warren": 9, "Biden": 0}, 10, 1, NEVADA_2020) == {"Yang", "Warren"}
