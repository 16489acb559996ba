"""Each precinct's maintained readiness (``precinct_readiness`` and ``readiness_counts``) against a derivation from
the cards, sign-ins and audit log: after every step of a seeded random sequence of cards issued, rotated and
revoked, sign-ins (good, bad, tests), roster entries, reports, a rehearsal reset and go-live, the readiness page's
figures read from the rows equal a walk of every precinct, and the rows equal a fresh derivation. Tampered rows and
counts are found by ``caucus state check`` and ``caucus verify`` and repaired by ``caucus state rebuild``. SQLite
and PostgreSQL."""

from __future__ import annotations

import random
from collections.abc import Callable

from sqlalchemy import update

from caucus.cli import app
from caucus.ledger import LedgerError, issue_cards, readiness, revoke_credential
from caucus.ledger.schema import precinct_readiness, readiness_counts
from caucus.service import ServiceError, StageReport
from caucus.service.errors import SignInFailed
from caucus.service.maintained import check
from caucus.web.services import Services
from tests.cli.support import runner
from tests.hq.support import play_random
from tests.ledger.support import FAST_COST
from tests.web.conftest import Web
from tests.web.support import GRINNELL, SLUG, STAGES, WITH_CREDENTIALS

#: the precincts the sequence plays with: some with cards from the start, some without
CODES = (*WITH_CREDENTIALS[:6], "Adair/04SE", "Allamakee/1", "Appanoose/1", "Adams/AD5")


def _assert_readiness_equals_the_derivation(svc: Services) -> None:
    assert svc.readiness.readiness() == svc.readiness.derived_readiness()
    with svc.engine.connect() as conn:
        assert readiness.differences(conn, svc.context.election_id) == []
    assert check(svc.engine, svc.context).ok


def _operations(svc: Services, rng: random.Random, secrets: dict[str, str]) -> list[Callable[[int], object]]:
    codes = [c for c in CODES if c in svc.context.precincts]

    def issue(n: int) -> object:  # a new card, or a rotation of the precinct's card
        chosen = rng.sample(codes, rng.randint(1, 3))
        cards = issue_cards(svc.engine, SLUG, chosen, cost=FAST_COST, actor="admin:ann")
        secrets.update({code: card.credential for code, card in cards.items()})
        return cards

    def revoke(n: int) -> object:
        code = rng.choice(codes)
        secrets.pop(code, None)
        return revoke_credential(svc.engine, SLUG, code, actor="admin:ann")

    def sign_in(n: int) -> object:
        code = rng.choice([c for c in codes if c in secrets] or codes)
        return svc.sessions.sign_in(code, secrets[code], f"10.0.{n}.1", purpose=rng.choice(["report", "test"]))

    def bad_sign_in(n: int) -> object:
        code, other = rng.sample(codes, 2)
        wrong = secrets.get(other) or "ABCD-EFGH-JKMN-PQRS"
        try:
            return svc.sessions.sign_in(code, wrong, f"10.1.{n}.1")
        except SignInFailed as refused:  # recorded: the failed sign-ins count
            return refused

    def roster(n: int) -> object:
        code = rng.choice(codes)
        if rng.random() < 0.3:
            return svc.roster.remove(code, actor="admin:ann")
        return svc.roster.save(code, f"Chair {n}", f"515-555-{n:04d}", f"chair{n}@example.org", actor="admin:ann")

    def report(n: int) -> object:
        code = rng.choice(codes)
        done = len(svc.reports.status(code).stages)
        stage, numbers = STAGES[min(done, len(STAGES) - 1)]
        if code != GRINNELL:
            stage, numbers = "attendance", {"attendance": 30}
        return svc.reports.submit(code, StageReport(stage, numbers), f"op-{n}", channel="app", actor="chair")

    return [issue, revoke, sign_in, sign_in, bad_sign_in, bad_sign_in, roster, report]


