"""Continuous release: a background loop that releases newly accepted precincts (at most every interval,
and by default never busy more than half the time: after a round of d seconds it waits at least d;
``busy_share`` sets that share, e.g. 1 for a ``caucus release watch`` on a core of its own), and makes a
release with nothing new when the whole-state files the latest release carries are due (the bulk interval,
:mod:`caucus.service.release_bulk`).

Every app worker runs one; the database decides which worker writes release n (the others' attempt fails
on the unique number and they skip the round). A round is skipped cheaply when nothing changed since the
last one: the ledger's newest seq, the audit log's newest id, the newest review decision and the newest
release number form a fingerprint read in one query.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select

from caucus.ledger.schema import audit_log, ledger_entries, releases, review_decisions
from caucus.service.releases import ReleaseRecord, ReleaseService

log = logging.getLogger(__name__)


class ContinuousReleaser:
    """``start()`` a daemon thread that calls ``release_if_new`` while continuous release is on."""

    def __init__(self, service: ReleaseService, interval: float = 1.0,
                 on_release: Callable[[ReleaseRecord], None] | None = None, *, busy_share: float = 0.5) -> None:
        if not 0 < busy_share <= 1:
            raise ValueError(f"busy_share must be more than 0 and at most 1, got {busy_share}")
        self.service = service
        self.interval = interval
        #: the most of its time the loop spends releasing (0.5: after a round of d seconds it waits d; 1: a
        #: releaser on a core of its own waits only the interval)
        self.busy_share = busy_share
        self.on_release = on_release
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen: tuple[int, int, int, int] | None = None
        self._bulk_due: datetime | None = None

    def fingerprint(self) -> tuple[int, int, int, int]:
        election = self.service.context.election_id
        with self.service.engine.connect() as conn:
            row = conn.execute(select(
                select(func.coalesce(func.max(ledger_entries.c.seq), 0))
                .where(ledger_entries.c.election_id == election).scalar_subquery(),
                select(func.coalesce(func.max(audit_log.c.id), 0)).scalar_subquery(),
                select(func.coalesce(func.max(releases.c.number), 0))
                .where(releases.c.election_id == election).scalar_subquery(),
                select(func.coalesce(func.max(review_decisions.c.id), 0))
                .where(review_decisions.c.election_id == election).scalar_subquery(),
            )).one()
        return int(row[0]), int(row[1]), int(row[2]), int(row[3])

    def tick(self) -> ReleaseRecord | None:
        """One round: release if continuous release is on and something may have changed."""
        if not self.service.continuous():
            self._seen = None
            return None
        seen = self.fingerprint()
        if seen == self._seen and (self._bulk_due is None or self.service.clock() < self._bulk_due):
            return None
        made = self.service.release_if_new()
        # Nothing new: everything up to ``seen`` (read before the release's own read) is released. After a
        # release, look again next round: entries committed while the release was being built are not in
        # it, and a fingerprint read now would hide them (the release adds its own audit row and number).
        self._seen = None if made is not None else seen
        # the whole-state files the latest release carries from an earlier one: when they are due, a round
        # releases even with nothing new (caucus.service.release_bulk), so the feed is whole within the
        # bulk interval and one round of the night's last report
        self._bulk_due = None if made is not None else self.service.bulk_due_at()
        if made is not None and self.on_release is not None:
            self.on_release(made)
        return made

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.tick()
            except Exception:  # keep the loop alive; the next round retries
                log.exception("continuous release round failed")
            # by default at most half of a core: a round of a large state takes seconds of CPU, and the app
            # workers (or the machine's other work) must keep the rest
            self._stop.wait(self.pause_after(time.monotonic() - started))

    def pause_after(self, busy: float) -> float:
        """Seconds to wait after a round that took ``busy`` seconds: the interval, or longer so that rounds take
        at most ``busy_share`` of the time."""
        return max(self.interval, busy * (1 - self.busy_share) / self.busy_share)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="continuous-release", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
