"""Each precinct's maintained status (``precinct_status``) against the status derived from the ledger: after a
random sequence of reports, paper transcriptions, corrections, review decisions, a rehearsal reset and go-live,
every row equals the derivation, and HQ's queue and night pages read from the rows say what a derivation of
every precinct says. A tampered row is found by ``caucus state check`` and ``caucus verify`` and repaired by
``caucus state rebuild``. SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Engine, update

from caucus.cli import app
from caucus.ledger import LedgerError
from caucus.ledger.schema import precinct_status, precincts, status_counts
from caucus.service import ServiceError, StageReport
from caucus.service.maintained import check, status_row, stored_rows
from caucus.service.status import read_statuses
from caucus.web.services import Services
from tests.cli.support import runner
from tests.hq.support import play_random
from tests.web.conftest import Web
from tests.web.support import GRINNELL, SLUG, STAGES

RITA = "reviewer:rita"
NOBODY_CAME = "Adams/AD1"  # attendance 0 is legal but flagged (held for review)
ZEROS = [("attendance", {"attendance": 0}), ("first", {"counts": {"Biden": 0}}), ("final", {"counts": {"Biden": 0}}),
         ("delegates", {"delegates": {"Biden": 0}})]
ADAIR = [f"Adair/{c}" for c in ("01NW", "02NE", "03SW")]  # attendance only: reported, stages missing
SCRIPTS = {GRINNELL: STAGES, NOBODY_CAME: ZEROS, **dict.fromkeys(ADAIR, STAGES[:1])}


def _assert_rows_equal_the_ledger(svc: Services) -> None:
    statuses = read_statuses(svc.engine, svc.context)
    rows = stored_rows(svc.engine, svc.context)
    assert rows == {
        code: status_row(status) for code, status in statuses.items() if status.history}
    assert check(svc.engine, svc.context, statuses).ok  # the derivation just made (the check would redo it)
    # the pages read from the rows say what a derivation of every precinct says
    assert svc.review.queue() == svc.review.queue(statuses)
    from_rows, derived = svc.readiness.night(), svc.readiness.night(statuses)
    assert (from_rows.statewide, from_rows.by_county, from_rows.reporting_over_time, from_rows.stuck,
            from_rows.stuck_count, from_rows.queue_length) == (
        derived.statewide, derived.by_county, derived.reporting_over_time, derived.stuck, derived.stuck_count,
        derived.queue_length)


def _operations(svc: Services, rng: random.Random) -> list[Callable[[int], object]]:
    def report(n: int) -> object:
        code = rng.choice([*SCRIPTS, NOBODY_CAME, NOBODY_CAME])
        done = len(svc.reports.status(code).stages)
        stages = SCRIPTS[code]
        stage, numbers = stages[min(done, len(stages) - 1)]
        return svc.reports.submit(code, StageReport(stage, numbers), f"op-{n}", channel="app", actor="chair")

    def transcribe(n: int) -> object:
        code = rng.choice([GRINNELL, NOBODY_CAME])
        attendance = rng.choice([0, 328, 329]) if code == GRINNELL else rng.choice([0, 1])
        return svc.review.transcribe(RITA, code, StageReport("attendance", {"attendance": attendance}), f"op-{n}")

    def accept_version(n: int) -> object:
        status = svc.review.status(rng.choice([GRINNELL, NOBODY_CAME]))
        current = [e for entries in status.stages.values() if len(entries) > 1 for e in entries
                   if e.seq not in status.superseded_by]  # a stage two channels reported
        return svc.review.accept_version(RITA, status.info.code, rng.choice(current).seq, "the photo", f"op-{n}")

    def accept_findings(n: int) -> object:
        status = svc.review.status(NOBODY_CAME)
        last = status.history[-1].seq if status.history else 0
        return svc.review.accept_precinct(RITA, NOBODY_CAME, last, "nobody came: confirmed by phone")

    def correct(n: int) -> object:
        code = rng.choice([GRINNELL, NOBODY_CAME])
        attendance = rng.choice([0, 2, 328])
        return svc.review.correct(RITA, code, {"attendance": {"attendance": attendance}}, reason="recount",
                                  key=f"op-{n}")

    return [report, report, report, transcribe, accept_version, accept_findings, correct]


def _play(svc: Services, seed: int, steps: int, between: Callable[[], None]) -> set[str]:
    """Random operations; the names of those that were done (not refused)."""
    rng = random.Random(seed)
    return play_random(rng, _operations(svc, rng), steps, (ServiceError, LedgerError, IndexError), between)


def test_rows_equal_the_derivation_after_a_random_night(hq: Web, svc: Services) -> None:
    check_now = lambda: _assert_rows_equal_the_ledger(svc)  # noqa: E731
    done = _play(svc, 15, 30, check_now)
    assert len(stored_rows(svc.engine, svc.context)) >= 3
    svc.election.reset_rehearsal("director:dora", confirm=SLUG)
    assert stored_rows(svc.engine, svc.context) == {}  # the rehearsal no longer counts: every precinct not-reported
    check_now()
    done |= _play(svc, 16, 20, check_now)
    svc.election.go_live("director:dora", confirm=SLUG)
    assert stored_rows(svc.engine, svc.context) == {}
    check_now()
    done |= _play(svc, 17, 40, check_now)
    # every kind of operation was done at least once (a refused one changes nothing)
    assert done == {"report", "transcribe", "accept_version", "accept_findings", "correct"}, done
    states = {row.state for row in stored_rows(svc.engine, svc.context).values() if row is not None}
    assert len(states) >= 2, states


def test_a_review_decision_changes_the_row_in_its_own_transaction(hq: Web, svc: Services) -> None:
    for stage, numbers in ZEROS:
        svc.reports.submit(NOBODY_CAME, StageReport(stage, numbers), f"z-{stage}", channel="app", actor="chair")
    assert stored_rows(svc.engine, svc.context)[NOBODY_CAME].state == "held-for-review"  # type: ignore[union-attr]
    last = svc.review.status(NOBODY_CAME).history[-1].seq
    assert svc.review.accept_precinct(RITA, NOBODY_CAME, last, "nobody came").state == "accepted"
    row = stored_rows(svc.engine, svc.context)[NOBODY_CAME]
    assert row is not None and (row.state, row.why, row.queue_rank) == ("accepted", (), None)
    _assert_rows_equal_the_ledger(svc)


def test_the_night_page_counts_stuck_precincts_from_the_rows(hq: Web, svc: Services) -> None:
    svc.reports.submit(GRINNELL, StageReport(*STAGES[0]), "a", channel="app", actor="chair")
    assert svc.readiness.night().stuck_count == 0
    later = svc.readiness.clock() + timedelta(hours=2)
    svc.readiness.clock = lambda: later
    night = svc.readiness.night()
    assert night.stuck_count == 1 and night.stuck[0][:2] == (GRINNELL, "reported")
    assert night.statewide["reported"] == 1
    assert night.statewide["not-reported"] == len(svc.context.precincts) - 1
    _assert_rows_equal_the_ledger(svc)


def _tamper(engine: Engine, code: str) -> None:
    with engine.begin() as conn:
        pid = conn.execute(precincts.select().with_only_columns(precincts.c.id).where(
            precincts.c.code == code)).scalar_one()
        conn.execute(update(precinct_status).where(precinct_status.c.precinct_id == pid).values(state="accepted"))


def test_check_finds_a_tampered_row_and_rebuild_repairs_it(hq: Web, svc: Services) -> None:
    for stage, numbers in STAGES[:2]:
        svc.reports.submit(GRINNELL, StageReport(stage, numbers), f"k-{stage}", channel="app", actor="chair")
    url = str(svc.engine.url.render_as_string(hide_password=False))
    ok = runner.invoke(app, ["state", "check", SLUG, "--database", url])
    assert ok.exit_code == 0, ok.output
    _tamper(svc.engine, GRINNELL)
    result = check(svc.engine, svc.context)
    assert not result.ok and result.differences[0][0] == GRINNELL
    assert "state: stored 'accepted', ledger 'reported'" in result.differences[0][1]
    failed = runner.invoke(app, ["state", "check", SLUG, "--database", url])
    assert failed.exit_code == 1 and f"at precinct {GRINNELL}" in failed.output
    verify = runner.invoke(app, ["verify", SLUG, "--database", url])
    assert verify.exit_code == 1 and "precinct status DIFFERS" in verify.output, verify.output
    rebuilt = runner.invoke(app, ["state", "rebuild", SLUG, "--database", url])
    assert rebuilt.exit_code == 0 and "1 precincts with entries" in rebuilt.output, rebuilt.output
    assert runner.invoke(app, ["verify", SLUG, "--database", url]).exit_code == 0
    assert check(svc.engine, svc.context).ok
    with svc.engine.begin() as conn:  # the night page's counts are checked against the rows too
        conn.execute(update(status_counts).where(status_counts.c.kind == "county").values(n=status_counts.c.n + 5))
    result = check(svc.engine, svc.context)
    assert not result.ok
    assert result.differences[0] == ("(counts county Poweshiek reported)", "stored 6, the rows make 1")


def test_a_writer_without_a_keeper_leaves_rows_stale_and_they_are_derived_on_read(hq: Web, svc: Services) -> None:
    from caucus.ledger import Submission, Writer  # noqa: PLC0415

    svc.reports.submit(GRINNELL, StageReport(*STAGES[0]), "a", channel="app", actor="chair")
    with Writer(svc.engine) as plain:
        plain.submit(Submission(election=SLUG, precinct_code=NOBODY_CAME, channel="app", stage="attendance",
                                payload={"attendance": 0}, actor="import", idempotency_key="plain-1"))
    rows = stored_rows(svc.engine, svc.context)
    assert rows[NOBODY_CAME] is None and rows[GRINNELL] is not None  # stale, and the other untouched
    result = check(svc.engine, svc.context)
    assert result.ok and result.stale == 1
    _assert_rows_equal_the_ledger_but_stale(svc)
    from caucus.service.maintained import StatusKeeper  # noqa: PLC0415

    assert StatusKeeper(svc.context).repair(svc.engine) == 1
    _assert_rows_equal_the_ledger(svc)


def _assert_rows_equal_the_ledger_but_stale(svc: Services) -> None:
    statuses = read_statuses(svc.engine, svc.context)
    assert svc.review.queue() == svc.review.queue(statuses)
    assert svc.readiness.night().statewide == svc.readiness.night(statuses).statewide
    assert [i.code for i in svc.review.queue()] == [NOBODY_CAME, GRINNELL]