def _play(svc: Services, seed: int, steps: int, secrets: dict[str, str]) -> set[str]:
    rng = random.Random(seed)
    return play_random(rng, _operations(svc, rng, secrets), steps, (ServiceError, LedgerError, KeyError),
                       lambda: _assert_readiness_equals_the_derivation(svc))


def test_readiness_rows_equal_the_derivation_after_a_random_sequence(hq: Web, svc: Services) -> None:
    secrets = dict(hq.secrets)
    _assert_readiness_equals_the_derivation(svc)
    done = _play(svc, 15, 25, secrets)
    svc.election.reset_rehearsal("director:dora", confirm=SLUG)
    _assert_readiness_equals_the_derivation(svc)  # reports no longer count: their precincts are to phone again
    done |= _play(svc, 16, 20, secrets)
    svc.election.go_live("director:dora", confirm=SLUG)
    _assert_readiness_equals_the_derivation(svc)
    done |= _play(svc, 17, 25, secrets)
    assert done >= {"issue", "revoke", "sign_in", "bad_sign_in", "roster", "report"}, done
    ready = svc.readiness.readiness()
    total = ready.total
    # the sequence left something of each kind to count
    assert total.with_credential and total.signed_in and total.tested and ready.to_phone_count, ready
    assert any(p.failed_attempts for p in ready.to_phone) or any(p.chair for p in ready.to_phone), ready


def test_the_readiness_page_lists_the_first_to_phone_and_says_how_many(hq: Web, svc: Services) -> None:
    from caucus.service import readiness as readiness_service  # noqa: PLC0415

    issue_cards(svc.engine, SLUG, list(svc.context.precincts)[:30], cost=FAST_COST)
    svc.readiness.readiness()
    shown = readiness_service.TO_PHONE_SHOWN
    try:
        readiness_service.TO_PHONE_SHOWN = 7
        ready = svc.readiness.readiness()
        assert len(ready.to_phone) == 7 and ready.to_phone_count >= 30
        assert ready == svc.readiness.derived_readiness()
    finally:
        readiness_service.TO_PHONE_SHOWN = shown


def test_check_finds_tampered_readiness_and_rebuild_repairs_it(hq: Web, svc: Services) -> None:
    hq.sign_in(GRINNELL)
    url = str(svc.engine.url.render_as_string(hide_password=False))
    assert runner.invoke(app, ["state", "check", SLUG, "--database", url]).exit_code == 0
    with svc.engine.begin() as conn:  # a row says a precinct that never signed in did
        conn.execute(update(precinct_readiness).where(precinct_readiness.c.code == "Adair/01NW")
                     .values(signed_in=True))
    result = check(svc.engine, svc.context)
    assert not result.ok
    assert ("Adair/01NW", "readiness: stored card yes, signed in yes, tested no, 0 failed, the cards and sign-ins "
            "make card yes, signed in no, tested no, 0 failed") in result.differences
    failed = runner.invoke(app, ["state", "check", SLUG, "--database", url])
    assert failed.exit_code == 1 and "Adair/01NW" in failed.output, failed.output
    verify = runner.invoke(app, ["verify", SLUG, "--database", url])
    assert verify.exit_code == 1 and "DIFFERS" in verify.output, verify.output
    rebuilt = runner.invoke(app, ["state", "rebuild", SLUG, "--database", url])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert runner.invoke(app, ["verify", SLUG, "--database", url]).exit_code == 0
    _assert_readiness_equals_the_derivation(svc)
    with svc.engine.begin() as conn:  # a count the rows do not make
        conn.execute(update(readiness_counts).where(readiness_counts.c.county == "Poweshiek",
                                                    readiness_counts.c.what == "signed-in").values(n=9))
    result = check(svc.engine, svc.context)
    assert result.differences == (("(readiness counts Poweshiek signed-in)", "stored 9, the rows make 1"),)
    assert runner.invoke(app, ["state", "rebuild", SLUG, "--database", url]).exit_code == 0
    assert check(svc.engine, svc.context).ok
    assert svc.readiness.readiness() == svc.readiness.derived_readiness()
