"""One JSON error shape for every error the API can answer (after datasette's test_error_shape.py).

Every error is ``{"error": {"code", "message", "fields": [{"field", "code", "message"}]}}``; nothing else.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterator

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from caucus import service
from caucus.ledger import errors as ledger_errors
from caucus.ledger.credentials import generate_secret
from caucus.web import errors as web_errors
from caucus.web.access import access
from caucus.web.app import create_app
from caucus.web.errors import status_for
from caucus.web.services import Services
from caucus.web.settings import Settings
from tests.web.conftest import Prepared, Web
from tests.web.support import GRINNELL, SLUG, STAGES, Clock, assert_error, fields_of

SECRET = "a detail that must stay in the server log"


def _boom_router() -> APIRouter:
    router = APIRouter()

    @router.get("/api/v1/boom", dependencies=[access("public")])
    def boom() -> None:
        raise RuntimeError(SECRET)

    return router


@pytest.fixture
def web_boom(sqlite_database: Prepared) -> Iterator[Web]:
    clock = Clock()
    app = create_app(Settings(database_url=sqlite_database.url, election=SLUG), clock=clock,
                     extra_routers=[_boom_router()])
    with TestClient(app, raise_server_exceptions=False) as client:
        web = Web(app, client, clock, sqlite_database)
        yield web
        web.close()


def test_http_level_errors(web_sqlite: Web) -> None:
    client = web_sqlite.client
    assert_error(client.get("/api/v1/nowhere"), 404, "not-found")
    assert_error(client.get("/nowhere"), 404, "not-found")  # "/" is the public results page (publish)
    not_allowed = client.put("/api/v1/health")
    error = assert_error(not_allowed, 405, "method-not-allowed")
    assert error["message"] == "PUT is not allowed on /api/v1/health; allowed: GET"
    assert not_allowed.headers["Allow"] == "GET"
    assert_error(client.post("/api/v1/session", content=b"x" * 70_000,
                             headers={"Content-Type": "application/json"}), 413, "body-too-large")
    assert_error(client.post("/api/v1/session", content=b"precinct=x", headers={
        "Content-Type": "application/x-www-form-urlencoded"}), 415, "unsupported-media-type")
    huge = client.post("/api/v1/session", content=b'{"precinct": ' + b"9" * 5000 + b"}",
                       headers={"Content-Type": "application/json"})
    error = assert_error(huge, 422, "invalid-request")
    assert error["message"] == ("the request has 1 problem: the body is not valid JSON: a number in it has more "
                                "than 4300 digits")
    assert fields_of(error) == {"body": "invalid-json"}
    assert_error(client.post("/api/v1/session", content=b"{", headers={"Content-Type": "application/json"}), 422,
                 "invalid-request")


def test_errors_of_every_kind_share_the_shape(web_sqlite: Web) -> None:
    web = web_sqlite
    chair = web.sign_in(GRINNELL)
    assert_error(web.client.get("/api/v1/precinct"), 401, "not-signed-in")
    assert_error(chair.stage("attendance", {"attendance": 1}, precinct="Adair/01NW"), 403, "wrong-precinct")
    assert_error(chair.stage("final", {"counts": {"Sanders": 1}}), 409, "stage-out-of-order")
    assert_error(chair.stage("attendance", {"attendance": "many"}), 422, "invalid-request")
    assert_error(chair.stage("attendance", {"attendance": 1}, supersedes_seq=1), 422, "invalid-report")
    assert_error(chair.stage("first", {"counts": {"Sandres": 1}}), 422, "unknown-candidate")
    chair.stage("attendance", {"attendance": 1})
    assert_error(chair.stage("first", {"counts": {"Sanders": 2}}), 422, "report-rejected")
    for _ in range(5):
        web.client.post("/api/v1/session", json={"precinct": "Adair/01NW", "credential": generate_secret()})
    assert_error(web.client.post("/api/v1/session", json={"precinct": "Adair/01NW", "credential": generate_secret()}),
                 429, "too-many-sign-ins")


def test_an_unexpected_error_is_a_500_in_the_shape_without_a_traceback(
    web_boom: Web, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="caucus.web"):
        response = web_boom.client.get("/api/v1/boom")
    error = assert_error(response, 500, "internal-error")
    assert SECRET not in response.text and "RuntimeError" not in response.text
    reference = error["message"].split("(reference ")[1].split(")")[0]
    assert error["message"] == (
        f"unexpected server error (reference {reference}); the server log has the details. If you were sending a "
        "report, send it again with the same Idempotency-Key: that is safe and tells you whether it was recorded")
    logged = [r for r in caplog.records if reference in r.getMessage()]
    assert logged and logged[0].exc_info is not None and SECRET in str(logged[0].exc_info[1])


def test_a_stopped_ledger_writer_is_a_503_and_nothing_is_claimed(web_sqlite: Web) -> None:
    chair = web_sqlite.sign_in(GRINNELL)
    services = web_sqlite.client.app_state["services"]
    assert isinstance(services, Services)
    services.writer.close()
    response = chair.stage(*STAGES[0])
    error = assert_error(response, 503, "writer-closed")
    assert error["message"] == "the ledger writer is closed; the submission was not recorded"
    assert response.headers["Retry-After"] == "5"


def _error_classes() -> list[type[Exception]]:
    found: set[type[Exception]] = set()
    for module in (service, service.errors, ledger_errors, web_errors):
        found |= {obj for _, obj in inspect.getmembers(module, inspect.isclass)
                  if issubclass(obj, service.ServiceError | ledger_errors.LedgerError)}
    return sorted(found, key=lambda cls: cls.__name__)


@pytest.mark.parametrize("cls", _error_classes(), ids=lambda cls: cls.__name__)
def test_every_typed_error_maps_to_a_client_error_or_503(cls: type[Exception]) -> None:
    status = status_for(cls.__new__(cls))
    assert 400 <= status < 500 or status == 503, f"{cls.__name__} -> {status}"
    code = getattr(cls, "code", "")
    assert code and code == code.lower() and " " not in code
