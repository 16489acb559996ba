"""Staff administration: the password rule (zxcvbn), the service's actions (disable, enable, reset a password,
change a role, lift a sign-in throttle; never the last active admin), HQ's Staff page for admins only (CSRF,
roles), every action audited with the admin as actor."""

from __future__ import annotations

import secrets

import pytest

from caucus.ledger import audit_events
from caucus.service.errors import SessionRevoked
from caucus.service.hq_errors import StaffInputInvalid, StaffSignInFailed, UnknownStaffUser
from caucus.service.passwords import password_problem
from caucus.service.staff import StaffService
from tests.hq.support import FAST_HASHER, PASSWORD, add_staff, sign_in, sign_in_response
from tests.web.conftest import Web


@pytest.mark.parametrize(("password", "username", "why"), [
    (" " * 12, "kim", "a staff password cannot be only spaces"),
    ("password1234", "kim", "it is (or is built from) a commonly used password"),
    ("Password123!", "kim", "it is (or is built from) a commonly used password"),
    ("aaaaaaaaaaaa", "kim", "it repeats characters or a pattern"),
    ("hunter2hunter2", "kim", "it repeats characters or a pattern"),
    ("abcdefghijklmn", "kim", "it follows a sequence or a keyboard pattern"),
    ("Director2028!", "director", "a staff password cannot contain the username or the person's name"),
    ("kimberly.2028", "kimberly", "a staff password cannot contain the username or the person's name"),
    ("hunter2", "kim", "a staff password has at least 12 characters; this one has 7"),
])
def test_weak_passwords_are_refused_saying_why(password: str, username: str, why: str) -> None:
    problem = password_problem(password, username=username)
    assert problem is not None and why in problem


def test_passphrases_and_random_passwords_pass_the_rule() -> None:
    assert password_problem(PASSWORD, username="kim") is None
    assert password_problem("a long enough passphrase", username="kim") is None
    assert password_problem("tractor lantern oatmeal", username="ann", name="Ann Dvorak") is None
    assert all(password_problem(secrets.token_urlsafe(12), username="director") is None for _ in range(50))
    # the name counts like the username
    assert password_problem("Dvorak caucus night", username="ann", name="Ann Dvorak") is not None


def test_the_service_disables_enables_resets_and_changes_roles_with_an_audit_event_each(hq: Web) -> None:
    staff = StaffService(hq.engine, hasher=FAST_HASHER)
    add_staff(hq.engine, "ada", "admin")
    add_staff(hq.engine, "kim", "operator")
    signed = staff.sign_in("kim", PASSWORD, "203.0.113.7")
    assert staff.disable_user("kim", actor="admin:ada").status == "disabled"
    with pytest.raises(StaffSignInFailed):
        staff.sign_in("kim", PASSWORD, "203.0.113.7")
    assert staff.enable_user("kim", actor="admin:ada").status == "active"
    staff.authenticate(staff.sign_in("kim", PASSWORD, "203.0.113.7").token)
    with pytest.raises(StaffInputInvalid) as weak:
        staff.reset_password("kim", "kim-password-1", actor="admin:ada")
    assert weak.value.fields[0].field == "password"
    staff.reset_password("kim", "saffron kettle meadow", actor="admin:ada")
    with pytest.raises(StaffSignInFailed):
        staff.sign_in("kim", PASSWORD, "203.0.113.7")
    with pytest.raises(SessionRevoked, match="this session was ended at"):  # the reset ended kim's sessions
        staff.authenticate(signed.token)
    assert staff.sign_in("kim", "saffron kettle meadow", "203.0.113.7").session.role == "operator"
    assert staff.change_role("KIM", "reviewer", actor="admin:ada").role == "reviewer"
    with pytest.raises(StaffInputInvalid, match="role must be one of admin, operator, reviewer, director, observer"):
        staff.change_role("kim", "wizard", actor="admin:ada")
    with pytest.raises(UnknownStaffUser):
        staff.enable_user("nobody", actor="admin:ada")
    # HQ always keeps an active admin: the only one cannot be disabled or demoted
    with pytest.raises(StaffInputInvalid, match="it is the only active admin account; add another admin first"):
        staff.disable_user("ada", actor="admin:ada")
    with pytest.raises(StaffInputInvalid, match="only active admin"):
        staff.change_role("ada", "director", actor="admin:ada")
    staff.change_role("kim", "admin", actor="admin:ada")
    assert staff.disable_user("ada", actor="admin:kim").status == "disabled"
    events = [(e.actor, e.action, e.outcome, e.detail.get("username")) for e in audit_events(hq.engine)
              if e.action.startswith("staff.") and e.actor.startswith("admin:")]
    assert events == [
        ("admin:ada", "staff.disable", "ok", "kim"), ("admin:ada", "staff.enable", "ok", "kim"),
        ("admin:ada", "staff.reset-password", "ok", "kim"), ("admin:ada", "staff.role", "ok", "kim"),
        ("admin:ada", "staff.role", "ok", "kim"), ("admin:kim", "staff.disable", "ok", "ada"),
    ]
    assert all(PASSWORD not in str(e.detail) and "saffron" not in str(e.detail) for e in audit_events(hq.engine))


