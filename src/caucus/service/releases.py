"""Releases: numbered, immutable snapshots of every accepted precinct's results, written as files.

``ReleaseService.release()`` derives every precinct's status from the ledger, takes the accepted ones'
records (:mod:`caucus.service.release_records`), compares them with what was released before, builds the
documents in memory (:mod:`caucus.publish`, a pure function) and their manifest, then records release n in
one short transaction: the ``releases`` row (its content hash is the manifest's sha256) and the records that
changed. ``UNIQUE(election, number)`` decides which worker writes release n; a loser recomputes. Only then
are the files written (staged, renamed into ``releases/<n>/``) and ``latest`` moved. Every input of the
documents is in the database, so a release whose files are missing (a crash after the commit) is rebuilt
byte for byte (:meth:`ReleaseService.repair`), and its manifest must hash to the recorded content hash.

A released precinct stays released: if it is later held for review, its last released record stands until
it is accepted again (the held list of :meth:`preview` names it). A precinct is released again only when
its published record changes (its numbers, provenance, findings or photos; not merely the ledger position).

Safe releases: the zero-count rehearsal release is refused once a real release is out (it would replace the
results with zeros); certifying names what is outstanding (not reported, incomplete, held, conflicting) and
is refused unless the director acknowledges exactly those precincts; after certification, a release is a
"certified, corrected" release that must say why (``correctionOf`` in the feed), and continuous release
stops. Every path (HQ, ``caucus release now|certify|watch``, the continuous loop) is this one class, and it
always publishes the worksheet photos (their public copies: re-encoded, every metadata block stripped;
the originals stay for HQ).

Epochs (:mod:`caucus.ledger.epochs`): releases up to the current epoch's ``releases_through`` are the
rehearsal's, archived; the first release after a go-live has no ``previous`` and starts from nothing.
"""

from __future__ import annotations

import builtins
import json
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import IntegrityError

from caucus.ledger import audit as ledger_audit
from caucus.ledger import canonical_json, derived
from caucus.ledger.chain import GENESIS_HASH
from caucus.ledger.db import is_sqlite, utcnow, write_transaction
from caucus.ledger.epochs import Epoch, read_epoch
from caucus.ledger.schema import (
    election_epochs,
    elections,
    ledger_entries,
    precinct_status,
    precincts,
    release_modes,
    release_precincts,
    releases,
)
from caucus.publish.bulk import DEFAULT_INTERVAL, Standing, built_in
from caucus.publish.documents import BULK_FILES, FeedBuilder, plan_documents
from caucus.publish.manifest import Entries, is_part
from caucus.publish.model import ReleaseMeta, iso
from caucus.publish.store import MissingRelease, Snapshot, SnapshotStore, unlocated
from caucus.service.context import ElectionContext
from caucus.service.errors import FieldProblem, ServiceError
from caucus.service.maintained import stale_statuses
from caucus.service.media import PhotoRecord, PhotoService, PublicCopy
from caucus.service.release_bulk import BulkInterval, standing_of
from caucus.service.release_certify import Outstanding, acknowledgement_problem
from caucus.service.release_feed import (
    FeedCache,
    Pending,
    form_digest,
    latest_records,
    published_form,
    released_since,
)
from caucus.service.release_manifests import record_parts, recorded_entries, recorded_paths
from caucus.service.release_preview import (
    HeldPrecinct,
    ReleasePreview,
    bulk_due,
    from_statuses,
    maintained_preview,
    plan_order,
)
from caucus.service.release_records import Record, change_of, precinct_record, zero_record
from caucus.service.release_scan import AcceptedScan
from caucus.service.status import PrecinctStatus, read_status, read_statuses

CONTINUOUS_ACTOR = "continuous-release"
MAX_ATTEMPTS = 5


class ReleaseInvalid(ServiceError):
    code = "release-invalid"


class NothingToRelease(ServiceError):
    """A release now would publish the latest release again (no precinct, file or standing would differ)."""

    code = "nothing-to-release"


class ReleaseContended(ServiceError):
    """Other workers kept taking the next release number."""

    code = "release-contended"


@dataclass(frozen=True)
class ReleaseRecord:
    number: int
    created_at: datetime
    actor: str
    test: bool
    status: str  # unofficial | certified
    zero: bool
    content_hash: str
    precincts_reporting: int
    precincts_total: int
    note: str
    certified_act: str | None
    #: a release of the rehearsal, archived by a go-live or a reset (kept, never served)
    archived: bool = False
    #: a certified release correcting the earlier certified release of this number
    correction_of: int | None = None


PHOTO_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


def photo_entry(photo: PhotoRecord, copy: PublicCopy) -> dict[str, Any]:
    """A worksheet photo as a released record lists it: its public copy (re-encoded, metadata stripped),
    whose bytes go to ``photos/<sha256>.<ext>``. The original upload is never published."""
    return {"id": photo.id, "sha256": copy.sha256, "contentType": copy.content_type, "bytes": copy.size,
            "width": copy.width, "height": copy.height, "channel": photo.channel,
            "receivedAt": iso(photo.received_at),
            "path": f"photos/{copy.sha256}.{PHOTO_EXTENSIONS.get(copy.content_type, 'bin')}"}


