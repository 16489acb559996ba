"""Sign-in limits: a per-precinct lockout and a per-client limit, computed from recorded attempts.

Pure functions over (time, outcome) pairs, so every app worker reaches the same answer from the shared
``signin_attempts`` table. Only ``bad-credential`` attempts count as failures: attempts refused because of
a lock or a limit do not extend it (so a lock always ends on time), and a successful sign-in clears the
precinct's count.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

FAILURE = "bad-credential"
SUCCESS = "ok"


@dataclass(frozen=True)
class SignInLimits:
    """Per precinct: ``precinct_failures`` failures within ``precinct_window`` lock it for
    ``precinct_lockout``. Per client address: ``client_failures`` failures within ``client_window`` stop
    it until the oldest of them leaves the window."""

    precinct_failures: int = 5
    precinct_window: timedelta = timedelta(minutes=15)
    precinct_lockout: timedelta = timedelta(minutes=15)
    client_failures: int = 30
    client_window: timedelta = timedelta(minutes=15)

    @property
    def precinct_lookback(self) -> timedelta:
        """How far back attempts can matter to a precinct's lock."""
        return self.precinct_window + self.precinct_lockout


@dataclass(frozen=True)
class PrecinctLock:
    """``until``: the end of the latest lock (None if never locked in the lookback); ``failures``: the
    failures counting towards the next lock."""

    until: datetime | None
    failures: int

    def active(self, now: datetime) -> bool:
        return self.until is not None and now < self.until


def precinct_lock(attempts: Iterable[tuple[datetime, str]], limits: SignInLimits) -> PrecinctLock:
    """Walk a precinct's attempts in time order: every ``precinct_failures``-th failure within the window
    starts a lock of ``precinct_lockout`` and starts the count afresh; a success clears the count."""
    recent: deque[datetime] = deque()
    until: datetime | None = None
    for at, outcome in sorted(attempts):
        if outcome == SUCCESS:
            recent.clear()
            continue
        if outcome != FAILURE or (until is not None and at < until):
            continue
        recent.append(at)
        while recent and recent[0] <= at - limits.precinct_window:
            recent.popleft()
        if len(recent) >= limits.precinct_failures:
            until = at + limits.precinct_lockout
            recent.clear()
    return PrecinctLock(until, len(recent))


def client_retry_at(failures: Sequence[datetime], now: datetime, limits: SignInLimits) -> datetime | None:
    """When a client with these failure times may try again, or None if it may now."""
    recent = sorted(at for at in failures if at > now - limits.client_window)
    if len(recent) < limits.client_failures:
        return None
    # It may try again once only client_failures - 1 of them are still within the window.
    return recent[len(recent) - limits.client_failures] + limits.client_window
