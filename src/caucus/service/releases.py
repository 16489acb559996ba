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
it is accepted again (the held list of :meth:`preview` names it).
"""

from __future__ import annotations

import builtins
import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import IntegrityError

from caucus.ledger import audit as ledger_audit
from caucus.ledger import canonical_json, precinct_states
from caucus.ledger.db import utcnow, write_transaction
from caucus.ledger.schema import release_modes, release_precincts, releases
from caucus.publish.documents import build_documents
from caucus.publish.model import ReleaseMeta, iso
from caucus.publish.store import Snapshot, SnapshotStore, manifest_of
from caucus.service.context import ElectionContext
from caucus.service.errors import FieldProblem, ServiceError
from caucus.service.media import PhotoRecord, PhotoService
from caucus.service.release_records import Record, change_of, precinct_record, zero_record
from caucus.service.status import PrecinctStatus, derive_status

CONTINUOUS_ACTOR = "continuous-release"
MAX_ATTEMPTS = 5
_DATE = re.compile(r"(\d{1,2}) (January|February|March|April|May|June|July|August|September|October|November|"
                   r"December) (\d{4})")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


class ReleaseInvalid(ServiceError):
    code = "release-invalid"


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


@dataclass(frozen=True)
class HeldPrecinct:
    code: str
    state: str
    reasons: tuple[str, ...]
    #: True when an earlier release published it (its last released numbers stand)
    released_before: bool


@dataclass(frozen=True)
class ReleasePreview:
    """What a release now would contain."""

    accepted: int
    new: int  # accepted precincts whose record is new or changed since the last release
    changed: tuple[str, ...]
    held: tuple[HeldPrecinct, ...]
    precincts_total: int
    last_release: int | None
    continuous: bool

    @property
    def held_count(self) -> int:
        return len(self.held)


def election_date(title: str) -> str | None:
    """``2020-02-03`` from a plan title naming the day (``..., 3 February 2020``), else None."""
    match = _DATE.search(title)
    if match is None:
        return None
    day, month, year = match.groups()
    return f"{year}-{_MONTHS.index(month) + 1:02d}-{int(day):02d}"


PHOTO_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


def photo_entry(photo: PhotoRecord) -> dict[str, Any]:
    """A worksheet photo as a released record lists it (its bytes go to ``photos/<sha256>.<ext>``)."""
    return {"id": photo.id, "sha256": photo.sha256, "contentType": photo.content_type, "bytes": photo.size,
            "width": photo.width, "height": photo.height, "channel": photo.channel,
            "receivedAt": iso(photo.received_at),
            "path": f"photos/{photo.sha256}.{PHOTO_EXTENSIONS.get(photo.content_type, 'bin')}"}


def _record_of(row: Any) -> ReleaseRecord:
    return ReleaseRecord(
        number=row.number, created_at=row.created_at, actor=row.actor, test=bool(row.test), status=row.status,
        zero=bool(row.zero), content_hash=row.content_hash, precincts_reporting=row.precincts_reporting,
        precincts_total=row.precincts_total, note=row.note, certified_act=row.certified_act,
    )


class ReleaseService:
    """Releases of one election, written under ``snapshot_dir``."""

    def __init__(self, engine: Engine, context: ElectionContext, snapshot_dir: Path, *,
                 clock: Callable[[], datetime] | None = None,
                 status_of: Callable[[ElectionContext, Any, Any], PrecinctStatus] = derive_status,
                 photos: PhotoService | None = None) -> None:
        self.engine = engine
        self.context = context
        self.store = SnapshotStore(snapshot_dir)
        self.clock = clock or utcnow
        self._status_of = status_of
        self._photos = photos
        self._lock = threading.Lock()  # one release at a time in this process; the database decides across

    # -- reading ---------------------------------------------------------------------------------------

    def list(self) -> builtins.list[ReleaseRecord]:
        """Every release, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(releases).where(releases.c.election_id == self.context.election_id)
                                .order_by(releases.c.number.desc()))
            return [_record_of(row) for row in rows]

    def get(self, number: int) -> ReleaseRecord:
        with self.engine.connect() as conn:
            row = conn.execute(select(releases).where(releases.c.election_id == self.context.election_id,
                                                      releases.c.number == number)).first()
        if row is None:
            raise ReleaseInvalid(f"there is no release {number}",
                                 [FieldProblem("number", "unknown", "no such release")])
        return _record_of(row)

    def continuous(self) -> bool:
        """Whether continuous release is on (the latest switch wins; off until first switched on)."""
        with self.engine.connect() as conn:
            value = conn.execute(select(release_modes.c.continuous)
                                 .where(release_modes.c.election_id == self.context.election_id)
                                 .order_by(release_modes.c.id.desc()).limit(1)).scalar()
        return bool(value)

    def _released(self, conn: Connection, upto: int | None = None) -> tuple[dict[str, Record], dict[str, int],
                                                                             dict[str, int]]:
        """Each precinct's latest released record (in releases <= ``upto``): records, the release each came
        from, the ledger seq each was derived up to."""
        query = (select(release_precincts.c.precinct_code, release_precincts.c.number, release_precincts.c.record,
                        release_precincts.c.ledger_seq)
                 .where(release_precincts.c.election_id == self.context.election_id)
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
        states = precinct_states(self.engine, self.context.slug)
        return [self._status_of(self.context, self.context.precincts[code], state)
                for code, state in states.items() if code in self.context.precincts]

    def _candidates(self) -> tuple[dict[str, Record], builtins.list[HeldPrecinct], dict[str, Record]]:
        """(accepted precinct records now, held precincts, records released so far)."""
        with self.engine.connect() as conn:
            released, _, _ = self._released(conn)
        accepted: dict[str, Record] = {}
        held: builtins.list[HeldPrecinct] = []
        for status in self._statuses():
            if status.state == "accepted":
                record = precinct_record(status)
                if self._photos is not None:
                    record["photos"] = [photo_entry(p) for p in self._photos.list(status.info.code)]
                # as stored: canonical key order, so a rebuild from the database gives the same bytes
                accepted[status.info.code] = json.loads(canonical_json(record))
            elif status.state != "not-reported":
                held.append(HeldPrecinct(status.info.code, status.state, status.reasons,
                                         status.info.code in released))
        return accepted, held, released

    def preview(self) -> ReleasePreview:
        accepted, held, released = self._candidates()
        changed = tuple(sorted(code for code, record in accepted.items()
                               if canonical_json(record) != canonical_json(released.get(code))))
        latest = self.list()
        return ReleasePreview(accepted=len(accepted), new=len(changed), changed=changed, held=tuple(held),
                              precincts_total=len(self.context.precincts),
                              last_release=latest[0].number if latest else None, continuous=self.continuous())

    # -- releasing -------------------------------------------------------------------------------------

    def release(self, *, actor: str, zero: bool = False, note: str = "") -> ReleaseRecord:
        """Release every accepted precinct now (``zero``: the zero-count rehearsal release)."""
        made = self._release(actor=actor, zero=zero, note=note, act=None)
        assert made is not None  # only a release_if_new finds nothing to do
        return made

    def certify(self, *, actor: str, act: str) -> ReleaseRecord:
        """A new release with status ``certified``, recording the certifying act."""
        if not isinstance(act, str) or not act.strip():
            raise ReleaseInvalid("certifying needs the certifying act (for example the state central "
                                 "committee's resolution)", [FieldProblem("act", "required", "must not be empty")])
        made = self._release(actor=actor, zero=False, note="", act=act.strip())
        assert made is not None
        return made

    def release_if_new(self, *, actor: str = CONTINUOUS_ACTOR) -> ReleaseRecord | None:
        """Release only when some accepted precinct is new or changed (continuous release); None otherwise,
        or when another worker took the number first."""
        try:
            return self._release(actor=actor, zero=False, note="", act=None, only_if_new=True, attempts=1)
        except ReleaseContended:
            return None

    def _release(self, *, actor: str, zero: bool, note: str, act: str | None, only_if_new: bool = False,
                 attempts: int = MAX_ATTEMPTS) -> ReleaseRecord | None:
        if not isinstance(actor, str) or not actor.strip():
            raise ReleaseInvalid("a release needs an actor", [FieldProblem("actor", "required", "must not be empty")])
        with self._lock:
            for _ in range(attempts):
                accepted, _held, released = self._candidates()
                changed = {code: record for code, record in accepted.items()
                           if canonical_json(record) != canonical_json(released.get(code))}
                if only_if_new and not changed:
                    return None
                written = self._try_release(actor=actor, zero=zero, note=note, act=act, changed=changed,
                                            released=released)
                if written is not None:
                    return written
            raise ReleaseContended(f"other workers took the next release number {attempts} times in a row; "
                                   "try again")

    def _next_number(self, conn: Connection) -> int:
        current = conn.execute(select(func.max(releases.c.number))
                               .where(releases.c.election_id == self.context.election_id)).scalar()
        return int(current or 0) + 1

    def _meta(self, number: int, created_at: datetime, *, status: str, zero: bool, note: str,
              act: str | None) -> ReleaseMeta:
        plan = self.context.plan
        return ReleaseMeta(election=self.context.slug, title=plan.title, number=number, created_at=created_at,
                           status=status, test=self.context.mode == "test", zero=zero, note=note,
                           certified_act=act, previous=number - 1 if number > 1 else None,
                           election_date=election_date(plan.title))

    def _snapshot(self, meta: ReleaseMeta, records: Mapping[str, Record], changes: builtins.list[dict[str, Any]],
                  released_in: Mapping[str, int]) -> Snapshot:
        files = build_documents(self.context.plan, meta, records, changes, released_in)
        if self._photos is not None:
            for record in records.values():
                for photo in record.get("photos") or ():
                    files[photo["path"]] = self._photos.get(int(photo["id"]))[1]
        manifest = manifest_of(meta.election, meta.number, iso(meta.created_at), files)
        return Snapshot(meta.number, files, manifest)

    def _zero_records(self) -> dict[str, Record]:
        return {p.code: zero_record(p.code, county=p.county, name=p.name, kind=p.kind, delegates=p.delegates,
                                    candidates=self.context.candidates)
                for p in self.context.plan.precincts}

    def _try_release(self, *, actor: str, zero: bool, note: str, act: str | None, changed: dict[str, Record],
                     released: dict[str, Record]) -> ReleaseRecord | None:
        now = self.clock()
        with self.engine.connect() as conn:
            number = self._next_number(conn)
            _, released_in, _ = self._released(conn)
            ledger_seq = max([int(r["ledgerSeq"]) for r in released.values()] + [0])
        status = "certified" if act is not None else "unofficial"
        meta = self._meta(number, now, status=status, zero=zero, note=note, act=act)
        if zero:
            records, changes, rows = self._zero_records(), [], {}
        else:
            records = {**released, **changed}
            changes = [change_of(released.get(code), changed[code]) for code in sorted(changed)]
            rows = changed
            released_in = {**released_in, **dict.fromkeys(changed, number)}
            ledger_seq = max([int(r["ledgerSeq"]) for r in records.values()] + [0])
        snapshot = self._snapshot(meta, records, changes, released_in)
        reporting = 0 if zero else len(records)
        total = len(self.context.plan.precincts)
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(releases.insert().values(
                    election_id=self.context.election_id, number=number, created_at=now, actor=actor,
                    test=meta.test, status=status, zero=zero, content_hash=snapshot.content_hash,
                    precincts_reporting=reporting, precincts_total=total, ledger_seq=ledger_seq, note=note,
                    certified_act=act, manifest=snapshot.manifest.decode()))
                if rows:
                    conn.execute(release_precincts.insert(), [
                        {"election_id": self.context.election_id, "number": number, "precinct_code": code,
                         "ledger_seq": int(record["ledgerSeq"]), "record": canonical_json(record)}
                        for code, record in sorted(rows.items())])
                ledger_audit.record(conn, election_id=self.context.election_id, actor=actor, action="release",
                                    detail={"number": number, "status": status, "zero": zero,
                                            "reporting": reporting, "total": total, "changed": len(rows),
                                            "content_hash": snapshot.content_hash}, outcome="ok", at=now)
        except IntegrityError:
            return None  # another worker wrote release `number` first
        self.store.write(snapshot)
        self.store.point_latest(number)
        return ReleaseRecord(number=number, created_at=now, actor=actor, test=meta.test, status=status, zero=zero,
                             content_hash=snapshot.content_hash, precincts_reporting=reporting,
                             precincts_total=total, note=note, certified_act=act)

    # -- repair and switches ---------------------------------------------------------------------------

    def rebuild(self, number: int) -> Snapshot:
        """Release ``number``'s files rebuilt from the database (byte for byte what was released)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(releases).where(releases.c.election_id == self.context.election_id,
                                                      releases.c.number == number)).first()
            if row is None:
                raise ReleaseInvalid(f"there is no release {number}")
            before, _, _ = self._released(conn, number - 1)
            after, released_in, _ = self._released(conn, number)
        meta = self._meta(number, row.created_at, status=row.status, zero=bool(row.zero), note=row.note,
                          act=row.certified_act)
        if meta.zero:
            records, changes = self._zero_records(), []
        else:
            records = after
            changes = [change_of(before.get(code), after[code]) for code in sorted(after)
                       if released_in.get(code) == number]
        snapshot = self._snapshot(meta, records, changes, released_in)
        if snapshot.content_hash != row.content_hash:
            raise RuntimeError(f"release {number} rebuilt to manifest sha256 {snapshot.content_hash}, but "
                               f"{row.content_hash} was released")
        return snapshot

    def repair(self) -> builtins.list[int]:
        """Write the files of any recorded release that has none (a crash between commit and write) and point
        ``latest`` at the newest; the numbers rebuilt."""
        rebuilt = []
        for record in sorted(self.list(), key=lambda r: r.number):
            if not self.store.has(record.number):
                self.store.write(self.rebuild(record.number))
                rebuilt.append(record.number)
        newest = self.list()
        if newest:
            self.store.point_latest(newest[0].number)
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