def _record_of(row: Any, epoch: Epoch, correction_of: int | None = None) -> ReleaseRecord:
    return ReleaseRecord(
        number=row.number, created_at=row.created_at, actor=row.actor, test=bool(row.test), status=row.status,
        zero=bool(row.zero), content_hash=row.content_hash, precincts_reporting=row.precincts_reporting,
        precincts_total=row.precincts_total, note=row.note, certified_act=row.certified_act,
        archived=row.number <= epoch.releases_through, correction_of=correction_of,
    )


def _corrections(rows: builtins.list[Any]) -> dict[int, int]:
    """release number -> the certified release it corrects (rows of one epoch, in number order)."""
    found: dict[int, int] = {}
    certified: int | None = None
    for row in rows:
        if row.status == "certified":
            if certified is not None:
                found[row.number] = certified
            certified = row.number
    return found


class ReleaseService:
    """Releases of one election, written under ``snapshot_dir``."""

    def __init__(self, engine: Engine, context: ElectionContext, snapshot_dir: Path, *,
                 clock: Callable[[], datetime] | None = None, photos: PhotoService | None = None,
                 bulk_interval: float = DEFAULT_INTERVAL) -> None:
        self.engine = engine
        self.context = context
        self.store = SnapshotStore(snapshot_dir)
        self.clock = clock or utcnow
        # always: a release without its worksheet photos would differ from one made by another path
        self._photos = photos if photos is not None else PhotoService(engine, context, clock=self.clock)
        self._lock = threading.Lock()  # one release at a time in this process; the database decides across
        self._feed = FeedCache(context.plan)  # what the next release is built from (caucus.service.release_feed)
        # when the whole-state files are built (caucus.service.release_bulk)
        self.bulk = BulkInterval(engine, context.election_id, self._feed, bulk_interval)
        # which precincts' records may have changed (caucus.service.release_scan)
        self._scan = AcceptedScan(engine, context, self._record, self._photos.public_lists)
        #: ((epoch, releases through, latest release), when its carried whole-state files are due)
        self._due: tuple[tuple[int, int, int], datetime | None] | None = None

    # -- reading ---------------------------------------------------------------------------------------

    def epoch(self) -> Epoch:
        """The election's current epoch (mode, and the releases archived by a go-live or reset)."""
        return read_epoch(self.engine, self.context.election_id)

    def _rows(self, conn: Connection) -> builtins.list[Any]:
        """Every release's row, without its manifest (megabytes each at national size)."""
        columns = [c for c in releases.c if c.name != "manifest"]
        return builtins.list(conn.execute(select(*columns).where(releases.c.election_id == self.context.election_id)
                                          .order_by(releases.c.number)))

    def list(self) -> builtins.list[ReleaseRecord]:
        """Every release (the rehearsal's archived ones too, flagged), newest first."""
        with self.engine.connect() as conn:
            epoch = read_epoch(conn, self.context.election_id)
            rows = self._rows(conn)
        corrections = _corrections([r for r in rows if r.number > epoch.releases_through])
        return [_record_of(row, epoch, corrections.get(row.number)) for row in reversed(rows)]

    def get(self, number: int) -> ReleaseRecord:
        found = [r for r in self.list() if r.number == number]
        if not found:
            raise ReleaseInvalid(f"there is no release {number}",
                                 [FieldProblem("number", "unknown", "no such release")])
        return found[0]

    def _standing(self, conn: Connection, epoch: Epoch, upto: int | None = None) -> tuple[bool, Any | None]:
        """(whether a real, non-zero release of this epoch exists, the newest certified release row of this
        epoch), among releases numbered <= ``upto``."""
        query = select(releases.c.number, releases.c.zero, releases.c.status, releases.c.certified_act).where(
            releases.c.election_id == self.context.election_id, releases.c.number > epoch.releases_through)
        if upto is not None:
            query = query.where(releases.c.number <= upto)
        rows = builtins.list(conn.execute(query.order_by(releases.c.number)))
        certified = [r for r in rows if r.status == "certified"]
        return any(not r.zero for r in rows), (certified[-1] if certified else None)

    def continuous(self) -> bool:
        """Whether continuous release is on (the latest switch wins; off until first switched on)."""
        with self.engine.connect() as conn:
            value = conn.execute(select(release_modes.c.continuous)
                                 .where(release_modes.c.election_id == self.context.election_id)
                                 .order_by(release_modes.c.id.desc()).limit(1)).scalar()
        return bool(value)

    def _released(self, conn: Connection, upto: int | None = None, epoch: Epoch | None = None
                  ) -> tuple[dict[str, Record], dict[str, int], dict[str, int]]:
        """Each precinct's latest released record (in this epoch's releases <= ``upto``): records, the release
        each came from, the ledger seq each was derived up to."""
        epoch = epoch or read_epoch(conn, self.context.election_id)
        query = (select(release_precincts.c.precinct_code, release_precincts.c.number, release_precincts.c.record,
                        release_precincts.c.ledger_seq)
                 .where(release_precincts.c.election_id == self.context.election_id,
                        release_precincts.c.number > epoch.releases_through)
                 .order_by(release_precincts.c.number))
        if upto is not None:
            query = query.where(release_precincts.c.number <= upto)
        records: dict[str, Record] = {}
        numbers: dict[str, int] = {}
        seqs: dict[str, int] = {}
        for row in conn.execute(query):
            records[row.precinct_code] = json.loads(row.record)
            numbers[row.precinct_code] = row.number
            seqs[row.precinct_code] = row.ledger_seq
        return records, numbers, seqs

    def _statuses(self) -> builtins.list[PrecinctStatus]:
        """Every precinct's status as HQ sees it (ledger, four eyes, review decisions)."""
        return list(read_statuses(self.engine, self.context).values())

    @staticmethod
    def _record(status: PrecinctStatus, photos: Mapping[str, builtins.list[tuple[PhotoRecord, PublicCopy]]]
                ) -> Record:
        record = precinct_record(status)
        record["photos"] = [photo_entry(p, c) for p, c in photos.get(status.info.code, ())]
        return record

    def _accepted(self) -> tuple[dict[str, Record], builtins.list[PrecinctStatus]]:
        """(the accepted precincts' records now, the statuses of the others)."""
        accepted: dict[str, Record] = {}
        others: builtins.list[PrecinctStatus] = []
        statuses = self._statuses()
        photos = self._photos.public_lists()  # one query, not one per precinct
        for status in statuses:
            if status.state == "accepted":
                record = self._record(status, photos)
                # as stored: canonical key order, so a rebuild from the database gives the same bytes
                accepted[status.info.code] = json.loads(canonical_json(record))
            else:
                others.append(status)
        return accepted, others

    def _candidates(self) -> tuple[dict[str, Record], builtins.list[HeldPrecinct], dict[str, Record],
                                   Outstanding]:
        """(accepted precinct records now, held precincts, records released so far, what is outstanding)."""
        with self.engine.connect() as conn:
            released, _, _ = self._released(conn)
        accepted, others = self._accepted()
        held: builtins.list[HeldPrecinct] = []
        groups: dict[str, builtins.list[str]] = {"not-reported": [], "reported": [], "held-for-review": [],
                                                 "conflicting": []}
        for status in others:
            groups[status.state].append(status.info.code)
            if status.state != "not-reported":
                held.append(HeldPrecinct(status.info.code, status.state, status.reasons,
                                         status.info.code in released))
        outstanding = Outstanding(*(tuple(sorted(groups[k])) for k in ("not-reported", "reported",
                                                                      "held-for-review", "conflicting")))
        return accepted, held, released, outstanding

    def outstanding(self) -> Outstanding:
        """The precincts without accepted results now (what certifying must acknowledge), from the maintained
        status rows (:mod:`caucus.service.maintained`; stale rows derived on read)."""
        groups: dict[str, builtins.list[str]] = {"not-reported": [], "reported": [], "held-for-review": [],
                                                 "conflicting": []}
        with self.engine.connect() as conn:
            stale = stale_statuses(conn, self.context, self.engine)
            rows = dict(conn.execute(select(precincts.c.code, precinct_status.c.state).join(
                precinct_status, precinct_status.c.precinct_id == precincts.c.id).where(
                precinct_status.c.election_id == self.context.election_id)).all())
        for code in self.context.precincts:
            state = stale[code].state if code in stale else rows.get(code) or "not-reported"
            if state in groups:
                groups[state].append(code)
        return Outstanding(*(tuple(sorted(groups[k])) for k in ("not-reported", "reported", "held-for-review",
                                                               "conflicting")))

    def preview(self) -> ReleasePreview:
        """What a release now would publish and hold back, from the maintained state
        (:mod:`caucus.service.release_preview`): what :meth:`derived_preview` says, without deriving every
        precinct."""
        return maintained_preview(self)

    def derived_preview(self) -> ReleasePreview:
        """The preview from every precinct's status derived now (minutes at national size: for checks)."""
        accepted, _, released, _ = self._candidates()
        changed = [code for code, record in accepted.items()
                   if published_form(record) != published_form(released.get(code))]
        latest = [r for r in self.list() if not r.archived]
        with self.engine.connect() as conn:
            epoch = read_epoch(conn, self.context.election_id)
            real, certified = self._standing(conn, epoch)
            order = plan_order(conn, self.context.election_id)
        n_accepted, first_held, held_count, outstanding, first_changed = from_statuses(
            self._statuses(), order, released, changed)
        return ReleasePreview(accepted=n_accepted, new=len(changed), changed=first_changed, held=first_held,
                              held_count=held_count, precincts_total=len(self.context.precincts),
                              last_release=latest[0].number if latest else None, continuous=self.continuous(),
                              zero_refused=_zero_refusal(real, certified), outstanding=outstanding,
                              certified=certified.number if certified is not None else None, mode=epoch.mode,
                              bulk_due=bulk_due(self), last_zero=bool(latest and latest[0].zero))

    # -- what the maintained preview asks of the service -----------------------------------------------

    def standing(self, conn: Connection, epoch: Epoch) -> tuple[bool, Any | None]:
        return self._standing(conn, epoch)

    @staticmethod
    def zero_refusal(real: bool, certified: Any | None) -> str | None:
        return _zero_refusal(real, certified)

    def status(self, code: str) -> PrecinctStatus:
        return read_status(self.engine, self.context, code)

    def photo_lists(self, codes: Collection[str]) -> Mapping[str, builtins.list[tuple[PhotoRecord, PublicCopy]]]:
        return self._photos.public_lists(codes)

    def record_of(self, status: PrecinctStatus,
                  photos: Mapping[str, builtins.list[tuple[PhotoRecord, PublicCopy]]]) -> Record:
        return self._record(status, photos)

    # -- releasing -------------------------------------------------------------------------------------

    def release(self, *, actor: str, zero: bool = False, note: str = "", even_if_unchanged: bool = True
                ) -> ReleaseRecord:
        """Release every accepted precinct now (``zero``: the zero-count rehearsal release, only before the
        first real release). After certification the release is a "certified, corrected" one: ``note`` must
        say why. ``even_if_unchanged=False`` (the CLI's and HQ's default) refuses with
        :class:`NothingToRelease` a release that would differ from the epoch's latest in nothing: no
        precinct new or changed, no carried whole-state file due, the same status, test flag, note and act."""
        made = self._release(actor=actor, zero=zero, note=note, act=None, even_if_unchanged=even_if_unchanged)
        assert made is not None  # only a release_if_new finds nothing to do
        return made

    def certify(self, *, actor: str, act: str, acknowledge: Collection[str] = (),
                counts: Mapping[str, int] | None = None) -> ReleaseRecord:
        """A new release with status ``certified``, recording the certifying act. The precincts without
        accepted results (:meth:`outstanding`) must be named in the act: either every code in ``acknowledge``
        (exactly those), or how many there are of each kind in ``counts`` (``not-reported``, ``incomplete``,
        ``held``, ``conflicting``; exactly those numbers). A blind or stale acknowledgement is refused. What
        was acknowledged is published in the release's note."""
        if not isinstance(act, str) or not act.strip():
            raise ReleaseInvalid("certifying needs the certifying act (for example the state central "
                                 "committee's resolution)", [FieldProblem("act", "required", "must not be empty")])
        outstanding = self.outstanding()
        problem = acknowledgement_problem(outstanding, acknowledge, counts)
        if problem is not None:
            raise ReleaseInvalid(problem, [FieldProblem("acknowledge", "acknowledgement-mismatch", problem)])
        note = f"certified with precincts outstanding: {outstanding.describe()}" if outstanding.codes else ""
        made = self._release(actor=actor, zero=False, note=note, act=act.strip(),
                             acknowledged=sorted(outstanding.codes))
        assert made is not None
        return made

    def release_if_new(self, *, actor: str = CONTINUOUS_ACTOR) -> ReleaseRecord | None:
        """Release only when some accepted precinct is new or changed, or the whole-state files the latest
        release carries are due (continuous release); None otherwise, after certification (a correction of
        certified results is a deliberate act), or when another worker took the number first."""
        try:
            return self._release(actor=actor, zero=False, note="", act=None, only_if_new=True, attempts=1)
        except ReleaseContended:
            return None

    def bulk_due_at(self) -> datetime | None:
        """When the latest release's carried whole-state files are due (None: it built its own). Remembered per
        latest release (it never changes): the release page asks on every view, and finding the holder may
        read the latest manifest (megabytes at national size) from the database."""
        key = self._key(self.epoch())
        with self.engine.connect() as conn:
            latest = conn.execute(select(func.max(releases.c.number))
                                  .where(releases.c.election_id == self.context.election_id)).scalar()
        asked = (*key, int(latest or 0))
        remembered = self._due
        if remembered is not None and remembered[0] == asked:
            return remembered[1]
        due = self.bulk.due_at(key)
        self._due = (asked, due)
        return due

    def _release(self, *, actor: str, zero: bool, note: str, act: str | None, only_if_new: bool = False,
                 attempts: int = MAX_ATTEMPTS, acknowledged: builtins.list[str] | None = None,
                 even_if_unchanged: bool = True) -> ReleaseRecord | None:
        if not isinstance(actor, str) or not actor.strip():
            raise ReleaseInvalid("a release needs an actor", [FieldProblem("actor", "required", "must not be empty")])
        with self._lock:
            for _ in range(attempts):
                epoch = self.epoch()
                accepted = self._scan.scan(self._key(epoch))  # the accepted records that may have changed
                written = self._try_release(actor=actor, zero=zero, note=note.strip(), act=act, accepted=accepted,
                                            only_if_new=only_if_new, epoch=epoch, acknowledged=acknowledged,
                                            even_if_unchanged=even_if_unchanged)
                if written != "contended":
                    return written
            raise ReleaseContended(f"other workers took the next release number {attempts} times in a row; "
                                   "try again")

    def _refuse_if_same(self, number: int, key: tuple[int, int], standing: Standing) -> None:
        """Raise :class:`NothingToRelease` when release ``number - 1`` (of this epoch) has ``standing``: with no
        precinct changed and no whole-state file due, release ``number`` would publish it again."""
        if number - 1 <= key[1]:
            return  # the epoch's first release publishes what nothing did before
        with self.engine.connect() as conn:
            row = conn.execute(select(releases.c.status, releases.c.test, releases.c.zero, releases.c.note,
                                      releases.c.certified_act).where(
                releases.c.election_id == self.context.election_id, releases.c.number == number - 1)).one()
        if standing_of(row) != standing:
            return
        due = self.bulk.due_at(key)
        lag = "" if due is None else (f"; the whole-state files (precincts.*, nist) it carries are due at "
                                      f"{self.context.plan.settings.moment(due)}, after which a release brings them "
                                      "up to date")
        raise NothingToRelease(f"nothing changed since release {number - 1}: no precinct is newly accepted or "
                               f"changed and the status, test flag and note are the same{lag}. No release was "
                               "made (a release now would publish the same results again)")

    def _next_number(self, conn: Connection) -> int:
        current = conn.execute(select(func.max(releases.c.number))
                               .where(releases.c.election_id == self.context.election_id)).scalar()
        return int(current or 0) + 1

    def _anchor(self) -> tuple[datetime, tuple[int, str]]:
        """The release's time and the ledger head it is built from: the election's newest entry (seq and
        content hash; the chain spans epochs, so a rehearsal's entries count), read together while holding
        the lock every ledger writer takes before it reads its clock (SQLite's write lock; the election's
        row on PostgreSQL). So every entry after the head was received at or after that time, which is what
        ``caucus verify --against-release`` relies on to find an entry added later but dated before."""
        with write_transaction(self.engine) as conn:
            if not is_sqlite(conn):
                conn.execute(select(elections.c.id).where(elections.c.id == self.context.election_id)
                             .with_for_update(read=True))
            now = self.clock()
            head = conn.execute(select(ledger_entries.c.seq, ledger_entries.c.content_hash)
                                .where(ledger_entries.c.election_id == self.context.election_id)
                                .order_by(ledger_entries.c.seq.desc()).limit(1)).first()
        return now, ((int(head.seq), str(head.content_hash)) if head is not None else (0, GENESIS_HASH))

    def _meta(self, number: int, created_at: datetime, *, status: str, zero: bool, note: str,
              act: str | None, epoch: Epoch, test: bool, correction_of: int | None = None,
              ledger_head: tuple[int, str] | None = None) -> ReleaseMeta:
        plan = self.context.plan
        return ReleaseMeta(election=self.context.slug, title=plan.title, number=number, created_at=created_at,
                           status=status, test=test, zero=zero, note=note, certified_act=act,
                           previous=number - 1 if number - 1 > epoch.releases_through else None,
                           election_date=plan.settings.date.isoformat(), correction_of=correction_of,
                           ledger_head=ledger_head)

    def _key(self, epoch: Epoch) -> tuple[int, int]:
        return epoch.number, epoch.releases_through

    def _full(self, meta: ReleaseMeta, records: Mapping[str, Record], changes: builtins.list[dict[str, Any]],
              released_in: Mapping[str, int], key: tuple[int, int], *, bulk: bool = True,
              digits: int | None = None) -> tuple[Snapshot, Pending]:
        """Every file of a release built from all its records (a cold cache, a zero release, a repair); the
        bulk files only if ``bulk`` (else release n-1's entries); ``digits``: the manifest's part digits (a
        rebuild gives the recorded release's)."""
        built = FeedBuilder(self.context.plan).build(meta, records, changes, released_in, bulk=bulk)
        files = dict(built.files)
        files.update(plan_documents(self.context.plan))
        for record in records.values():
            for photo in record.get("photos") or ():
                files[photo["path"]] = self._photos.published_bytes(int(photo["id"]), photo["sha256"])
        pending = self._feed.full(built, key, records, files, number=meta.number, digits=digits,
                                  previous=self._previous_entries(meta.number, key), carried=() if bulk else BULK_FILES)
        return self._snapshot(meta, files, pending), pending

    def _snapshot(self, meta: ReleaseMeta, files: dict[str, bytes], pending: Pending) -> Snapshot:
        """Release ``meta.number``'s manifest and the parts it wrote, added to its ``files``."""
        manifest, parts = pending.entries.render(meta.election, meta.number, iso(meta.created_at), meta.head_json())
        files.update(parts)
        pending.files.update(parts)
        return Snapshot(meta.number, files, manifest)

    def _previous_entries(self, number: int, key: tuple[int, int]) -> Entries:
        """Release ``number - 1``'s manifest entries (where each file's bytes are), none for an epoch's first."""
        if number - 1 <= key[1]:
            return Entries(self._feed.digits)
        if self._feed.key == key and self._feed.number == number - 1:
            return self._feed.entries
        with self.engine.connect() as conn:
            return recorded_entries(conn, self.context.election_id, number - 1)

    def _incremental(self, meta: ReleaseMeta, changed: Mapping[str, Record],
                     caught: Mapping[str, tuple[int, Record]], changes: builtins.list[dict[str, Any]],
                     key: tuple[int, int], *, bulk: bool = True) -> tuple[Snapshot, Pending]:
        """A release built from the cached one: the precincts ``changed`` now and those other workers released
        since it (``caught``: (release, record)) are rebuilt, with their counties and the aggregates; every
        other file keeps the cached release's manifest entry (its bytes stay where they are)."""
        feed = self._feed
        touched = set(changed) | set(caught)
        records = {code: record for code, (_, record) in caught.items()}
        released_in = {code: n for code, (n, _) in caught.items()}
        need = feed.builder.affected(touched) - touched
        if need:
            with self.engine.connect() as conn:
                fetched = latest_records(conn, self.context.election_id, need, after=key[1], upto=meta.number - 1)
            for code, (n, record) in fetched.items():
                records[code], released_in[code] = record, n
        records.update(changed)
        released_in.update(dict.fromkeys(changed, meta.number))
        built = feed.builder.build(meta, records, changes, released_in, changed=touched, bulk=bulk)
        files = dict(built.files)
        for code in touched:
            for photo in records[code].get("photos") or ():
                if photo["path"] not in feed.entries:
                    files[photo["path"]] = self._photos.published_bytes(int(photo["id"]), photo["sha256"])
        previous = None if feed.number == meta.number - 1 else self._previous_entries(meta.number, key)
        pending = feed.incremental(built, key, records, files, touched, number=meta.number, previous=previous)
        return self._snapshot(meta, files, pending), pending

    def _zero_records(self) -> dict[str, Record]:
        return {p.code: zero_record(p.code, county=p.county, name=p.name, kind=p.kind, delegates=p.delegates,
                                    candidates=self.context.candidates)
                for p in self.context.plan.precincts}

    def _epoch_unchanged(self, conn: Connection, epoch: Epoch) -> bool:
        """Inside the release's transaction: the election's epoch is still ``epoch`` (a go-live or reset in
        between would make this release the rehearsal's). Locks the election's row against one meanwhile."""
        query = select(elections.c.mode).where(elections.c.id == self.context.election_id)
        mode = conn.execute(query if is_sqlite(conn) else query.with_for_update(read=True)).scalar_one()
        count = conn.execute(select(func.count()).select_from(election_epochs)
                             .where(election_epochs.c.election_id == self.context.election_id)).scalar_one()
        return bool(mode == epoch.mode and count == epoch.number)

    def _try_release(self, *, actor: str, zero: bool, note: str, act: str | None, accepted: dict[str, Record],
                     only_if_new: bool, epoch: Epoch, acknowledged: builtins.list[str] | None,
                     even_if_unchanged: bool = True) -> ReleaseRecord | Literal["contended"] | None:
        """Release ``number`` = the next one, against what releases up to ``number - 1`` hold (so a release
        another worker commits meanwhile can only make our insert fail, never go unseen); "contended" if
        another worker took the number or the epoch changed; None if ``only_if_new`` and nothing is new (or
        results are certified)."""
        now, head = self._anchor()
        key = self._key(epoch)
        with self.engine.connect() as conn:
            number = self._next_number(conn)
            real, certified = self._standing(conn, epoch, number - 1)
            warm = self._feed.warm(key, number - 1)
            if warm:  # what other workers released since the cached release
                caught = released_since(conn, self.context.election_id, after=int(self._feed.number or 0),
                                        upto=number - 1)
                released_forms = {**self._feed.forms, **{c: form_digest(r) for c, (_, r) in caught.items()}}
            else:
                released, released_in, _ = self._released(conn, number - 1, epoch)
        if zero:
            refusal = _zero_refusal(real, certified)
            if refusal is not None:
                raise ReleaseInvalid(refusal, [FieldProblem("zero", "zero-after-results", refusal)])
        correction_of = None
        if certified is not None:
            if only_if_new:
                return None  # continuous release stops at certification
            correction_of = certified.number
            if act is None:
                if not note:
                    message = (f"results were certified in release {certified.number}; a release now publishes "
                               "them as certified, corrected: say why in the note (e.g. the recanvass or the "
                               "committee's decision)")
                    raise ReleaseInvalid(message, [FieldProblem("note", "correction-reason", message)])
                act = str(certified.certified_act)
        if warm:
            changed = {code: record for code, record in accepted.items()
                       if form_digest(record) != released_forms.get(code)}
        else:
            changed = {code: record for code, record in accepted.items()
                       if published_form(record) != published_form(released.get(code))}
        status = "certified" if act is not None else "unofficial"
        meta = self._meta(number, now, status=status, zero=zero, note=note, act=act, epoch=epoch,
                          test=epoch.mode == "test", correction_of=correction_of, ledger_head=head)
        with self.engine.connect() as conn:  # the bulk files: built now, or carried within their interval
            bulk = self.bulk.decide(conn, number, key, created_at=now, standing=Standing(
                status, meta.test, zero, note, act))
        if only_if_new and not changed and not (bulk.build and bulk.lagging):
            return None  # nothing new, and no carried bulk file due
        if not (even_if_unchanged or zero or changed or (bulk.build and bulk.lagging)):
            self._refuse_if_same(number, key, Standing(status, meta.test, zero, note, act))
        ledger_seq = max([int(r["ledgerSeq"]) for r in changed.values()] + [0])
        if zero:
            snapshot, pending = self._full(meta, self._zero_records(), [], {}, key)
            rows: dict[str, Record] = {}
            ledger_seq = 0
        elif warm and not self._feed.builder.needs_full(meta):
            with self.engine.connect() as conn:
                before = latest_records(conn, self.context.election_id, set(changed) & set(released_forms),
                                        after=epoch.releases_through, upto=number - 1)
                ledger_seq = max(ledger_seq, self._released_seq(conn, epoch, number - 1))
            changes = [change_of(before[code][1] if code in before else None, changed[code])
                       for code in sorted(changed)]
            snapshot, pending = self._incremental(meta, changed, caught, changes, key, bulk=bulk.build)
            rows = changed
        else:
            if warm:  # the cache is of this epoch but its documents carry other facts: build in full
                with self.engine.connect() as conn:
                    released, released_in, _ = self._released(conn, number - 1, epoch)
            records = {**released, **changed}
            changes = [change_of(released.get(code), changed[code]) for code in sorted(changed)]
            rows = changed
            released_in = {**released_in, **dict.fromkeys(changed, number)}
            ledger_seq = max([int(r["ledgerSeq"]) for r in records.values()] + [0])
            snapshot, pending = self._full(meta, records, changes, released_in, key, bulk=bulk.build)
        reporting = 0 if zero else len(set(released_forms if warm else released) | set(changed))
        total = len(self.context.plan.precincts)
        try:
            with write_transaction(self.engine) as conn:
                if not self._epoch_unchanged(conn, epoch):
                    return "contended"  # went live (or reset) meanwhile: build again from the new epoch
                conn.execute(releases.insert().values(
                    election_id=self.context.election_id, number=number, created_at=now, actor=actor,
                    test=meta.test, status=status, zero=zero, content_hash=snapshot.content_hash,
                    precincts_reporting=reporting, precincts_total=total, ledger_seq=ledger_seq, note=note,
                    certified_act=act, manifest=snapshot.manifest.decode()))
                record_parts(conn, self.context.election_id,
                             {path: data for path, data in snapshot.files.items() if is_part(path)})
                if rows:
                    conn.execute(release_precincts.insert(), [
                        {"election_id": self.context.election_id, "number": number, "precinct_code": code,
                         "ledger_seq": int(record["ledgerSeq"]), "record": canonical_json(record)}
                        for code, record in sorted(rows.items())])
                    # what this release holds of each precinct, for the release page (same transaction)
                    derived.set_released(conn, self.context.election_id, number, rows)
                detail: dict[str, Any] = {"number": number, "status": status, "zero": zero, "test": meta.test,
                                          "reporting": reporting, "total": total, "changed": len(rows),
                                          "content_hash": snapshot.content_hash,
                                          "ledger_head": {"seq": head[0], "hash": head[1]}}
                if correction_of is not None:
                    detail["correction_of"] = correction_of
                if acknowledged is not None:
                    detail["acknowledged_outstanding"] = acknowledged
                ledger_audit.record(conn, election_id=self.context.election_id, actor=actor, action="release",
                                    detail=detail, outcome="ok", at=now)
        except IntegrityError:
            return "contended"  # another worker wrote release `number` first
        self._write(snapshot, pending, zero=zero)
        self._point(number)
        return ReleaseRecord(number=number, created_at=now, actor=actor, test=meta.test, status=status, zero=zero,
                             content_hash=snapshot.content_hash, precincts_reporting=reporting,
                             precincts_total=total, note=note, certified_act=act, correction_of=correction_of)

    def _write(self, snapshot: Snapshot, pending: Pending, *, zero: bool) -> None:
        """Write a recorded release's files and keep what the next one is built from (a zero release's
        records are not the released ones: nothing is kept after it)."""
        self._with_sources(lambda: self.store.write(snapshot))
        if zero:
            self._feed.drop()
        else:
            self._feed.commit(pending)
            self._scan.released(self._feed.forms)

    def _point(self, number: int) -> None:
        """Move ``latest`` to release ``number``."""
        self._with_sources(lambda: self.store.point_latest(number))

    def _with_sources(self, step: Callable[[], object]) -> None:
        """Run ``step`` (a write or a pointer move); a release it takes files from whose directory is missing
        (a crash between its commit and its write, or its worker still writing) is written first, from the
        database."""
        for _ in range(16):
            try:
                step()
                return
            except MissingRelease as missing:
                if self.store.has(missing.number):
                    if self.store.located(missing.number, missing.path).is_file():
                        continue  # its worker finished writing it just now
                    raise  # written, but without that file: not ours to repair
                self._write_from_database(missing.number)
        step()

    def _write_from_database(self, number: int) -> None:
        self._with_sources(lambda: self.store.write(self.rebuild(number)))

    def _released_seq(self, conn: Connection, epoch: Epoch, upto: int) -> int:
        """The ledger seq released records were derived up to (the newest release's, of this epoch)."""
        value = conn.execute(select(func.max(releases.c.ledger_seq)).where(
            releases.c.election_id == self.context.election_id, releases.c.number > epoch.releases_through,
            releases.c.number <= upto)).scalar()
        return int(value or 0)

    # -- repair and switches ---------------------------------------------------------------------------

    def rebuild(self, number: int) -> Snapshot:
        """Release ``number``'s files rebuilt from the database (byte for byte what was released); only a
        release of the current epoch (the rehearsal's archived releases keep the files they were given)."""
        with self.engine.connect() as conn:
            epoch = read_epoch(conn, self.context.election_id)
            rows = [r for r in self._rows(conn) if r.number > epoch.releases_through]
            row = next((r for r in rows if r.number == number), None)
            if row is None:
                raise ReleaseInvalid(f"there is no release {number} in the current epoch")
            before, _, _ = self._released(conn, number - 1, epoch)
            after, released_in, _ = self._released(conn, number, epoch)
            manifest = conn.execute(select(releases.c.manifest).where(
                releases.c.election_id == self.context.election_id, releases.c.number == number)).scalar_one()
            bulk_entries = recorded_paths(conn, self.context.election_id, number, BULK_FILES)
        recorded = json.loads(manifest)
        published = recorded.get("ledgerHead")  # None for a release made before heads
        meta = self._meta(number, row.created_at, status=row.status, zero=bool(row.zero), note=row.note,
                          act=row.certified_act, epoch=epoch, test=bool(row.test),
                          correction_of=_corrections(rows).get(number),
                          ledger_head=None if published is None else (int(published["seq"]), str(published["hash"])))
        if meta.zero:
            records, changes = self._zero_records(), []
        else:
            records = after
            changes = [change_of(before.get(code), after[code]) for code in sorted(after)
                       if released_in.get(code) == number]
        # the bulk files as the release decided (built_in: its recorded manifest, whose hash is checked below)
        snapshot, _ = self._full(meta, records, changes, released_in, self._key(epoch),
                                 bulk=meta.zero or built_in(bulk_entries, number),
                                 digits=int(recorded.get("partDigits", 0)))
        if recorded["files"] and "release" not in recorded["files"][0]:  # made before entries said where bytes are
            snapshot = Snapshot(number, snapshot.files, unlocated(snapshot.manifest))
        if snapshot.content_hash != row.content_hash:
            raise RuntimeError(f"release {number} rebuilt to manifest sha256 {snapshot.content_hash}, but "
                               f"{row.content_hash} was released")
        return snapshot

    def archive_rehearsal(self, epoch: Epoch | None = None) -> None:
        """Bring the snapshot directory to the current epoch: the rehearsal's releases archived, ``latest``
        gone until the epoch's first release (after a go-live or reset; repair runs it too)."""
        epoch = epoch or self.epoch()
        if epoch.number == 0:
            return
        state = self.store.epoch()
        if state.get("epoch") != epoch.number or state.get("mode") != epoch.mode:
            self.store.start_epoch(epoch.releases_through + 1, mode=epoch.mode, epoch=epoch.number)

    def repair(self) -> builtins.list[int]:
        """Write the files of any recorded release of the current epoch that has none (a crash between commit
        and write), archive the rehearsal's if a go-live's file step did not finish, and point ``latest`` at
        the newest; the numbers rebuilt."""
        epoch = self.epoch()
        self.archive_rehearsal(epoch)
        rebuilt = []
        current = sorted((r for r in self.list() if not r.archived), key=lambda r: r.number)
        for record in current:
            if not self.store.has(record.number):
                self.store.write(self.rebuild(record.number))
                rebuilt.append(record.number)
        if current:
            self._point(current[-1].number)
        return rebuilt

    def set_continuous(self, on: bool, *, actor: str) -> None:
        """Switch continuous release on or off (recorded with its actor)."""
        if not isinstance(actor, str) or not actor.strip():
            raise ReleaseInvalid("switching continuous release needs an actor")
        now = self.clock()
        with write_transaction(self.engine) as conn:
            conn.execute(release_modes.insert().values(election_id=self.context.election_id, continuous=bool(on),
                                                       actor=actor, at=now))
            ledger_audit.record(conn, election_id=self.context.election_id, actor=actor,
                                action="continuous-release", detail={"on": bool(on)}, outcome="ok", at=now)


def _zero_refusal(real: bool, certified: Any | None) -> str | None:
    """Why a zero-count release is refused now, or None."""
    if certified is not None:
        return (f"results were certified in release {certified.number}; a zero-count release would replace "
                "them on the public site")
    if real:
        return ("a zero-count rehearsal release is only for before the first real release: results are out, "
                "and zeros would replace them on the public site")
    return None
