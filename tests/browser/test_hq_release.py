"""Release control in Chromium: test mode shown in large type; the director releases the accepted precinct
after a confirmation; the public feed has nothing before and the release after."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import LiveServer
from tests.browser.hq_support import HQ_ENV, add_staff, chair_reports, staff_page
from tests.web.support import STAGES

Shot = Callable[[Page, str], Path]
CODE = "Poweshiek/7"


def test_the_director_releases_accepted_results(
    live_server: Callable[..., LiveServer], chromium: Browser, shot: Shot
) -> None:
    server = live_server([CODE], env=HQ_ENV)
    add_staff(server, ("dora", "director"))
    chair_reports(server, CODE, STAGES)
    assert httpx.get(f"{server.base_url}/feed/v1/latest.json").status_code == 404
    dora = staff_page(chromium, server, "dora")
    dora.get_by_role("navigation").get_by_role("link", name="Releases").click()
    expect(dora.locator("#mode")).to_contain_text("TEST MODE")
    expect(dora.locator("#accepted")).to_have_text("1")
    dora.get_by_label("Note").fill("first batch")
    dora.get_by_role("button", name="Release accepted results now").click()
    expect(dora.locator("#done")).to_contain_text("release 1 published (1 precincts")
    expect(dora.locator("#releases")).to_contain_text("unofficial (test)")
    shot(dora, "hq-release-director")
    latest = httpx.get(f"{server.base_url}/feed/v1/latest.json")
    assert latest.status_code == 200 and latest.json()["release"] == 1
    dora.get_by_role("navigation").get_by_role("link", name="Night").click()
    expect(dora.locator("#statewide")).to_contain_text("1 accepted")
    expect(dora.locator("svg.chart polyline")).to_have_count(1)
    shot(dora, "hq-night")
    dora.get_by_role("navigation").get_by_role("link", name="Readiness").click()
    expect(dora.locator("#readiness-total")).to_contain_text("1 of 1 precincts with a credential have signed in")
    shot(dora, "hq-readiness")
    dora.context.close()
