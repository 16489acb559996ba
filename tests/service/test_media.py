"""Worksheet photos and HQ messages, on SQLite and PostgreSQL: real images (Pillow), real databases."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator

import pytest
from PIL import Image
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from caucus.ledger import audit_events, make_engine
from caucus.service import UnknownPrecinctCode, load_context
from caucus.service.errors import MessageRejected, NotFound, PhotoKeyConflict, PhotoRejected
from caucus.service.media import MAX_PHOTO_BYTES, MessageService, PhotoService, inspect_image
from tests.web.conftest import Prepared
from tests.web.support import SLUG

PRECINCT = "Adair/01NW"


def worksheet(width: int = 640, height: int = 480, fmt: str = "JPEG", shade: int = 200) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (shade, shade, shade)).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture
def engine(database: Prepared) -> Iterator[Engine]:
    eng = make_engine(database.url)
    yield eng
    eng.dispose()


@pytest.fixture
def photos(engine: Engine) -> PhotoService:
    return PhotoService(engine, load_context(engine, SLUG))


@pytest.fixture
def messages(engine: Engine) -> MessageService:
    return MessageService(engine, load_context(engine, SLUG))


def test_a_photo_is_stored_with_its_hash_and_read_back_byte_for_byte(photos: PhotoService, engine: Engine) -> None:
    data = worksheet()
    stored = photos.store(PRECINCT, data=data, content_type="image/jpeg", channel="app",
                          actor=f"chair:{PRECINCT}", idempotency_key="photo-1")
    assert (stored.sha256, stored.size, stored.width, stored.height) == (
        hashlib.sha256(data).hexdigest(), len(data), 640, 480)
    record, body = photos.get(stored.id)
    assert body == data and record == stored
    assert photos.list(PRECINCT) == [stored]
    assert photos.list("Adair/02NE") == []
    [event] = [e for e in audit_events(engine, SLUG) if e.action == "photo.store"]
    assert event.detail["photo"] == stored.id and event.actor == f"chair:{PRECINCT}"


def test_the_same_key_and_bytes_is_a_replay_and_other_bytes_are_refused(photos: PhotoService) -> None:
    first = photos.store(PRECINCT, data=worksheet(), content_type="image/jpeg", channel="app", actor="a",
                         idempotency_key="k")
    again = photos.store(PRECINCT, data=worksheet(), content_type="image/jpeg", channel="app", actor="a",
                         idempotency_key="k")
    assert again == first
    with pytest.raises(PhotoKeyConflict, match=f"photo #{first.id}"):
        photos.store(PRECINCT, data=worksheet(shade=10), content_type="image/jpeg", channel="app", actor="a",
                     idempotency_key="k")
    assert photos.list(PRECINCT) == [first]


@pytest.mark.parametrize(("data", "content_type", "rule"), [
    (b"", "image/jpeg", "empty"),
    (b"not an image at all", "image/jpeg", "could not be read"),
    (worksheet(fmt="PNG"), "image/jpeg", "content is PNG"),
    (worksheet(), "application/pdf", "must be JPEG, PNG or WebP"),
    (worksheet(100, 80), "image/jpeg", "at least 200 pixels"),
    (worksheet()[:-400], "image/jpeg", "could not be read"),
    (b"\xff" * (MAX_PHOTO_BYTES + 1), "image/jpeg", "the limit is"),
])
def test_bad_photos_are_refused_naming_the_rule_and_nothing_is_stored(
    photos: PhotoService, data: bytes, content_type: str, rule: str
) -> None:
    with pytest.raises(PhotoRejected, match=rule) as raised:
        photos.store(PRECINCT, data=data, content_type=content_type, channel="app", actor="a",
                     idempotency_key="bad")
    assert raised.value.fields[0].field == "photo"
    assert photos.list(PRECINCT) == []


def test_png_and_webp_are_accepted() -> None:
    assert inspect_image(worksheet(fmt="PNG"), "image/png") == (640, 480)
    assert inspect_image(worksheet(300, 900, fmt="WEBP"), "image/webp; q=1") == (300, 900)


def test_unknown_precinct_and_photo(photos: PhotoService) -> None:
    with pytest.raises(UnknownPrecinctCode):
        photos.store("Nowhere/1", data=worksheet(), content_type="image/jpeg", channel="app", actor="a",
                     idempotency_key="x")
    with pytest.raises(NotFound, match="no photo #999"):
        photos.get(999)


def test_messages_reach_their_precinct_only_in_order(messages: MessageService, engine: Engine) -> None:
    one = messages.send(PRECINCT, text="  Photo unreadable, please resend  ", actor="reviewer:kim",
                        kind="resend-photo")
    two = messages.send(PRECINCT, text="Thanks, all received.", actor="reviewer:kim")
    messages.send("Adair/02NE", text="Please call HQ", actor="operator:lee", kind="call-hq")
    assert one.text == "Photo unreadable, please resend"
    assert [m.id for m in messages.for_precinct(PRECINCT)] == [one.id, two.id]
    assert [m.kind for m in messages.for_precinct(PRECINCT)] == ["resend-photo", "note"]
    assert [e.detail["kind"] for e in audit_events(engine, SLUG) if e.action == "message.send"] == [
        "resend-photo", "note", "call-hq"]


@pytest.mark.parametrize(("text", "kind", "field"), [("   ", "note", "text"), ("x" * 1001, "note", "text"),
                                                     ("hello", "shout", "kind")])
def test_bad_messages_are_refused(messages: MessageService, text: str, kind: str, field: str) -> None:
    with pytest.raises(MessageRejected) as raised:
        messages.send(PRECINCT, text=text, actor="a", kind=kind)
    assert raised.value.fields[0].field == field
    assert messages.for_precinct(PRECINCT) == []


@pytest.mark.parametrize("table", ["photos", "hq_messages"])
def test_photos_and_messages_are_append_only(
    photos: PhotoService, messages: MessageService, engine: Engine, table: str
) -> None:
    photos.store(PRECINCT, data=worksheet(), content_type="image/jpeg", channel="app", actor="a",
                 idempotency_key="k")
    messages.send(PRECINCT, text="hello", actor="a")
    for statement in (f"UPDATE {table} SET actor = 'x'", f"DELETE FROM {table}"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    assert len(photos.list(PRECINCT)) == 1 and len(messages.for_precinct(PRECINCT)) == 1