def test_a_staff_throttle_is_lifted_for_the_account(hq: Web) -> None:
    add_staff(hq.engine, "kim", "reviewer")
    for _ in range(5):
        assert sign_in_response(hq.client, "kim", "wrong password!").status_code == 401
    assert sign_in_response(hq.client, "kim").status_code == 429
    staff = StaffService(hq.engine, hasher=FAST_HASHER)
    assert staff.lift_throttle("kim", actor="admin:ada") == 5
    assert sign_in_response(hq.client, "kim").status_code == 303
    assert staff.lift_throttle("kim", actor="admin:ada") == 0
    lifts = [(e.actor, e.outcome, e.detail["target"]) for e in audit_events(hq.engine) if e.action == "throttle.lift"]
    assert lifts == [("admin:ada", "ok", "kim"), ("admin:ada", "nothing-to-lift", "kim")]


def test_the_staff_page_is_the_admins_and_every_form_needs_the_csrf_token(hq: Web) -> None:
    add_staff(hq.engine, "ada", "admin")
    add_staff(hq.engine, "dora", "director")
    dora = sign_in(hq.client, "dora")
    assert dora.get("/hq/staff").status_code == 403
    assert dora.post("/hq/staff/dora/role", {"role": "admin"}).status_code == 403
    assert "/hq/staff" not in dora.get("/hq").text
    ada = sign_in(hq.client, "ada")
    home = ada.get("/hq").text
    assert '<a href="/hq/staff">Staff</a>' in home and '<a href="/hq/chairs">Chairs</a>' in home
    forged = ada.post("/hq/staff", {"username": "mal", "role": "admin", "password": PASSWORD, "confirm": PASSWORD},
                      csrf=False)
    assert forged.status_code == 403
    forged = ada.post("/hq/staff/dora/disable", {"csrf_token": "0" * 64})
    assert forged.status_code == 403 and "security token is wrong" in forged.text
    with pytest.raises(UnknownStaffUser):
        StaffService(hq.engine).get_user("mal")
    assert StaffService(hq.engine).get_user("dora").status == "active"


def test_an_admin_adds_resets_changes_and_disables_accounts_on_the_staff_page(hq: Web) -> None:
    add_staff(hq.engine, "ada", "admin")
    ada = sign_in(hq.client, "ada")
    page = ada.get("/hq/staff").text
    assert '<tr data-user="ada" class="status-active">' in page and "ada (you)" in page
    assert 'href="/hq/throttles"' in page
    weak = ada.post("/hq/staff", {"username": "kim", "name": "Kim Lee", "role": "operator",
                                  "password": "password1234", "confirm": "password1234"})
    assert weak.status_code == 422
    assert 'id="error-password">this password is too easy to guess: it is (or is built from) a commonly used' \
        in weak.text
    assert 'name="username" autocomplete="off" value="kim"' in weak.text and "password1234" not in weak.text
    differ = ada.post("/hq/staff", {"username": "kim", "role": "operator", "password": PASSWORD,
                                    "confirm": PASSWORD + "!"})
    assert differ.status_code == 422 and 'id="error-confirm">the two passwords differ' in differ.text
    added = ada.post("/hq/staff", {"username": "kim", "name": "Kim Lee", "role": "operator", "password": PASSWORD,
                                   "confirm": PASSWORD})
    assert added.status_code == 303 and "added%20kim%20%28operator%2C%20active%29" in added.headers["location"]
    assert ada.post("/hq/staff", {"username": "kim", "role": "operator", "password": PASSWORD,
                                  "confirm": PASSWORD}).status_code == 409
    kim = sign_in(hq.client, "kim")
    assert kim.get("/hq/hotline").status_code == 200
    assert ada.post("/hq/staff/kim/role", {"role": "reviewer"}).status_code == 303
    assert kim.get("/hq/hotline").status_code == 403 and kim.get("/hq/review").status_code == 200
    new = "walnut harbor telescope"
    assert ada.post("/hq/staff/kim/password", {"password": new, "confirm": new}).status_code == 303
    assert kim.get("/hq").status_code == 401  # the reset ended kim's session
    assert sign_in_response(hq.client, "kim").status_code == 401
    kim = sign_in(hq.client, "kim", new)
    assert ada.post("/hq/staff/kim/disable").status_code == 303
    assert kim.get("/hq").status_code == 401
    assert '<tr data-user="kim" class="status-disabled">' in ada.get("/hq/staff").text
    assert ada.post("/hq/staff/kim/enable").status_code == 303
    sign_in(hq.client, "kim", new)
    last = ada.post("/hq/staff/ada/disable")
    assert last.status_code == 422 and "cannot disable ada: it is the only active admin account" in last.text
    assert ada.post("/hq/staff/nobody/enable").status_code == 404
    actions = [(e.actor, e.action, e.outcome) for e in audit_events(hq.engine) if e.action.startswith("staff.")
               and e.actor == "admin:ada" and e.action != "staff.sign-in"]
    assert actions == [("admin:ada", "staff.add", "ok"), ("admin:ada", "staff.role", "ok"),
                       ("admin:ada", "staff.reset-password", "ok"), ("admin:ada", "staff.disable", "ok"),
                       ("admin:ada", "staff.enable", "ok")]
