"""Each precinct's derived status, kept in ``precinct_status`` with the ledger (issue 15).

The status itself is derived by the service layer (:mod:`caucus.service.status`: the checks, the four eyes of
the hotline, the review decisions); this module only stores it. Who changes what the derivation reads keeps the
row right in the same transaction:

- the ledger :class:`caucus.ledger.writer.Writer`, after appending a batch, hands each touched precinct's
  counted entries (:class:`caucus.ledger.state.PrecinctState`) to its :class:`StateMaintainer` (the service's,
  which derives and writes the rows); a writer without one marks the rows stale (``state`` NULL: derived on
  read until the server's start-up or ``caucus state rebuild`` derives them);
- a review decision re-derives its precinct (:mod:`caucus.service.maintained`);
- a go-live or a rehearsal reset (:func:`caucus.ledger.epochs.start_epoch`) deletes the election's rows:
  nothing recorded before the new line counts, so every precinct is ``not-reported`` again.

A precinct without a row has nothing that counts in the current epoch (``not-reported``); every precinct with
entries that count has one. The rows are an index, never a source: ``caucus state check`` and ``caucus
verify`` compare them with a derivation from the ledger.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection, delete
from sqlalchemy.dialects import postgresql, sqlite

from caucus.ledger.db import is_sqlite
from caucus.ledger.schema import precinct_status

if TYPE_CHECKING:
    from caucus.ledger.state import PrecinctState

QUARTER_SECONDS = 900


@dataclass(frozen=True)
class StatusRow:
    """What ``precinct_status`` holds about one precinct (everything but its ids)."""

    state: str
    #: the precinct's county (a copy of ``precincts.county``, so the night page groups by it without a join)
    county: str
    why: tuple[str, ...]
    queue_rank: int | None
    reasons: tuple[str, ...]
    last_seq: int | None
    first_at: datetime | None
    last_at: datetime | None

    def values(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "county": self.county,
            "queue_rank": self.queue_rank,
            "why": ",".join(self.why),
            "reasons": json.dumps(list(self.reasons), ensure_ascii=False),
            "last_seq": self.last_seq,
            "first_at": self.first_at,
            "last_at": self.last_at,
            "first_quarter": quarter(self.first_at) if self.first_at is not None else None,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> StatusRow | None:
        """The stored row; None for a stale one (``state`` NULL)."""
        if row["state"] is None:
            return None
        return cls(state=row["state"], county=row["county"], why=tuple(w for w in row["why"].split(",") if w),
                   queue_rank=row["queue_rank"], reasons=tuple(json.loads(row["reasons"])),
                   last_seq=row["last_seq"], first_at=row["first_at"], last_at=row["last_at"])


def quarter(at: datetime) -> int:
    """``at`` in whole quarter hours since 1970-01-01 UTC."""
    return int(at.timestamp()) // QUARTER_SECONDS


class StateMaintainer(Protocol):
    """Derives and stores the rows of precincts whose entries just changed, inside the writer's transaction."""

    def maintain(self, conn: Connection, election_id: int, states: Mapping[int, PrecinctState]) -> bool:
        """Write the rows of ``states`` (by precinct id, each with every entry that counts); False if this
        maintainer does not serve the election (the writer then marks the rows stale)."""
        ...


_STALE = {"state": None, "county": None, "queue_rank": None, "why": "", "reasons": "[]", "last_seq": None,
          "first_at": None, "last_at": None, "first_quarter": None}


def upsert(conn: Connection, election_id: int, rows: Mapping[int, StatusRow | None]) -> None:
    """Insert or replace the rows of precincts ``rows`` (by id); None writes a stale row."""
    if not rows:
        return
    values = [{"precinct_id": pid, "election_id": election_id, **(row.values() if row is not None else _STALE)}
              for pid, row in rows.items()]
    statement = (sqlite.insert(precinct_status) if is_sqlite(conn) else postgresql.insert(precinct_status))
    changing = {name: statement.excluded[name] for name in _STALE}
    conn.execute(statement.on_conflict_do_update(index_elements=["precinct_id"], set_=changing), values)


def mark_stale(conn: Connection, election_id: int, precinct_ids: Iterable[int]) -> None:
    upsert(conn, election_id, dict.fromkeys(precinct_ids))


def clear(conn: Connection, election_id: int, precinct_ids: Iterable[int] | None = None) -> None:
    """Delete the election's rows (or those of ``precinct_ids``): nothing of theirs counts."""
    query = delete(precinct_status).where(precinct_status.c.election_id == election_id)
    if precinct_ids is not None:
        query = query.where(precinct_status.c.precinct_id.in_(list(precinct_ids)))
    conn.execute(query)
