"""Review in Chromium: the chair's app report and an operator's hotline entry disagree; the reviewer sees the
channels side by side with the difference highlighted, accepts the app's version with a reason, and the
precinct leaves the queue."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import LiveServer
from tests.browser.hq_support import HQ_ENV, add_staff, chair_reports, hotline_call, staff_page

Shot = Callable[[Page, str], Path]
CODE = "Poweshiek/7"


def test_a_conflict_between_app_and_hotline_is_resolved_in_review(
    live_server: Callable[..., LiveServer], chromium: Browser, shot: Shot
) -> None:
    server = live_server([CODE], env=HQ_ENV)
    add_staff(server, ("kim", "operator"), ("rita", "reviewer"))
    chair_reports(server, CODE, [("attendance", {"attendance": 328})])
    kim = staff_page(chromium, server, "kim")
    hotline_call(kim, server, CODE)
    kim.get_by_label("Attendance").fill("238")
    kim.get_by_role("button", name="Record the attendance").click()
    expect(kim.locator("#state")).to_have_text("conflicting")
    kim.context.close()

    rita = staff_page(chromium, server, "rita")
    rita.get_by_role("navigation").get_by_role("link", name="Review queue").click()
    expect(rita.locator("#queue-length")).to_have_text("1")
    rita.get_by_role("link", name=CODE).click()
    expect(rita.locator("#state")).to_have_text("conflicting")
    row = rita.locator("table.side-by-side[data-stage=attendance] tr.differs")
    expect(row).to_contain_text("328")
    expect(row).to_contain_text("238")
    shot(rita, "hq-review-conflict-side-by-side")
    app_version = rita.locator("form.accept-version").filter(has=rita.locator("input[name=seq][value='1']"))
    app_version.get_by_placeholder("why (e.g. matches photo)").fill("the chair read 328 from the worksheet")
    app_version.get_by_role("button", name="Accept #1").click()
    expect(rita.locator("#done")).to_contain_text("entry #1 accepted")
    expect(rita.locator("#state")).to_have_text("reported")
    expect(rita.locator("#history")).to_contain_text("review: accepted entry #1 (app, precinct chair)")
    shot(rita, "hq-review-conflict-resolved")
    rita.get_by_role("navigation").get_by_role("link", name="Review queue").click()
    expect(rita.locator("#queue")).to_contain_text("missing-stages")  # still waiting for the other stages
    rita.context.close()
