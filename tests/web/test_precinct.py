"""GET /api/v1/precinct: the chair's own precinct, derived from the ledger rows of every channel."""

from __future__ import annotations

from caucus.ledger import Ledger, Submission
from tests.web.conftest import Web
from tests.web.support import GRINNELL, GRINNELL_FIRST, SATELLITE, STAGES


def test_an_unreported_precinct(web_sqlite: Web) -> None:
    body = web_sqlite.sign_in(GRINNELL).status().json()
    assert body == {
        "code": GRINNELL, "county": "Poweshiek", "name": "2ND WARD - 07.07GR", "kind": "precinct",
        "delegates_to_elect": 17, "state": "not-reported", "reasons": ["nothing reported yet"], "stages": {},
        "history": [], "findings": [],
        "recomputed": {"delegates_to_elect": None, "attendance": None, "threshold": None, "status": None,
                       "delegates": None, "sde": None, "pending_chance": None, "notes": []},
    }


def test_each_stage_with_its_receipt_and_the_history(web_sqlite: Web) -> None:
    chair = web_sqlite.sign_in(GRINNELL)
    receipts = [chair.stage(stage, numbers).json()["receipt"] for stage, numbers in STAGES[:2]]
    body = chair.status().json()
    assert body["state"] == "reported"
    assert body["reasons"] == ["waiting for: final alignment, delegates"]
    assert body["stages"] == {
        "attendance": [{"seq": 1, "received_at": receipts[0]["received_at"], "channel": "app",
                        "content_hash": receipts[0]["content_hash"], "numbers": {"attendance": 328}}],
        "first": [{"seq": 2, "received_at": receipts[1]["received_at"], "channel": "app",
                   "content_hash": receipts[1]["content_hash"], "numbers": {"counts": GRINNELL_FIRST}}],
    }
    assert [(h["seq"], h["stage"], h["idempotency_key"], h["superseded_by"]) for h in body["history"]] == [
        (1, "attendance", chair.keys[0], None), (2, "first", chair.keys[1], None)]
    assert body["recomputed"]["threshold"] == 50 and body["recomputed"]["delegates"] is None


def test_channels_that_disagree_make_the_precinct_conflicting(web_sqlite: Web) -> None:
    chair = web_sqlite.sign_in(GRINNELL)
    chair.stage("attendance", {"attendance": 328})
    with Ledger(web_sqlite.engine) as ledger:  # the hotline heard another number
        ledger.submit(Submission(election="ia-2020-web", precinct_code=GRINNELL, channel="hotline",
                                 stage="attendance", payload={"attendance": 238}, actor="operator:kim",
                                 idempotency_key="hotline-1"))
    body = chair.status().json()
    assert body["state"] == "conflicting"
    assert body["reasons"] == ["the attendance differs between channels: app (entry #1), hotline (entry #2)"]
    assert [(e["channel"], e["numbers"]) for e in body["stages"]["attendance"]] == [
        ("app", {"attendance": 328}), ("hotline", {"attendance": 238})]
    # the chair's own channel still takes its next stage; the conflict is for a reviewer
    assert chair.stage("first", {"counts": GRINNELL_FIRST}).json()["precinct"]["state"] == "conflicting"


def test_a_satellite_site_elects_delegates_by_attendance(web_sqlite: Web) -> None:
    chair = web_sqlite.sign_in(SATELLITE)
    assert chair.status().json()["delegates_to_elect"] is None
    counts = {"Sanders": 30, "Warren": 15}
    for stage, numbers in [("attendance", {"attendance": 45}), ("first", {"counts": counts}),
                           ("final", {"counts": counts}), ("delegates", {"delegates": {"Sanders": 4, "Warren": 2}})]:
        response = chair.stage(stage, numbers)
        assert response.status_code == 201, response.text
    body = chair.status().json()
    assert body["state"] == "accepted" and body["delegates_to_elect"] == 6  # 41-60 attendees: 6 (IA-5.2)
    assert body["recomputed"]["delegates"] == {"Sanders": 4, "Warren": 2}
    assert body["recomputed"]["sde"] is None
    assert body["recomputed"]["notes"][0].startswith("satellite site: 6 delegates for attendance 45 (IA-5.2)")
