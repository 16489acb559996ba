"""The verdicts of the unscripted night fail when the system fails: each from the numbers a broken night
would give (a chair refused, a conflict, a correction refused, a test number published)."""

from __future__ import annotations

from caucus.rehearse.behaviours import (
    both_channels,
    corrections_move_delegates,
    credential_flood,
    recanvass_moves_delegates,
    ties_phoned_in,
    went_live,
)
from caucus.rehearse.golive import GoLive

ATTACK = {"attempts": 300, "staff_attempts": 30, "wrong_credentials_accepted": 0}


def test_the_flood_fails_if_anyone_with_the_right_credential_is_refused_or_a_guess_gets_in() -> None:
    assert credential_flood(ATTACK, [], {201: 10}, {"director": 303}).ok
    assert not credential_flood(ATTACK, ["Adair/01NW"], {201: 9, 429: 1}, {"director": 303}).ok
    assert not credential_flood(ATTACK, [], {201: 10}, {"director": 429}).ok
    assert not credential_flood({**ATTACK, "wrong_credentials_accepted": 1}, [], {201: 10}, {}).ok


def test_both_channels_fail_on_a_conflict_or_an_unpublished_precinct() -> None:
    assert both_channels(["A/1", "B/2"], {"A/1": "accepted", "B/2": "accepted"}, {"A/1", "B/2"}).ok
    assert not both_channels(["A/1"], {"A/1": "conflicting"}, set()).ok
    assert not both_channels(["A/1"], {"A/1": "accepted"}, set()).ok


def test_corrections_fail_when_refused_or_not_in_the_ledger() -> None:
    assert corrections_move_delegates({"A/1": 201}, []).ok
    assert not corrections_move_delegates({"A/1": 422}, []).ok
    assert not corrections_move_delegates({"A/1": 201}, ["A/1"]).ok


def test_going_live_fails_if_the_feed_is_not_empty_or_a_rehearsal_number_stays() -> None:
    good = GoLive(units=["A/1"], rehearsal_reports={201: 4}, test_release_reporting=1, feed_after_go_live=404)
    assert went_live(good, {"A/1"}, True).ok
    assert not went_live(GoLive(units=["A/1"], rehearsal_reports={201: 4}, test_release_reporting=1,
                                feed_after_go_live=200), {"A/1"}, True).ok
    assert not went_live(good, set(), True).ok
    assert not went_live(good, {"A/1"}, False).ok


def test_the_recanvass_fails_unless_recorded_published_and_named() -> None:
    seen = {"units": ["A/1"], "request": "R-1", "corrections": {"A/1": 303}, "published_totals_equal_truth": True,
            "published_difference": ["A/1"]}
    assert recanvass_moves_delegates(seen).ok
    assert not recanvass_moves_delegates({**seen, "corrections": {"A/1": 409}}).ok
    assert not recanvass_moves_delegates({**seen, "published_difference": []}).ok
    assert not recanvass_moves_delegates({**seen, "published_totals_equal_truth": False}).ok
    # the campaign's part, when played, must hold too; the precinct HQ confirmed must be recorded
    assert recanvass_moves_delegates({**seen, "campaign": {"ok": True}, "confirmed": {"A/2": 303}}).ok
    assert not recanvass_moves_delegates({**seen, "campaign": {"ok": False}}).ok
    assert not recanvass_moves_delegates({**seen, "campaign": {"ok": True}, "confirmed": {"A/2": 422}}).ok


def test_ties_phoned_in_fail_unless_published_with_the_truth() -> None:
    assert ties_phoned_in(["A/1"], {"A/1": "accepted"}, {"A/1"}, []).ok
    assert not ties_phoned_in(["A/1"], {"A/1": "held-for-review"}, set(), []).ok
    assert not ties_phoned_in(["A/1"], {"A/1": "accepted"}, {"A/1"}, ["A/1"]).ok
