"""The sign-in limits as pure functions of the recorded attempts (caucus.service.limits)."""

from __future__ import annotations

from datetime import datetime, timedelta

from caucus.service import SignInLimits, client_retry_at, precinct_lock
from tests.web.support import START

LIMITS = SignInLimits()


def _at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def _fails(*minutes: float) -> list[tuple[datetime, str]]:
    return [(_at(m), "bad-credential") for m in minutes]


def test_the_fifth_failure_within_the_window_locks_for_the_lockout() -> None:
    lock = precinct_lock(_fails(0, 1, 2, 3, 4), LIMITS)
    assert lock.until == _at(19) and lock.failures == 0
    assert lock.active(_at(18.9)) and not lock.active(_at(19))
    assert precinct_lock(_fails(0, 1, 2, 3), LIMITS).until is None


def test_failures_spread_wider_than_the_window_do_not_lock() -> None:
    lock = precinct_lock(_fails(0, 4, 8, 12, 16), LIMITS)  # never 5 within 15 minutes
    assert lock.until is None and lock.failures == 4


def test_a_success_clears_the_count_and_refusals_do_not_extend_a_lock() -> None:
    cleared = precinct_lock([*_fails(0, 1, 2, 3), (_at(3.5), "ok"), *_fails(4)], LIMITS)
    assert cleared.until is None and cleared.failures == 1
    refused = [(_at(m), "precinct-locked") for m in (5, 10, 18)]
    assert precinct_lock([*_fails(0, 1, 2, 3, 4), *refused], LIMITS).until == _at(19)


def test_after_a_lock_the_count_starts_afresh() -> None:
    lock = precinct_lock(_fails(0, 1, 2, 3, 4, 19.5), LIMITS)
    assert lock.until == _at(19) and lock.failures == 1


def test_a_client_may_try_again_once_its_oldest_counted_failure_leaves_the_window() -> None:
    failures = [_at(m / 10) for m in range(30)]  # 30 failures between 0 and 2.9 minutes
    assert client_retry_at(failures[:29], _at(3), LIMITS) is None
    assert client_retry_at(failures, _at(3), LIMITS) == _at(15)
    assert client_retry_at(failures, _at(15.01), LIMITS) is None
    assert client_retry_at([*failures, _at(4)], _at(5), LIMITS) == _at(15.1)
