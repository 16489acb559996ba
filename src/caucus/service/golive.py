"""Going live after the rehearsal, and resetting a rehearsal: the use case behind ``caucus election go-live``
/ ``reset-rehearsal`` and the HQ page ``/hq/election``.

Nothing is deleted and nothing is reissued: the credentials (cards), the staff accounts and the plan stay;
the rehearsal's ledger entries, review decisions, photos, messages, recanvass requests and hotline calls stay
in the database (``caucus verify`` still checks every entry) but never count again
(:mod:`caucus.ledger.epochs`); its releases are archived and the public site and feed show nothing until the
first release of the new epoch. Chairs' open sessions end (they sign in again with the same card), and
continuous release is switched off so that the director starts the live night's releases deliberately.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select

from caucus.ledger.db import utcnow
from caucus.ledger.epochs import Epoch, EpochAction, counted, read_epoch, start_epoch
from caucus.ledger.errors import EpochRefused
from caucus.ledger.schema import credentials, elections, ledger_entries
from caucus.service.context import ElectionContext
from caucus.service.errors import FieldProblem, ServiceError
from caucus.service.releases import ReleaseService


class EpochChangeRefused(ServiceError):
    """Go-live of a live election, a reset of a live one, or a confirmation that does not name the election."""

    code = "epoch-refused"


@dataclass(frozen=True)
class ModeSummary:
    """What the election holds now, for the page and the command that change its mode."""

    epoch: Epoch
    entries_total: int
    entries_counting: int
    releases_archived: int
    releases_current: int
    credentials_active: int

    @property
    def entries_set_aside(self) -> int:
        return self.entries_total - self.entries_counting


class ElectionModeService:
    def __init__(self, engine: Engine, context: ElectionContext, releases: ReleaseService, *,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.engine, self.context, self.releases = engine, context, releases
        self.clock = clock or utcnow

    def mode(self) -> str:
        """The election's mode now (``test`` or ``live``), read from the database (one indexed read: another
        process, ``caucus election go-live``, may switch it while the server runs; nothing else of the context
        changes)."""
        with self.engine.connect() as conn:
            return str(conn.execute(select(elections.c.mode).where(elections.c.id == self.context.election_id))
                       .scalar_one())

    def summary(self) -> ModeSummary:
        election = self.context.election_id
        with self.engine.connect() as conn:
            epoch = read_epoch(conn, election)
            total = conn.execute(select(func.count()).select_from(ledger_entries)
                                 .where(ledger_entries.c.election_id == election)).scalar_one()
            counting = conn.execute(select(func.count()).select_from(ledger_entries).where(
                ledger_entries.c.election_id == election, counted(ledger_entries.c.seq, election))).scalar_one()
            active = conn.execute(select(func.count()).select_from(credentials).where(
                credentials.c.election_id == election, credentials.c.status == "active")).scalar_one()
        made = self.releases.list()
        return ModeSummary(epoch=epoch, entries_total=int(total), entries_counting=int(counting),
                           releases_archived=sum(1 for r in made if r.archived),
                           releases_current=sum(1 for r in made if not r.archived),
                           credentials_active=int(active))

    def go_live(self, actor: str, *, confirm: str) -> Epoch:
        """Switch the election from test to live (once). ``confirm`` must be the election's slug."""
        return self._start("go-live", actor, confirm)

    def reset_rehearsal(self, actor: str, *, confirm: str) -> Epoch:
        """Set the rehearsal's records aside for another rehearsal (test mode only)."""
        return self._start("reset-rehearsal", actor, confirm)

    def _start(self, action: EpochAction, actor: str, confirm: str) -> Epoch:
        if not isinstance(actor, str) or not actor.strip():
            raise EpochChangeRefused("changing the election's mode needs an actor",
                                     [FieldProblem("actor", "required", "must not be empty")])
        if (confirm or "").strip() != self.context.slug:
            what = "go live" if action == "go-live" else "reset the rehearsal"
            message = (f"to {what}, type the election's name {self.context.slug!r} exactly "
                       f"(got {(confirm or '').strip()[:100]!r})")
            raise EpochChangeRefused(message, [FieldProblem("confirm", "confirmation-mismatch", message)])
        try:
            epoch = start_epoch(self.engine, self.context.slug, action, actor=actor, now=self.clock())
        except EpochRefused as exc:
            raise EpochChangeRefused(exc.message, [FieldProblem("mode", "already-live", exc.message)]) from None
        if self.releases.continuous():
            self.releases.set_continuous(False, actor=actor)
        self.releases.archive_rehearsal(epoch)
        return epoch
