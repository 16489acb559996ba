"""Throttles for guessing secrets: growing delays per client and per (target, client), never per target.

Three kinds of secret are guessed: a precinct's app credential (``chair``: target the precinct code, client
the network address), its hotline code (``hotline``: target the precinct code, client the operator keying
it in) and a staff password (``staff``: target the username, client the network address). For each kind
two throttles apply, each a :class:`Backoff`:

- per client: every failure of that client, whatever it tried;
- per (target, client): the failures of that client for that target.

A throttle lets ``free`` failures through without delay; after ``n >= free`` failures the next attempt
waits ``min(cap, base * 2 ** (n - free))`` after the latest one (answered 429 with ``Retry-After``).
Failures older than ``window`` are forgotten. Nothing is ever throttled per target alone: failures for a
precinct or an account from other clients never delay the right secret from a client that has not failed
itself, which is what keeps an attacker from locking chairs or staff out (docs/api.md has the guessing
arithmetic).

Failures live in ``throttle_failures`` (shared by every app worker). An attempt *reserves* its failure row
before the secret is checked (so concurrent guesses from one client see each other) and clears it when the
secret was right; a success also clears that (target, client) pair's earlier failures. HQ lifts throttles
(:meth:`Throttles.lift`) and a new credential for a precinct clears its chair and hotline throttles.
IPv6 clients are throttled by their /64 network (one subscriber's usual allocation).
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import ColumnElement, Connection, Engine, and_, func, select, text, update

from caucus.ledger.db import write_transaction
from caucus.ledger.schema import throttle_failures

ThrottleKind = Literal["chair", "hotline", "staff"]
THROTTLE_KINDS: tuple[ThrottleKind, ...] = ("chair", "hotline", "staff")
MAX_KEY = 100


@dataclass(frozen=True)
class Backoff:
    """``free`` failures within ``window`` go without delay; after ``n >= free`` the next attempt waits
    ``min(cap, base * 2 ** (n - free))`` after the latest failure."""

    free: int
    base: timedelta
    cap: timedelta
    window: timedelta

    def delay(self, failures: int) -> timedelta:
        """The wait after the latest of ``failures`` failures (zero below ``free``)."""
        if failures < self.free:
            return timedelta(0)
        steps = failures - self.free
        if steps >= 40:  # 2**40 seconds is far beyond any cap
            return self.cap
        wait: timedelta = min(self.cap, self.base * (2 ** steps))
        return wait

    def retry_at(self, failures: Sequence[datetime], now: datetime) -> datetime | None:
        """When a client with these failure times may try again, or None if it may now."""
        recent = [at for at in failures if at > now - self.window]
        if not recent:
            return None
        wait = self.delay(len(recent))
        until = max(recent) + wait
        return until if wait and until > now else None

    def max_attempts(self, span: timedelta) -> int:
        """The most failures one client can make within ``span`` (starting fresh), trying the moment it may:
        the bound the guessing arithmetic uses (docs/api.md)."""
        elapsed, count = timedelta(0), 0
        while True:
            count += 1  # a failure at ``elapsed``
            wait = self.delay(count)
            if elapsed + wait >= span:
                return count
            elapsed += wait


@dataclass(frozen=True)
class ThrottleRules:
    """The two throttles of one kind of secret."""

    per_client: Backoff
    per_pair: Backoff

    @property
    def window(self) -> timedelta:
        return max(self.per_client.window, self.per_pair.window)


_HOUR = timedelta(hours=1)
#: chairs: a whole caucus site may share one address (a school's Wi-Fi, a carrier's NAT), hence 20 free
CHAIR_RULES = ThrottleRules(
    per_client=Backoff(free=20, base=timedelta(seconds=1), cap=timedelta(minutes=15), window=_HOUR),
    per_pair=Backoff(free=5, base=timedelta(seconds=2), cap=timedelta(minutes=15), window=_HOUR),
)
#: hotline: the client is the operator, who takes many calls (prank calls among them); short waits, and
#: another operator can always take the call
HOTLINE_RULES = ThrottleRules(
    per_client=Backoff(free=20, base=timedelta(seconds=1), cap=timedelta(minutes=5), window=_HOUR),
    per_pair=Backoff(free=3, base=timedelta(seconds=5), cap=timedelta(minutes=5), window=_HOUR),
)
STAFF_RULES = ThrottleRules(
    per_client=Backoff(free=10, base=timedelta(seconds=1), cap=timedelta(minutes=15), window=_HOUR),
    per_pair=Backoff(free=5, base=timedelta(seconds=2), cap=timedelta(minutes=15), window=_HOUR),
)
DEFAULT_RULES: dict[ThrottleKind, ThrottleRules] = {"chair": CHAIR_RULES, "hotline": HOTLINE_RULES,
                                                    "staff": STAFF_RULES}


def client_key(client: str) -> str:
    """The key a client is throttled by: its address, an IPv6 address's /64 network, or the text given
    (the hotline's operator), at most 100 characters."""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return client[:MAX_KEY] or "unknown"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is None:
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


@dataclass(frozen=True)
class Throttled:
    """A refusal: which throttle (``scope`` ``client`` or ``pair``), until when, after how many failures."""

    scope: Literal["client", "pair"]
    until: datetime
    failures: int

    def retry_after(self, now: datetime) -> int:
        return max(1, math.ceil((self.until - now).total_seconds()))


@dataclass(frozen=True)
class Reservation:
    """A failure row written before the secret is checked; :meth:`Throttles.succeeded` clears it."""

    id: int
    target: str
    client: str


@dataclass(frozen=True)
class ThrottleRow:
    """A client (``target`` None) or a (target, client) pair currently throttled, for HQ."""

    kind: ThrottleKind
    target: str | None
    client: str
    failures: int
    latest: datetime
    until: datetime


class Throttles:
    """The throttles of one kind of secret, in one election (``election_id`` None: staff, who are global)."""

    def __init__(self, engine: Engine, kind: ThrottleKind, election_id: int | None,
                 rules: ThrottleRules | None = None) -> None:
        self.engine = engine
        self.kind = kind
        self.election_id = election_id
        self.rules = rules or DEFAULT_RULES[kind]

    def _scope(self) -> list[ColumnElement[bool]]:
        table = throttle_failures
        where: list[ColumnElement[bool]] = [table.c.kind == self.kind, table.c.cleared_at.is_(None)]
        if self.election_id is not None:
            where.append(table.c.election_id == self.election_id)
        return where

    def _serialize(self, conn: Connection, client: str) -> None:
        # PostgreSQL: one client's check-and-reserve at a time (SQLite's BEGIN IMMEDIATE already serializes)
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                         {"key": f"caucus-throttle:{self.kind}:{client}"})

    def reserve(self, conn: Connection, target: str, client: str, now: datetime) -> Throttled | Reservation:
        """In a write transaction: the throttle refusing this attempt, or a reserved failure row for it."""
        target, client = target[:MAX_KEY], client_key(client)
        self._serialize(conn, client)
        table = throttle_failures
        since = now - self.rules.window
        rows = conn.execute(
            select(table.c.at, table.c.target).where(*self._scope(), table.c.client == client, table.c.at > since)
        ).all()
        refusals = []
        scopes: tuple[tuple[Literal["client", "pair"], Backoff, list[datetime]], ...] = (
            ("client", self.rules.per_client, [r.at for r in rows]),
            ("pair", self.rules.per_pair, [r.at for r in rows if r.target == target]),
        )
        for scope, backoff, times in scopes:
            until = backoff.retry_at(times, now)
            if until is not None:
                refusals.append(Throttled(scope, until, len([t for t in times if t > now - backoff.window])))
        if refusals:
            return max(refusals, key=lambda r: r.until)
        row_id = conn.execute(table.insert().values(
            election_id=self.election_id, kind=self.kind, target=target, client=client, at=now,
            cleared_at=None, cleared_by=None,
        ).returning(table.c.id)).scalar_one()
        return Reservation(int(row_id), target, client)

    def succeeded(self, conn: Connection, reservation: Reservation, now: datetime) -> None:
        """The secret was right: the reserved row and the pair's earlier failures stop counting."""
        table = throttle_failures
        conn.execute(update(table).where(*self._scope(), table.c.client == reservation.client,
                                         table.c.target == reservation.target)
                     .values(cleared_at=now, cleared_by="success"))
        conn.execute(update(table).where(table.c.id == reservation.id, table.c.cleared_at.is_(None))
                     .values(cleared_at=now, cleared_by="success"))

    def released(self, conn: Connection, reservation: Reservation, now: datetime) -> None:
        """The attempt was not a guess after all (the secret could not be checked): its row stops counting."""
        table = throttle_failures
        conn.execute(update(table).where(table.c.id == reservation.id, table.c.cleared_at.is_(None))
                     .values(cleared_at=now, cleared_by="not-checked"))

    # -- HQ --------------------------------------------------------------------------------------------
    def current(self, now: datetime, *, limit: int = 200) -> list[ThrottleRow]:
        """The clients and (target, client) pairs throttled at ``now``, latest first (at most ``limit`` of
        each)."""
        table = throttle_failures
        found: list[ThrottleRow] = []
        with self.engine.connect() as conn:
            for scope, backoff, columns in (
                ("client", self.rules.per_client, (table.c.client,)),
                ("pair", self.rules.per_pair, (table.c.target, table.c.client)),
            ):
                since = now - backoff.window
                count = func.count().label("n")
                latest = func.max(table.c.at).label("latest")
                rows = conn.execute(
                    select(*columns, count, latest).where(*self._scope(), table.c.at > since)
                    .group_by(*columns).having(func.count() >= backoff.free)
                    .order_by(latest.desc()).limit(limit)
                ).all()
                for row in rows:
                    until = row.latest + backoff.delay(row.n)
                    if until > now:
                        target = row.target if scope == "pair" else None
                        found.append(ThrottleRow(self.kind, target, row.client, row.n, row.latest, until))
        return sorted(found, key=lambda r: r.latest, reverse=True)

    def lift(self, *, target: str | None, client: str | None, now: datetime, by: str) -> int:
        """Clear the failures of a target, a client or a (target, client) pair (at least one given);
        returns how many stopped counting."""
        if not target and not client:
            raise ValueError("name a target, a client or both")
        table = throttle_failures
        where = [*self._scope()]
        if target:
            where.append(table.c.target == target[:MAX_KEY])
        if client:
            where.append(table.c.client == client_key(client))
        with write_transaction(self.engine) as conn:
            result = conn.execute(update(table).where(and_(*where)).values(cleared_at=now, cleared_by=by[:200]))
        return int(result.rowcount or 0)
