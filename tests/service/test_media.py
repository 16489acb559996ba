"""Worksheet photos and HQ messages, on SQLite and PostgreSQL: real images (Pillow), real databases."""

from __future__ import annotations

import hashlib
import io
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from PIL import ExifTags, Image
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import DBAPIError

from caucus.ledger import audit_events, make_engine
from caucus.service import UnknownPrecinctCode, load_context
from caucus.service.errors import (
    MessageRejected,
    NotFound,
    PhotoBusy,
    PhotoKeyConflict,
    PhotoLimitReached,
    PhotoRejected,
)
from caucus.service.images import DecodeGate
from caucus.service.media import (
    MAX_PHOTO_BYTES,
    MAX_PHOTOS_PER_PRECINCT,
    MessageService,
    PhotoService,
    inspect_image,
)
from caucus.service.release_preview import touched_since
from tests.service.images import bomb_png, gps_jpeg, html_png
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


@pytest.mark.parametrize("table", ["photos", "photo_copies", "hq_messages"])
def test_photos_and_messages_are_append_only(
    photos: PhotoService, messages: MessageService, engine: Engine, table: str
) -> None:
    photos.store(PRECINCT, data=worksheet(), content_type="image/jpeg", channel="app", actor="a",
                 idempotency_key="k")
    messages.send(PRECINCT, text="hello", actor="a")
    column = "sha256" if table == "photo_copies" else "actor"
    for statement in (f"UPDATE {table} SET {column} = 'x'", f"DELETE FROM {table}"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    assert len(photos.list(PRECINCT)) == 1 and len(messages.for_precinct(PRECINCT)) == 1


# -- safe photos: bounded decoding, a public copy without metadata ------------------------------------------

def public_of(photos: PhotoService, precinct: str = PRECINCT) -> list[bytes]:
    return [photos.published_bytes(copy.photo_id, copy.sha256) for _, copy in photos.public_list(precinct)]


def test_a_phone_photo_is_published_without_its_gps_position_and_the_original_stays_for_hq(
    photos: PhotoService,
) -> None:
    data = gps_jpeg()
    with Image.open(io.BytesIO(data)) as original:  # the upload really carries the position
        assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] == "N"
    stored = photos.store(PRECINCT, data=data, content_type="image/jpeg", channel="app", actor="chair",
                          idempotency_key="gps")
    assert photos.get(stored.id)[1] == data  # HQ keeps the upload as sent
    ((photo, copy),) = photos.public_list(PRECINCT)
    (public,) = public_of(photos)
    assert photo == stored and copy.sha256 == hashlib.sha256(public).hexdigest() != stored.sha256
    assert (copy.content_type, copy.size, copy.width, copy.height) == ("image/jpeg", len(public), 640, 480)
    with Image.open(io.BytesIO(public)) as image:
        image.load()
        assert image.format == "JPEG" and image.size == (640, 480)
        assert len(image.getexif()) == 0 and not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert not {"exif", "comment", "icc_profile", "xmp"} & set(image.info)
        assert image.getpixel((10, 120)) < (60, 60, 100)  # the ink is still there
    assert b"Exif" not in public and b"PhoneMaker" not in public and b"caucus site" not in public


def test_a_png_with_html_appended_is_published_as_its_pixels_only(photos: PhotoService) -> None:
    data = html_png()
    photos.store(PRECINCT, data=data, content_type="image/png", channel="paper", actor="reviewer:kim",
                 idempotency_key="html")
    (public,) = public_of(photos)
    assert b"<html>" not in public and b"script" not in public and b"xmpmeta" not in public
    assert public.endswith(b"IEND\xaeB`\x82")  # nothing after the image's last chunk
    with Image.open(io.BytesIO(data)) as original, Image.open(io.BytesIO(public)) as copy:
        assert "icc_profile" in original.info and "Comment" in original.info
        assert copy.format == "PNG" and not {"icc_profile", "Comment", "XML:com.adobe.xmp"} & set(copy.info)
        assert copy.tobytes() == original.convert("RGB").tobytes()  # lossless: the same pixels


