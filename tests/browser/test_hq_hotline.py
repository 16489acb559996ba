"""The hotline console in Chromium: a prank call without the credential is refused; two operators key in the
same precinct on two calls, disagree on the attendance, and the precinct goes to review (four eyes)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import LiveServer
from tests.browser.hq_support import HQ_ENV, add_staff, hotline_call, staff_page

Shot = Callable[[Page, str], Path]
CODE = "Poweshiek/7"  # Grinnell 2nd Ward: 328 attendees


def test_two_operators_disagree_and_the_precinct_goes_to_review(
    live_server: Callable[..., LiveServer], chromium: Browser, shot: Shot
) -> None:
    server = live_server([CODE], env=HQ_ENV)
    add_staff(server, ("kim", "operator"), ("lee", "operator"))
    kim = staff_page(chromium, server, "kim")
    kim.goto(f"{server.base_url}/hq/hotline")
    kim.get_by_label("Precinct code").fill(CODE)
    kim.get_by_label("Hotline code").fill("ABCD-EFGH-JKMN")
    kim.get_by_role("button", name="Verify caller").click()
    expect(kim.locator("#message")).to_contain_text("take no numbers from this call")
    shot(kim, "hq-hotline-prank-refused")

    hotline_call(kim, server, CODE)
    kim.get_by_label("Attendance").fill("328")
    kim.get_by_role("button", name="Record the attendance").click()
    expect(kim.locator("#done")).to_contain_text("read it back to the caller")
    expect(kim.locator("#readback")).to_contain_text("328 attendees")
    expect(kim.locator("#readback")).to_contain_text("waiting for a second operator or the chair")
    expect(kim.locator("#state")).to_have_text("reported")
    shot(kim, "hq-hotline-first-operator")

    lee = staff_page(chromium, server, "lee")
    hotline_call(lee, server, CODE)
    lee.get_by_label("Attendance").fill("238")  # misheard
    lee.get_by_role("button", name="Record the attendance").click()
    expect(lee.locator("#state")).to_have_text("conflicting")
    expect(lee.get_by_text("the attendance differs between hotline operators: operator:kim (entry #1), "
                           "operator:lee (entry #2)")).to_be_visible()
    expect(lee.locator("#readback")).to_contain_text("differs from another entry: goes to review")
    shot(lee, "hq-hotline-four-eyes-mismatch")
    kim.context.close()
    lee.context.close()
