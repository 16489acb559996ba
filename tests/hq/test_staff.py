"""Staff sign-in: argon2id hashes, cookie sessions (only a hash stored, a new id at every sign-in, idle and
absolute expiry), CSRF tokens on every form, rate limits and lockout, an audit event for every action."""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import select

from caucus.ledger import audit_events
from caucus.ledger.schema import staff_sessions, staff_users
from caucus.service.staff import StaffService
from tests.hq.campaign_support import add_campaign
from tests.hq.support import PASSWORD, add_staff, sign_in, sign_in_response
from tests.web.conftest import Prepared, Web, running
from tests.web.support import GRINNELL


def test_a_staff_member_signs_in_with_a_cookie_session_whose_hash_only_is_stored(hq: Web) -> None:
    add_staff(hq.engine, "kim", "operator")
    response = sign_in_response(hq.client, "kim")
    assert response.status_code == 303 and response.headers["location"] == "/hq"
    cookie = response.headers["set-cookie"]
    assert "caucus_hq=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    token = response.cookies["caucus_hq"]
    with hq.engine.connect() as conn:
        stored = conn.execute(select(staff_sessions.c.token_hash)).scalars().all()
        password_hash = conn.execute(select(staff_users.c.password_hash)).scalar_one()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]
    assert password_hash.startswith("$argon2id$") and PASSWORD not in password_hash
    staffer = sign_in(hq.client, "kim")
    assert "Kim (operator)" in staffer.get("/hq").text
    events = [(e.actor, e.action, e.outcome) for e in audit_events(hq.engine)]
    assert ("test", "staff.add", "ok") in events
    assert ("operator:kim", "staff.sign-in", "ok") in events


def test_the_cookie_is_secure_by_default(sqlite_database: Prepared) -> None:
    for web in running(sqlite_database):
        add_staff(web.engine, "kim", "operator")
        form = web.client.get("/hq/sign-in")
        assert "Secure" in form.headers["set-cookie"]
        token = form.cookies["caucus_hq_login"]
        web.client.cookies.clear()
        response = web.client.post("/hq/sign-in", data={"username": "kim", "password": PASSWORD,
                                                        "login_token": token},
                                   headers={"Cookie": f"caucus_hq_login={token}"}, follow_redirects=False)
        assert response.status_code == 303
        assert "Secure" in response.headers["set-cookie"] and "HttpOnly" in response.headers["set-cookie"]


def test_wrong_passwords_are_refused_without_saying_why_and_lock_the_account(hq_sqlite: Web) -> None:
    web = hq_sqlite
    add_staff(web.engine, "kim", "reviewer")
    first = sign_in_response(web.client, "kim", "wrong password!")
    assert first.status_code == 401
    assert "the username and password do not match an active staff account" in first.text
    unknown = sign_in_response(web.client, "nobody", "wrong password!")
    assert unknown.status_code == 401 and "do not match" in unknown.text
    for _ in range(4):
        assert sign_in_response(web.client, "kim", "wrong again!!").status_code == 401
    # five failures for kim from this address: the next attempt from here waits 2 s (never a lock-out of kim)
    waits = sign_in_response(web.client, "kim")
    assert waits.status_code == 429 and "try again after 7:00 pm CST (in 2 seconds)" in waits.text
    assert waits.headers["Retry-After"] == "2"  # the HTML page says when, as the JSON API does
    web.clock.advance(seconds=2)
    assert sign_in_response(web.client, "kim").status_code == 303
    outcomes = [e.outcome for e in audit_events(web.engine) if e.action == "staff.sign-in"]
    assert outcomes.count("rejected:bad-password") == 6 and "rejected:throttled" in outcomes


def test_a_client_with_too_many_failures_is_stopped(sqlite_database: Prepared) -> None:
    for web in running(sqlite_database, staff_cookie_secure=False, staff_client_free_failures=3):
        add_staff(web.engine, "kim", "reviewer")
        for name in ("a1", "b2", "c3"):
            assert sign_in_response(web.client, name, "guess guess guess").status_code == 401
        stopped = sign_in_response(web.client, "kim")
        assert stopped.status_code == 429 and "too many failed sign-ins from this network address" in stopped.text


def test_sign_in_opens_a_new_session_and_ends_the_one_the_browser_carried(hq_sqlite: Web) -> None:
    """Session fixation: an id planted in the browser (or an old session) is never the one after sign-in."""
    web = hq_sqlite
    add_staff(web.engine, "kim", "reviewer")
    add_staff(web.engine, "eve", "observer")
    planted = sign_in(web.client, "eve")  # the attacker's own valid session, planted in kim's browser
    form = web.client.get("/hq/sign-in", headers=planted.cookie)
    token = form.cookies["caucus_hq_login"]
    web.client.cookies.clear()
    response = web.client.post("/hq/sign-in", data={"username": "kim", "password": PASSWORD, "login_token": token},
                               headers={"Cookie": f"caucus_hq={planted.token}; caucus_hq_login={token}"},
                               follow_redirects=False)
    assert response.status_code == 303
    fresh = response.cookies["caucus_hq"]
    assert fresh != planted.token
    assert planted.get("/hq").status_code == 401  # the planted session was ended
    web.client.cookies.clear()
    assert "Kim (reviewer)" in web.client.get("/hq", headers={"Cookie": f"caucus_hq={fresh}"}).text
    # an id the attacker made up is simply not a session
    assert web.client.get("/hq", headers={"Cookie": "caucus_hq=made-up-by-attacker"}).status_code == 401