def test_an_upright_copy_of_a_photo_taken_sideways(photos: PhotoService) -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # the camera was turned: show it rotated 90 degrees clockwise
    out = io.BytesIO()
    Image.new("RGB", (600, 300), "white").save(out, "JPEG", exif=exif)
    photos.store(PRECINCT, data=out.getvalue(), content_type="image/jpeg", channel="app", actor="a",
                 idempotency_key="turned")
    ((_, copy),) = photos.public_list(PRECINCT)
    assert (copy.width, copy.height) == (300, 600)


def test_a_huge_image_in_a_small_file_is_refused_from_its_header_without_decoding(photos: PhotoService) -> None:
    data = bomb_png()
    assert len(data) < 200
    # every decode happens inside the gate; with its one slot taken and no queue, a decode attempt would be
    # refused as busy: the refusal naming the pixel rule shows none was tried
    gate = DecodeGate(slots=1, queue=0)
    guarded = PhotoService(photos.engine, photos.context, gate=gate)
    with gate.slot():
        with pytest.raises(PhotoRejected, match=r"6300x6300 pixels \(39,690,000\); at most 25,000,000 pixels "
                                                r"are accepted \(max-photo-pixels\)"):
            guarded.store(PRECINCT, data=data, content_type="image/png", channel="app", actor="a",
                          idempotency_key="bomb")
        with pytest.raises(PhotoBusy):  # and the gate really does stop a decode while its slot is taken
            guarded.store(PRECINCT, data=worksheet(), content_type="image/jpeg", channel="app", actor="a",
                          idempotency_key="fine")
    assert gate.entered == 1 and photos.list(PRECINCT) == []  # the test's own hold only
    guarded.store(PRECINCT, data=worksheet(), content_type="image/jpeg", channel="app", actor="a",
                  idempotency_key="fine")
    assert gate.entered == 2 and gate.peak == 1


def test_a_precinct_takes_a_limited_number_of_photos_per_channel(photos: PhotoService) -> None:
    for n in range(MAX_PHOTOS_PER_PRECINCT):
        photos.store(PRECINCT, data=worksheet(200, 200, shade=n), content_type="image/jpeg", channel="app",
                     actor="chair", idempotency_key=f"p{n}")
    with pytest.raises(PhotoLimitReached, match=f"already has 20 photos from channel app.*max-photos-per-precinct: "
                                                f"{MAX_PHOTOS_PER_PRECINCT}") as raised:
        photos.store(PRECINCT, data=worksheet(200, 200, shade=99), content_type="image/jpeg", channel="app",
                     actor="chair", idempotency_key="one-more")
    assert raised.value.fields[0].field == "photo"
    # a retry of one already stored still answers; HQ's own upload and another precinct are not blocked
    assert photos.store(PRECINCT, data=worksheet(200, 200, shade=3), content_type="image/jpeg", channel="app",
                        actor="chair", idempotency_key="p3").id == photos.list(PRECINCT)[3].id
    photos.store(PRECINCT, data=worksheet(), content_type="image/jpeg", channel="paper", actor="reviewer:kim",
                 idempotency_key="hq")
    photos.store("Adair/02NE", data=worksheet(), content_type="image/jpeg", channel="app", actor="chair",
                 idempotency_key="other")
    assert len(photos.list(PRECINCT)) == MAX_PHOTOS_PER_PRECINCT + 1


