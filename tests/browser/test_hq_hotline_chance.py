"""A tied precinct phoned in, in Chromium: two operators key Adair 1 NW's final alignment (certified 2020:
Buttigieg and Klobuchar tied for the delegate too many, Buttigieg lost the coin toss), the console shows who
is tied for what and takes the toss; with both operators' entries matching, the precinct is accepted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import LiveServer
from tests.browser.hq_support import HQ_ENV, add_staff, hotline_call, staff_page

Shot = Callable[[Page, str], Path]
CODE = "Adair/01NW"  # 40 attendees, 8 delegates
COUNTS = {"Biden": 6, "Buttigieg": 8, "Klobuchar": 8, "Sanders": 9, "Warren": 9}
DELEGATES = {"Biden": 1, "Buttigieg": 1, "Klobuchar": 2, "Sanders": 2, "Warren": 2}


def fill_numbers(page: Page, form: str, numbers: dict[str, int]) -> None:
    for group, n in numbers.items():
        page.locator(form).get_by_label(group, exact=True).fill(str(n))


def key_in_the_precinct(page: Page, server: LiveServer, shot: Shot | None = None) -> None:
    hotline_call(page, server, CODE)
    page.get_by_label("Attendance").fill("40")
    page.get_by_role("button", name="Record the attendance").click()
    expect(page.locator("#done")).to_contain_text("read it back to the caller")
    fill_numbers(page, "#enter", COUNTS)
    page.get_by_role("button", name="Record the first alignment").click()
    expect(page.locator("#done")).to_contain_text("read it back to the caller")
    fill_numbers(page, "#enter", COUNTS)
    page.get_by_role("button", name="Record the final alignment").click()
    # the engine's tie, in words, and a box per tied group
    expect(page.locator("#message")).to_contain_text(
        "a game of chance is required: 1 of Buttigieg, Klobuchar must lose one delegate by a game of chance")
    expect(page.locator("#chance-before")).to_have_text(
        "Before the game of chance: Biden 1, Buttigieg 2, Klobuchar 2, Sanders 2, Warren 2.")
    choices = page.locator("#chance-choices")
    expect(choices.get_by_role("checkbox")).to_have_count(2)
    # marking both is refused, naming the field; the keyed numbers stay
    choices.get_by_label("Buttigieg loses a delegate").check()
    choices.get_by_label("Klobuchar loses a delegate").check()
    page.get_by_role("button", name="Record the final alignment with the game of chance").click()
    expect(page.locator("#error-chance\\.0\\.selected")).to_contain_text(
        "mark exactly 1 of Buttigieg, Klobuchar (who gives a delegate back); 2 (Buttigieg, Klobuchar) marked")
    expect(page.locator("#chance").get_by_label("Warren", exact=True)).to_have_value("9")
    if shot is not None:
        shot(page, "hq-hotline-chance-asked")
    page.locator("#chance-choices").get_by_label("Klobuchar loses a delegate").uncheck()
    expect(page.locator("#chance-choices").get_by_label("Buttigieg loses a delegate")).to_be_checked()
    page.get_by_role("button", name="Record the final alignment with the game of chance").click()
    expect(page.locator("#done")).to_contain_text("read it back to the caller")
    expect(page.locator("#readback")).to_contain_text("game of chance 1: Buttigieg (lose) among Buttigieg, Klobuchar")
    fill_numbers(page, "#enter", DELEGATES)
    page.get_by_role("button", name="Record the delegates").click()
    expect(page.locator("#done")).to_contain_text("read it back to the caller")


def test_two_operators_key_a_tied_final_alignment_with_its_toss_and_the_precinct_is_accepted(
    live_server: Callable[..., LiveServer], chromium: Browser, shot: Shot
) -> None:
    server = live_server([CODE], env=HQ_ENV)
    add_staff(server, ("kim", "operator"), ("lee", "operator"), ("rita", "reviewer"))
    kim = staff_page(chromium, server, "kim")
    key_in_the_precinct(kim, server, shot)
    expect(kim.locator("#state")).to_have_text("reported")
    expect(kim.locator("#readback")).to_contain_text("waiting for a second operator or the chair")

    lee = staff_page(chromium, server, "lee")
    key_in_the_precinct(lee, server)
    expect(lee.locator("#state")).to_have_text("accepted")
    expect(lee.locator("#readback")).to_contain_text("confirmed")
    shot(lee, "hq-hotline-chance-accepted")

    rita = staff_page(chromium, server, "rita")
    rita.goto(f"{server.base_url}/hq/review/p/{CODE}")
    expect(rita.locator("#state")).to_have_text("accepted")
    final = rita.locator('table.side-by-side[data-stage="final"]')
    expect(final.locator("tbody tr").last).to_contain_text("game of chance")
    expect(final.locator("tr.differs")).to_have_count(0)
    for page in (kim, lee, rita):
        page.context.close()
