"""HQ administration through the real server and Chromium: the admin adds an account (a weak password refused
with the reason), changes its role, resets its password, disables and enables it, lifts its sign-in
throttle; uploads the chair roster and edits a chair; the hotline operator then sees the registered chair on
a call and readiness lists whom to phone with the numbers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from caucus.ledger import audit_events, make_engine
from tests.browser.conftest import LiveServer
from tests.browser.hq_support import HQ_ENV, add_staff, hotline_call, staff_page
from tests.web.support import GRINNELL, READLYN

Shot = Callable[[Page, str], Path]
LEE_PASSWORD = "juniper bicycle lighthouse"
LEE_NEW = "marble canyon thistle"


def _sign_in(page: Page, server: LiveServer, username: str, password: str) -> None:
    page.goto(f"{server.base_url}/hq/sign-in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_an_admin_manages_staff_and_the_chair_roster(live_server: Callable[..., LiveServer], chromium: Browser,
                                                     shot: Shot, tmp_path: Path) -> None:
    # two wrong passwords are free, then each attempt of that account from that address waits (2 s, 4 s, ...)
    server = live_server([GRINNELL, READLYN], env={**HQ_ENV, "CAUCUS_STAFF_PAIR_FREE_FAILURES": "2"})
    add_staff(server, ("ada", "admin"), ("kim", "operator"))
    ada = staff_page(chromium, server, "ada")
    ada.get_by_role("navigation").get_by_role("link", name="Staff").click()
    add = ada.locator("#add-staff")
    add.get_by_label("Username").fill("lee")
    add.get_by_label("Name", exact=True).fill("Lee Park")
    add.get_by_label("Role").select_option("operator")
    add.get_by_label("Password", exact=True).fill("password1234")
    add.get_by_label("Password again").fill("password1234")
    add.get_by_role("button", name="Add the account").click()
    expect(ada.locator("#error-password")).to_contain_text("commonly used password")
    add.get_by_label("Password", exact=True).fill(LEE_PASSWORD)
    add.get_by_label("Password again").fill(LEE_PASSWORD)
    add.get_by_role("button", name="Add the account").click()
    expect(ada.locator("#done")).to_contain_text("added lee (operator, active)")

    lee = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
    _sign_in(lee, server, "lee", LEE_PASSWORD)
    expect(lee.get_by_role("navigation")).to_contain_text("Hotline")

    row = ada.locator('tr[data-user="lee"]')
    row.get_by_label("Role of lee").select_option("reviewer")
    row.get_by_role("button", name="Change role").click()
    expect(ada.locator("#done")).to_contain_text("lee is now a reviewer")
    lee.reload()
    expect(lee.get_by_role("navigation")).to_contain_text("Review queue")

    row = ada.locator('tr[data-user="lee"]')
    row.get_by_text("Reset password").click()
    row.get_by_label("New password for lee", exact=True).fill(LEE_NEW)
    row.get_by_label("New password for lee again").fill(LEE_NEW)
    row.get_by_role("button", name="Set the new password").click()
    expect(ada.locator("#done")).to_contain_text("new password set for lee")
    lee.reload()
    expect(lee.get_by_role("heading", name="Headquarters sign-in")).to_be_visible()  # the reset ended lee's session

    ada.locator('tr[data-user="lee"]').get_by_role("button", name="Disable").click()
    expect(ada.locator('tr[data-user="lee"] td.status')).to_have_text("disabled")
    _sign_in(lee, server, "lee", LEE_NEW)
    expect(lee.locator("#message")).to_contain_text("do not match an active staff account")
    ada.locator('tr[data-user="lee"]').get_by_role("button", name="Enable").click()
    expect(ada.locator('tr[data-user="lee"] td.status')).to_have_text("active")

    for _ in range(8):  # wrong passwords until lee is throttled from this address
        _sign_in(lee, server, "lee", "not my password at all")
        if "too many failed sign-ins" in (lee.locator("#message").text_content() or ""):
            break
    expect(lee.locator("#message")).to_contain_text("too many failed sign-ins for account lee")
    ada.get_by_role("navigation").get_by_role("link", name="Staff").click()
    ada.locator('tr[data-user="lee"]').get_by_role("button", name="Lift sign-in throttle").click()
    expect(ada.locator("#done")).to_contain_text("lifted: staff sign-in for lee")
    _sign_in(lee, server, "lee", LEE_NEW)
    expect(lee.get_by_role("heading", name="Headquarters", exact=True)).to_be_visible()
    ada.get_by_role("navigation").get_by_role("link", name="Staff").click()
    shot(ada, "hq-staff")

    # -- the chair roster: upload, then edit one chair
    roster = tmp_path / "roster.csv"
    roster.write_text(f"precinct,name,phone,email\n{GRINNELL.lower()},Ruth Lindqvist,641-555-0142,\n"
                      f"{READLYN},Tomas Ferreira,319-555-0187,tomas@example.org\n", encoding="utf-8")
    ada.get_by_role("navigation").get_by_role("link", name="Chairs").click()
    ada.get_by_label("Roster file (CSV)").set_input_files(str(roster))
    ada.get_by_role("button", name="Import the roster").click()
    expect(ada.locator("#done")).to_contain_text("imported roster.csv: 2 added")
    ada.locator(f'tr[data-precinct="{GRINNELL}"]').get_by_role("link", name="Edit").click()
    form = ada.locator("#chair-form")
    expect(form.get_by_label("Chair's name")).to_have_value("Ruth Lindqvist")
    form.get_by_label("Phone").fill("641-555-0199")
    form.get_by_role("button", name="Save the chair").click()
    expect(ada.locator(f'tr[data-precinct="{GRINNELL}"]')).to_contain_text("641-555-0199")
    shot(ada, "hq-chairs")

    kim = staff_page(chromium, server, "kim")
    hotline_call(kim, server, GRINNELL)
    expect(kim.locator("#registered-chair")).to_contain_text("Registered chair: Ruth Lindqvist · 641-555-0199")
    kim.goto(f"{server.base_url}/hq/readiness")
    expect(kim.locator("#to-phone")).to_contain_text("Tomas Ferreira")
    expect(kim.locator("#to-phone")).to_contain_text("319-555-0187")

    engine = make_engine(server.url)
    try:
        done = [(e.actor, e.action) for e in audit_events(engine) if e.actor == "admin:ada"
                and e.action not in ("staff.sign-in", "staff.sign-out")]
    finally:
        engine.dispose()
    assert done == [("admin:ada", "staff.add"), ("admin:ada", "staff.role"), ("admin:ada", "staff.reset-password"),
                    ("admin:ada", "staff.disable"), ("admin:ada", "staff.enable"), ("admin:ada", "throttle.lift"),
                    ("admin:ada", "roster.import"), ("admin:ada", "roster.set")]
