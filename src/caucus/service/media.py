"""Worksheet photos and messages from headquarters to a precinct's chair.

Photos arrive from the chair app, or are uploaded at HQ (channel ``paper``); each is checked from its
header (type, bytes, pixels) before anything is decoded, then decoded once, one at a time per worker, and
re-encoded into its public copy with every metadata block stripped (:mod:`caucus.service.images`). The
original is stored with its SHA-256 in an append-only table and stays for HQ; releases publish only the
public copy (``photo_copies``). Uploads are idempotent by key: the same key and bytes answer with the photo
already stored; the same key with other bytes is refused. A precinct takes at most
:data:`MAX_PHOTOS_PER_PRECINCT` photos from each channel. Messages (``note``, ``resend-photo``, ``call-hq``)
are what the chair app shows under "Messages from HQ". Every store or send is also an audit event.
"""

from __future__ import annotations

import builtins
import hashlib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import IntegrityError

from caucus.ledger import Channel
from caucus.ledger.audit import record
from caucus.ledger.db import is_sqlite, utcnow, write_transaction
from caucus.ledger.elections import precinct_id_for
from caucus.ledger.epochs import counted
from caucus.ledger.model import CHANNELS
from caucus.ledger.schema import MESSAGE_KINDS, hq_messages, photo_copies, photos, precincts
from caucus.service.context import ElectionContext
from caucus.service.errors import (
    MessageRejected,
    NotFound,
    PhotoKeyConflict,
    PhotoLimitReached,
    PhotoRejected,
)
from caucus.service.images import (
    DECODE_GATE,
    MAX_PHOTO_BYTES,
    MAX_PHOTO_PIXELS,
    MIN_PHOTO_SIDE,
    PHOTO_TYPES,
    DecodeGate,
    PublicImage,
    inspect_image,
    public_copy,
    read_header,
)

__all__ = ["MAX_MESSAGE_CHARS", "MAX_PHOTOS_PER_PRECINCT", "MAX_PHOTO_BYTES", "MAX_PHOTO_PIXELS",
           "MIN_PHOTO_SIDE", "PHOTO_TYPES", "Message", "MessageService", "PhotoRecord", "PhotoService",
           "PublicCopy", "inspect_image"]

MAX_MESSAGE_CHARS = 1000
#: photos a precinct may be sent through one channel (the chair's uploads cannot crowd out HQ's)
MAX_PHOTOS_PER_PRECINCT = 20


@dataclass(frozen=True)
class PhotoRecord:
    id: int
    precinct: str
    sha256: str
    content_type: str
    size: int
    width: int
    height: int
    channel: str
    actor: str
    received_at: datetime


@dataclass(frozen=True)
class PublicCopy:
    """What a release publishes of photo ``photo_id``: the re-encoded copy's hash, type, size and pixels."""

    photo_id: int
    sha256: str
    content_type: str
    size: int
    width: int
    height: int


@dataclass(frozen=True)
class Message:
    id: int
    precinct: str
    kind: str
    text: str
    actor: str
    sent_at: datetime


def _copy_values(photo_id: int, copy: PublicImage, now: datetime) -> dict[str, Any]:
    return {"photo_id": photo_id, "sha256": copy.sha256, "content_type": copy.content_type, "size": len(copy.data),
            "width": copy.width, "height": copy.height, "data": copy.data, "made_at": now}


def of_precincts(column: Any, election_id: int, codes: Collection[str]) -> Any:
    """Rows whose ``column`` (a precinct id) is one of the precincts ``codes``, found along an (election_id,
    precinct_id) index: joined to ``precincts`` on the code, SQLite walked every row of the election instead
    (and of a photo, read its bytes to reach the columns after them)."""
    return column.in_(select(precincts.c.id).where(precincts.c.election_id == election_id,
                                                   precincts.c.code.in_(codes)))


