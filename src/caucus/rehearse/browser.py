"""Chairs who use the real chair app (/chair) in Debian's Chromium, headless, driven by Playwright: the demo
and the rehearsal put a few precincts through the phone app itself rather than the bare API.

Playwright is an optional dependency (the ``browser`` extra; ``dev`` has it too): it is imported only when a
chair opens the app, so every other command runs without it, and without it no chair uses the app.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import TYPE_CHECKING

from caucus.rehearse.truth import PrecinctTruth

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = os.environ.get("CAUCUS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def playwright_installed() -> bool:
    return importlib.util.find_spec("playwright") is not None


def chromium_available() -> bool:
    """Chairs can use the app: the browser is installed and Playwright, which drives it, is importable."""
    return Path(CHROMIUM).exists() and playwright_installed()


def usable_in_app(unit: PrecinctTruth) -> bool:
    """A unit the scripted app chair can report: no game of chance to record and nothing to insist on."""
    return not unit.chance and not unit.held and not unit.impossible_delegates


#: how long a chair's phone waits for the app (actions and assertions alike: Playwright's assertions have their
#: own 5 s default, which a loaded machine exceeds while the server is busy answering every other chair)
WAIT_MS = 60_000


def _counts(page: Page, which: str, counts: dict[str, int]) -> None:
    for box in page.locator(f"#{which}-groups input").all():
        group = box.get_attribute("data-group") or ""
        box.fill(str(counts[group]) if group in counts else "")


def report_in_app(base_url: str, unit: PrecinctTruth, credential: str, screenshots: Path | None = None) -> None:
    """Open the chair app at phone size, sign in, report the four stages, and wait until every report holds
    the server's receipt. Raises if the app does not get there."""
    from playwright.sync_api import expect, sync_playwright  # noqa: PLC0415  (optional: the browser extra)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
            context.set_default_timeout(WAIT_MS)
            page = context.new_page()
            page.goto(f"{base_url}/chair?precinct={unit.code}")
            expect(page.locator("body[data-ready=true]")).to_be_attached(timeout=WAIT_MS)
            page.get_by_label("Credential", exact=True).fill(credential)
            page.get_by_role("button", name="Sign in", exact=True).click()
            expect(page.get_by_role("heading", name="1. Attendance")).to_be_visible(timeout=WAIT_MS)
            # with early ballots the chair types the room's numbers; the app adds the early ballots
            attendance, first, final = unit.room or (unit.attendance, unit.first, unit.final)
            page.get_by_label("Eligible caucus-goers counted").fill(str(attendance))
            page.get_by_role("button", name="Confirm and send attendance").click()
            expect(page.get_by_role("heading", name="2. First alignment")).to_be_visible(timeout=WAIT_MS)
            _counts(page, "first", dict(first))
            page.get_by_role("button", name="Send first alignment").click()
            expect(page.get_by_role("heading", name="3. Final alignment")).to_be_visible(timeout=WAIT_MS)
            _counts(page, "final", dict(final))
            page.get_by_role("button", name="Send final alignment").click()
            expect(page.get_by_role("heading", name="4. Worksheet")).to_be_visible(timeout=WAIT_MS)
            page.get_by_role("button", name="Send county delegates").click()
            expect(page.locator("#savebar")).to_contain_text("Nothing waiting to send", timeout=120_000)
            if screenshots is not None:
                screenshots.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshots / f"chair-{unit.code.replace('/', '-')}.png"), full_page=True)
        finally:
            browser.close()
