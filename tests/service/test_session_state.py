"""A stage report's two reads in one statement (``SessionService.authenticate_with_state``, issue 15): the session
and the precinct's state it gives are the ones ``authenticate`` and ``precinct_state`` give on their own, through
reports, another precinct's reports, a rehearsal reset (entries before the line do not count) and every refusal,
on SQLite and PostgreSQL. Real numbers: Grinnell's precinct from RULES.md §13.3 R1."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from caucus.ledger import Writer, make_engine, precinct_state
from caucus.ledger.db import utcnow
from caucus.ledger.epochs import start_epoch
from caucus.service import (
    ReportService,
    SessionExpired,
    SessionInvalid,
    SessionRevoked,
    StageAlreadyReported,
    StageReport,
    load_context,
)
from caucus.service.sessions import SessionService
from tests.web.conftest import Prepared
from tests.web.support import GRINNELL, GRINNELL_FIRST, SLUG

OTHER = "Adair/01NW"


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def services(database: Prepared) -> Iterator[tuple[SessionService, ReportService, Clock]]:
    engine = make_engine(database.url)
    clock = Clock()
    context = load_context(engine, SLUG)
    with Writer(engine) as writer:
        yield SessionService(engine, context, clock=clock), ReportService(engine, writer, context, clock=clock), clock
    engine.dispose()


def _same_as_separate(sessions: SessionService, token: str) -> int:
    """Check the one-statement read against the two separate ones; the number of entries that count."""
    session, state = sessions.authenticate_with_state(token)
    assert session == sessions.authenticate(token)
    separate = precinct_state(sessions.engine, SLUG, session.precinct)
    assert state == separate
    return len(state.entries)


def test_one_statement_read_equals_the_session_and_the_precinct_state(
    database: Prepared, services: tuple[SessionService, ReportService, Clock]
) -> None:
    sessions, reports, _ = services
    assert OTHER in database.secrets
    token = sessions.sign_in(GRINNELL, database.secrets[GRINNELL], "192.0.2.1").token
    other = sessions.sign_in(OTHER, database.secrets[OTHER], "192.0.2.2").token
    assert _same_as_separate(sessions, token) == 0  # nothing reported: one row, no entry

    def report(code: str, stage: str, payload: dict[str, object], key: str) -> None:
        reports.submit(code, StageReport(stage, payload), key, channel="app", actor=f"chair:{code}")  # type: ignore[arg-type]

    report(GRINNELL, "attendance", {"attendance": sum(GRINNELL_FIRST.values())}, "g-att")
    report(OTHER, "attendance", {"attendance": 40}, "o-att")
    report(GRINNELL, "first", {"counts": GRINNELL_FIRST}, "g-first")
    assert _same_as_separate(sessions, token) == 2  # the other precinct's entry is not Grinnell's
    assert _same_as_separate(sessions, other) == 1

    # a rehearsal reset draws the line: the entries stay in the ledger but no longer count (sessions are revoked)
    start_epoch(sessions.engine, SLUG, "reset-rehearsal", actor="admin:test")
    with pytest.raises(SessionRevoked):
        sessions.authenticate_with_state(token)
    token = sessions.sign_in(GRINNELL, database.secrets[GRINNELL], "192.0.2.1").token
    assert _same_as_separate(sessions, token) == 0
    report(GRINNELL, "attendance", {"attendance": 180}, "g-att-2")
    assert _same_as_separate(sessions, token) == 1


def test_one_statement_read_refuses_as_authenticate_does(
    database: Prepared, services: tuple[SessionService, ReportService, Clock]
) -> None:
    sessions, _, clock = services

    def refusal(token: str) -> tuple[type[Exception], str]:
        found = []
        for read in (sessions.authenticate, sessions.authenticate_with_state):
            with pytest.raises((SessionInvalid, SessionRevoked, SessionExpired)) as caught:
                read(token)
            found.append((type(caught.value), caught.value.message))
        assert found[0] == found[1]
        return found[0]

    assert refusal("")[0] is SessionInvalid
    assert refusal("x" * 257)[0] is SessionInvalid
    assert refusal("not-a-token-anyone-was-given")[0] is SessionInvalid
    signed = sessions.sign_in(GRINNELL, database.secrets[GRINNELL], "192.0.2.1")
    clock.now = signed.session.expires_at + timedelta(seconds=1)
    assert refusal(signed.token)[0] is SessionExpired
    clock.now = utcnow()
    sessions.sign_out(signed.session)
    kind, message = refusal(signed.token)
    assert kind is SessionRevoked and "signed out" in message


def test_a_state_read_before_another_write_is_checked_again(
    database: Prepared, services: tuple[SessionService, ReportService, Clock]
) -> None:
    """The state read with the session is the first check's; if another worker (its own engine and writer) records
    the same stage in between, the writer refuses the stale write and the report is checked again: refused as a
    sequential second report would be, and the stage is stored once."""
    sessions, reports, _ = services
    token = sessions.sign_in(GRINNELL, database.secrets[GRINNELL], "192.0.2.1").token
    session, stale = sessions.authenticate_with_state(token)
    attendance = StageReport("attendance", {"attendance": sum(GRINNELL_FIRST.values())})
    other_engine = make_engine(database.url)
    try:
        with Writer(other_engine) as other_writer:
            other = ReportService(other_engine, other_writer, load_context(other_engine, SLUG))
            won = other.submit(GRINNELL, attendance, "other-worker", channel="app", actor=session.actor)
    finally:
        other_engine.dispose()
    with pytest.raises(StageAlreadyReported) as refused:
        reports.submit_as_chair(session, attendance, "this-worker", state=stale)
    assert f"entry #{won.receipt.seq}" in refused.value.message
    assert [e.idempotency_key for e in precinct_state(sessions.engine, SLUG, GRINNELL).entries] == ["other-worker"]
