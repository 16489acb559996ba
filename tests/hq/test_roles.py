"""Every route of the whole app x every role: anonymous, a chair, and each staff role. Each answer must match
the route's declaration: allowed callers never get 401/403 (nor a 5xx), anonymous callers get 401, signed-in
callers without the role get 403."""

from __future__ import annotations

import re

from caucus.web.access import STAFF_ROLES, RouteAccess, route_table
from tests.hq.campaign_support import add_campaign
from tests.hq.support import LOGIN, PASSWORD, add_staff, sign_in
from tests.web.conftest import Web
from tests.web.support import GRINNELL

SAMPLES = {"call_id": "1", "code": GRINNELL, "label": "R-1", "photo_id": "1", "name": "hq.css", "number": "1",
           "since": "0", "path": "manifest.json", "username": "nobody"}
CALLERS = ("anonymous", "chair", *STAFF_ROLES)


def _path(template: str) -> str:
    return re.sub(r"\{(\w+)(:path)?\}", lambda m: SAMPLES[m.group(1)], template)


def test_every_route_answers_every_role_as_declared(hq_sqlite: Web) -> None:
    web = hq_sqlite
    for role in STAFF_ROLES:
        if role == "campaign":
            add_campaign(web.engine, "campaign1", "Sanders")
        else:
            add_staff(web.engine, f"{role}1", role)
    table = route_table(web.app)
    assert {r.path for r in table} >= {"/hq", "/hq/hotline", "/hq/review", "/hq/readiness", "/hq/night",
                                       "/hq/recanvass", "/hq/sign-in"}
    assert all(r.roles for r in table), [r for r in table if not r.roles]
    # staff administration is the admin's; the chair roster is the admin's and the results director's
    admin, keepers = ("admin",), ("admin", "director")
    assert [r for r in table if r.path.startswith(("/hq/staff", "/hq/chairs"))] == [
        RouteAccess("GET", "/hq/chairs", keepers), RouteAccess("POST", "/hq/chairs", keepers),
        RouteAccess("POST", "/hq/chairs/import", keepers), RouteAccess("POST", "/hq/chairs/remove", keepers),
        RouteAccess("GET", "/hq/staff", admin), RouteAccess("POST", "/hq/staff", admin),
        RouteAccess("POST", "/hq/staff/{username}/disable", admin),
        RouteAccess("POST", "/hq/staff/{username}/enable", admin),
        RouteAccess("POST", "/hq/staff/{username}/password", admin),
        RouteAccess("POST", "/hq/staff/{username}/role", admin),
    ]
    assert RouteAccess("POST", "/hq/throttles/lift", ("admin", "director")) in table
    # a campaign account has its own pages and the readers' ones, never the party's working pages
    campaign, readers = ("campaign",), ("campaign", "observer", "reviewer", "director")
    assert [r for r in table if r.path.startswith(("/hq/campaign", "/hq/quality", "/hq/precincts"))] == [
        RouteAccess("GET", "/hq/campaign", campaign), RouteAccess("GET", "/hq/campaign/crosscheck.csv", campaign),
        RouteAccess("POST", "/hq/campaign/enter", campaign), RouteAccess("POST", "/hq/campaign/recanvass", campaign),
        RouteAccess("GET", "/hq/campaign/requests", campaign), RouteAccess("POST", "/hq/campaign/upload", campaign),
        RouteAccess("GET", "/hq/precincts", readers), RouteAccess("GET", "/hq/precincts.csv", readers),
        RouteAccess("GET", "/hq/quality", readers),
    ]
    assert {r.path for r in table if "campaign" in r.roles} == {
        "/hq", "/hq/sign-out", "/hq/campaign", "/hq/campaign/crosscheck.csv", "/hq/campaign/enter",
        "/hq/campaign/recanvass", "/hq/campaign/requests", "/hq/campaign/upload", "/hq/precincts",
        "/hq/precincts.csv", "/hq/quality"}
    checked = 0
    for route in table:
        path = _path(route.path)
        for caller in CALLERS:
            headers: dict[str, str] = {}
            data: dict[str, str] | None = None
            content: bytes | None = None
            if caller == "chair":
                headers.update(web.sign_in(GRINNELL).auth)
            elif caller != "anonymous":
                staffer = sign_in(web.client, f"{caller}1")
                headers.update(staffer.cookie)
                data = {"csrf_token": staffer.csrf}
            if path.startswith("/api/"):
                headers.update({"Content-Type": "application/json", "Idempotency-Key": f"matrix-{checked}"})
                content = b"{}" if route.method == "POST" else None
                data = None
            elif route.method == "POST":
                data = dict(data or {})
                if path == "/hq/sign-in":
                    web.client.cookies.clear()
                    login = web.client.get("/hq/sign-in")
                    match = LOGIN.search(login.text)
                    assert match is not None
                    data.update(login_token=match.group(1), username="observer1", password=PASSWORD)
                    headers["Cookie"] = "; ".join(filter(None, [headers.get("Cookie"),
                                                                f"caucus_hq_login={match.group(1)}"]))
            web.client.cookies.clear()
            response = web.client.request(route.method, path, headers=headers, data=data, content=content,
                                          follow_redirects=False)
            allowed = "public" in route.roles or caller in route.roles
            where = f"{caller} {route.method} {path}: {response.status_code} {response.text[:300]}"
            if allowed:
                assert response.status_code not in (401, 403), where
                assert response.status_code < 500, where
            elif caller == "anonymous":
                assert response.status_code == 401, where
            else:
                assert response.status_code == 403, where
                assert "only " in response.text and "may do this" in response.text, where
            checked += 1
    assert checked == len(CALLERS) * len(table)


def test_a_refusal_says_in_words_who_may_do_it_and_who_you_are(hq_sqlite: Web) -> None:
    """A director opening the hotline desk is told it is a hotline operator's, and as whom they are signed in
    (it read "only operator may do this; you are signed in as director director")."""
    add_staff(hq_sqlite.engine, "dora", "director")
    dora = sign_in(hq_sqlite.client, "dora")
    page = dora.get("/hq/hotline")
    assert page.status_code == 403
    assert "only a hotline operator may do this; you are signed in as dora, a director" in page.text


def test_a_first_visit_to_hq_shows_the_sign_in_form_without_an_error(hq_sqlite: Web) -> None:
    """Nobody signed in yet: the form with a neutral notice and the page to return to, not a red error."""
    first = hq_sqlite.client.get("/hq/review")
    assert first.status_code == 401
    assert 'id="notice"' in first.text and "Sign in to continue" in first.text
    assert 'class="error"' not in first.text and "sign in at /hq/sign-in first" not in first.text
    assert '<input type="hidden" name="next" value="/hq/review">' in first.text
