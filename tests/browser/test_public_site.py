"""The public results site in Debian's Chromium against a real server: statewide page with the county map,
a county page, a precinct page with its provenance, and a new release arriving live (server-sent events)
without a reload. Results are reported through the real ReportService and released with the real
ReleaseService in this process; the server only reads the snapshot files. Screenshots in build/screenshots.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from caucus.ledger import Writer, make_engine
from caucus.service import ReportService, load_context
from caucus.service.releases import ReleaseService
from tests.browser.chair_support import axe_violations
from tests.browser.conftest import SLUG, LiveServer
from tests.publish.support import GRINNELL, all_scripts, report, scripts


@dataclass
class Desk:
    """Headquarters in the test process: reports and releases on the server's database."""

    reports: ReportService
    releases: ReleaseService
    server: LiveServer


@pytest.fixture
def desk(live_server: Callable[..., LiveServer]) -> Iterator[Desk]:
    running = live_server([])
    engine = make_engine(running.url)
    writer = Writer(engine)
    context = load_context(engine, SLUG)
    # the server's default snapshot directory: beside its SQLite database
    releases = ReleaseService(engine, context, running.data_dir / "snapshots" / SLUG)
    try:
        yield Desk(ReportService(engine, writer, context), releases, running)
    finally:
        writer.close()
        engine.dispose()


def _release_poweshiek(desk: Desk) -> None:
    for script in scripts(["Poweshiek", "Adair"]):
        report(desk.reports, script)
    desk.releases.release(actor="director:dee", note="first returns")


def test_statewide_page_with_map(desk: Desk, desktop: Page, shot: Callable[[Page, str], Path]) -> None:
    _release_poweshiek(desk)
    desktop.goto(desk.server.base_url + "/")
    expect(desktop.get_by_role("heading", name="Statewide results")).to_be_visible()
    expect(desktop.locator(".banner.test")).to_contain_text("TEST")
    expect(desktop.locator(".reporting")).to_contain_text("13 of 1768 precincts reporting (0.74%)")
    expect(desktop.locator(".leader")).to_contain_text("SDE leader:")
    table = desktop.get_by_role("table", name="The three result sets and the national delegates (a projection)")
    expect(table.get_by_role("row")).to_have_count(15)  # header + the plan's 14 preference groups
    paths = desktop.locator("svg[data-map] path")
    expect(paths).to_have_count(99)
    poweshiek = desktop.locator('svg[data-map] path[data-county="Poweshiek"]')
    box = poweshiek.bounding_box()
    assert box is not None and box["width"] > 10 and box["height"] > 10  # really drawn, not an empty path
    assert poweshiek.get_attribute("fill") != "#e5e5e5"  # shaded by its leader
    assert desktop.locator('svg[data-map] path[data-county="Polk"]').get_attribute("fill") == "#e5e5e5"
    release = desk.releases.list()[0]
    expect(desktop.locator("footer.release")).to_contain_text(release.content_hash)
    assert axe_violations(desktop) == []
    shot(desktop, "public-statewide")


def test_county_and_precinct_pages(desk: Desk, phone: Page, shot: Callable[[Page, str], Path]) -> None:
    _release_poweshiek(desk)
    phone.goto(desk.server.base_url + "/")
    phone.locator("ul.counties").get_by_role("link", name="Poweshiek").click()
    expect(phone.get_by_role("heading", name="Poweshiek")).to_be_visible()
    expect(phone.locator(".reporting")).to_contain_text("10 of 10 precincts reporting")
    assert axe_violations(phone) == []
    shot(phone, "public-county")
    phone.get_by_role("link", name="2ND WARD - 07.07GR").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("2ND WARD - 07.07GR")
    # on a phone the result sets come as two narrow tables (the wide one is for wider screens)
    alignments = phone.get_by_role("table", name="2ND WARD - 07.07GR: first and final alignment")
    expect(alignments.get_by_role("row", name="Warren")).to_contain_text("115")  # RULES.md §13.3 R1
    delegates = phone.get_by_role("table", name="2ND WARD - 07.07GR: county delegates and SDEs")
    expect(delegates.get_by_role("row", name="Warren")).to_contain_text("0.8400")
    expect(phone.get_by_role("table", name="2ND WARD - 07.07GR: the three result sets")).to_be_hidden()
    provenance = phone.get_by_role("table", name="How each stage was reported")
    expect(provenance.get_by_role("row")).to_have_count(5)  # header + four stages by app
    assert axe_violations(phone) == []
    shot(phone, "public-precinct")


def test_a_new_release_arrives_live_without_reload(desk: Desk, desktop: Page,
                                                   shot: Callable[[Page, str], Path]) -> None:
    report(desk.reports, all_scripts()[GRINNELL])
    desk.releases.release(actor="director:dee")
    desktop.goto(desk.server.base_url + "/")
    expect(desktop.locator(".reporting")).to_contain_text("1 of 1768 precincts reporting")
    desktop.evaluate("() => { window.__sameDocument = 'yes'; }")
    for script in scripts(["Adams"]):
        report(desk.reports, script)
    desk.releases.release(actor="director:dee")
    expect(desktop.locator("[data-live]")).to_have_text("Updated live to release 2.", timeout=15_000)
    expect(desktop.locator(".reporting")).to_contain_text("5 of 1768 precincts reporting")
    assert desktop.evaluate("() => window.__sameDocument") == "yes"  # no reload happened
    assert desktop.locator("body").get_attribute("data-release") == "2"
    shot(desktop, "public-live-update")


def test_without_javascript_the_page_refreshes_itself(desk: Desk, chromium: Browser) -> None:
    _release_poweshiek(desk)
    context = chromium.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(desk.server.base_url + "/")
        expect(page.locator(".reporting")).to_contain_text("13 of 1768 precincts reporting")
        # <noscript> content is live markup only when scripting is off: the periodic refresh takes over
        expect(page.locator('meta[http-equiv="refresh"]')).to_have_count(1)
        assert page.locator('meta[http-equiv="refresh"]').get_attribute("content") == "30"
    finally:
        context.close()
