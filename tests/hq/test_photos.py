"""Worksheet photos at HQ: a reviewer uploads one (channel paper) through the multipart form with its CSRF
token, sees it next to the numbers, opens it, and transcribes it as a paper report."""

from __future__ import annotations

import hashlib
import io

from PIL import Image

from caucus.ledger import entries
from tests.hq.support import add_staff, sign_in
from tests.service.images import gps_jpeg
from tests.web.conftest import Web
from tests.web.support import GRINNELL, SLUG, STAGES


def _png() -> bytes:
    image = Image.new("RGB", (400, 300), "white")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def test_a_reviewer_uploads_views_and_transcribes_a_worksheet_photo(hq: Web) -> None:
    add_staff(hq.engine, "rita", "reviewer")
    rita = sign_in(hq.client, "rita")
    data = _png()
    hq.client.cookies.clear()
    missing = hq.client.post("/hq/review/photo", data={"precinct": GRINNELL, "key": "p1"},
                             files={"photo": ("worksheet.png", data, "image/png")}, headers=rita.cookie)
    assert missing.status_code == 403  # the multipart form needs its CSRF token too
    uploaded = hq.client.post("/hq/review/photo", data={"precinct": GRINNELL, "key": "p1", "csrf_token": rita.csrf},
                              files={"photo": ("worksheet.png", data, "image/png")}, headers=rita.cookie,
                              follow_redirects=False)
    assert uploaded.status_code == 303, uploaded.text
    page = rita.get(f"/hq/review/p/{GRINNELL}").text
    assert "photo #1 stored" in rita.get(uploaded.headers["location"]).text
    assert '<img src="/hq/photos/1"' in page and "#1 paper reviewer:rita" in page
    photo = rita.get("/hq/photos/1")
    assert photo.status_code == 200 and photo.content == data and photo.headers["content-type"] == "image/png"
    not_image = hq.client.post("/hq/review/photo", data={"precinct": GRINNELL, "key": "p2", "csrf_token": rita.csrf},
                               files={"photo": ("notes.txt", b"hello", "text/plain")}, headers=rita.cookie)
    assert not_image.status_code in (415, 422) and "JPEG, PNG or WebP" in not_image.text
    done = rita.post("/hq/review/transcribe", {"precinct": GRINNELL, "stage": "attendance", "attendance": "328",
                                               "photo_id": "1", "key": "t1"})
    assert done.status_code == 303
    (entry,) = entries(hq.engine, SLUG, GRINNELL)
    assert (entry.channel, entry.actor, entry.payload) == ("paper", "reviewer:rita", {"attendance": 328})


def test_a_chairs_phone_photo_is_released_without_its_gps_position(hq: Web) -> None:
    """A chair uploads a photo carrying EXIF (camera, GPS), reports; the director releases. The public file is
    the re-encoded copy: no EXIF at all, a real JPEG, served as image/jpeg with nosniff; HQ keeps the upload."""
    add_staff(hq.engine, "dora", "director")
    chair = hq.sign_in(GRINNELL)
    upload = gps_jpeg(800, 600)
    sent = hq.client.post("/api/v1/chair/photos", content=upload,
                          headers={**chair.auth, "Content-Type": "image/jpeg", "Idempotency-Key": "ws-1"})
    assert sent.status_code == 201, sent.text
    for stage, numbers in STAGES:
        assert chair.stage(stage, numbers).status_code == 201
    dora = sign_in(hq.client, "dora")
    assert dora.get("/hq/photos/1").content == upload  # HQ sees what the chair sent
    assert dora.post("/hq/releases/release", {"note": "first batch"}).status_code == 303
    hq.client.cookies.clear()
    record = hq.client.get("/feed/v1/releases/1/feed/precinct/poweshiek-7.json").json()
    (entry,) = record["photos"]
    public = hq.client.get(f"/feed/v1/releases/1/{entry['path']}")
    assert public.status_code == 200
    assert public.headers["content-type"] == "image/jpeg" and public.headers["x-content-type-options"] == "nosniff"
    assert entry["sha256"] == hashlib.sha256(public.content).hexdigest() != hashlib.sha256(upload).hexdigest()
    with Image.open(io.BytesIO(public.content)) as image:
        image.load()
        assert (image.format, image.size) == ("JPEG", (800, 600))
        assert len(image.getexif()) == 0 and "exif" not in image.info
    assert b"PhoneMaker" not in public.content and b"Exif" not in public.content
    assert hq.client.get("/hq/photos/1").status_code in (401, 403)  # the original is never public