class PhotoService:
    def __init__(self, engine: Engine, context: ElectionContext, *,
                 clock: Callable[[], datetime] | None = None, gate: DecodeGate = DECODE_GATE) -> None:
        self.engine, self.context, self.clock, self.gate = engine, context, clock or utcnow, gate

    def store(self, precinct_code: str, *, data: bytes, content_type: str, channel: Channel, actor: str,
              idempotency_key: str) -> PhotoRecord:
        """Store a worksheet photo for ``precinct_code`` and its public copy; idempotent by
        ``idempotency_key``."""
        self.context.precinct(precinct_code)
        if channel not in CHANNELS:
            raise PhotoRejected(f"channel must be one of {', '.join(CHANNELS)}, got {channel!r}")
        read_header(data, content_type)  # cheap checks first: nothing is decoded for a refused upload
        digest = hashlib.sha256(data).hexdigest()
        existing = self._by_key(idempotency_key)
        if existing is not None:
            return self._replay(existing, digest, precinct_code, idempotency_key)
        with self.engine.connect() as conn:
            precinct_id = precinct_id_for(conn, self.context.election_id, self.context.slug, precinct_code)
            self._check_room(conn, precinct_id, precinct_code, channel)
        header, copy = public_copy(data, content_type, gate=self.gate)
        now = self.clock()
        values: dict[str, Any] = {
            "election_id": self.context.election_id, "sha256": digest, "content_type": header.media,
            "size": len(data), "width": header.width, "height": header.height, "data": data, "channel": channel,
            "actor": actor, "idempotency_key": idempotency_key, "received_at": now, "precinct_id": precinct_id,
        }
        try:
            with write_transaction(self.engine) as conn:
                if not is_sqlite(conn):  # concurrent uploads for one precinct count one after the other
                    conn.execute(select(precincts.c.id).where(precincts.c.id == precinct_id)
                                 .with_for_update())
                self._check_room(conn, precinct_id, precinct_code, channel)
                photo_id = conn.execute(photos.insert().values(**values).returning(photos.c.id)).scalar_one()
                conn.execute(photo_copies.insert().values(**_copy_values(photo_id, copy, now)))
                record(conn, election_id=self.context.election_id, at=now, actor=actor, action="photo.store",
                       detail={"precinct": precinct_code, "photo": photo_id, "sha256": digest,
                               "channel": channel, "size": len(data), "public_sha256": copy.sha256},
                       outcome="stored")
        except IntegrityError:  # the same key stored concurrently: answer as a replay
            raced = self._by_key(idempotency_key)
            if raced is None:
                raise
            return self._replay(raced, digest, precinct_code, idempotency_key)
        return PhotoRecord(photo_id, precinct_code, digest, header.media, len(data), header.width, header.height,
                           channel, actor, now)

    def _check_room(self, conn: Connection, precinct_id: int, precinct_code: str, channel: str) -> None:
        """Refuse a photo beyond the precinct's limit for ``channel`` (photos of the current epoch). By the
        precinct's id: joined on its code, SQLite walked every photo of the election, reading each one's bytes
        to reach its channel (39 ms at 5,800 photos, twice per upload; tests/service/test_media.py)."""
        held = conn.execute(select(func.count()).select_from(photos).where(
            photos.c.election_id == self.context.election_id, photos.c.precinct_id == precinct_id,
            photos.c.channel == channel,
            counted(photos.c.id, self.context.election_id, "photos_after_id"))).scalar_one()
        if held >= MAX_PHOTOS_PER_PRECINCT:
            raise PhotoLimitReached(
                f"precinct {precinct_code} already has {held} photos from channel {channel}, the most one channel "
                f"may send (max-photos-per-precinct: {MAX_PHOTOS_PER_PRECINCT}); call HQ if a page is missing")

    def _replay(self, existing: PhotoRecord, digest: str, precinct_code: str, key: str) -> PhotoRecord:
        if not self._counts(existing.id):
            raise PhotoKeyConflict(key, existing.id, rehearsal=True)
        if existing.sha256 != digest or existing.precinct != precinct_code:
            raise PhotoKeyConflict(key, existing.id)
        return existing

    def _select(self) -> Any:
        return select(photos.c.id, precincts.c.code, photos.c.sha256, photos.c.content_type, photos.c.size,
                      photos.c.width, photos.c.height, photos.c.channel, photos.c.actor,
                      photos.c.received_at).join(precincts, precincts.c.id == photos.c.precinct_id).where(
                          photos.c.election_id == self.context.election_id)

    def _of(self, codes: Collection[str]) -> Any:
        return of_precincts(photos.c.precinct_id, self.context.election_id, codes)

    def _counts(self, photo_id: int) -> bool:
        """Whether photo ``photo_id`` was stored in the current epoch (not during the rehearsal)."""
        with self.engine.connect() as conn:
            return bool(conn.execute(select(counted(photos.c.id, self.context.election_id, "photos_after_id"))
                                .where(photos.c.id == photo_id)).scalar())

    def _by_key(self, key: str) -> PhotoRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(self._select().where(photos.c.idempotency_key == key)).first()
        return PhotoRecord(*row) if row is not None else None

    def list(self, precinct_code: str) -> list[PhotoRecord]:
        """The precinct's photos, oldest first."""
        self.context.precinct(precinct_code)
        with self.engine.connect() as conn:
            rows = conn.execute(self._select().where(
                self._of([precinct_code]),
                counted(photos.c.id, self.context.election_id, "photos_after_id")).order_by(photos.c.id))
            return [PhotoRecord(*row) for row in rows]

    def get(self, photo_id: int) -> tuple[PhotoRecord, bytes]:
        """A photo of the current epoch and its original bytes (for HQ only); raises NotFound (a rehearsal's
        photo too)."""
        with self.engine.connect() as conn:
            row = conn.execute(self._select().add_columns(photos.c.data).where(
                photos.c.id == photo_id, counted(photos.c.id, self.context.election_id, "photos_after_id"))).first()
        if row is None:
            raise NotFound(f"no photo #{photo_id} in election {self.context.slug}")
        return PhotoRecord(*row[:-1]), bytes(row[-1])

    # -- what releases publish -------------------------------------------------------------------------

    def public_list(self, precinct_code: str) -> builtins.list[tuple[PhotoRecord, PublicCopy]]:
        """The precinct's photos with their public copies, oldest first. A photo stored before its copy
        could be made (before revision 0009) gets one now; one that cannot be made safe (beyond today's
        bounds) is left out: it is never published, HQ still has it."""
        self.context.precinct(precinct_code)
        return self.public_lists([precinct_code]).get(precinct_code, [])

    def public_lists(self, precinct_codes: Collection[str] | None = None
                     ) -> dict[str, builtins.list[tuple[PhotoRecord, PublicCopy]]]:
        """:meth:`public_list` of every precinct (``None``) or of ``precinct_codes``, in one query per 500
        precincts; precincts without photos are left out."""
        copy_columns = (photo_copies.c.photo_id, photo_copies.c.sha256, photo_copies.c.content_type,
                        photo_copies.c.size, photo_copies.c.width, photo_copies.c.height)
        query = (self._select().add_columns(*copy_columns)
                 .outerjoin(photo_copies, photo_copies.c.photo_id == photos.c.id)
                 .where(counted(photos.c.id, self.context.election_id, "photos_after_id")).order_by(photos.c.id))
        codes = None if precinct_codes is None else sorted(set(precinct_codes))
        queries = [query] if codes is None else [query.where(self._of(codes[i:i + 500]))
                                                 for i in range(0, len(codes), 500)]
        with self.engine.connect() as conn:
            rows = [row for q in queries for row in conn.execute(q)]
        found: dict[str, builtins.list[tuple[PhotoRecord, PublicCopy]]] = {}
        for row in sorted(rows, key=lambda r: r[0]):
            photo = PhotoRecord(*row[:10])
            copy = PublicCopy(*row[10:]) if row[10] is not None else self._make_copy(photo)
            if copy is not None:
                found.setdefault(photo.precinct, []).append((photo, copy))
        return found

    def _make_copy(self, photo: PhotoRecord) -> PublicCopy | None:
        _, data = self.get(photo.id)
        try:
            _, made = public_copy(data, photo.content_type, gate=self.gate)
        except PhotoRejected:
            return None
        values = _copy_values(photo.id, made, self.clock())
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(photo_copies.insert().values(**values))
        except IntegrityError:  # another worker made it first: theirs stands
            with self.engine.connect() as conn:
                row = conn.execute(select(photo_copies.c.sha256, photo_copies.c.content_type, photo_copies.c.size,
                                          photo_copies.c.width, photo_copies.c.height)
                                   .where(photo_copies.c.photo_id == photo.id)).one()
            return PublicCopy(photo.id, *row)
        return PublicCopy(photo.id, made.sha256, made.content_type, len(made.data), made.width, made.height)

    def published_bytes(self, photo_id: int, sha256: str) -> bytes:
        """The bytes a release published for photo ``photo_id`` under ``sha256``: its public copy (a release
        made before revision 0009 published the original, and its repair needs those same bytes)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(photo_copies.c.sha256, photo_copies.c.data, photos.c.sha256, photos.c.data)
                               .select_from(photos)
                               .outerjoin(photo_copies, photo_copies.c.photo_id == photos.c.id)
                               .where(photos.c.id == photo_id,
                                      photos.c.election_id == self.context.election_id)).first()
        if row is not None and row[0] == sha256:
            return bytes(row[1])
        if row is not None and row[2] == sha256:
            return bytes(row[3])
        raise NotFound(f"no published copy of photo #{photo_id} with sha256 {sha256}")


class MessageService:
    def __init__(self, engine: Engine, context: ElectionContext, *,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.engine, self.context, self.clock = engine, context, clock or utcnow

    def send(self, precinct_code: str, *, text: str, actor: str, kind: str = "note") -> Message:
        """Send the precinct's chair a message (shown in the chair app)."""
        self.context.precinct(precinct_code)
        if kind not in MESSAGE_KINDS:
            raise MessageRejected("kind", f"kind must be one of {', '.join(MESSAGE_KINDS)}, got {kind!r}")
        body = text.strip()
        if not body:
            raise MessageRejected("text", "the message is empty; write what the chair should do")
        if len(body) > MAX_MESSAGE_CHARS:
            raise MessageRejected("text", f"the message has {len(body)} characters; at most "
                                          f"{MAX_MESSAGE_CHARS} fit on a phone screen")
        now = self.clock()
        with write_transaction(self.engine) as conn:
            pid = precinct_id_for(conn, self.context.election_id, self.context.slug, precinct_code)
            message_id = conn.execute(hq_messages.insert().values(
                election_id=self.context.election_id, precinct_id=pid, kind=kind, text=body, actor=actor,
                sent_at=now).returning(hq_messages.c.id)).scalar_one()
            record(conn, election_id=self.context.election_id, at=now, actor=actor, action="message.send",
                   detail={"precinct": precinct_code, "message": message_id, "kind": kind}, outcome="sent")
        return Message(message_id, precinct_code, kind, body, actor, now)

    def for_precinct(self, precinct_code: str) -> list[Message]:
        """The messages sent to the precinct's chair, oldest first."""
        self.context.precinct(precinct_code)
        query = (select(hq_messages.c.id, precincts.c.code, hq_messages.c.kind, hq_messages.c.text,
                        hq_messages.c.actor, hq_messages.c.sent_at)
                 .join(precincts, precincts.c.id == hq_messages.c.precinct_id)
                 .where(hq_messages.c.election_id == self.context.election_id,
                        of_precincts(hq_messages.c.precinct_id, self.context.election_id, [precinct_code]),
                        counted(hq_messages.c.id, self.context.election_id, "messages_after_id"))
                 .order_by(hq_messages.c.id))
        with self.engine.connect() as conn:
            return [Message(*row) for row in conn.execute(query)]
