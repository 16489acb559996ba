"""Sign-in that cannot be turned against the chairs or staff, through the real app on SQLite and PostgreSQL.

The app runs behind a trusted proxy on 127.0.0.1 (as behind the nginx of deploy/), so each request's
X-Forwarded-For is its client: 500 addresses are 500 clients. No number of failures from other addresses
stops the right credential, hotline code or password; an address that fails too often waits (429,
Retry-After), doubling each time; every failure is an audit event; HQ sees and lifts throttles; a new card
lifts the precinct's. Time is the app's injected clock, never the wall clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from typer.testing import CliRunner

from caucus.cli import app as cli
from caucus.ledger import audit_events, issue_cards
from caucus.ledger.credentials import generate_secret
from caucus.web.app import create_app
from caucus.web.settings import Settings
from tests.hq.support import LOGIN, PASSWORD, Staffer, add_staff
from tests.ledger.support import FAST_COST
from tests.web.conftest import Prepared, Web
from tests.web.support import GRINNELL, SLUG, Clock

ADAIR = "Adair/01NW"
PROXY = ("127.0.0.1", 50000)


def _running(prepared: Prepared, peer: tuple[str, int] = PROXY, **settings: Any) -> Iterator[Web]:
    clock = Clock()
    app = create_app(Settings(database_url=prepared.url, election=SLUG, staff_cookie_secure=False, **settings),
                     clock=clock)
    with TestClient(app, raise_server_exceptions=False, client=peer) as client:
        web = Web(app, client, clock, prepared)
        try:
            yield web
        finally:
            web.close()


@pytest.fixture
def proxied(database: Prepared) -> Iterator[Web]:
    """The app on SQLite and PostgreSQL, reached through a trusted proxy on 127.0.0.1."""
    yield from _running(database, trusted_proxies="127.0.0.1")


def _addr(i: int) -> str:
    return f"203.0.{113 + i // 250}.{1 + i % 250}"


def sign_in(web: Web, precinct: str, credential: str, address: str) -> Response:
    return web.client.post("/api/v1/session", json={"precinct": precinct, "credential": credential},
                           headers={"X-Forwarded-For": address})


def _rejected(web: Web, action: str) -> list[Any]:
    return [e for e in audit_events(web.engine, SLUG) if e.action == action and e.outcome.startswith("rejected:")]


def test_wrong_credentials_for_one_precinct_from_500_addresses_never_stop_the_right_one(proxied: Web) -> None:
    web = proxied
    for i in range(500):
        response = sign_in(web, ADAIR, generate_secret(), _addr(i))
        assert response.status_code == 401, (i, response.text)
    # the right credential: from an address that never failed, and from one of the 500 (one failure: free)
    right = sign_in(web, ADAIR, web.secrets[ADAIR], "198.51.100.20")
    assert right.status_code == 201, right.text
    assert right.json()["precinct"] == ADAIR
    assert sign_in(web, ADAIR, web.secrets[ADAIR], _addr(7)).status_code == 201
    # every failure is an audit event naming the precinct and the address it came from
    refused = _rejected(web, "session.create")
    assert len(refused) == 500
    assert {e.outcome for e in refused} == {"rejected:bad-credential"}
    assert {e.detail["client"] for e in refused} == {_addr(i) for i in range(500)}
    assert {e.detail["precinct"] for e in refused} == {ADAIR} and refused[0].actor == f"client:{_addr(0)}"


def test_a_throttled_address_waits_twice_as_long_each_time_and_others_are_not_affected(proxied: Web) -> None:
    web, attacker = proxied, "198.51.100.66"
    for _ in range(5):  # five free failures for (precinct, address)
        assert sign_in(web, ADAIR, generate_secret(), attacker).status_code == 401
    waits = []
    for _ in range(3):
        throttled = sign_in(web, ADAIR, web.secrets[ADAIR], attacker)  # even the right credential waits here
        assert throttled.status_code == 429, throttled.text
        assert throttled.json()["error"]["code"] == "too-many-sign-ins"
        waits.append(int(throttled.headers["Retry-After"]))
        web.clock.advance(seconds=waits[-1])
        assert sign_in(web, ADAIR, generate_secret(), attacker).status_code == 401
    assert waits == [2, 4, 8]
    message = sign_in(web, ADAIR, generate_secret(), attacker).json()["error"]["message"]
    assert message.startswith(f"too many failed sign-ins for precinct {ADAIR} from this network address (8 in the "
                              "last hour): try again after 7:00 pm CST (in 16 seconds)")
    # the chair, elsewhere, signs in at once; the attacker's other precincts are not throttled yet
    assert sign_in(web, ADAIR, web.secrets[ADAIR], "198.51.100.1").status_code == 201
    assert sign_in(web, GRINNELL, web.secrets[GRINNELL], attacker).status_code == 201
    # after the wait, the right credential from the throttled address signs in and the pair starts afresh
    web.clock.advance(seconds=16)
    assert sign_in(web, ADAIR, web.secrets[ADAIR], attacker).status_code == 201
    assert sign_in(web, ADAIR, generate_secret(), attacker).status_code == 401
    throttled_events = [e for e in _rejected(web, "session.create") if e.outcome == "rejected:throttled"]
    assert len(throttled_events) == 4 and throttled_events[0].detail["retry_after"] == 2


def test_an_address_failing_for_many_precincts_is_throttled_for_all(proxied: Web) -> None:
    web, attacker = proxied, "198.51.100.77"
    codes = [f"Adair/{c}" for c in ("01NW", "02NE", "03SW", "04SE", "05GF")]
    for i in range(20):  # 4 per precinct: no pair throttle, 20 for the address
        assert sign_in(web, codes[i % 5], generate_secret(), attacker).status_code == 401
    throttled = sign_in(web, GRINNELL, web.secrets[GRINNELL], attacker)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "1"
    assert "too many failed sign-ins from this network address (20 in the last hour)" in throttled.text
    assert sign_in(web, GRINNELL, web.secrets[GRINNELL], "198.51.100.78").status_code == 201


def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(database: Prepared) -> None:
    # no trusted proxy (the default): a client rotating X-Forwarded-For is still one address
    for web in _running(database, peer=("192.0.2.10", 40000)):
        for i in range(5):
            assert sign_in(web, ADAIR, generate_secret(), _addr(i)).status_code == 401
        assert sign_in(web, ADAIR, generate_secret(), _addr(99)).status_code == 429
        assert {e.detail["client"] for e in _rejected(web, "session.create")} == {"192.0.2.10"}


def test_a_trusted_proxy_gives_the_rightmost_address_it_did_not_write_itself(database: Prepared) -> None:
    for web in _running(database, peer=("10.0.0.5", 40000), trusted_proxies="10.0.0.0/8"):
        # the client wrote "6.6.6.6"; the load balancer 10.0.0.9 appended the client, then our nginx 10.0.0.5
        spoofed = "6.6.6.6, 203.0.113.9, 10.0.0.9"
        assert sign_in(web, ADAIR, generate_secret(), spoofed).status_code == 401
        assert [e.detail["client"] for e in _rejected(web, "session.create")] == ["203.0.113.9"]
    for web in _running(database, peer=("192.0.2.10", 40000), trusted_proxies="10.0.0.0/8"):
        assert sign_in(web, ADAIR, generate_secret(), "10.0.0.9").status_code == 401
        assert _rejected(web, "session.create")[-1].detail["client"] == "192.0.2.10"  # not a trusted peer


def test_hq_sees_throttles_and_lifts_one_with_csrf_and_an_audit_event(proxied: Web) -> None:
    web, attacker = proxied, "198.51.100.66"
    add_staff(web.engine, "dora", "director")
    add_staff(web.engine, "otto", "observer")
    for _ in range(5):
        assert sign_in(web, ADAIR, generate_secret(), attacker).status_code == 401
    assert sign_in(web, ADAIR, web.secrets[ADAIR], attacker).status_code == 429
    dora = _staff(web, "dora", "198.51.100.200")
    page = dora.get("/hq/throttles")
    assert page.status_code == 200
    row = re.search(r"<tr>\s*<td>chair app sign-in</td><td>([^<]*)</td><td>([^<]*)</td>\s*<td>(\d+)</td>", page.text)
    assert row is not None and row.groups() == (ADAIR, attacker, "5"), page.text
    assert _staff(web, "otto", "198.51.100.201").get("/hq/throttles").status_code == 403
    forged = dora.post("/hq/throttles/lift", {"kind": "chair", "target": ADAIR, "client": attacker}, csrf=False)
    assert forged.status_code == 403
    lifted = dora.post("/hq/throttles/lift", {"kind": "chair", "target": ADAIR.lower(), "client": attacker})
    assert lifted.status_code == 303
    assert "5%20failures%20no%20longer%20count" in lifted.headers["location"]
    assert "nothing is throttled now" in dora.get("/hq/throttles").text
    assert sign_in(web, ADAIR, web.secrets[ADAIR], attacker).status_code == 201
    (event,) = [e for e in audit_events(web.engine, SLUG) if e.action == "throttle.lift"]
    assert (event.actor, event.detail) == ("director:dora", {"kind": "chair", "target": ADAIR, "client": attacker,
                                                             "failures_cleared": 5})


def test_a_new_card_ends_the_precincts_throttles(proxied: Web) -> None:
    web, attacker = proxied, "198.51.100.66"
    for _ in range(5):
        assert sign_in(web, ADAIR, generate_secret(), attacker).status_code == 401
    assert sign_in(web, ADAIR, web.secrets[ADAIR], attacker).status_code == 429
    card = issue_cards(web.engine, SLUG, [ADAIR], cost=FAST_COST, actor="admin:ann")[ADAIR]  # pins rotate
    assert sign_in(web, ADAIR, web.secrets[ADAIR], attacker).status_code == 401  # the old card is dead...
    assert sign_in(web, ADAIR, card.credential, attacker).status_code == 201  # ...and the throttle is lifted
    issued = [e for e in audit_events(web.engine, SLUG) if e.action == "credential.issue"][-1]
    assert issued.detail == {"precinct": ADAIR, "rotated": True, "throttle_failures_cleared": 5}


def test_codes_as_people_type_them(proxied: Web) -> None:
    web = proxied
    response = sign_in(web, "  poweshiek/7 ", web.secrets[GRINNELL].lower(), "198.51.100.5")
    assert response.status_code == 201, response.text
    assert response.json()["precinct"] == GRINNELL  # the canonical code is echoed back
    satellite = sign_in(web, "cd1   SATELLITE/1140", generate_secret(), "198.51.100.5")
    assert satellite.status_code == 401  # found (a wrong credential), not "no precinct"
    assert _rejected(web, "session.create")[-1].detail["precinct"] == "CD1 Satellite/1140"
    unknown = sign_in(web, "poweshiek/77", web.secrets[GRINNELL], "198.51.100.5")
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown-precinct"


def test_the_hotline_code_never_signs_in(proxied: Web) -> None:
    response = sign_in(proxied, GRINNELL, proxied.hotline_codes[GRINNELL], "198.51.100.5")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "credential-malformed"
    assert error["message"].startswith("this is the card's hotline code (3 groups), which only the hotline operator")


def _staff(web: Web, username: str, address: str, password: str = PASSWORD) -> Staffer:
    response = _staff_sign_in(web, username, password, address)
    assert response.status_code == 303, response.text
    token = response.cookies["caucus_hq"]
    staffer = Staffer(web.client, username, token)
    home = staffer.get("/hq")
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', home.text)
    assert found is not None
    staffer.csrf = found.group(1)
    return staffer


def _staff_sign_in(web: Web, username: str, password: str, address: str) -> Response:
    web.client.cookies.clear()
    headers = {"X-Forwarded-For": address}
    form = web.client.get("/hq/sign-in", headers=headers)
    token = LOGIN.search(form.text)
    assert token is not None
    return web.client.post("/hq/sign-in", headers=headers, follow_redirects=False,
                           data={"username": username, "password": password, "login_token": token.group(1)})


def test_wrong_passwords_for_the_director_from_500_addresses_never_stop_the_right_one(proxied: Web) -> None:
    web = proxied
    add_staff(web.engine, "director", "director")
    for i in range(500):
        response = _staff_sign_in(web, "director", f"guess number {i:04d}", _addr(i))
        assert response.status_code == 401, (i, response.text[:300])
    assert _staff_sign_in(web, "director", PASSWORD, "198.51.100.30").status_code == 303
    refused = _rejected(web, "staff.sign-in")
    assert len(refused) == 500 and {e.outcome for e in refused} == {"rejected:bad-password"}
    assert {e.detail["client"] for e in refused} == {_addr(i) for i in range(500)}
    # one address guessing: five free, then it waits (429, Retry-After); the director elsewhere is not affected
    for _ in range(5):
        assert _staff_sign_in(web, "director", "a wrong password", "198.51.100.99").status_code == 401
    throttled = _staff_sign_in(web, "director", PASSWORD, "198.51.100.99")
    assert throttled.status_code == 429 and "for account director from this network address" in throttled.text
    assert _staff_sign_in(web, "director", PASSWORD, "198.51.100.31").status_code == 303


def test_failed_sign_ins_are_in_caucus_log(sqlite_database: Prepared) -> None:
    for web in _running(sqlite_database, trusted_proxies="127.0.0.1"):
        assert sign_in(web, ADAIR, generate_secret(), "198.51.100.66").status_code == 401
        result = CliRunner().invoke(cli, ["log", "--database", web.url], env={"COLUMNS": "250"})
        assert result.exit_code == 0, result.output
        line = next(line for line in result.output.splitlines() if "rejected:bad-credential" in line)
        assert "client:198.51.100.66" in line and "session.create" in line and ADAIR in line


def test_prank_calls_never_stop_the_real_chairs_call_and_the_app_credential_is_refused(proxied: Web) -> None:
    web = proxied
    operators = [f"op{i:02d}" for i in range(25)]
    for name in [*operators, "kim"]:
        add_staff(web.engine, name, "operator")
    wrong = 0
    for i, name in enumerate(operators):  # 25 operators take 3 prank calls each for Grinnell: 75 wrong codes
        op = _staff(web, name, f"10.9.0.{i + 1}")
        for _ in range(3):
            refused = op.post("/hq/hotline/calls", {"precinct": GRINNELL, "hotline_code": generate_secret()[:14]})
            assert refused.status_code == 422 and "take no numbers from this call" in refused.text
            wrong += 1
        # the fourth call to the same operator waits a few seconds (hand it to another operator)
        waits = op.post("/hq/hotline/calls", {"precinct": GRINNELL, "hotline_code": web.hotline_codes[GRINNELL]})
        assert waits.status_code == 429 and "hand the call to another operator" in waits.text
        assert int(waits.headers["Retry-After"]) >= 1
    kim = _staff(web, "kim", "10.9.1.1")
    # the app credential read aloud is refused, and says why
    heard = kim.post("/hq/hotline/calls", {"precinct": GRINNELL, "hotline_code": web.secrets[GRINNELL]})
    assert heard.status_code == 422 and "never read aloud and never accepted on the phone" in heard.text
    # the real chair's call: verified at once, the code typed as heard (lower case, spaces)
    code = web.hotline_codes[GRINNELL].lower().replace("-", " ")
    verified = kim.post("/hq/hotline/calls", {"precinct": "poweshiek/7", "hotline_code": code})
    assert verified.status_code == 303, verified.text
    events = [e for e in audit_events(web.engine, SLUG) if e.action == "hotline.verify"]
    assert [e.outcome for e in events].count("rejected:bad-hotline-code") == wrong == 75
    assert [e.outcome for e in events].count("rejected:throttled") == 25
    assert [e.outcome for e in events][-2:] == ["rejected:app-credential", "verified"]
    assert events[-1].detail["precinct"] == GRINNELL
    # the same operator, after the wait, verifies the real call too
    web.clock.advance(seconds=5)
    again = _staff(web, "op00", "10.9.0.1")
    assert again.post("/hq/hotline/calls", {"precinct": GRINNELL,
                                            "hotline_code": web.hotline_codes[GRINNELL]}).status_code == 303
