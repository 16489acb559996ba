"""Readiness before caucus night and progress on the night, for headquarters.

Both pages read maintained, indexed state (issue 15): readiness the rows and per-county counts of
:mod:`caucus.ledger.readiness` (kept with the cards and sign-ins), the night the status rows and counts of
:mod:`caucus.service.maintained`; neither walks every precinct per request (:meth:`ReadinessService.
derived_readiness` does, and must say the same).

Before the night: which precincts have signed in with their credential (a successful sign-in in
``signin_attempts``, which includes the chair app's "test your sign-in"), by county, and the list to phone:
precincts with a credential whose chair has neither signed in nor reported anything (by the app or the
hotline), with the registered chair's name and numbers from the roster (:mod:`caucus.service.roster`) and
the failed attempts. On the night: precinct states by county and statewide, precincts reporting over time
(for a chart), stuck precincts (some stages reported, nothing new for ``stuck_after``), the review queue's
length and the hotline's load.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select

from caucus.ledger import readiness as ready_rows
from caucus.ledger.db import utcnow
from caucus.ledger.epochs import counted
from caucus.ledger.schema import (
    audit_log,
    credentials,
    hotline_calls,
    precinct_readiness,
    precinct_status,
    precincts,
    signin_attempts,
)
from caucus.service.context import ElectionContext
from caucus.service.maintained import night_summary, reported_codes
from caucus.service.roster import Chair, RosterService
from caucus.service.status import STATUS_NAMES, PrecinctStatus, queue_reasons

BUCKET = timedelta(minutes=15)
#: the night page lists the longest-stuck precincts, at most this many (and says how many there are)
STUCK_SHOWN = 500
#: the readiness page lists the precincts to phone, at most this many (and says how many there are)
TO_PHONE_SHOWN = 200


@dataclass(frozen=True)
class ToPhone:
    code: str
    county: str
    name: str
    failed_attempts: int
    #: the registered chair (None: not on the roster)
    chair: Chair | None = None


@dataclass
class CountyReadiness:
    county: str
    precincts: int = 0
    with_credential: int = 0
    signed_in: int = 0
    #: of those, precincts whose chair used the app's "test your sign-in" (audit action session.test)
    tested: int = 0


@dataclass(frozen=True)
class Readiness:
    counties: tuple[CountyReadiness, ...]
    #: the first ``TO_PHONE_SHOWN`` precincts to phone, most failed sign-ins first (then county, code)
    to_phone: tuple[ToPhone, ...]
    #: how many precincts there are to phone
    to_phone_count: int = 0

    @property
    def total(self) -> CountyReadiness:
        total = CountyReadiness("statewide")
        for c in self.counties:
            total.precincts += c.precincts
            total.with_credential += c.with_credential
            total.signed_in += c.signed_in
            total.tested += c.tested
        return total


@dataclass
class Night:
    now: datetime
    statewide: Counter[str]
    by_county: dict[str, Counter[str]]
    #: (time, precincts that had reported anything by then)
    reporting_over_time: list[tuple[datetime, int]]
    stuck: list[tuple[str, str, datetime]]  # code, state, last entry at (the oldest ones, at most STUCK_SHOWN)
    queue_length: int
    hotline_last_hour: int
    hotline_over_time: list[tuple[datetime, int]] = field(default_factory=list)
    #: how many precincts are stuck (``stuck`` may show fewer)
    stuck_count: int = 0


class ReadinessService:
    def __init__(self, engine: Engine, context: ElectionContext, *, clock: Callable[[], datetime] = utcnow,
                 stuck_after: timedelta = timedelta(minutes=30), roster: RosterService | None = None) -> None:
        self.engine, self.context, self.clock, self.stuck_after = engine, context, clock, stuck_after
        self.roster = roster or RosterService(engine, context, clock=clock)

    def readiness(self) -> Readiness:
        """Readiness from the maintained rows (:mod:`caucus.ledger.readiness`): the counts by county, and the
        first ``TO_PHONE_SHOWN`` precincts to phone along an index (with how many there are)."""
        election_id = self.context.election_id
        waiting = (precinct_readiness.c.election_id == election_id, precinct_readiness.c.credential.is_(True),
                   precinct_readiness.c.signed_in.is_(False),
                   ~select(precinct_status.c.precinct_id).where(
                       precinct_status.c.precinct_id == precinct_readiness.c.precinct_id).exists())
        with self.engine.connect() as conn:
            counts = ready_rows.stored_counts(conn, election_id)
            count = int(conn.execute(select(func.count()).select_from(precinct_readiness).where(*waiting))
                        .scalar_one())
            first = list(conn.execute(select(precinct_readiness.c.code, precinct_readiness.c.failed).where(*waiting)
                                      .order_by(precinct_readiness.c.failed.desc(), precinct_readiness.c.county,
                                                precinct_readiness.c.code).limit(TO_PHONE_SHOWN)))
        chairs = self.roster.chairs([code for code, _ in first])
        to_phone = [ToPhone(code, self.context.precincts[code].county, self.context.precincts[code].name, int(failed),
                            chairs.get(code)) for code, failed in first if code in self.context.precincts]
        counties = tuple(CountyReadiness(county, size, counts[(county, "credential")], counts[(county, "signed-in")],
                                         counts[(county, "tested")])
                         for county, size in sorted(self.context.county_sizes.items()))
        return Readiness(counties, tuple(to_phone), count)

    def derived_readiness(self) -> Readiness:
        """Readiness derived from every sign-in, card, test and precinct now (what :meth:`readiness` must say;
        a walk of every precinct, for checks)."""
        election_id = self.context.election_id
        with self.engine.connect() as conn:
            signed = set(conn.execute(select(signin_attempts.c.precinct_code).where(
                signin_attempts.c.election_id == election_id, signin_attempts.c.outcome == "ok").distinct()).scalars())
            failed: dict[str, int] = {str(code): int(n) for code, n in conn.execute(
                select(signin_attempts.c.precinct_code, func.count()).where(
                    signin_attempts.c.election_id == election_id, signin_attempts.c.outcome == "bad-credential")
                .group_by(signin_attempts.c.precinct_code))}
            tested = {str(json.loads(detail).get("precinct")) for detail in conn.execute(
                select(audit_log.c.detail).where(audit_log.c.election_id == election_id,
                                                 audit_log.c.action == "session.test", audit_log.c.outcome == "ok")
            ).scalars()}
            with_credential = set(conn.execute(select(precincts.c.code).join(
                credentials, credentials.c.precinct_id == precincts.c.id).where(
                precincts.c.election_id == election_id, credentials.c.status == "active")).scalars())
        reported = reported_codes(self.engine, self.context)
        chairs = self.roster.roster()
        counties: dict[str, CountyReadiness] = {}
        to_phone = []
        for code, info in self.context.precincts.items():
            county = counties.setdefault(info.county, CountyReadiness(info.county))
            county.precincts += 1
            county.with_credential += code in with_credential
            county.signed_in += code in signed
            county.tested += code in tested
            if code in with_credential and code not in signed and code not in reported:
                to_phone.append(ToPhone(code, info.county, info.name, int(failed.get(code, 0)), chairs.get(code)))
        to_phone.sort(key=lambda p: (-p.failed_attempts, p.county, p.code))
        return Readiness(tuple(sorted(counties.values(), key=lambda c: c.county)), tuple(to_phone[:TO_PHONE_SHOWN]),
                         len(to_phone))

    def night(self, statuses: Mapping[str, PrecinctStatus] | None = None) -> Night:
        """The night's progress: from the maintained status rows (:mod:`caucus.service.maintained`: grouped,
        indexed queries), or from ``statuses`` if given."""
        now = self.clock()
        if statuses is None:
            summary = night_summary(self.engine, self.context, stuck_before=now - self.stuck_after,
                                    stuck_limit=STUCK_SHOWN)
            calls = _calls(self.engine, self.context.election_id)
            return Night(
                now=now, statewide=summary.statewide, by_county=summary.by_county,
                reporting_over_time=_cumulative_counts(summary.first_by_quarter), stuck=summary.stuck,
                queue_length=summary.queue_length,
                hotline_last_hour=sum(1 for at in calls if now - at <= timedelta(hours=1)),
                hotline_over_time=_per_bucket(calls), stuck_count=summary.stuck_count)
        statewide: Counter[str] = Counter(dict.fromkeys(STATUS_NAMES, 0))
        by_county: dict[str, Counter[str]] = {}
        firsts: list[datetime] = []
        stuck: list[tuple[str, str, datetime]] = []
        queue_length = 0
        for status in statuses.values():
            statewide[status.state] += 1
            by_county.setdefault(status.info.county, Counter())[status.state] += 1
            if status.history:
                firsts.append(status.history[0].received_at)
                last = status.history[-1].received_at
                if status.state in ("reported", "held-for-review", "conflicting") and now - last >= self.stuck_after:
                    stuck.append((status.info.code, status.state, last))
            queue_length += bool(queue_reasons(status))
        calls = _calls(self.engine, self.context.election_id)
        return Night(
            now=now, statewide=statewide, by_county=dict(sorted(by_county.items())),
            reporting_over_time=_cumulative(sorted(firsts)), stuck=sorted(stuck, key=lambda s: s[2])[:STUCK_SHOWN],
            queue_length=queue_length, hotline_last_hour=sum(1 for at in calls if now - at <= timedelta(hours=1)),
            hotline_over_time=_per_bucket(calls), stuck_count=len(stuck),
        )


def _calls(engine: Engine, election_id: int) -> list[datetime]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(hotline_calls.c.at).where(
            hotline_calls.c.election_id == election_id, counted(hotline_calls.c.id, election_id, "calls_after_id")))
                      .scalars())


def _floor(at: datetime) -> datetime:
    return at - timedelta(minutes=at.minute % 15, seconds=at.second, microseconds=at.microsecond)


def _cumulative(times: list[datetime]) -> list[tuple[datetime, int]]:
    """(end of each 15-minute bucket, count so far) from the first to the last time, starting at 0."""
    if not times:
        return []
    bucket, index = _floor(times[0]), 0
    points = [(bucket, 0)]
    while index < len(times):
        bucket += BUCKET
        while index < len(times) and times[index] < bucket:
            index += 1
        points.append((bucket, index))
    return points


def _cumulative_counts(first_by_quarter: Mapping[datetime, int]) -> list[tuple[datetime, int]]:
    """:func:`_cumulative` from the number of precincts first seen in each quarter hour."""
    if not first_by_quarter:
        return []
    bucket, total, seen = min(first_by_quarter), sum(first_by_quarter.values()), 0
    points = [(bucket, 0)]
    while seen < total:
        seen += first_by_quarter.get(bucket, 0)
        bucket += BUCKET
        points.append((bucket, seen))
    return points


def _per_bucket(times: list[datetime]) -> list[tuple[datetime, int]]:
    counts = Counter(_floor(at) for at in times)
    return sorted(counts.items())
