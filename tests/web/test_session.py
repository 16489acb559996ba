"""Chair sign-in and sessions: tokens stored as hashes, expiry, sign-out, revocation (throttles:
tests/web/test_throttles.py)."""

from __future__ import annotations

import hashlib

from fastapi.testclient import TestClient
from sqlalchemy import select

from caucus.ledger import audit_events, revoke_credential
from caucus.ledger.credentials import generate_secret
from caucus.ledger.schema import sessions, signin_attempts
from caucus.web.app import create_app
from caucus.web.settings import Settings
from tests.web.conftest import Prepared, Web
from tests.web.support import GRINNELL, SLUG, Chair, Clock, assert_error, fields_of

ADAIR = "Adair/01NW"
WRONG = ("the precinct code and credential do not match an active credential; check both against your credential "
         "card")


def _sign_in(web: Web, precinct: str, credential: str) -> tuple[int, dict[str, object]]:
    response = web.client.post("/api/v1/session", json={"precinct": precinct, "credential": credential})
    return response.status_code, response.json()


def test_sign_in_returns_a_token_stored_only_as_its_hash(web: Web) -> None:
    response = web.client.post("/api/v1/session", json={"precinct": GRINNELL, "credential": web.secrets[GRINNELL]})
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"token", "precinct", "expires_at"}
    assert body["precinct"] == GRINNELL and body["expires_at"] == "2020-02-04T13:00:00Z"
    assert len(body["token"]) >= 43
    with web.engine.connect() as conn:
        stored = conn.execute(select(sessions)).one()
    assert stored.token_hash == hashlib.sha256(body["token"].encode()).hexdigest()
    assert body["token"] not in [str(v) for v in stored]
    typed = web.secrets[GRINNELL].lower().replace("-", " ")  # as a chair might type it
    assert _sign_in(web, GRINNELL, typed)[0] == 201
    assert [e.action for e in audit_events(web.engine, SLUG)][-2:] == ["session.create", "session.create"]


def test_a_wrong_or_revoked_credential_gets_401_without_saying_which_part_was_wrong(web_sqlite: Web) -> None:
    web = web_sqlite
    status, body = _sign_in(web, ADAIR, web.secrets[GRINNELL])  # a real credential, of another precinct
    assert status == 401
    assert body["error"]["message"] == f"{WRONG} and try again"
    revoke_credential(web.engine, SLUG, GRINNELL)
    status, body = _sign_in(web, GRINNELL, web.secrets[GRINNELL])
    assert status == 401 and body["error"]["code"] == "sign-in-failed"
    assert body["error"]["message"].startswith(WRONG)
    assert "revoked" not in body["error"]["message"]


def test_unknown_precinct_and_malformed_credential_are_input_errors(web_sqlite: Web) -> None:
    web = web_sqlite
    unknown = web.client.post("/api/v1/session", json={"precinct": "Adair/99", "credential": generate_secret()})
    error = assert_error(unknown, 422, "unknown-precinct")
    assert fields_of(error) == {"precinct": "unknown-precinct"}
    assert error["message"].startswith(f"election {SLUG} has no precinct 'Adair/99'")
    malformed = web.client.post("/api/v1/session", json={"precinct": ADAIR, "credential": "1234"})
    error = assert_error(malformed, 422, "credential-malformed")
    assert fields_of(error) == {"credential": "credential-malformed"}
    with web.engine.connect() as conn:
        assert conn.execute(select(signin_attempts)).all() == []  # no secret was tried


def test_no_expired_signed_out_or_revoked_token_is_accepted(web: Web) -> None:
    chair = web.sign_in(GRINNELL)
    assert chair.status().status_code == 200
    for headers in ({}, {"Authorization": "Basic abc"}):
        error = assert_error(web.client.get("/api/v1/precinct", headers=headers), 401, "not-signed-in")
        assert error["message"] == ("sign in first (POST /api/v1/session), then send the token as "
                                    "'Authorization: Bearer <token>'")
    bogus = Chair(web.client, GRINNELL, "x" * 43)
    missing = assert_error(bogus.status(), 401, "session-invalid")
    assert missing["message"] == "this session token is not valid; sign in again"
    assert bogus.status().headers["WWW-Authenticate"] == "Bearer"

    web.clock.advance(hours=12)
    expired = assert_error(chair.status(), 401, "session-expired")
    assert expired["message"] == "this session expired at 7:00 am CST; sign in again"
    assert_error(chair.stage("attendance", {"attendance": 328}), 401, "session-expired")

    fresh = web.sign_in(GRINNELL)
    assert web.client.delete("/api/v1/session", headers=fresh.auth).status_code == 204
    out = assert_error(fresh.status(), 401, "session-revoked")
    assert out["message"] == "this session was signed out at 7:00 am CST; sign in again"
    assert_error(web.client.delete("/api/v1/session", headers=fresh.auth), 401, "session-revoked")

    other = web.sign_in(GRINNELL)
    revoke_credential(web.engine, SLUG, GRINNELL)
    revoked = assert_error(other.status(), 401, "session-revoked")
    assert revoked["message"] == ("the credential this session was signed in with has been revoked or replaced; "
                                  "sign in again with the new credential")


def test_sessions_are_shared_by_every_app_worker(sqlite_database: Prepared) -> None:
    settings = Settings(database_url=sqlite_database.url, election=SLUG)
    clock = Clock()
    with TestClient(create_app(settings, clock=clock)) as one, TestClient(create_app(settings, clock=clock)) as two:
        token = one.post("/api/v1/session", json={"precinct": GRINNELL,
                                                  "credential": sqlite_database.secrets[GRINNELL]}).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        assert two.get("/api/v1/precinct", headers=auth).json()["code"] == GRINNELL
        assert two.delete("/api/v1/session", headers=auth).status_code == 204
        assert one.get("/api/v1/precinct", headers=auth).status_code == 401
