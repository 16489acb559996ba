"""Offline: the chair keeps working with no network, a reload (or a closed tab) loses nothing, and every
report reaches the ledger exactly once when the network is back, even when an answer was lost on the way."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, Route, expect

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


def _outbox(page: Page) -> list[dict[str, object]]:
    return list(page.evaluate("() => JSON.parse(localStorage.getItem('caucus-chair/v1')).outbox"))


def test_network_cut_mid_flow_reload_offline_then_exactly_one_report_per_stage(
    live_server: Callable[..., LiveServer], phone: Page, shot: Shot
) -> None:
    p = real_precinct("Adams/AD5")  # D=5, 15 people, 4 groups, published 1/2/1/1
    assert p.verdict == "reproduced"
    server = live_server([p.code])
    open_app(phone, server)
    phone.evaluate("() => navigator.serviceWorker.ready")  # the shell is cached from here on
    sign_in(phone, server, p.code)
    phone.get_by_label("Eligible caucus-goers counted").fill(str(p.attendance))
    send(phone, "Confirm and send attendance")
    expect(phone.locator("#savebar")).to_contain_text("Last receipt #1.")

    # Signal lost in the gym: the first alignment is typed, saved on the phone and queued.
    phone.context.set_offline(True)
    enter_counts(phone, "first", p.first)
    send(phone, "Send first alignment")
    expect(phone.locator("#savebar")).to_contain_text("1 waiting to send.")
    check_screen(phone, shot, "chair-06-offline-queued")

    # The phone reloads the app with no network: the service worker serves the shell, the numbers are there.
    phone.reload()
    expect(phone.locator("body[data-ready=true]")).to_be_attached()
    expect(phone.get_by_role("heading", name="3. Final alignment")).to_be_visible()
    expect(phone.locator("#savebar")).to_contain_text("1 waiting to send.")
    enter_counts(phone, "final", p.final)
    phone.reload()  # a half-typed screen survives a reload too
    expect(phone.locator("#final-groups input[data-group=Buttigieg]")).to_have_value(str(p.final["Buttigieg"]))
    send(phone, "Send final alignment")
    send(phone, "Send county delegates")
    expect(phone.locator("#savebar")).to_contain_text("3 waiting to send.")
    phone.get_by_role("button", name="Status and messages").click()
    expect(phone.locator("#outbox-list li.state-waiting")).to_have_count(3)
    expect(phone.locator("#outbox-list li.state-waiting").first).to_contain_text(
        "First alignment: " + ", ".join(f"{g} {n}" for g, n in p.first.items()))
    expect(phone.locator("#outbox-list li.state-waiting").first).to_contain_text(
        "Saved on this phone, not sent yet (no connection); trying again automatically.")
    check_screen(phone, shot, "chair-06-offline-status")
    keys = {item["stage"]: item["key"] for item in _outbox(phone)}

    # The network comes back, but the answer to the first report sent is lost after the server recorded it:
    # the app retries with the same key and gets the original receipt back.
    lost: list[str] = []

    def lose_answer(route: Route) -> None:
        if not lost:
            route.fetch()  # reaches the server, which records the report...
            lost.append(route.request.headers["idempotency-key"])
            route.abort("connectionreset")  # ...but the phone never hears back
        else:
            route.continue_()

    phone.route("**/api/v1/reports", lose_answer)
    phone.context.set_offline(False)
    wait_sent(phone, 4)
    assert lost == [keys["first"]]

    rows = ledger(server, p.code)
    assert [e.stage for e in rows] == ["attendance", "first", "final", "delegates"]
    assert {e.stage: e.idempotency_key for e in rows} == keys
    assert rows[1].payload == {"counts": p.first}
    assert rows[3].payload == {"delegates": p.published}
    sent = {item["stage"]: item for item in _outbox(phone)}
    assert int(str(sent["first"]["attempts"])) >= 2
    expect(phone.locator("#outbox-list")).to_contain_text("Sent. HQ receipt #2")
