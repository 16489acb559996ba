"""Going live after a rehearsal, through the real app (SQLite and PostgreSQL): a test-mode night with a
release, a worksheet photo, a message to the chair and a recanvass request; then the director goes live on
/hq/election (CSRF, the election's name typed, audited). Nothing of the rehearsal counts or is published
any more, yet all of it is still in the ledger (the chain verifies); the card issued before still signs in;
a retried rehearsal key is refused, not answered with a receipt that does not count; the first live release
holds only live entries."""

from __future__ import annotations

import io

from PIL import Image

from caucus.ledger import audit_events, entries, verify_chain
from caucus.ledger.epochs import read_epoch
from caucus.web.services import Services
from tests.hq.support import add_staff, sign_in
from tests.web.conftest import Web
from tests.web.support import GRINNELL, GRINNELL_FINAL, SLUG, STAGES


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 300), "white").save(out, "PNG")
    return out.getvalue()


def test_go_live_sets_the_rehearsal_aside_and_keeps_the_cards(hq: Web, svc: Services) -> None:
    add_staff(hq.engine, "dora", "director")
    add_staff(hq.engine, "otto", "observer")
    add_staff(hq.engine, "adam", "admin")
    # -- the rehearsal: a chair reports with the card, sends a photo; HQ messages and releases
    chair = hq.sign_in(GRINNELL)
    for stage, numbers in STAGES:
        assert chair.stage(stage, numbers).status_code == 201
    rehearsal_keys = list(chair.keys)
    photo = hq.client.post("/api/v1/chair/photos", content=_png(),
                           headers={**chair.auth, "Content-Type": "image/png", "Idempotency-Key": "photo-1"})
    assert photo.status_code == 201, photo.text
    svc.messages.send(GRINNELL, text="call HQ about the worksheet", actor="reviewer:rita")
    svc.recanvass.create("reviewer:rita", campaign="Warren for President", kind="recanvass", precincts=[GRINNELL],
                         reason="rehearsal recanvass")
    dora = sign_in(hq.client, "dora")
    assert dora.post("/hq/releases/release", {"note": "rehearsal batch"}).status_code == 303
    hq.client.cookies.clear()
    assert hq.client.get("/feed/v1/statewide.json").json()["test"] is True
    rehearsal_entries = len(entries(hq.engine, SLUG))
    assert rehearsal_entries == 4

    # -- who may go live, and how
    assert sign_in(hq.client, "otto").get("/hq/election").status_code == 403
    admin_page = sign_in(hq.client, "adam").get("/hq/election")
    assert admin_page.status_code == 200 and "TEST MODE" in admin_page.text and 'id="go-live"' in admin_page.text
    assert dora.post("/hq/election/go-live", {"confirm": SLUG}, csrf=False).status_code == 403
    wrong = dora.post("/hq/election/go-live", {"confirm": "yes"})
    assert wrong.status_code == 409 and "type the election&#39;s name" in wrong.text
    assert svc.mode() == "test"
    live = dora.post("/hq/election/go-live", {"confirm": SLUG})
    assert live.status_code == 303 and "The%20election%20is%20LIVE" in live.headers["location"]
    page = dora.get("/hq/election").text
    assert "LIVE MODE" in page and 'id="go-live"' not in page and "LIVE — election" in page
    epoch = read_epoch(hq.engine, svc.context.election_id)
    assert (epoch.mode, epoch.counts_after_seq, epoch.releases_through) == ("live", 4, 1)
    (event,) = [e for e in audit_events(hq.engine, SLUG) if e.action == "election.go-live"]
    assert event.actor == "director:dora" and event.detail["counts_after_seq"] == 4

    # -- nothing of the rehearsal counts or is published
    assert svc.reports.status(GRINNELL).state == "not-reported"
    assert svc.releases.preview().accepted == 0 and svc.review.queue() == []
    assert svc.recanvass.list() == [] and svc.photos.list(GRINNELL) == []
    hq.client.cookies.clear()
    for path in ("/feed/v1/latest.json", "/feed/v1/statewide.json", "/feed/v1/releases/1/manifest.json"):
        response = hq.client.get(path)
        assert response.status_code == 404, path
    home = hq.client.get("/").text
    assert "No results have been released yet" in home and "These are test results" not in home
    assert [(r.number, r.archived) for r in svc.releases.list()] == [(1, True)]
    # ... but it is all still in the ledger, and the chain verifies
    assert len(entries(hq.engine, SLUG)) == rehearsal_entries and verify_chain(hq.engine, SLUG).ok

    # -- the card issued before still signs in; the rehearsal's session ended
    assert chair.status().status_code == 401
    chair = hq.sign_in(GRINNELL)
    assert hq.client.get("/api/v1/chair/messages", headers=chair.auth).json() == []
    retried = chair.stage(*STAGES[0], key=rehearsal_keys[0])
    assert retried.status_code == 409 and retried.json()["error"]["code"] == "rehearsal-entry"
    again = hq.client.post("/api/v1/chair/photos", content=_png(),
                           headers={**chair.auth, "Content-Type": "image/png", "Idempotency-Key": "photo-1"})
    assert again.status_code == 409 and "rehearsal" in again.json()["error"]["message"]

    # -- the live night: the first live release holds only live entries
    for stage, numbers in STAGES:
        assert chair.stage(stage, numbers).status_code == 201
    assert svc.reports.status(GRINNELL).state == "accepted"
    assert dora.post("/hq/releases/release", {"note": "first returns"}).status_code == 303
    hq.client.cookies.clear()
    assert hq.client.get("/feed/v1/latest.json").json()["release"] == 2
    release = hq.client.get("/feed/v1/release.json").json()
    assert (release["test"], release["previous"], release["precinctsReporting"]) == (False, None, 1)
    detail = hq.client.get("/feed/v1/precinct/poweshiek-7.json").json()
    assert detail["final"] == GRINNELL_FINAL and detail["photos"] == []
    assert sorted(s["seq"] for s in detail["stages"]) == [5, 6, 7, 8]  # none of the rehearsal's 1-4
    assert [c["kind"] for c in hq.client.get("/feed/v1/changes.json").json()["changes"]] == ["new"]
    assert hq.client.get("/feed/v1/delta/1.json").status_code == 404  # the rehearsal's release
    assert [c["code"] for c in hq.client.get("/feed/v1/delta/0.json").json()["changes"]] == [GRINNELL]
    assert "These are test results" not in hq.client.get("/").text

    # -- once only
    twice = dora.post("/hq/election/go-live", {"confirm": SLUG})
    assert twice.status_code == 409 and "already live" in twice.text
    reset = dora.post("/hq/election/reset-rehearsal", {"confirm": SLUG})
    assert reset.status_code == 409 and "never reset" in reset.text


def test_a_rehearsal_reset_for_another_rehearsal(hq: Web, svc: Services) -> None:
    chair = hq.sign_in(GRINNELL)
    for stage, numbers in STAGES:
        assert chair.stage(stage, numbers).status_code == 201
    first = svc.releases.release(actor="director:dora")
    svc.election.reset_rehearsal("director:dora", confirm=SLUG)
    assert svc.mode() == "test" and svc.reports.status(GRINNELL).state == "not-reported"
    hq.client.cookies.clear()
    assert hq.client.get("/feed/v1/latest.json").status_code == 404
    assert "These are test results" in hq.client.get("/").text  # still a rehearsal
    chair = hq.sign_in(GRINNELL)
    for stage, numbers in STAGES:
        assert chair.stage(stage, numbers).status_code == 201
    second = svc.releases.release(actor="director:dora", zero=True)  # zeros again: nothing real out this time
    assert (first.number, second.number, second.zero) == (1, 2, True)
    svc.election.reset_rehearsal("director:dora", confirm=SLUG)  # as often as needed
    svc.election.go_live("director:dora", confirm=SLUG)
    assert svc.mode() == "live" and svc.reports.status(GRINNELL).state == "not-reported"
    assert [r.archived for r in svc.releases.list()] == [True, True]
