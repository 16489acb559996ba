"""The chair app on the precincts that are not plain: a game of chance, a one-delegate precinct, a satellite
caucus. Real 2020 precincts; the app's preview, the numbers sent and the server's recomputation must all give
the party's published delegates."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.chair_support import (
    RealPrecinct,
    axe_violations,
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


def _delegates_line(published: dict[str, int]) -> str:
    return "County delegates: " + ", ".join(f"{g} {n}" for g, n in sorted(published.items())) + "."


def _through_first(phone: Page, server: LiveServer, p: RealPrecinct) -> None:
    open_app(phone, server)
    sign_in(phone, server, p.code)
    phone.get_by_label("Eligible caucus-goers counted").fill(str(p.attendance))
    send(phone, "Confirm and send attendance")
    enter_counts(phone, "first", p.first)
    send(phone, "Send first alignment")
    enter_counts(phone, "final", p.final)


def _finish(phone: Page, server: LiveServer, p: RealPrecinct) -> None:
    send(phone, "Send final alignment")
    send(phone, "Send county delegates")
    wait_sent(phone, 4)
    expect(phone.locator("#hq-status")).to_contain_text("accepted")
    rows = ledger(server, p.code)
    assert [e.stage for e in rows] == ["attendance", "first", "final", "delegates"]
    assert rows[-1].payload == {"delegates": p.published}


def test_game_of_chance_names_who_is_tied_for_what_and_records_the_outcome(
    live_server: Callable[..., LiveServer], phone: Page, shot: Shot
) -> None:
    # Adair 02NE: 11 delegates; after realignment Klobuchar and Sanders (10 each of 43) are tied for a delegate
    # too many. The published result is one legal outcome: Klobuchar gave the delegate back.
    p = real_precinct("Adair/02NE")
    assert p.verdict == "reproduced-given-chance"
    assert [(c.kind, c.among, c.selected) for c in p.chance] == [("lose", ("Klobuchar", "Sanders"), ("Klobuchar",))]
    server = live_server([p.code])
    _through_first(phone, server, p)
    chance = phone.locator("#chance")
    expect(chance.get_by_role("heading")).to_have_text("Game of chance: Klobuchar and Sanders")
    expect(chance).to_contain_text("Klobuchar and Sanders are tied for a delegate too many: 1 of them must give one "
                                   "delegate back. Settle it by a coin toss")
    expect(chance).to_contain_text("Before the game of chance: Buttigieg 4, Klobuchar 3, Sanders 3, Steyer 2.")
    send(phone, "Send final alignment")  # not before the outcome is recorded
    expect(phone.locator("[data-screen=final] .send-error")).to_have_text("Record the game of chance first.")
    check_screen(phone, shot, "chair-04b-game-of-chance")
    chance.get_by_label("Klobuchar").check()
    chance.get_by_role("button", name="Record the result").click()
    expect(chance).to_be_hidden()
    expect(phone.locator("#final-preview")).to_contain_text(_delegates_line(p.published))
    _finish(phone, server, p)
    final = ledger(server, p.code)[2].payload
    assert final["chance"] == [{"kind": "lose", "among": ["Klobuchar", "Sanders"], "selected": ["Klobuchar"]}]


def test_one_delegate_precinct_goes_to_the_largest_group(
    live_server: Callable[..., LiveServer], phone: Page, shot: Shot
) -> None:
    # Bremer FD: one delegate, 16 people; Buttigieg's 6 (37.5%) wins it by plurality (AMBIG-1).
    p = real_precinct("Bremer/FD")
    assert (p.verdict, p.delegates_to_elect, p.published) == ("reproduced", 1, {"Buttigieg": 1})
    server = live_server([p.code])
    open_app(phone, server)
    sign_in(phone, server, p.code)
    phone.get_by_label("Eligible caucus-goers counted").fill(str(p.attendance))
    expect(phone.locator("#att-preview")).to_contain_text("One delegate: there is no viability threshold.")
    send(phone, "Confirm and send attendance")
    enter_counts(phone, "first", p.first)
    expect(phone.locator("#first-preview")).not_to_contain_text("Viable:")
    send(phone, "Send first alignment")
    enter_counts(phone, "final", p.final)
    expect(phone.locator("#final-preview")).to_contain_text("County delegates: Buttigieg 1.")
    check_screen(phone, shot, "chair-04c-one-delegate")
    _finish(phone, server, p)


def test_satellite_caucus_gets_its_delegates_from_its_attendance(
    live_server: Callable[..., LiveServer], phone: Page, shot: Shot
) -> None:
    # CD1 satellite site 1161: 60 people, so 6 delegates by the tier table (IA-5.2), threshold 9.
    p = real_precinct("CD1 Satellite/1161")
    assert (p.verdict, p.kind, p.delegates_to_elect) == ("reproduced", "satellite", 6)
    server = live_server([p.code])
    open_app(phone, server)
    sign_in(phone, server, p.code)
    expect(phone.locator("#att-preview")).to_contain_text("This is a satellite caucus")
    phone.get_by_label("Eligible caucus-goers counted").fill(str(p.attendance))
    expect(phone.locator("#att-preview")).to_contain_text("A satellite caucus of 60 people elects 6 county delegates.")
    expect(phone.locator("#att-preview")).to_contain_text("at least 9 people to be viable")
    send(phone, "Confirm and send attendance")
    enter_counts(phone, "first", p.first)
    send(phone, "Send first alignment")
    enter_counts(phone, "final", p.final)
    expect(phone.locator("#final-preview")).to_contain_text(_delegates_line(p.published))
    send(phone, "Send final alignment")
    expect(phone.locator("#worksheet-table")).to_contain_text("HQ computes the SDEs when the whole pool has reported")
    expect(phone.get_by_role("columnheader", name="SDE")).to_have_count(0)
    check_screen(phone, shot, "chair-05b-satellite-worksheet")
    send(phone, "Send county delegates")
    wait_sent(phone, 4)
    expect(phone.locator("#hq-status")).to_contain_text("accepted")
    assert ledger(server, p.code)[-1].payload == {"delegates": p.published}


def test_a_satellite_attendance_above_the_sites_expected_size_needs_the_chair_to_confirm_it(
    live_server: Callable[..., LiveServer], phone: Page
) -> None:
    # CD1 satellite site 1161 (Cedar Rapids, The Meth-Wick Community): 60 people in 2020, so the bundled plan
    # expects at most 120 (docs/plan-format.md). The chair types 600: the app warns before anything is sent,
    # and sends it only once the chair ticks "The count is right"; the server then holds it for review.
    p = real_precinct("CD1 Satellite/1161")
    assert p.attendance == 60
    server = live_server([p.code])
    open_app(phone, server)
    sign_in(phone, server, p.code)
    phone.get_by_label("Eligible caucus-goers counted").fill("600")
    preview = phone.locator("#att-preview")
    expect(preview).to_contain_text("600 people is more than the 120 expected at this site")
    tick = phone.get_by_label("The count is right")
    expect(tick).to_be_visible()
    expect(tick).not_to_be_checked()
    assert axe_violations(phone) == []
    send(phone, "Confirm and send attendance")
    expect(phone.locator('[data-screen="attendance"] .send-error')).to_contain_text(
        "Attendance 600 is more than the 120 expected at this site")
    assert ledger(server, p.code) == []
    tick.check()
    send(phone, "Confirm and send attendance")
    wait_sent(phone, 1)
    expect(phone.locator("#hq-status")).to_contain_text("held for review")
    expect(phone.locator("#hq-status")).to_contain_text("attendance 600 is above the site's expected attendance of 120")
    (entry,) = ledger(server, p.code)
    assert entry.payload == {"attendance": 600, "confirmed": True}
    # a number within the expected size needs no tick
    phone.get_by_role("button", name="1 Attendance").click()
    phone.get_by_label("Eligible caucus-goers counted").fill("60")
    expect(phone.locator("#att-size")).to_be_hidden()
