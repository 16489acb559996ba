"""Epochs: a rehearsal, then the live night, in one append-only ledger.

``caucus election go-live`` (and ``reset-rehearsal``) never delete anything. They add an ``election_epochs``
row that draws a line through the election's records as they stand: every reader of what counts asks
:func:`counted` for the current line, so entries recorded before it (and the review decisions made on
them, the photos, the messages to chairs, the recanvass requests, the hotline calls) stay in the ledger
and in ``caucus verify`` but never count again, and releases up to ``releases_through`` are archived. The
line is read inside the same query as the records (a scalar subquery), so no process holds a stale copy.

Go-live and the ledger writer serialize on the election's row (``FOR UPDATE`` on PostgreSQL; SQLite's
single write lock), so an entry is either before the line or after it, never lost between.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.sql import ColumnElement

from caucus.ledger import audit, derived
from caucus.ledger.db import is_sqlite, utcnow, write_transaction
from caucus.ledger.elections import election_id_for
from caucus.ledger.errors import EpochRefused
from caucus.ledger.schema import (
    election_epochs,
    elections,
    hotline_calls,
    hq_messages,
    ledger_entries,
    photos,
    recanvass_requests,
    releases,
    sessions,
)

EpochAction = Literal["go-live", "reset-rehearsal"]
Marker = Literal["counts_after_seq", "photos_after_id", "messages_after_id", "requests_after_id",
                 "calls_after_id", "releases_through"]
MARKERS: tuple[Marker, ...] = ("counts_after_seq", "photos_after_id", "messages_after_id", "requests_after_id",
                               "calls_after_id", "releases_through")


@dataclass(frozen=True)
class Epoch:
    """The election's current epoch: its mode and the line below which records are the rehearsal's."""

    election_id: int
    mode: str
    #: 0 for the election's first epoch; each go-live or reset adds one
    number: int = 0
    action: str | None = None
    counts_after_seq: int = 0
    photos_after_id: int = 0
    messages_after_id: int = 0
    requests_after_id: int = 0
    calls_after_id: int = 0
    releases_through: int = 0
    actor: str | None = None
    at: datetime | None = None

    @property
    def live(self) -> bool:
        return self.mode == "live"


def _latest(election_id: int | ColumnElement[Any]) -> Any:
    return election_epochs.c.election_id == election_id


def marker(name: Marker, election_id: int | ColumnElement[Any]) -> Any:
    """The current epoch's marker ``name`` as a scalar subquery (0 before any go-live or reset)."""
    column = election_epochs.c[name]
    newest = (select(column).where(_latest(election_id)).order_by(election_epochs.c.id.desc()).limit(1)
              .scalar_subquery())
    return func.coalesce(newest, 0)


def counted(column: Any, election_id: int | ColumnElement[Any], name: Marker = "counts_after_seq"
            ) -> ColumnElement[bool]:
    """The condition that a record counts in the current epoch: ``column`` (a ledger seq, a review decision's
    ``last_seq``, or a photo/message/request/call id with the matching ``name``) is above the line."""
    return cast(ColumnElement[bool], column > marker(name, election_id))


def read_epoch(bind: Engine | Connection, election_id: int) -> Epoch:
    """The election's current epoch (mode and markers), read now."""
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return read_epoch(conn, election_id)
    mode = bind.execute(select(elections.c.mode).where(elections.c.id == election_id)).scalar_one()
    count = bind.execute(select(func.count()).select_from(election_epochs)
                         .where(_latest(election_id))).scalar_one()
    row = bind.execute(select(election_epochs).where(_latest(election_id))
                       .order_by(election_epochs.c.id.desc()).limit(1)).first()
    if row is None:
        return Epoch(election_id=election_id, mode=mode)
    return Epoch(election_id=election_id, mode=mode, number=int(count), action=row.action,
                 **{name: int(row._mapping[name]) for name in MARKERS}, actor=row.actor, at=row.at)


def _max(conn: Connection, column: Any, election_column: Any, election_id: int) -> int:
    return int(conn.execute(select(func.coalesce(func.max(column), 0)).where(election_column == election_id))
               .scalar_one())


def start_epoch(engine: Engine, slug: str, action: EpochAction, *, actor: str,
                now: datetime | None = None) -> Epoch:
    """Go live (``go-live``: test -> live) or reset the rehearsal (``reset-rehearsal``: stays test): draw the
    line after everything recorded so far, revoke the chairs' open sessions (their cards keep working) and
    record it in the audit log. Raises EpochRefused for a live election, UnknownElection."""
    if action not in ("go-live", "reset-rehearsal"):
        raise ValueError(f"unknown epoch action {action!r}")
    at = now or utcnow()
    with write_transaction(engine) as conn:
        election_id = election_id_for(conn, slug)
        query = select(elections.c.mode).where(elections.c.id == election_id)
        mode = conn.execute(query if is_sqlite(conn) else query.with_for_update()).scalar_one()
        if mode == "live":
            current = read_epoch(conn, election_id)
            since = f" (since {current.at:%Y-%m-%d %H:%M} UTC, by {current.actor})" if current.at else ""
            if action == "go-live":
                raise EpochRefused(f"election {slug!r} is already live{since}; it goes live once, and what it "
                                   "records now counts")
            raise EpochRefused(f"election {slug!r} is live{since}; a live election's results are never reset "
                               "(correct them, or recanvass)")
        markers = {
            "counts_after_seq": _max(conn, ledger_entries.c.seq, ledger_entries.c.election_id, election_id),
            "photos_after_id": _max(conn, photos.c.id, photos.c.election_id, election_id),
            "messages_after_id": _max(conn, hq_messages.c.id, hq_messages.c.election_id, election_id),
            "requests_after_id": _max(conn, recanvass_requests.c.id, recanvass_requests.c.election_id, election_id),
            "calls_after_id": _max(conn, hotline_calls.c.id, hotline_calls.c.election_id, election_id),
            "releases_through": _max(conn, releases.c.number, releases.c.election_id, election_id),
        }
        new_mode = "live" if action == "go-live" else mode
        conn.execute(election_epochs.insert().values(election_id=election_id, action=action, mode=new_mode,
                                                     actor=actor, at=at, **markers))
        if new_mode != mode:
            conn.execute(update(elections).where(elections.c.id == election_id).values(mode=new_mode))
        # nothing recorded so far counts any more: every precinct is not-reported (caucus.ledger.derived)
        derived.clear(conn, election_id)
        revoked = conn.execute(update(sessions).where(sessions.c.election_id == election_id,
                                                      sessions.c.revoked_at.is_(None),
                                                      sessions.c.expires_at > at)
                               .values(revoked_at=at)).rowcount
        audit.record(conn, election_id=election_id, at=at, actor=actor, action=f"election.{action}",
                     detail={"slug": slug, "mode": new_mode, "chair_sessions_ended": int(revoked or 0), **markers},
                     outcome="ok")
        return read_epoch(conn, election_id)
