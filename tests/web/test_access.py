"""Every route declares who may call it: the registry, the anonymous x chair matrix, start-up refusals."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from starlette.staticfiles import StaticFiles

from caucus.web.access import RouteAccess, UndeclaredAccess, access, check_access_declared, route_table
from caucus.web.app import create_app
from caucus.web.settings import Settings
from tests.web.conftest import Prepared, Web
from tests.web.support import GRINNELL, SLUG, Clock, assert_error

STAFF_ONLY = "/api/v1/review-queue"


def _staff_router() -> APIRouter:
    router = APIRouter()

    @router.get(STAFF_ONLY, dependencies=[access("reviewer", "director")])
    def queue() -> dict[str, str]:  # pragma: no cover - no staff sign-in exists yet
        return {"queue": "empty"}

    return router


@pytest.fixture
def web_with_staff_route(sqlite_database: Prepared) -> Iterator[Web]:
    app = create_app(Settings(database_url=sqlite_database.url, election=SLUG), clock=Clock(),
                     extra_routers=[_staff_router()])
    with TestClient(app) as client:
        web = Web(app, client, Clock(), sqlite_database)
        yield web
        web.close()


def test_the_route_registry_lists_every_route_with_its_roles(web_sqlite: Web) -> None:
    # every route declares roles; these are among them with exactly these roles (the chair app's and HQ's
    # routes are checked against every role in tests/hq/test_roles.py)
    table = route_table(web_sqlite.app)
    assert all(route.roles for route in table)
    expected = [
        RouteAccess("GET", "/", ("public",)),
        # the chair app (its shell is public; its API additions are the chair's)
        RouteAccess("GET", "/api/v1/chair/messages", ("chair",)),
        RouteAccess("GET", "/api/v1/chair/photos", ("chair",)),
        RouteAccess("POST", "/api/v1/chair/photos", ("chair",)),
        RouteAccess("GET", "/api/v1/chair/setup", ("chair",)),
        RouteAccess("GET", "/chair", ("public",)),
        RouteAccess("GET", "/chair/", ("public",)),
        RouteAccess("GET", "/chair/manifest.webmanifest", ("public",)),
        RouteAccess("GET", "/chair/static/{name}", ("public",)),
        RouteAccess("GET", "/chair/sw.js", ("public",)),
        RouteAccess("GET", "/api/v1/docs", ("public",)),
        RouteAccess("GET", "/api/v1/docs/static/{name}", ("public",)),
        RouteAccess("GET", "/api/v1/health", ("public",)),
        RouteAccess("GET", "/api/v1/openapi.json", ("public",)),
        RouteAccess("GET", "/api/v1/precinct", ("chair",)),
        RouteAccess("POST", "/api/v1/reports", ("chair",)),
        RouteAccess("POST", "/api/v1/corrections", ("chair",)),
        RouteAccess("DELETE", "/api/v1/session", ("chair",)),
        RouteAccess("POST", "/api/v1/session", ("public",)),
        # the public site and media feed (publish)
        RouteAccess("GET", "/county/{name}", ("public",)),
        RouteAccess("GET", "/events", ("public",)),
        RouteAccess("GET", "/feed", ("public",)),
        RouteAccess("GET", "/feed/v1/delta/{since}.json", ("public",)),
        RouteAccess("HEAD", "/feed/v1/delta/{since}.json", ("public",)),
        RouteAccess("GET", "/feed/v1/latest.json", ("public",)),
        RouteAccess("HEAD", "/feed/v1/latest.json", ("public",)),
        RouteAccess("GET", "/feed/v1/releases/{number}/{path:path}", ("public",)),
        RouteAccess("HEAD", "/feed/v1/releases/{number}/{path:path}", ("public",)),
        RouteAccess("GET", "/feed/v1/{path:path}", ("public",)),
        RouteAccess("HEAD", "/feed/v1/{path:path}", ("public",)),
        RouteAccess("GET", "/precinct/{name}", ("public",)),
        RouteAccess("GET", "/static/public/{name}", ("public",)),
        RouteAccess("GET", "/favicon.ico", ("public",)),
    ]
    assert [route for route in expected if route not in table] == []


#: who may call, as the refusal says it (written out here, not taken from the code)
WORDS = {("reviewer", "director"): "a reviewer or a director", ("director",): "a director",
         ("admin",): "an admin", ("operator",): "a hotline operator",
         ("reviewer", "director", "observer"): "a reviewer, a director or an observer"}


def test_every_route_answers_anonymous_and_chair_callers_as_declared(web_with_staff_route: Web) -> None:
    web = web_with_staff_route
    table = [r for r in route_table(web.app) if not r.path.startswith("/hq")]  # /hq: tests/hq/test_roles.py
    assert RouteAccess("GET", STAFF_ONLY, ("reviewer", "director")) in table
    checked = 0
    for route in table:
        for caller in ("anonymous", "chair"):
            headers = {"Content-Type": "application/json", "Idempotency-Key": f"matrix-{checked}"}
            if caller == "chair":
                headers.update(web.sign_in(GRINNELL).auth)
            body = b"{}" if route.method == "POST" else None
            response = web.client.request(route.method, route.path, headers=headers, content=body)
            allowed = "public" in route.roles or (caller == "chair" and "chair" in route.roles)
            where = f"{caller} {route.method} {route.path}: {response.status_code} {response.text[:200]}"
            if allowed:
                assert response.status_code not in (401, 403), where
                assert response.status_code < 500, where
            elif caller == "anonymous":
                assert_error(response, 401, "not-signed-in")
                assert response.headers["WWW-Authenticate"] == "Bearer"
            else:
                error = assert_error(response, 403, "forbidden")
                assert error["message"] == (f"only {WORDS[route.roles]} may do this; this session is precinct "
                                            f"{GRINNELL}'s chair")
            checked += 1
    assert checked == 2 * len(table)


def _undeclared_router() -> APIRouter:
    router = APIRouter()

    @router.get("/api/v1/undeclared")
    def undeclared() -> dict[str, str]:  # pragma: no cover - never served
        return {}

    return router


def test_the_app_refuses_to_build_with_an_undeclared_route(sqlite_database: Prepared) -> None:
    settings = Settings(database_url=sqlite_database.url, election=SLUG)
    with pytest.raises(UndeclaredAccess) as refused:
        create_app(settings, extra_routers=[_undeclared_router()])
    assert str(refused.value) == ("every route must declare who may call it with caucus.web.access.access(...): "
                                  "GET /api/v1/undeclared declares no access")


def test_the_app_refuses_to_start_with_a_route_added_later_without_a_declaration(sqlite_database: Prepared) -> None:
    app = create_app(Settings(database_url=sqlite_database.url, election=SLUG))

    @app.post("/api/v1/later")
    def later() -> dict[str, str]:  # pragma: no cover - never served
        return {}

    with pytest.raises(UndeclaredAccess, match=r"POST /api/v1/later declares no access"), TestClient(app):
        pass


def test_declarations_are_checked_for_count_and_kind(tmp_path: object) -> None:
    app = FastAPI()

    @app.get("/twice", dependencies=[access("public"), access("chair")])
    def twice() -> None:  # pragma: no cover - never served
        return None

    app.mount("/static", StaticFiles(directory=str(tmp_path)), name="static")
    with pytest.raises(UndeclaredAccess) as refused:
        check_access_declared(app)
    assert "GET /twice declares access 2 times" in str(refused.value)
    assert "route /static is not an API route, so it cannot declare access" in str(refused.value)


@pytest.mark.parametrize("roles", [(), ("wizard",), ("public", "chair")])
def test_access_takes_known_roles_and_public_alone(roles: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="access"):
        access(*roles)  # type: ignore[arg-type]