def test_the_sign_in_form_itself_needs_its_login_token(hq_sqlite: Web) -> None:
    add_staff(hq_sqlite.engine, "kim", "reviewer")
    hq_sqlite.client.cookies.clear()
    response = hq_sqlite.client.post("/hq/sign-in", data={"username": "kim", "password": PASSWORD,
                                                          "login_token": "forged"}, follow_redirects=False)
    assert response.status_code == 403 and "sign in again" in response.text


def test_sessions_end_after_idle_time_and_absolute_time(sqlite_database: Prepared) -> None:
    for web in running(sqlite_database, staff_cookie_secure=False, staff_idle_seconds=600,
                       staff_absolute_seconds=1800):
        add_staff(web.engine, "kim", "reviewer")
        staffer = sign_in(web.client, "kim")
        web.clock.advance(minutes=9)
        assert staffer.get("/hq").status_code == 200  # activity keeps it alive
        web.clock.advance(minutes=9)
        assert staffer.get("/hq").status_code == 200
        web.clock.advance(minutes=11)
        idle = staffer.get("/hq")
        assert idle.status_code == 401 and "10 minutes without activity" in idle.text
        assert 'class="error"' in idle.text and 'id="notice"' not in idle.text  # a session that ended: said why
        staffer = sign_in(web.client, "kim")
        for _ in range(3):
            web.clock.advance(minutes=9)
            assert staffer.get("/hq").status_code == 200
        web.clock.advance(minutes=4)  # 31 minutes after sign-in, never idle
        assert "expired at" in staffer.get("/hq").text


def test_every_form_needs_the_sessions_csrf_token_else_403_and_an_audit_event(hq: Web) -> None:
    add_staff(hq.engine, "rita", "reviewer")
    rita = sign_in(hq.client, "rita")
    form = {"campaign": "Sanders", "kind": "recanvass", "precincts": "Adair/04SE", "reason": "check it"}
    missing = rita.post("/hq/recanvass", form, csrf=False)
    assert missing.status_code == 403 and "security token is missing" in missing.text
    wrong = rita.post("/hq/recanvass", {**form, "csrf_token": "0" * 64})
    assert wrong.status_code == 403 and "security token is wrong" in wrong.text
    add_staff(hq.engine, "otto", "reviewer")
    otto = sign_in(hq.client, "otto")  # another session's token is wrong too: tokens are bound to the session
    assert rita.post("/hq/recanvass", {**form, "csrf_token": otto.csrf}).status_code == 403
    assert otto.csrf != rita.csrf
    rejected = [e for e in audit_events(hq.engine) if e.action == "csrf.reject"]
    assert [(e.actor, e.detail["token"]) for e in rejected] == [
        ("reviewer:rita", "missing"), ("reviewer:rita", "wrong"), ("reviewer:rita", "wrong")]
    assert hq.client.get("/hq/recanvass", headers=rita.cookie).text.count("R-1") == 0  # nothing was created
    created = rita.post("/hq/recanvass", form)
    assert created.status_code == 303 and created.headers["location"] == "/hq/recanvass/R-1"


def test_sign_out_ends_the_session_and_disabling_an_account_ends_its_sessions(hq_sqlite: Web) -> None:
    add_staff(hq_sqlite.engine, "kim", "operator")
    kim = sign_in(hq_sqlite.client, "kim")
    assert kim.post("/hq/sign-out").status_code == 303
    assert kim.get("/hq").status_code == 401
    kim = sign_in(hq_sqlite.client, "kim")
    StaffService(hq_sqlite.engine).disable_user("kim", actor="cli:admin")
    ended = kim.get("/hq")
    assert ended.status_code == 401 and "this session was ended at" in ended.text
    assert sign_in_response(hq_sqlite.client, "kim").status_code == 401


def test_every_form_on_the_hq_pages_carries_the_sessions_csrf_token(hq_sqlite: Web) -> None:
    web = hq_sqlite
    pages = {"operator": ["/hq", "/hq/hotline"], "reviewer": ["/hq/review", f"/hq/review/p/{GRINNELL}",
                                                               "/hq/recanvass", "/hq/readiness", "/hq/night"],
             "director": ["/hq/releases"], "campaign": ["/hq/campaign", "/hq/campaign/requests", "/hq/quality"]}
    forms = 0
    for role, paths in pages.items():
        if role == "campaign":
            add_campaign(web.engine, "campaign1", "Sanders")
        else:
            add_staff(web.engine, f"{role}1", role)
        staffer = sign_in(web.client, f"{role}1")
        for path in paths:
            html = staffer.get(path).text
            for form in re.findall(r'<form method="post".*?</form>', html, re.S):
                assert f'name="csrf_token" value="{staffer.csrf}"' in form, (path, form[:200])
                forms += 1
    assert forms >= 19  # the campaign's own: upload, one precinct, recanvass (and sign-out on each page)