def _until(condition: Callable[[], bool]) -> None:
    """Wait for a state another thread reaches (a hang guard, not a timing assertion)."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "the other threads never got there"
        time.sleep(0.01)


def test_uploads_decode_one_at_a_time_and_a_full_queue_is_told_to_retry(photos: PhotoService) -> None:
    gate = DecodeGate(slots=1, queue=2)
    guarded = PhotoService(photos.engine, photos.context, gate=gate)
    results: dict[str, object] = {}

    def upload(key: str) -> None:
        try:
            results[key] = guarded.store(PRECINCT, data=worksheet(shade=len(results)), content_type="image/jpeg",
                                         channel="app", actor="chair", idempotency_key=key)
        except Exception as exc:  # reported below
            results[key] = exc

    held = gate.slot()
    held.__enter__()  # a decode in progress
    threads = [threading.Thread(target=upload, args=(key,)) for key in ("q1", "q2")]
    for thread in threads:
        thread.start()
    _until(lambda: gate.waiting == 2)  # both queued behind the one decode, neither decoding
    assert gate.active == 1 and results == {}
    with pytest.raises(PhotoBusy, match="2 are waiting, the most this server queues"):
        guarded.store(PRECINCT, data=worksheet(shade=77), content_type="image/jpeg", channel="app", actor="chair",
                      idempotency_key="q3")
    held.__exit__(None, None, None)
    for thread in threads:
        thread.join(30)
    assert sorted(results) == ["q1", "q2"] and not any(isinstance(r, Exception) for r in results.values())
    assert gate.peak == 1 and gate.waiting == 0 and gate.active == 0
    assert len(photos.list(PRECINCT)) == 2


def test_the_room_check_reads_only_the_precincts_photos(sqlite_database: Prepared) -> None:
    """Each upload counts the precinct's photos twice. SQLite must find them along (election_id, precinct_id): joined
    on the precinct's code, it walked every photo of the election, each one's bytes read to reach its channel (39 ms
    a check at 5,800 photos in the national-size rehearsal). SQLite's EXPLAIN QUERY PLAN of the statements run
    (PostgreSQL keeps large values out of line: the walk reads no bytes there)."""
    engine = make_engine(sqlite_database.url)
    plans: list[str] = []

    def explain(_conn: object, cursor: object, statement: str, parameters: object, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT COUNT") and "FROM photos" in statement:
            plans.extend(str(row[3]) for row in cursor.connection.execute(  # type: ignore[attr-defined]
                f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall())

    event.listen(engine, "before_cursor_execute", explain)
    try:
        PhotoService(engine, load_context(engine, SLUG)).store(
            PRECINCT, data=worksheet(), content_type="image/jpeg", channel="app", actor="chair", idempotency_key="p-1")
    finally:
        engine.dispose()
    searched = [line for line in plans if line.startswith("SEARCH photos")]
    along = "(election_id=? AND precinct_id=? AND rowid>?)"
    assert len(searched) == 2 and all(along in line for line in searched), plans


def test_the_photos_since_a_moment_are_found_by_when_they_came(sqlite_database: Prepared) -> None:
    """The release page's question (which precincts sent a photo since shortly before the last release) reads the
    photos since then along (election_id, received_at): without that index (revision 0020) SQLite read every
    photo's bytes to reach its time (123 ms at 8,700 photos in the national-size rehearsal)."""
    engine = make_engine(sqlite_database.url)
    context = load_context(engine, SLUG)
    photos = PhotoService(engine, context)
    for n, code in enumerate((PRECINCT, "Adair/02NE", PRECINCT)):
        photos.store(code, data=worksheet(shade=100 + n), content_type="image/jpeg", channel="app", actor="chair",
                     idempotency_key=f"since-{n}")
    plans: list[str] = []

    def explain(_conn: object, cursor: object, statement: str, parameters: object, *_: object) -> None:
        if "received_at >=" in statement:
            plans.extend(str(row[3]) for row in cursor.connection.execute(  # type: ignore[attr-defined]
                f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall())

    event.listen(engine, "before_cursor_execute", explain)
    try:
        with engine.connect() as conn:
            assert touched_since(conn, context, datetime(2020, 2, 3, tzinfo=UTC)) == {PRECINCT, "Adair/02NE"}
            assert touched_since(conn, context, datetime.now(UTC) + timedelta(minutes=1)) == set()
    finally:
        engine.dispose()
    searched = [line for line in plans if line.startswith(("SEARCH photos", "SCAN photos"))]
    assert searched and all("ix_photos_election_id_received_at (election_id=? AND received_at>?)" in line
                            for line in searched), plans
