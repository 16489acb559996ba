"""The backoff arithmetic of the sign-in throttles (pure), the bounds docs/api.md quotes, and client keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from caucus.ledger.credentials import ALPHABET, ENTROPY_BITS, HOTLINE_ENTROPY_BITS
from caucus.service.limits import CHAIR_RULES, HOTLINE_RULES, STAFF_RULES, Backoff, client_key

T0 = datetime(2020, 2, 3, 19, 0, tzinfo=UTC)
RULE = Backoff(free=3, base=timedelta(seconds=2), cap=timedelta(seconds=60), window=timedelta(hours=1))


def _s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_free_failures_then_each_wait_doubles_up_to_the_cap() -> None:
    assert RULE.retry_at([_s(0), _s(0)], _s(0)) is None  # two failures: free
    assert RULE.retry_at([_s(0)] * 3, _s(0)) == _s(2)  # the third: 2 s
    assert RULE.retry_at([_s(0)] * 3, _s(2)) is None
    assert RULE.retry_at([_s(0)] * 3 + [_s(2)], _s(2)) == _s(6)  # the fourth: 4 s after it
    assert RULE.retry_at([_s(0)] * 3 + [_s(2), _s(6)], _s(6)) == _s(14)  # 8 s
    assert [RULE.delay(n).total_seconds() for n in range(1, 10)] == [0, 0, 2, 4, 8, 16, 32, 60, 60]
    assert RULE.delay(10_000) == timedelta(seconds=60)


def test_failures_older_than_the_window_are_forgotten() -> None:
    old = [_s(0)] * 10
    assert RULE.retry_at(old, _s(59)) == _s(60)  # ten failures: the cap, 60 s after the latest
    assert RULE.retry_at(old, _s(60)) is None
    assert RULE.retry_at([*old, _s(3700)], _s(3700)) is None  # one recent failure: free again


def test_the_most_attempts_an_hour_that_docs_api_md_quotes() -> None:
    hour = timedelta(hours=1)
    # chairs, per address: 20 free, then waits of 1, 2, ..., 512 s (at 1,023 s), then 900 s: 20 + 10 + 2
    assert CHAIR_RULES.per_client.max_attempts(hour) == 32
    # chairs, per (precinct, address): 5 free, then 2, 4, ..., 512 s (at 1,022 s), then 900 s: 5 + 9 + 2
    assert CHAIR_RULES.per_pair.max_attempts(hour) == 16
    # hotline, per operator: 20 free, then 1 ... 256 s (at 511 s), then 300 s: 20 + 9 + 10
    assert HOTLINE_RULES.per_client.max_attempts(hour) == 39
    # staff, per address: 10 free, then 1 ... 512 s (at 1,023 s), then 900 s: 10 + 10 + 2
    assert STAFF_RULES.per_client.max_attempts(hour) == 22


def test_entropy_of_the_two_secrets() -> None:
    assert len(ALPHABET) == 30
    assert round(ENTROPY_BITS, 1) == 98.1  # 20 symbols of 30
    assert round(HOTLINE_ENTROPY_BITS, 1) == 58.9  # 12 symbols of 30


def test_clients_are_throttled_by_address_and_ipv6_by_their_64() -> None:
    assert client_key("203.0.113.7") == "203.0.113.7"
    assert client_key("::ffff:203.0.113.7") == "203.0.113.7"
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("kim") == "kim"  # a hotline operator
