"""Worksheet photos and messages from headquarters to a precinct's chair.

Photos arrive from the chair app, or are uploaded at HQ (channel ``paper``); each is checked to be a real
image (decoded by Pillow, within size limits), stored with its SHA-256 in an append-only table, and
idempotent by its key: the same key and bytes answer with the photo already stored; the same key with other
bytes is refused. Messages (``note``, ``resend-photo``, ``call-hq``) are what the chair app shows under
"Messages from HQ". Every store or send is also an audit event.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PIL import Image, UnidentifiedImageError
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from caucus.ledger import Channel
from caucus.ledger.audit import record
from caucus.ledger.db import utcnow, write_transaction
from caucus.ledger.elections import precinct_id_for
from caucus.ledger.epochs import counted
from caucus.ledger.model import CHANNELS
from caucus.ledger.schema import MESSAGE_KINDS, hq_messages, photos, precincts
from caucus.service.context import ElectionContext
from caucus.service.errors import MessageRejected, NotFound, PhotoKeyConflict, PhotoRejected

#: what a worksheet photo may be
PHOTO_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PHOTO_PIXELS = 40_000_000
MIN_PHOTO_SIDE = 200
MAX_MESSAGE_CHARS = 1000


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
class Message:
    id: int
    precinct: str
    kind: str
    text: str
    actor: str
    sent_at: datetime


def inspect_image(data: bytes, content_type: str) -> tuple[int, int]:
    """(width, height) of ``data``, which must be a decodable image of the declared type; raises
    PhotoRejected naming the rule broken."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in PHOTO_TYPES:
        raise PhotoRejected(f"a worksheet photo must be JPEG, PNG or WebP (got {content_type or 'no type'!r})")
    if not data:
        raise PhotoRejected("the photo is empty (0 bytes)")
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoRejected(f"the photo is {len(data):,} bytes; the limit is {MAX_PHOTO_BYTES:,} bytes "
                            "(the app resizes photos before sending)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                kind, (width, height) = image.format, image.size
                if width * height > MAX_PHOTO_PIXELS:
                    raise PhotoRejected(f"the photo is {width}x{height} pixels; at most {MAX_PHOTO_PIXELS:,} "
                                        "pixels are accepted")
                image.load()  # decode it all: a truncated or corrupt file fails here
    except PhotoRejected:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise PhotoRejected(f"the photo could not be read as an image ({exc})") from exc
    if kind != PHOTO_TYPES[media]:
        raise PhotoRejected(f"the photo was sent as {media} but its content is {kind or 'unknown'}")
    if min(width, height) < MIN_PHOTO_SIDE:
        raise PhotoRejected(f"the photo is {width}x{height} pixels; a readable worksheet needs at least "
                            f"{MIN_PHOTO_SIDE} pixels on each side")
    return width, height


class PhotoService:
    def __init__(self, engine: Engine, context: ElectionContext, *,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.engine, self.context, self.clock = engine, context, clock or utcnow

    def store(self, precinct_code: str, *, data: bytes, content_type: str, channel: Channel, actor: str,
              idempotency_key: str) -> PhotoRecord:
        """Store a worksheet photo for ``precinct_code``; idempotent by ``idempotency_key``."""
        self.context.precinct(precinct_code)
        if channel not in CHANNELS:
            raise PhotoRejected(f"channel must be one of {', '.join(CHANNELS)}, got {channel!r}")
        width, height = inspect_image(data, content_type)
        digest = hashlib.sha256(data).hexdigest()
        existing = self._by_key(idempotency_key)
        if existing is not None:
            return self._replay(existing, digest, precinct_code, idempotency_key)
        now = self.clock()
        values: dict[str, Any] = {
            "election_id": self.context.election_id, "sha256": digest,
            "content_type": content_type.split(";", 1)[0].strip().lower(), "size": len(data), "width": width,
            "height": height, "data": data, "channel": channel, "actor": actor,
            "idempotency_key": idempotency_key, "received_at": now,
        }
        try:
            with write_transaction(self.engine) as conn:
                values["precinct_id"] = precinct_id_for(conn, self.context.election_id, self.context.slug,
                                                        precinct_code)
                photo_id = conn.execute(photos.insert().values(**values).returning(photos.c.id)).scalar_one()
                record(conn, election_id=self.context.election_id, at=now, actor=actor, action="photo.store",
                       detail={"precinct": precinct_code, "photo": photo_id, "sha256": digest,
                               "channel": channel, "size": len(data)}, outcome="stored")
        except IntegrityError:  # the same key stored concurrently: answer as a replay
            raced = self._by_key(idempotency_key)
            if raced is None:
                raise
            return self._replay(raced, digest, precinct_code, idempotency_key)
        return PhotoRecord(photo_id, precinct_code, digest, values["content_type"], len(data), width, height,
                           channel, actor, now)

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
                precincts.c.code == precinct_code,
                counted(photos.c.id, self.context.election_id, "photos_after_id")).order_by(photos.c.id))
            return [PhotoRecord(*row) for row in rows]

    def get(self, photo_id: int) -> tuple[PhotoRecord, bytes]:
        """A photo of the current epoch and its bytes; raises NotFound (a rehearsal's photo too)."""
        with self.engine.connect() as conn:
            row = conn.execute(self._select().add_columns(photos.c.data).where(
                photos.c.id == photo_id, counted(photos.c.id, self.context.election_id, "photos_after_id"))).first()
        if row is None:
            raise NotFound(f"no photo #{photo_id} in election {self.context.slug}")
        return PhotoRecord(*row[:-1]), bytes(row[-1])


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
                 .where(hq_messages.c.election_id == self.context.election_id, precincts.c.code == precinct_code,
                        counted(hq_messages.c.id, self.context.election_id, "messages_after_id"))
                 .order_by(hq_messages.c.id))
        with self.engine.connect() as conn:
            return [Message(*row) for row in conn.execute(query)]
