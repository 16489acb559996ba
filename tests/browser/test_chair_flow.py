"""The chair app's whole night for real 2020 precincts, in Chromium at a phone's size against a live server:
sign in, attendance, first alignment, realignment, final alignment, worksheet, photo, status. The ledger ends
up holding exactly the numbers typed, and the server's recomputed delegates are the party's published ones.
Every screen is checked with axe-core and photographed for the docs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.chair_support import (
    check_screen,
    enter_counts,
    ledger,
    open_app,
    real_precinct,
    send,
    sign_in,
    wait_sent,
)
from tests.browser.conftest import LiveServer

Shot = Callable[[Page, str], Path]


def test_happy_path_for_a_real_precinct_ends_with_the_published_delegates(
    live_server: Callable[..., LiveServer], phone: Page, shot: Shot
) -> None:
    # Allamakee PCT 6: 7 delegates, 49 people, 7 groups at the first alignment and 4 after realignment; the
    # audit of the certified results reproduces its delegates with no game of chance.
    p = real_precinct("Allamakee/PCT 6")
    assert (p.verdict, p.chance, p.delegates_to_elect) == ("reproduced", (), 7)
    server = live_server([p.code])
    open_app(phone, server, p.code)
    expect(phone.get_by_label("Precinct code")).to_have_value(p.code)  # from the card's QR code address
    check_screen(phone, shot, "chair-01-sign-in")
    sign_in(phone, server, p.code)

    expect(phone.get_by_role("heading", name="1. Attendance")).to_be_visible()
    phone.get_by_label("Eligible caucus-goers counted").fill(str(p.attendance))
    expect(phone.locator("#att-preview")).to_contain_text("This precinct elects 7 county delegates.")
    expect(phone.locator("#att-preview")).to_contain_text("at least 8 people to be viable (15% of 49")
    check_screen(phone, shot, "chair-02-attendance")
    send(phone, "Confirm and send attendance")

    expect(phone.get_by_role("heading", name="2. First alignment")).to_be_visible()
    enter_counts(phone, "first", p.first)
    preview = phone.locator("#first-preview")
    expect(preview).to_contain_text(f"Total in groups: {sum(p.first.values())} of {p.attendance}.")
    expect(preview).to_contain_text("Viable: Biden, Buttigieg, Warren.")
    expect(preview).to_contain_text("Not viable: Gabbard, Klobuchar, Sanders, Yang.")
    check_screen(phone, shot, "chair-03-first-alignment")
    send(phone, "Send first alignment")

    expect(phone.get_by_role("heading", name="3. Final alignment")).to_be_visible()
    enter_counts(phone, "final", p.final)
    expect(phone.locator("#final-preview")).to_contain_text(
        "County delegates: " + ", ".join(f"{g} {n}" for g, n in sorted(p.published.items())) + ".")
    check_screen(phone, shot, "chair-04-final-alignment")
    send(phone, "Send final alignment")

    expect(phone.get_by_role("heading", name="4. Worksheet")).to_be_visible()
    for group, delegates in p.published.items():
        card = phone.locator("#worksheet-table").get_by_role("table", name=group, exact=True)
        expect(card.get_by_role("row", name="County delegates").get_by_role("cell")).to_have_text(str(delegates))
    check_screen(phone, shot, "chair-05-worksheet")
    send(phone, "Send county delegates")

    expect(phone.get_by_role("heading", name="5. Photo of the signed worksheet")).to_be_visible()
    wait_sent(phone, 4)
    expect(phone.locator("#hq-status")).to_contain_text("accepted")
    check_screen(phone, shot, "chair-07-status")

    rows = ledger(server, p.code)
    assert [(e.stage, e.channel) for e in rows] == [
        ("attendance", "app"), ("first", "app"), ("final", "app"), ("delegates", "app")]
    final_counts = {g: p.final.get(g, 0) for g in {**p.first, **p.final}}
    assert [e.payload for e in rows] == [
        {"attendance": p.attendance}, {"counts": p.first}, {"counts": final_counts, "chance": []},
        {"delegates": p.published}]
    status = phone.evaluate("async () => (await fetch('/api/v1/precinct', {headers: {Authorization: "
                            "'Bearer ' + JSON.parse(localStorage.getItem('caucus-chair/v1')).session.token}})).json()")
    assert status["state"] == "accepted"
    assert {g: n for g, n in status["recomputed"]["delegates"].items() if n} == p.published
