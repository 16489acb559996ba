"""The chair-only API additions, on SQLite and PostgreSQL: set-up facts, worksheet photos, HQ messages, and
the test sign-in HQ reads as readiness. Each serves the session's own precinct only."""

from __future__ import annotations

import io

from PIL import Image

from caucus.ledger.audit import audit_events
from caucus.plans import load_plan
from caucus.service import load_context, sign_in_tests
from caucus.service.media import MessageService
from tests.service.images import bomb_png
from tests.web.conftest import Web
from tests.web.support import GRINNELL, SATELLITE, SLUG, assert_error, fields_of


def _jpeg(width: int = 800, height: int = 600, shade: int = 200) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (shade, shade, shade)).save(out, "JPEG")
    return out.getvalue()


def test_setup_gives_the_precincts_plan_facts(web: Web) -> None:
    chair = web.sign_in(GRINNELL)
    body = web.client.get("/api/v1/chair/setup", headers=chair.auth).json()
    assert body["precinct"] == {"code": GRINNELL, "county": "Poweshiek", "name": "2ND WARD - 07.07GR",
                                "kind": "precinct", "delegates_to_elect": 17, "sde_ratio": [7, 50],  # 14 / 100
                                "expected_attendance": None}
    assert (body["election"], body["mode"], body["ruleset"]) == (SLUG, "test", "iowa-2020")
    assert body["candidates"] == list(load_plan("iowa-2020").candidates)
    satellite = web.sign_in(SATELLITE)
    facts = web.client.get("/api/v1/chair/setup", headers=satellite.auth).json()["precinct"]
    assert (facts["kind"], facts["delegates_to_elect"], facts["sde_ratio"]) == ("satellite", None, None)
    # Cedar Rapids Public Library, Whipple Auditorium: 24 people in 2020, twice that expected (docs/plan-format.md)
    assert facts["expected_attendance"] == 48
    assert_error(web.client.get("/api/v1/chair/setup"), 401, "not-signed-in")


def test_test_sign_in_is_an_audit_event_hq_reads_as_readiness(web: Web) -> None:
    tested = web.client.post("/api/v1/session", json={"precinct": GRINNELL, "credential": web.secrets[GRINNELL],
                                                      "purpose": "test"})
    assert tested.status_code == 201
    web.sign_in(SATELLITE)  # an ordinary sign-in is not a test
    actions = [(e.action, e.actor, e.detail["purpose"]) for e in audit_events(web.engine, SLUG)
               if e.action in ("session.test", "session.create")]
    assert actions == [("session.test", f"chair:{GRINNELL}", "test"),
                       ("session.create", f"chair:{SATELLITE}", "report")]
    readiness = sign_in_tests(web.engine, load_context(web.engine, SLUG).election_id)
    assert list(readiness) == [GRINNELL]
    bad = web.client.post("/api/v1/session", json={"precinct": GRINNELL, "credential": web.secrets[GRINNELL],
                                                   "purpose": "practice"})
    assert fields_of(assert_error(bad, 422, "invalid-request")) == {"purpose": "invalid-value"}


def test_photo_upload_is_idempotent_and_checked(web: Web) -> None:
    chair = web.sign_in(GRINNELL)
    photo = _jpeg(1600, 1200)
    headers = {**chair.auth, "Content-Type": "image/jpeg", "Idempotency-Key": "photo-1"}
    first = web.client.post("/api/v1/chair/photos", content=photo, headers=headers)
    assert first.status_code == 201, first.text
    stored = first.json()
    assert {k: stored[k] for k in ("precinct", "content_type", "size", "width", "height", "channel")} == {
        "precinct": GRINNELL, "content_type": "image/jpeg", "size": len(photo), "width": 1600, "height": 1200,
        "channel": "app"}
    again = web.client.post("/api/v1/chair/photos", content=photo, headers=headers)
    assert again.status_code == 201 and again.json()["id"] == stored["id"]
    conflict = web.client.post("/api/v1/chair/photos", content=_jpeg(shade=10), headers=headers)
    assert_error(conflict, 409, "idempotency-conflict")
    not_image = web.client.post("/api/v1/chair/photos", content=b"%PDF-1.4 not a photo",
                                headers={**headers, "Idempotency-Key": "photo-2"})
    assert fields_of(assert_error(not_image, 422, "photo-rejected")) == {"photo": "photo-rejected"}
    wrong_type = web.client.post("/api/v1/chair/photos", content=photo,
                                 headers={**headers, "Content-Type": "application/pdf", "Idempotency-Key": "photo-3"})
    assert "image/jpeg, image/png or image/webp" in assert_error(wrong_type, 415, "unsupported-media-type")["message"]
    no_key = web.client.post("/api/v1/chair/photos", content=photo,
                             headers={**chair.auth, "Content-Type": "image/jpeg"})
    assert fields_of(assert_error(no_key, 422, "invalid-request")) == {"Idempotency-Key": "required"}
    bomb = web.client.post("/api/v1/chair/photos", content=bomb_png(6300),
                           headers={**headers, "Content-Type": "image/png", "Idempotency-Key": "photo-4"})
    refused = assert_error(bomb, 422, "photo-rejected")
    assert "6300x6300 pixels" in refused["message"] and "max-photo-pixels" in refused["message"]
    listed = web.client.get("/api/v1/chair/photos", headers=chair.auth).json()
    assert [p["id"] for p in listed] == [stored["id"]]
    other = web.sign_in(SATELLITE)
    assert web.client.get("/api/v1/chair/photos", headers=other.auth).json() == []


def test_photo_body_limit_is_ten_megabytes_on_that_path_only(web: Web) -> None:
    chair = web.sign_in(GRINNELL)
    big = _jpeg(200, 200) + b"\0" * (200 * 1024)  # over the JSON limit (64 KiB), under the photo limit
    response = web.client.post("/api/v1/chair/photos", content=big,
                               headers={**chair.auth, "Content-Type": "image/jpeg", "Idempotency-Key": "big"})
    assert response.status_code == 201, response.text
    huge = web.client.post("/api/v1/chair/photos", content=b"\xff" * (10 * 1024 * 1024 + 1),
                           headers={**chair.auth, "Content-Type": "image/jpeg", "Idempotency-Key": "huge"})
    assert "the limit is 10485760 bytes" in assert_error(huge, 413, "body-too-large")["message"]
    report = web.client.post("/api/v1/reports", content=b" " * (65 * 1024),
                             headers={**chair.auth, "Content-Type": "application/json", "Idempotency-Key": "r"})
    assert_error(report, 413, "body-too-large")


def test_messages_from_hq_reach_only_their_precinct(web: Web) -> None:
    messages = MessageService(web.engine, load_context(web.engine, SLUG))
    messages.send(GRINNELL, text="Photo unreadable, please resend", actor="reviewer:pat", kind="resend-photo")
    messages.send(SATELLITE, text="Call HQ", actor="reviewer:pat", kind="call-hq")
    chair = web.sign_in(GRINNELL)
    got = web.client.get("/api/v1/chair/messages", headers=chair.auth).json()
    assert [(m["kind"], m["text"]) for m in got] == [("resend-photo", "Photo unreadable, please resend")]
    assert_error(web.client.get("/api/v1/chair/messages"), 401, "not-signed-in")
