"""Worksheet photos at HQ: a reviewer uploads one (channel paper) through the multipart form with its CSRF
token, sees it next to the numbers, opens it, and transcribes it as a paper report."""

from __future__ import annotations

import io

from PIL import Image

from caucus.ledger import entries
from tests.hq.support import add_staff, sign_in
from tests.web.conftest import Web
from tests.web.support import GRINNELL, SLUG


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
