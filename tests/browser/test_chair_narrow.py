"""The chair app on the smallest phones (320 px wide): every screen fits without sideways scrolling, its
targets are large, axe-core finds nothing serious, the worksheet of a real Iowa precinct breaks no word or
number; and a disagreement with HQ's computer is said plainly. (The worksheet and the public page at 320 px,
390 px and 200 % zoom for a made-up party's plan: test_phone_layout.py.)"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.chair_support import axe_violations, enter_counts, open_app, send, sign_in, wait_sent
from tests.browser.conftest import LiveServer
from tests.browser.layout_support import assert_all_words_whole

Shot = Callable[[Page, str], Path]
CODE = "Poweshiek/7"  # Grinnell 2nd Ward 07: RULES.md R1, 17 delegates, 328 people
FIRST = {"Buttigieg": 55, "Klobuchar": 70, "Sanders": 78, "Warren": 124}


@pytest.fixture
def narrow(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(viewport={"width": 320, "height": 640}, device_scale_factor=2, is_mobile=True,
                                   has_touch=True)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def _fits(page: Page, screen: str) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 320, f"{screen}: the page is {width} px wide"
    small = page.evaluate("""() => Array.from(document.querySelectorAll('button, input, textarea'))
      .filter((e) => e.offsetParent !== null && e.type !== 'checkbox')
      .filter((e) => e.getBoundingClientRect().height < 44).map((e) => e.id || e.textContent)""")
    assert small == [], f"{screen}: targets under 44 px high: {small}"
    assert axe_violations(page) == [], screen


def test_every_screen_fits_320_px(live_server: Callable[..., LiveServer], narrow: Page, shot: Shot) -> None:
    server = live_server([CODE])
    open_app(narrow, server)
    _fits(narrow, "sign-in")
    sign_in(narrow, server, CODE)
    narrow.get_by_label("Eligible caucus-goers counted").fill("328")
    _fits(narrow, "attendance")
    send(narrow, "Confirm and send attendance")
    enter_counts(narrow, "first", FIRST)
    _fits(narrow, "first")
    shot(narrow, "chair-320-first-alignment")
    send(narrow, "Send first alignment")
    enter_counts(narrow, "final", FIRST)
    expect(narrow.locator("#final-preview")).to_contain_text(
        "County delegates: Buttigieg 3, Klobuchar 4, Sanders 4, Warren 6.")  # RULES.md §13.3 R1
    _fits(narrow, "final")
    send(narrow, "Send final alignment")
    warren = narrow.locator("#worksheet-table").get_by_role("table", name="Warren")
    expect(warren.get_by_role("row", name="SDEs").get_by_role("cell")).to_have_text("0.8400")  # R1, Poweshiek 14/100
    _fits(narrow, "worksheet")
    cells = narrow.locator("#worksheet-table .card").locator("caption, th, td")
    for layout in assert_all_words_whole(cells, "worksheet"):  # Iowa's longer names too ("Klobuchar", "Buttigieg")
        assert layout.lines == 1, f"worksheet: {layout.text!r} on {layout.lines} lines"
    shot(narrow, "chair-320-worksheet")
    send(narrow, "Send county delegates")
    _fits(narrow, "photo")
    wait_sent(narrow, 4)
    _fits(narrow, "status")


def test_a_disagreement_with_hq_is_shown_plainly(live_server: Callable[..., LiveServer], phone: Page) -> None:
    server = live_server([CODE])
    open_app(phone, server)
    sign_in(phone, server, CODE)
    phone.get_by_label("Eligible caucus-goers counted").fill("328")
    send(phone, "Confirm and send attendance")
    enter_counts(phone, "first", FIRST)
    send(phone, "Send first alignment")
    enter_counts(phone, "final", FIRST)
    send(phone, "Send final alignment")
    wait_sent(phone, 3)
    expect(phone.locator("#hq-status")).not_to_contain_text("disagree")
    # As if this phone's math had been wrong: HQ's recomputation (the authority) is kept, the phone's is shown
    # next to it in plain words. The stored copy is changed on the next load, before the app's script runs
    # (an init script), so nothing the running app still does (a status refresh in flight, a save while the
    # page unloads) can overwrite it; offline, so that no refresh from HQ replaces it after the load.
    phone.context.set_offline(True)
    phone.add_init_script("""(() => {
      if (sessionStorage.getItem('tampered')) return;
      sessionStorage.setItem('tampered', '1');
      const s = JSON.parse(localStorage.getItem('caucus-chair/v1'));
      s.recomputed.delegates.Warren = 5; s.recomputed.delegates.Sanders = 5;
      s.hq = null;
      localStorage.setItem('caucus-chair/v1', JSON.stringify(s));
    })()""")
    phone.reload()
    expect(phone.locator("#hq-status")).to_contain_text(
        "HQ's computer and this phone disagree on the delegates: Sanders 4 here, 5 at HQ; Warren 6 here, 5 at HQ. "
        "HQ's numbers count; call the hotline to check.")
    phone.context.set_offline(False)
