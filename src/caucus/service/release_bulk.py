"""The bulk interval of one release service: whether release n builds the whole-state files
(:mod:`caucus.publish.bulk`, the decision itself, pure), read from what the database holds: release n-1's
manifest entries for those files (from the feed cache when it holds release n-1, else from the recorded
manifest's parts that hold them) and the holder's row.

:meth:`BulkInterval.due_at` tells the continuous-release loop when the latest release's carried bulk files
are due, so that it makes a release that brings them up to date even when no precinct changed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from caucus.ledger.schema import releases
from caucus.publish.bulk import Decision, Holder, Standing, decide, holder_number
from caucus.publish.documents import BULK_FILES
from caucus.service.release_feed import FeedCache
from caucus.service.release_manifests import recorded_paths


def standing_of(row: Any) -> Standing:
    """A release row's :class:`Standing`."""
    return Standing(status=str(row.status), test=bool(row.test), zero=bool(row.zero), note=str(row.note),
                    certified_act=row.certified_act)


class BulkInterval:
    """Decides, for the releases of one election, when the bulk files are built (``interval`` seconds; 0:
    every release)."""

    def __init__(self, engine: Engine, election_id: int, feed: FeedCache, interval: float) -> None:
        self.engine = engine
        self.election_id = election_id
        self.feed = feed
        self.interval = float(interval)

    def previous(self, conn: Connection, number: int, key: tuple[int, int]) -> dict[str, bytes]:
        """Release ``number - 1``'s bulk entries (none for an epoch's first release)."""
        if number - 1 <= key[1]:
            return {}
        if self.feed.key == key and self.feed.number == number - 1:
            return {path: self.feed.entries[path] for path in BULK_FILES if path in self.feed.entries}
        return recorded_paths(conn, self.election_id, number - 1, BULK_FILES)

    def holder(self, conn: Connection, number: int, key: tuple[int, int]) -> Holder | None:
        """The release holding release ``number - 1``'s bulk files, with its time and standing."""
        found = holder_number(self.previous(conn, number, key))
        if found is None:
            return None
        row = conn.execute(select(releases.c.created_at, releases.c.status, releases.c.test, releases.c.zero,
                                  releases.c.note, releases.c.certified_act).where(
            releases.c.election_id == self.election_id, releases.c.number == found)).one()
        return Holder(found, row.created_at, standing_of(row))

    def decide(self, conn: Connection, number: int, key: tuple[int, int], *, created_at: datetime,
               standing: Standing) -> Decision:
        """Whether release ``number``, made at ``created_at`` with ``standing``, builds the bulk files."""
        holder = self.holder(conn, number, key) if self.interval > 0 else None
        return decide(interval=self.interval, number=number, created_at=created_at, standing=standing,
                      holder=holder)

    def due_at(self, key: tuple[int, int]) -> datetime | None:
        """When the latest release's bulk files, carried from an earlier release, are due to be rebuilt
        (None: they are the latest release's own, or the interval is 0)."""
        if self.interval <= 0:
            return None
        with self.engine.connect() as conn:
            latest = conn.execute(select(func.max(releases.c.number)).where(
                releases.c.election_id == self.election_id)).scalar()
            if latest is None or int(latest) <= key[1]:
                return None
            holder = self.holder(conn, int(latest) + 1, key)
        if holder is None or holder.number == int(latest):
            return None
        return holder.created_at + timedelta(seconds=self.interval)
