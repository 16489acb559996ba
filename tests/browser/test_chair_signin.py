"""Signing in to the chair app: a test sign-in HQ can see, a wrong credential, a revoked one, the lockout,
and a session that ends mid-flow (nothing typed is lost)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from caucus.ledger import make_engine
from caucus.ledger.audit import audit_events
from caucus.ledger.credentials import revoke_credential
from caucus.service import load_context, sign_in_tests
from tests.browser.chair_support import check_screen, ledger, open_app, send, sign_in, wait_sent
from tests.browser.conftest import SLUG, LiveServer

Shot = Callable[[Page, str], Path]
CODE = "Adair/01NW"
WRONG = "AAAA-BBBB-CCCC-DDDD-EEEE"


def test_test_sign_in_is_recorded_for_hq_and_opens_nothing(
    live_server: Callable[..., LiveServer], phone: Page, shot: Shot
) -> None:
    server = live_server([CODE])
    open_app(phone, server)
    phone.get_by_label("Precinct code").fill(CODE)
    phone.get_by_label("Credential", exact=True).fill(server.secrets[CODE].lower().replace("-", " "))
    phone.get_by_role("button", name="Test my sign-in").click()
    expect(phone.locator("#banner")).to_contain_text(f"Your sign-in works for precinct {CODE}. HQ can see")
    expect(phone.get_by_role("heading", name="Sign in")).to_be_visible()  # still signed out
    check_screen(phone, shot, "chair-00-test-sign-in")
    engine = make_engine(server.url)
    try:
        tests = sign_in_tests(engine, load_context(engine, SLUG).election_id)
        actions = [(e.action, e.detail.get("purpose")) for e in audit_events(engine, SLUG)
                   if e.action.startswith("session.")]
    finally:
        engine.dispose()
    assert list(tests) == [CODE]
    # the test session was opened, recorded as a test, and closed again at once
    assert actions == [("session.test", "test"), ("session.revoke", None)]


def test_wrong_credential_then_a_wait_then_revoked(
    live_server: Callable[..., LiveServer], phone: Page, shot: Shot
) -> None:
    server = live_server([CODE, "Adair/02NE"])
    open_app(phone, server)
    error = phone.locator("#signin-error")
    sign_in(phone, server, CODE, WRONG)
    expect(error).to_contain_text("Wrong or revoked credential. The precinct code and credential do not match")
    expect(error).to_contain_text("check both against your credential card and try again")
    check_screen(phone, shot, "chair-00-wrong-credential")
    for _ in range(4):
        sign_in(phone, server, CODE, WRONG)
    # five failures for this precinct from this phone: the next attempt from here waits a few seconds (a phone
    # elsewhere would sign in at once: tests/web/test_throttles.py)
    sign_in(phone, server, CODE)
    expect(error).to_contain_text("Too many failed sign-ins from this network: wait, then try again.")
    expect(error).to_contain_text("Too many failed sign-ins for precinct Adair/01NW from this network address")
    expect(error).to_contain_text("call the hotline if you need help now")
    check_screen(phone, shot, "chair-00-throttled")

    sign_in(phone, server, "Adair/99XX", WRONG)
    expect(error).to_contain_text("There is no precinct with this code.")
    sign_in(phone, server, "Adair/02NE", "not a credential")
    expect(error).to_contain_text("This is not a credential.")

    engine = make_engine(server.url)
    try:
        revoke_credential(engine, SLUG, "Adair/02NE")
    finally:
        engine.dispose()
    sign_in(phone, server, "Adair/02NE")
    expect(error).to_contain_text("Wrong or revoked credential.")


def test_session_ended_mid_flow_keeps_the_numbers_and_sends_them_after_signing_in_again(
    live_server: Callable[..., LiveServer], phone: Page
) -> None:
    server = live_server([CODE])
    open_app(phone, server)
    sign_in(phone, server, CODE)
    # the refresh from HQ that signing in starts has come back (its answer saved on the phone): revoked while it
    # was still in flight, the app would notice on its own before the chair presses send, a different case
    phone.wait_for_function("() => (JSON.parse(localStorage.getItem('caucus-chair/v1')) || {}).hq")
    phone.get_by_label("Eligible caucus-goers counted").fill("40")
    # HQ revokes the session behind the chair's back (the token stops working)
    phone.evaluate("async () => fetch('/api/v1/session', {method: 'DELETE', headers: {Authorization: 'Bearer ' + "
                   "JSON.parse(localStorage.getItem('caucus-chair/v1')).session.token}})")
    send(phone, "Confirm and send attendance")
    expect(phone.locator("#banner")).to_contain_text("Sign in again to send what is saved on this phone")
    assert ledger(server, CODE) == []
    sign_in(phone, server, CODE)
    wait_sent(phone, 1)
    assert [e.payload for e in ledger(server, CODE)] == [{"attendance": 40}]
