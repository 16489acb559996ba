"""Must show, through the real server (uvicorn, SQLite) and Chromium: a test-mode night with a release, then
the director goes live on /hq/election. The public feed 404s until the first live release, which contains
no test entry; the card issued before still signs in."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, expect

from caucus.ledger import entries, make_engine, verify_chain
from caucus.publish.model import slug
from tests.browser.conftest import SLUG, LiveServer
from tests.browser.hq_support import HQ_ENV, add_staff, chair_reports, staff_page
from tests.publish.support import scripts
from tests.web.support import GRINNELL, GRINNELL_FINAL, STAGES

Shot = Callable[[Page, str], Path]


def _release(page: Page, note: str) -> None:
    page.get_by_role("navigation").get_by_role("link", name="Releases").click()
    page.get_by_label("Note").fill(note)
    page.get_by_role("button", name="Release accepted results now").click()


def test_rehearsal_then_go_live_then_the_first_live_release(
    live_server: Callable[..., LiveServer], chromium: Browser, shot: Shot
) -> None:
    adams = scripts(["Adams"])[0]
    server = live_server([GRINNELL, adams.precinct], env=HQ_ENV)
    add_staff(server, ("dora", "director"))
    feed = httpx.Client(base_url=server.base_url, timeout=10)
    chair = httpx.Client(base_url=server.base_url, timeout=10)
    # -- the rehearsal (test mode): both precincts report with their cards, the director releases
    token = chair.post("/api/v1/session", json={"precinct": GRINNELL, "credential": server.secrets[GRINNELL]}
                       ).json()["token"]
    rehearsal_key = str(uuid.uuid4())
    for i, (stage, numbers) in enumerate(STAGES):
        response = chair.post("/api/v1/reports", json={"stage": stage, **numbers}, headers={
            "Authorization": f"Bearer {token}", "Idempotency-Key": rehearsal_key if i == 0 else str(uuid.uuid4())})
        assert response.status_code == 201, response.text
    chair_reports(server, adams.precinct, [(s["stage"], {k: v for k, v in s.items() if k != "stage"})
                                           for s in adams.stages])
    dora = staff_page(chromium, server, "dora")
    _release(dora, "rehearsal batch")
    expect(dora.locator("#done")).to_contain_text("release 1 published (2 precincts")
    rehearsal = feed.get("/feed/v1/statewide.json").json()
    assert (rehearsal["release"], rehearsal["test"], rehearsal["precinctsReporting"]) == (1, True, 2)

    # -- go live: the election's name must be typed
    dora.get_by_role("navigation").get_by_role("link", name="Election mode").click()
    expect(dora.locator("#mode")).to_contain_text("TEST MODE")
    dora.get_by_label("to go live").fill("go")
    dora.get_by_role("button", name="Go live").click()
    expect(dora.locator("#message")).to_contain_text(f"type the election's name '{SLUG}'")
    dora.get_by_label("to go live").fill(SLUG)
    dora.get_by_role("button", name="Go live").click()
    expect(dora.locator("#done")).to_contain_text("The election is LIVE: 8 rehearsal entries set aside")
    expect(dora.locator(".mode-banner")).to_contain_text(f"LIVE — election {SLUG}")
    shot(dora, "hq-election-live")

    # -- the public feed 404s until the first live release
    for path in ("/feed/v1/latest.json", "/feed/v1/statewide.json", "/feed/v1/precincts.json",
                 "/feed/v1/releases/1/manifest.json"):
        assert feed.get(path).status_code == 404, path
    home = feed.get("/").text
    assert "No results have been released yet" in home and "These are test results" not in home

    # -- the card issued before still signs in (the rehearsal's session ended); a rehearsal key is refused
    assert chair.get("/api/v1/precinct", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    signed = chair.post("/api/v1/session", json={"precinct": GRINNELL, "credential": server.secrets[GRINNELL]})
    assert signed.status_code == 201, signed.text
    token = signed.json()["token"]
    stage, numbers = STAGES[0]
    retried = chair.post("/api/v1/reports", json={"stage": stage, **numbers},
                         headers={"Authorization": f"Bearer {token}", "Idempotency-Key": rehearsal_key})
    assert retried.status_code == 409 and retried.json()["error"]["code"] == "rehearsal-entry"
    for stage, numbers in STAGES:
        response = chair.post("/api/v1/reports", json={"stage": stage, **numbers},
                              headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())})
        assert response.status_code == 201, response.text
    assert feed.get("/feed/v1/latest.json").status_code == 404  # accepted is not released

    # -- the first live release: Grinnell's live entries only, nothing of the rehearsal
    _release(dora, "first returns")
    expect(dora.locator("#done")).to_contain_text("release 2 published (1 precincts")
    release = feed.get("/feed/v1/release.json").json()
    assert (release["release"], release["test"], release["previous"], release["precinctsReporting"]) == (
        2, False, None, 1)
    reported = {p["code"]: p["reported"] for p in feed.get("/feed/v1/precincts.json").json()["precincts"]}
    assert reported[GRINNELL] is True and reported[adams.precinct] is False
    detail = feed.get(f"/feed/v1/precinct/{slug(GRINNELL)}.json").json()
    assert detail["final"] == GRINNELL_FINAL and detail["test"] is False
    assert min(s["seq"] for s in detail["stages"]) == 9  # entries 1-8 were the rehearsal's
    assert feed.get(f"/feed/v1/precinct/{slug(adams.precinct)}.json").status_code == 404
    page = feed.get("/").text
    assert "These are test results" not in page and "<strong>1</strong> of 1768 precincts reporting" in page
    engine = make_engine(server.url)
    try:  # the rehearsal is still in the ledger, and the chain verifies
        assert len(entries(engine, SLUG)) == 12 and verify_chain(engine, SLUG).ok
    finally:
        engine.dispose()
    dora.context.close()
    feed.close()
    chair.close()
